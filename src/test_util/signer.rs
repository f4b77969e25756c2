//! [`RequestSigner`]: signs requests the way the Approov SDKs do, with an [`InstallationKey`].

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::{HOST, InvalidHeaderValue};
use http::request::Parts;
use http::uri::Authority;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use sha2::{Digest as _, Sha256};

use crate::check::signing::normalize_authority;

/// A P-256 installation key, like the one the Approov SDK creates on first start and keeps
/// in the device's secure hardware. Its public half goes into the token's `ipk` claim.
///
/// The key is generated with `aws-lc-rs` (the `test-util` feature pulls it in): test code only,
/// so it need not follow the application's choice of `jsonwebtoken` backend.
pub struct InstallationKey(EcdsaKeyPair);

impl InstallationKey {
    /// A fresh random key.
    ///
    /// # Errors
    ///
    /// [`SignerError::KeyGeneration`] if the system's random source fails.
    pub fn generate() -> Result<Self, SignerError> {
        EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map(Self)
            .map_err(|_| SignerError::KeyGeneration)
    }

    /// The key in this PKCS#8 DER document (a P-256 private key, `BEGIN PRIVATE KEY` in PEM),
    /// for tests and fuzzing that need the same installation key in every run.
    ///
    /// # Errors
    ///
    /// [`SignerError::KeyGeneration`] if the document is not a P-256 PKCS#8 private key.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, SignerError> {
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map(Self)
            .map_err(|_| SignerError::KeyGeneration)
    }

    /// The value for the token's `ipk` claim: standard base64 of the DER SubjectPublicKeyInfo.
    ///
    /// # Errors
    ///
    /// [`SignerError::KeyGeneration`] if the public key cannot be encoded.
    pub fn ipk(&self) -> Result<String, SignerError> {
        let der = self
            .0
            .public_key()
            .as_der()
            .map_err(|_| SignerError::KeyGeneration)?;
        Ok(STANDARD.encode(der.as_ref()))
    }

    /// Signs `message` with ECDSA P-256 and SHA-256: the raw 64-byte `r||s`, as the SDKs send
    /// it.
    ///
    /// # Errors
    ///
    /// [`SignerError::Signing`] if signing fails.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignerError> {
        let signature = self
            .0
            .sign(&SystemRandom::new(), message)
            .map_err(|_| SignerError::Signing)?;
        signature
            .as_ref()
            .try_into()
            .map_err(|_| SignerError::Signing)
    }
}

impl fmt::Debug for InstallationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InstallationKey([redacted])")
    }
}

/// How the signature is written. `Content-Digest` is a byte sequence (`sha-256=:<base64>:`)
/// whatever this says, as every SDK sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SignatureEncoding {
    /// A structured-field byte sequence, `install=:<base64>:`, as the iOS SDK sends it. The
    /// default.
    #[default]
    ByteSequence,
    /// A structured-field string, `install="<base64>"`, as the Android SDK (OkHttp) sends it
    /// since late 2025.
    String,
}

/// Signs an `http::Request` as the Approov SDKs do (RFC 9421, label `install`,
/// `alg="ecdsa-p256-sha256"`).
///
/// The default components are, in the SDKs' order, `@method`, `@target-uri`, the token header,
/// and, when present, `approov-traceid`, `authorization` (listed again when it is the token
/// header, as the SDKs do), `content-length`, `content-type`, and `content-digest` when the body
/// is not empty (the signer computes and sets it, SHA-256). Parameters: `alg`, `created` (now),
/// `expires` (`created` + 15 s).
///
/// The request URI should be absolute (`https://api.example.com/path`), as the app's is; a
/// relative one is signed with its `Host` header and `https`, which is what the layer assumes
/// for a request without a scheme.
///
/// ```
/// use tower_approov::test_util::{InstallationKey, RequestSigner};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = InstallationKey::generate()?;
/// let mut request = http::Request::post("https://api.example.com/orders?page=2")
///     .header("approov-token", "a.b.c")
///     .header("content-type", "application/json")
///     .body(r#"{"item":1}"#.to_owned())?;
/// RequestSigner::new(&key).android().sign(&mut request)?;
/// assert!(request.headers().contains_key("signature-input"));
/// assert!(request.headers().contains_key("content-digest"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RequestSigner<'k> {
    key: &'k InstallationKey,
    encoding: SignatureEncoding,
    created: Option<i64>,
    expires_in: Option<Duration>,
    components: Option<Vec<String>>,
    token_header: HeaderName,
}

