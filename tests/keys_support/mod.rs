//! Shared by the key tests: keys generated at test time with aws-lc-rs (once per test binary),
//! token minting with `jsonwebtoken`, and a real axum Router to send requests through.
#![allow(dead_code, unreachable_pub)]

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::signature::KeyPair as _;
use axum::{Router, routing::get};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{Request, StatusCode};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tower::ServiceExt as _;
use tower_approov::{ApproovClaims, ApproovConfig, ApproovError, ApproovErrorKind, ApproovLayer};

/// A key pair generated for the tests.
pub struct TestKey {
    /// PKCS#8 private key, PEM.
    pub private_pem: String,
    /// SubjectPublicKeyInfo public key, PEM.
    pub public_pem: String,
    /// SubjectPublicKeyInfo public key, DER.
    pub public_der: Vec<u8>,
}

/// Every key the tests use, generated once per test binary (RSA generation is slow).
pub struct Keys {
    pub rsa: TestKey,
    pub rsa2: TestKey,
    pub p256: TestKey,
    pub p256b: TestKey,
    pub p384: TestKey,
    pub ed25519: TestKey,
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn test_key(private_der: &[u8], public_der: &[u8]) -> TestKey {
    TestKey {
        private_pem: pem("PRIVATE KEY", private_der),
        public_pem: pem("PUBLIC KEY", public_der),
        public_der: public_der.to_vec(),
    }
}

fn rsa() -> TestKey {
    let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let private: Pkcs8V1Der<'_> = kp.as_der().unwrap();
    let public: PublicKeyX509Der<'_> = kp.public_key().as_der().unwrap();
    test_key(private.as_ref(), public.as_ref())
}

fn ec(alg: &'static aws_lc_rs::signature::EcdsaSigningAlgorithm) -> TestKey {
    let kp = aws_lc_rs::signature::EcdsaKeyPair::generate(alg).unwrap();
    let private = kp.to_pkcs8v1().unwrap();
    let public: PublicKeyX509Der<'_> = kp.public_key().as_der().unwrap();
    test_key(private.as_ref(), public.as_ref())
}

fn ed25519() -> TestKey {
    let kp = aws_lc_rs::signature::Ed25519KeyPair::generate().unwrap();
    let private = kp.to_pkcs8v1().unwrap();
    let public: PublicKeyX509Der<'_> = kp.public_key().as_der().unwrap();
    test_key(private.as_ref(), public.as_ref())
}

/// The test keys, generated on first use.
pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        install_provider();
        use aws_lc_rs::signature::{
            ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
        };
        Keys {
            rsa: rsa(),
            rsa2: rsa(),
            p256: ec(&ECDSA_P256_SHA256_FIXED_SIGNING),
            p256b: ec(&ECDSA_P256_SHA256_FIXED_SIGNING),
            p384: ec(&ECDSA_P384_SHA384_FIXED_SIGNING),
            ed25519: ed25519(),
        }
    })
}

/// `jsonwebtoken` needs a provider to build JWKs; the layer installs the same one.
pub fn install_provider() {
    #[cfg(feature = "aws_lc_rs")]
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    #[cfg(all(not(feature = "aws_lc_rs"), feature = "rust_crypto"))]
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}

/// The key a test signs `alg` tokens with.
pub fn key_for(alg: Algorithm) -> &'static TestKey {
    let k = keys();
    match alg {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => &k.rsa,
        Algorithm::ES256 => &k.p256,
        Algorithm::ES384 => &k.p384,
        Algorithm::EdDSA => &k.ed25519,
        _ => panic!("no test key for {alg:?}"),
    }
}

fn encoding_key(alg: Algorithm, key: &TestKey) -> EncodingKey {
    let pem = key.private_pem.as_bytes();
    match alg {
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(pem).unwrap(),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(pem).unwrap(),
        _ => EncodingKey::from_rsa_pem(pem).unwrap(),
    }
}

/// The public JWK of `key` for `alg`, with `kid` and, if `with_alg`, the JWK `alg` member.
pub fn jwk(alg: Algorithm, key: &TestKey, kid: Option<&str>, with_alg: bool) -> Jwk {
    install_provider();
    let mut jwk = Jwk::from_encoding_key(&encoding_key(alg, key), alg).unwrap();
    jwk.common.key_id = kid.map(str::to_owned);
    if !with_alg {
        jwk.common.key_algorithm = None;
    }
    jwk
}

/// A JWKS document holding these JWKs.
pub fn jwks(keys: &[Jwk]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "keys": keys })).unwrap()
}

fn in_an_hour() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600
}

/// A valid token signed with `key` for `alg`, with `kid` in its header.
pub fn token(alg: Algorithm, key: &TestKey, kid: Option<&str>) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    let claims = json!({ "exp": in_an_hour(), "did": "device-1" });
    jsonwebtoken::encode(&header, &claims, &encoding_key(alg, key)).unwrap()
}

/// A valid HS256 token signed with `secret`, with `kid` in its header.
pub fn hs256_token(secret: &[u8], kid: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_owned);
    let claims = json!({ "exp": in_an_hour(), "did": "device-1" });
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret).unwrap()).unwrap()
}

/// A protected Router answering `GET /` with the token's `did`.
pub fn app(config: ApproovConfig) -> Router {
    Router::new()
        .route(
            "/",
            get(|claims: ApproovClaims| async move { claims.did().unwrap_or("").to_owned() }),
        )
        .layer(ApproovLayer::new(config))
}

/// Sends `GET /` with the token and returns the status and, for a rejection, its reason.
pub async fn send(app: &Router, token: &str) -> (StatusCode, Option<ApproovErrorKind>) {
    let request = Request::get("/")
        .header("approov-token", token)
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let kind = response
        .extensions()
        .get::<ApproovError>()
        .map(ApproovError::kind);
    (response.status(), kind)
}

/// A config with these keys only, and no verified-token cache, so that every request really
/// selects a key and checks a signature.
pub fn builder() -> tower_approov::ApproovConfigBuilder {
    ApproovConfig::builder().with_token_cache_size(0)
}

pub const OK: (StatusCode, Option<ApproovErrorKind>) = (StatusCode::OK, None);

/// The expected answer for a rejection of this kind.
pub fn rejected(kind: ApproovErrorKind) -> (StatusCode, Option<ApproovErrorKind>) {
    (StatusCode::UNAUTHORIZED, Some(kind))
}
