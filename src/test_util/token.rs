//! [`TokenBuilder`]: mints Approov-shaped tokens for tests.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value};

use crate::check::keys::parse_alg;

/// How long a minted token lives unless told otherwise: five minutes, about what the Approov
/// cloud issues.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// Mints tokens shaped like the ones the Approov cloud issues, so that an API protected by
/// [`ApproovLayer`](crate::ApproovLayer) can be tested without the Approov CLI or a device.
///
/// By default a token is signed with HS256, carries a float `exp` five minutes ahead (real
/// Approov tokens carry a float), and nothing else. Add what the test needs:
///
/// ```
/// use std::time::Duration;
/// use tower_approov::test_util::TokenBuilder;
///
/// let secret = [7u8; 64]; // what `approov secret -get base64` decodes to
/// let token = TokenBuilder::hs256(&secret)
///     .did("ExampleDeviceID==")
///     .ip("203.0.113.9")
///     .kid("0001")
///     .pay_for(["Bearer user-token"])
///     .expires_in(Duration::from_secs(60))
///     .build()
///     .unwrap();
/// assert_eq!(token.split('.').count(), 3);
/// ```
///
/// The `pay` claim is computed by [`pay_claim_for`](crate::pay_claim_for), the same function
/// the layer's binding check uses, so a minted token and the check cannot drift apart.
///
/// `Debug` never shows the key.
#[derive(Clone)]
#[must_use]
pub struct TokenBuilder {
    key: SigningKey,
    alg: Algorithm,
    kid: Option<String>,
    exp: Expiry,
    claims: Map<String, Value>,
}

#[derive(Clone)]
enum SigningKey {
    Secret(Vec<u8>),
    Pem(Vec<u8>),
}

impl Drop for SigningKey {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        match self {
            Self::Secret(bytes) | Self::Pem(bytes) => bytes.zeroize(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Expiry {
    /// Seconds from the moment of [`TokenBuilder::build`]; negative for a token already expired.
    In(f64),
    /// Seconds since the Unix epoch.
    At(f64),
    /// No `exp` claim at all.
    Absent,
}

/// Why a token could not be minted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MintError {
    /// When the HS256 secret is empty, or its text is neither standard base64 nor base64url.
    InvalidSecret,
    /// When the algorithm name is not one of `HS256`, `RS256`, `RS384`, `RS512`, `PS256`,
    /// `PS384`, `PS512`, `ES256`, `ES384`, `EdDSA`.
    UnsupportedAlgorithm,
    /// When the PEM is not a private key of the kind the algorithm needs (an RSA key for
    /// `RS*`/`PS*`, an EC key of the right curve for `ES*`, an Ed25519 key for `EdDSA`).
    InvalidKey,
    /// When signing failed, e.g. the key does not fit the algorithm.
    Signing,
}

impl fmt::Display for MintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidSecret => {
                "the HS256 secret is empty or not base64: pass the output of \
                 `approov secret -get base64` (or base64url), or the raw bytes"
            }
            Self::UnsupportedAlgorithm => {
                "unsupported algorithm: use HS256, RS256, RS384, RS512, PS256, PS384, PS512, \
                 ES256, ES384 or EdDSA"
            }
            Self::InvalidKey => {
                "the PEM is not a private key for this algorithm: RSA for RS*/PS*, EC P-256 for \
                 ES256, EC P-384 for ES384, Ed25519 for EdDSA (PKCS#8 `PRIVATE KEY` PEM)"
            }
            Self::Signing => "the token could not be signed with this key and algorithm",
        })
    }
}

impl std::error::Error for MintError {}

impl TokenBuilder {
    /// Tokens signed with HS256 and this secret, given as raw bytes (Approov's account secret
    /// is 64 random bytes).
    pub fn hs256(secret: impl AsRef<[u8]>) -> Self {
        Self::with_key(
            SigningKey::Secret(secret.as_ref().to_vec()),
            Algorithm::HS256,
        )
    }

