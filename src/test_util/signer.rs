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
use zeroize::Zeroizing;

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

/// An account message signing key, as an attested app holds it: the HMAC-SHA256 key of its
/// `account` signatures, and the key's id, which the app's tokens carry as `mskid`. Configure
/// the layer with the same key (`APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_RAW` for
/// [`from_text`](Self::from_text), or [`SigningConfig::with_account_key`](crate::SigningConfig::with_account_key)
/// with [`as_bytes`](Self::as_bytes)), and mint tokens with
/// [`TokenBuilder::mskid`](crate::test_util::TokenBuilder::mskid).
///
/// `Debug` never shows the key; the key is wiped on drop.
pub struct AccountKey {
    key: Zeroizing<Vec<u8>>,
    mskid: String,
}

impl AccountKey {
    /// The key Approov's test SDK uses: the HMAC is keyed with the *text* itself (its bytes,
    /// not decoded), and the key id is the text's first six characters.
    ///
    /// # Errors
    ///
    /// [`SignerError::KeyGeneration`] for a text shorter than six characters, or not ASCII.
    pub fn from_text(text: &str) -> Result<Self, SignerError> {
        let text = text.trim();
        let mskid = text
            .get(..6)
            .filter(|_| text.is_ascii())
            .ok_or(SignerError::KeyGeneration)?;
        Ok(Self {
            mskid: mskid.to_owned(),
            key: Zeroizing::new(text.as_bytes().to_vec()),
        })
    }

    /// A key of these bytes, under this `mskid`.
    pub fn from_bytes(key: &[u8], mskid: impl Into<String>) -> Self {
        Self {
            key: Zeroizing::new(key.to_vec()),
            mskid: mskid.into(),
        }
    }

    /// A fresh random 48-byte key under this `mskid`, written as base64url (64 characters)
    /// when given to the layer as text.
    ///
    /// # Errors
    ///
    /// [`SignerError::KeyGeneration`] if the system's random source fails.
    pub fn generate(mskid: impl Into<String>) -> Result<Self, SignerError> {
        let mut key = Zeroizing::new(vec![0u8; 48]);
        aws_lc_rs::rand::fill(&mut key).map_err(|_| SignerError::KeyGeneration)?;
        Ok(Self {
            key,
            mskid: mskid.into(),
        })
    }

    /// The key id, for the token's `mskid` claim.
    #[must_use]
    pub fn mskid(&self) -> &str {
        &self.mskid
    }

    /// The bytes that key the HMAC.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.key
    }

    /// The HMAC-SHA256 of `message`: the raw 32 bytes an `account` signature carries.
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> [u8; 32] {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.key);
        let mut tag = [0u8; 32];
        tag.copy_from_slice(aws_lc_rs::hmac::sign(&key, message).as_ref());
        tag
    }
}

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountKey")
            .field("mskid", &self.mskid)
            .field("key", &"[redacted]")
            .finish()
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
    /// since late 2025, and its `account` signature from 3.5.x up to 3.5.7.
    String,
}

/// Signs an `http::Request` as the Approov SDKs do (RFC 9421): with the installation key
/// (label `install`, `alg="ecdsa-p256-sha256"`), with the account key (label `account`,
/// `alg="hmac-sha256"`), or with both, as two members of `Signature-Input` and `Signature` over
/// the same components (OkHttp 3.7 and later).
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
/// use tower_approov::test_util::{AccountKey, InstallationKey, RequestSigner};
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
///
/// // Both members, as OkHttp 3.7 signs: the token then carries `ipk` and `mskid`.
/// let account = AccountKey::generate("acct01")?;
/// let mut request = http::Request::get("https://api.example.com/orders")
///     .header("approov-token", "a.b.c")
///     .body(Vec::new())?;
/// RequestSigner::new(&key).with_account(&account).sign(&mut request)?;
/// assert!(request.headers()["signature"].to_str()?.contains("account=:"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RequestSigner<'k> {
    install: Option<&'k InstallationKey>,
    account: Option<&'k AccountKey>,
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
    /// A signer with this installation key (label `install`), the iOS encoding, and the SDK's
    /// defaults.
    pub fn new(key: &'k InstallationKey) -> Self {
        Self::with_keys(Some(key), None)
    }

    /// A signer with this account key only (label `account`), as an app with account message
    /// signing and no installation signing signs; the iOS encoding and the SDK's defaults.
    pub fn account(key: &'k AccountKey) -> Self {
        Self::with_keys(None, Some(key))
    }

    /// Also signs with this account key: two members, `install` then `account`, over the same
    /// components, as OkHttp 3.7 and later sign.
    pub fn with_account(mut self, key: &'k AccountKey) -> Self {
        self.account = Some(key);
        self
    }

    fn with_keys(install: Option<&'k InstallationKey>, account: Option<&'k AccountKey>) -> Self {
        Self {
            install,
            account,
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
        let mut list = String::from("(");
        for (i, component) in components.iter().enumerate() {
            if i > 0 {
                list.push(' ');
            }
            list.push('"');
            list.push_str(component);
            list.push('"');
        }
        list.push(')');
        let mut lines = Vec::new();
        for component in &components {
            lines.extend_from_slice(format!("\"{component}\": ").as_bytes());
            lines.extend_from_slice(&component_value(method, uri, headers, component)?);
            lines.push(b'\n');
        }

        // The SDKs' order of parameters: `alg`, `created`, `expires`.
        let params_for = |alg: &str| {
            let mut params = format!("{list};alg=\"{alg}\";created={created}");
            if let Some(expires_in) = self.expires_in {
                params.push_str(&format!(
                    ";expires={}",
                    created + expires_in.as_secs() as i64
                ));
            }
            let mut base = lines.clone();
            base.extend_from_slice(b"\"@signature-params\": ");
            base.extend_from_slice(params.as_bytes());
            (params, base)
        };
        let (mut inputs, mut signatures) = (Vec::new(), Vec::new());
        let mut add = |label: &str, params: String, signature: &[u8]| {
            let signature = STANDARD.encode(signature);
            signatures.push(match self.encoding {
                SignatureEncoding::ByteSequence => format!("{label}=:{signature}:"),
                SignatureEncoding::String => format!("{label}=\"{signature}\""),
            });
            inputs.push(format!("{label}={params}"));
        };
        if let Some(key) = self.install {
            let (params, base) = params_for("ecdsa-p256-sha256");
            add("install", params, &key.sign(&base)?);
        }
        if let Some(key) = self.account {
            let (params, base) = params_for("hmac-sha256");
            add("account", params, &key.sign(&base));
        }
        headers.insert("signature-input", HeaderValue::try_from(inputs.join(", "))?);
        headers.insert("signature", HeaderValue::try_from(signatures.join(", "))?);
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