/// The optional headers the SDK covers when they are present, after the token header.
const OPTIONAL_HEADERS: [&str; 4] = [
    "approov-traceid",
    "authorization",
    "content-length",
    "content-type",
];

impl<'k> RequestSigner<'k> {
    /// A signer with this key, the iOS encoding, and the SDK's defaults.
    pub fn new(key: &'k InstallationKey) -> Self {
        Self {
            key,
            encoding: SignatureEncoding::ByteSequence,
            created: None,
            expires_in: Some(Duration::from_secs(15)),
            components: None,
            token_header: HeaderName::from_static(crate::DEFAULT_TOKEN_HEADER),
        }
    }

    /// Writes the signature as the iOS SDK does (a byte sequence).
    pub fn ios(self) -> Self {
        self.with_encoding(SignatureEncoding::ByteSequence)
    }

    /// Writes the signature as the Android SDK does (a string); `Content-Digest` stays a byte
    /// sequence, as on every platform.
    pub fn android(self) -> Self {
        self.with_encoding(SignatureEncoding::String)
    }

    /// The encoding of the signature. Defaults to
    /// [`SignatureEncoding::ByteSequence`].
    pub fn with_encoding(mut self, encoding: SignatureEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// The `created` time, in seconds since the Unix epoch. Defaults to now.
    pub fn with_created(mut self, created: i64) -> Self {
        self.created = Some(created);
        self
    }

    /// `expires` as an offset from `created`; `None` leaves `expires` out. Defaults to 15 s.
    pub fn with_expires_in(mut self, expires_in: Option<Duration>) -> Self {
        self.expires_in = expires_in;
        self
    }

    /// Covers exactly these components, in this order, instead of the defaults. A covered
    /// `content-digest` is computed and set by the signer.
    pub fn with_components<I, T>(mut self, components: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.components = Some(components.into_iter().map(Into::into).collect());
        self
    }

    /// The header that carries the Approov token. Defaults to `approov-token`.
    pub fn with_token_header(mut self, name: HeaderName) -> Self {
        self.token_header = name;
        self
    }

    /// Signs the request: sets `Content-Digest` (when covered), `Signature-Input` and
    /// `Signature`.
    ///
    /// # Errors
    ///
    /// A [`SignerError`] if a covered component cannot be computed or signing fails.
    pub fn sign<B: AsRef<[u8]>>(&self, request: &mut Request<B>) -> Result<(), SignerError> {
        let body = request.body().as_ref().to_vec();
        let (method, uri) = (request.method().clone(), request.uri().clone());
        self.sign_request(&method, &uri, request.headers_mut(), &body)
    }

    /// [`sign`](Self::sign) for a request already split into its parts and body bytes.
    ///
    /// # Errors
    ///
    /// A [`SignerError`] if a covered component cannot be computed or signing fails.
    pub fn sign_parts(&self, parts: &mut Parts, body: &[u8]) -> Result<(), SignerError> {
        self.sign_request(&parts.method, &parts.uri, &mut parts.headers, body)
    }

    fn sign_request(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &mut HeaderMap,
        body: &[u8],
    ) -> Result<(), SignerError> {
        let components = match &self.components {
            Some(components) => components.clone(),
            None => self.default_components(headers, body),
        };
        if components.iter().any(|c| c == "content-digest") {
            let digest = STANDARD.encode(Sha256::digest(body));
            let value = format!("sha-256=:{digest}:");
            headers.insert("content-digest", HeaderValue::try_from(value)?);
        }

        let created = match self.created {
            Some(created) => created,
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
        };
        let mut params = String::from("(");
        for (i, component) in components.iter().enumerate() {
            if i > 0 {
                params.push(' ');
            }
            params.push('"');
            params.push_str(component);
            params.push('"');
        }
        // The SDKs' order: `alg`, `created`, `expires`.
        params.push_str(&format!(");alg=\"ecdsa-p256-sha256\";created={created}"));
        if let Some(expires_in) = self.expires_in {
            params.push_str(&format!(
                ";expires={}",
                created + expires_in.as_secs() as i64
            ));
        }

        let mut base = Vec::new();
        for component in &components {
            base.extend_from_slice(format!("\"{component}\": ").as_bytes());
            base.extend_from_slice(&component_value(method, uri, headers, component)?);
            base.push(b'\n');
        }
        base.extend_from_slice(b"\"@signature-params\": ");
        base.extend_from_slice(params.as_bytes());

        let signature = STANDARD.encode(self.key.sign(&base)?);
        let signature = match self.encoding {
            SignatureEncoding::ByteSequence => format!("install=:{signature}:"),
            SignatureEncoding::String => format!("install=\"{signature}\""),
        };
        headers.insert(
            "signature-input",
            HeaderValue::try_from(format!("install={params}"))?,
        );
        headers.insert("signature", HeaderValue::try_from(signature)?);
        Ok(())
    }

    fn default_components(&self, headers: &HeaderMap, body: &[u8]) -> Vec<String> {
        let mut components = vec!["@method".to_owned(), "@target-uri".to_owned()];
        let present = |name: &str| headers.contains_key(name);
        if present(self.token_header.as_str()) {
            components.push(self.token_header.as_str().to_owned());
        }
        for name in OPTIONAL_HEADERS {
            if present(name) {
                components.push(name.to_owned());
            }
        }
        if !body.is_empty() {
            components.push("content-digest".to_owned());
        }
        components
    }
}

/// The value of one component, as the SDK computes it from the request it sends.
fn component_value(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    component: &str,
) -> Result<Vec<u8>, SignerError> {
    let path = match uri.path() {
        "" => "/",
        path => path,
    };
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    Ok(match component {
        "@method" => method.as_str().as_bytes().to_vec(),
        "@path" => path.as_bytes().to_vec(),
        "@query" => format!("?{}", uri.query().unwrap_or_default()).into_bytes(),
        "@request-target" => format!("{path}{query}").into_bytes(),
        "@target-uri" | "@authority" | "@scheme" => {
            let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
            let authority = match uri.authority() {
                Some(authority) => authority.clone(),
                None => headers
                    .get(HOST)
                    .and_then(|h| Authority::try_from(h.as_bytes()).ok())
                    .ok_or(SignerError::NoAuthority)?,
            };
            let authority = normalize_authority(&scheme, &authority);
            match component {
                "@scheme" => scheme.into_bytes(),
                "@authority" => authority.into_bytes(),
                _ => format!("{scheme}://{authority}{path}{query}").into_bytes(),
            }
        }
        header => {
            let mut values = headers.get_all(header).iter();
            let first = values
                .next()
                .ok_or_else(|| SignerError::MissingComponent(header.to_owned()))?;
            let mut value = first.as_bytes().trim_ascii().to_vec();
            for more in values {
                value.extend_from_slice(b", ");
                value.extend_from_slice(more.as_bytes().trim_ascii());
            }
            value
        }
    })
}

/// Why a request could not be signed.
#[derive(Debug)]
#[non_exhaustive]
pub enum SignerError {
    /// When the key could not be generated or loaded, or its public half encoded.
    KeyGeneration,
    /// When ECDSA signing failed.
    Signing,
    /// When the request URI is relative and there is no `Host` header, so `@target-uri` cannot
    /// be computed.
    NoAuthority,
    /// When a covered header is not in the request.
    MissingComponent(String),
    /// When a header value the signer builds is not a valid header value.
    InvalidHeaderValue,
}

impl From<InvalidHeaderValue> for SignerError {
    fn from(_: InvalidHeaderValue) -> Self {
        Self::InvalidHeaderValue
    }
}

impl fmt::Display for SignerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeyGeneration => {
                f.write_str("the installation key could not be generated or loaded")
            }
            Self::Signing => f.write_str("signing failed"),
            Self::NoAuthority => f.write_str(
                "the request has neither an absolute URI nor a Host header: @target-uri needs one",
            ),
            Self::MissingComponent(name) => {
                write!(f, "the covered header `{name}` is not in the request")
            }
            Self::InvalidHeaderValue => f.write_str("a signature header value is invalid"),
        }
    }
}

impl std::error::Error for SignerError {}