    /// Tokens signed with HS256 and this secret, given as text: standard base64 as printed by
    /// `approov secret -get base64` (the value of `APPROOV_BASE64_SECRET`), or base64url with
    /// or without padding.
    ///
    /// # Errors
    ///
    /// [`MintError::InvalidSecret`] if the text is empty or not base64.
    pub fn hs256_base64(secret: &str) -> Result<Self, MintError> {
        let text = secret.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| MintError::InvalidSecret)?;
        if bytes.is_empty() {
            return Err(MintError::InvalidSecret);
        }
        Ok(Self::hs256(bytes))
    }

    /// Tokens signed with an asymmetric algorithm (`RS256`, `PS256`, `ES256`, `ES384`,
    /// `EdDSA`, ...) and a private key in PEM form, as an Approov key set would sign them.
    /// Configure the layer with the matching public key.
    ///
    /// `HS256` is accepted too, with the PEM text taken as the raw secret; prefer
    /// [`hs256`](Self::hs256).
    ///
    /// # Errors
    ///
    /// [`MintError::UnsupportedAlgorithm`] for an unknown name or HS384/HS512;
    /// [`MintError::InvalidKey`] if the PEM is not a private key for the algorithm.
    pub fn private_key_pem(alg: &str, pem: impl AsRef<[u8]>) -> Result<Self, MintError> {
        let alg = match parse_alg(alg.trim()) {
            Some(Algorithm::HS384 | Algorithm::HS512) | None => {
                return Err(MintError::UnsupportedAlgorithm);
            }
            Some(alg) => alg,
        };
        let pem = pem.as_ref().to_vec();
        // Parse now, so that a bad key shows up here and not at the first `build`.
        encoding_key(&SigningKey::Pem(pem.clone()), alg)?;
        Ok(Self::with_key(SigningKey::Pem(pem), alg))
    }

    fn with_key(key: SigningKey, alg: Algorithm) -> Self {
        Self {
            key,
            alg,
            kid: None,
            exp: Expiry::In(DEFAULT_TOKEN_LIFETIME.as_secs_f64()),
            claims: Map::new(),
        }
    }

    /// The token expires this long after [`build`](Self::build). Defaults to
    /// [`DEFAULT_TOKEN_LIFETIME`].
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.exp = Expiry::In(lifetime.as_secs_f64());
        self
    }

    /// The token expired this long before [`build`](Self::build): for testing rejections.
    pub fn expired_since(mut self, ago: Duration) -> Self {
        self.exp = Expiry::In(-ago.as_secs_f64());
        self
    }

    /// The token expires at this instant, in seconds since the Unix epoch. Fractions are kept,
    /// as in real Approov tokens (`4708683205.891912`).
    pub fn expires_at(mut self, exp: f64) -> Self {
        self.exp = Expiry::At(exp);
        self
    }

    /// The token has no `exp` claim (which the layer rejects): for testing rejections.
    pub fn without_expiry(mut self) -> Self {
        self.exp = Expiry::Absent;
        self
    }

    /// The device id (`did`).
    pub fn did(self, did: impl Into<String>) -> Self {
        self.claim("did", did.into())
    }

    /// The client IP address the Approov cloud saw (`ip`).
    pub fn ip(self, ip: impl Into<String>) -> Self {
        self.claim("ip", ip.into())
    }

    /// The installation public key (`ipk`): base64 DER SubjectPublicKeyInfo of a P-256 key,
    /// the key whose private half signs the requests.
    pub fn ipk(self, base64_der: impl Into<String>) -> Self {
        self.claim("ipk", base64_der.into())
    }

    /// The id of the account message signing key (`mskid`), as tokens of accounts with
    /// account message signing carry it: the key whose `account` signatures the layer checks
    /// (see [`AccountKey::mskid`](crate::test_util::AccountKey::mskid)).
    pub fn mskid(self, mskid: impl Into<String>) -> Self {
        self.claim("mskid", mskid.into())
    }

    /// A `pay` claim that binds the token to these header values, computed by
    /// [`pay_claim_for`](crate::pay_claim_for) exactly as the layer recomputes it.
    ///
    /// With one binding header, pass its whole value (`Bearer <jwt>` for `Authorization`). With
    /// several, pass each value trimmed, in the order the layer is configured with.
    pub fn pay_for<I, T>(self, header_values: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let values: Vec<T> = header_values.into_iter().collect();
        let pay = crate::pay_claim_for(values.iter().map(AsRef::as_ref));
        self.claim("pay", pay)
    }

    /// Any other claim (`arc`, `iss`, `aud`, or an `exp` of the wrong type to test a
    /// rejection), as a JSON value. A claim set here replaces one set before; an `exp` set here
    /// replaces the expiry.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        let name = name.into();
        if name == "exp" {
            self.exp = Expiry::Absent;
        }
        self.claims.insert(name, value.into());
        self
    }

    /// The `kid` header, as `approov secret -setKeyID` or a key set adds it. Defaults to none.
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The claims the next [`build`](Self::build) signs, with `exp` resolved against the clock
    /// now.
    #[must_use]
    pub fn claims(&self) -> Map<String, Value> {
        let mut claims = self.claims.clone();
        let exp = match self.exp {
            Expiry::In(secs) => Some(crate::check::verify::now() + secs),
            Expiry::At(exp) => Some(exp),
            Expiry::Absent => None,
        };
        if let Some(number) = exp.and_then(serde_json::Number::from_f64) {
            claims.insert("exp".to_owned(), Value::Number(number));
        }
        claims
    }

    /// Signs a token with the claims set so far; `exp` counts from now.
    ///
    /// # Errors
    ///
    /// [`MintError::InvalidKey`] or [`MintError::Signing`] if the key cannot sign with the
    /// algorithm.
    pub fn build(&self) -> Result<String, MintError> {
        // Minting can run before any layer is built, so make sure a provider is installed.
        crate::check::config::ensure_crypto_provider().map_err(|_| MintError::Signing)?;
        let key = encoding_key(&self.key, self.alg)?;
        let mut header = Header::new(self.alg);
        header.kid.clone_from(&self.kid);
        jsonwebtoken::encode(&header, &self.claims(), &key).map_err(|_| MintError::Signing)
    }
}

fn encoding_key(key: &SigningKey, alg: Algorithm) -> Result<EncodingKey, MintError> {
    let key = match (key, alg) {
        (SigningKey::Secret(secret), _) | (SigningKey::Pem(secret), Algorithm::HS256) => {
            if secret.is_empty() {
                return Err(MintError::InvalidSecret);
            }
            EncodingKey::from_secret(secret)
        }
        (
            SigningKey::Pem(pem),
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512,
        ) => EncodingKey::from_rsa_pem(pem),
        (SigningKey::Pem(pem), Algorithm::ES256 | Algorithm::ES384) => {
            EncodingKey::from_ec_pem(pem)
        }
        (SigningKey::Pem(pem), Algorithm::EdDSA) => EncodingKey::from_ed_pem(pem),
        (SigningKey::Pem(_), _) => return Err(MintError::UnsupportedAlgorithm),
    };
    key.map_err(|_| MintError::InvalidKey)
}

impl fmt::Debug for TokenBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenBuilder")
            .field("alg", &self.alg)
            .field("key", &"[redacted]")
            .field("kid", &self.kid)
            .field("exp", &self.exp)
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let builder = TokenBuilder::hs256(b"super-secret-bytes").did("d");
        assert_eq!(
            format!("{builder:?}"),
            "TokenBuilder { alg: HS256, key: \"[redacted]\", kid: None, exp: In(300.0), \
             claims: [\"did\"] }"
        );
    }

    #[test]
    fn base64_and_base64url_secrets_mint_the_same_token_key() {
        let a = TokenBuilder::hs256_base64("+/8=").map(|b| b.expires_at(1.5));
        let b = TokenBuilder::hs256_base64("-_8").map(|b| b.expires_at(1.5));
        assert_eq!(
            a.and_then(|b| b.build()),
            b.and_then(|b| b.build()),
            "the same bytes, the same token"
        );
    }

    #[test]
    fn a_secret_that_is_not_base64_is_refused() {
        assert_eq!(
            TokenBuilder::hs256_base64("not base64!").err(),
            Some(MintError::InvalidSecret)
        );
    }

    #[test]
    fn hs384_is_refused_since_approov_never_uses_it() {
        assert_eq!(
            TokenBuilder::private_key_pem("HS384", "x").err(),
            Some(MintError::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn a_pem_that_is_not_a_key_is_refused() {
        assert_eq!(
            TokenBuilder::private_key_pem("ES256", "-----BEGIN PRIVATE KEY-----\n").err(),
            Some(MintError::InvalidKey)
        );
    }

    #[test]
    fn exp_is_a_float_relative_to_now() {
        let claims = TokenBuilder::hs256(b"k")
            .expired_since(Duration::from_millis(1500))
            .claims();
        let exp = claims
            .get("exp")
            .and_then(Value::as_f64)
            .unwrap_or(f64::MAX);
        assert!(exp < crate::check::verify::now());
        assert!(claims["exp"].is_f64());
    }
}
