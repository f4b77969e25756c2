//! Approov tokens and SDK signatures, made by hand: HS256 tokens with `aws-lc-rs`'s HMAC (not
//! this crate's minting), installation keys and ECDSA P-256 signatures with `aws-lc-rs` over
//! signature bases written out in the tests from APPROOV.md section 3.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// The account secret of the tests: 64 bytes, like a real Approov secret.
pub const SECRET: &[u8; 64] = b"approov-verifier-test-secret-64-bytes-long-0123456789abcdefghijk";
/// A secret the verifier does not know, for forged tokens.
pub const OTHER_SECRET: &[u8; 64] =
    b"a-different-secret-of-64-bytes-that-the-verifier-does-not-know!!";
/// The device id the valid tokens carry.
pub const DID: &str = "ZGV2aWNlLTE=";

/// `SECRET` as `approov secret -get base64` prints it.
pub fn secret_base64() -> String {
    STANDARD.encode(SECRET)
}

/// Seconds since the Unix epoch.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64()
}

/// A JWT with this JOSE header and these claims, HS256-signed with `secret`.
pub fn jwt(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, message.as_bytes());
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// Approov-shaped claims: a float `exp` ten minutes ahead, `ip`, and `did` when given.
pub fn claims(did: Option<&str>) -> Value {
    let mut claims = json!({"exp": now() + 600.5, "ip": "127.0.0.1"});
    if let Some(did) = did {
        claims["did"] = Value::String(did.to_owned());
    }
    claims
}

/// An HS256 token with these claims, signed with the test secret.
pub fn mint(claims: &Value) -> String {
    jwt(&json!({"alg": "HS256", "typ": "JWT"}), claims, SECRET)
}

/// A valid token with `did` = [`DID`].
pub fn valid() -> String {
    mint(&claims(Some(DID)))
}

/// A token that expired a minute ago.
pub fn expired() -> String {
    let mut claims = claims(Some(DID));
    claims["exp"] = json!(now() - 60.0);
    mint(&claims)
}

/// A valid-looking token signed with a secret the verifier does not know.
pub fn forged() -> String {
    jwt(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims(Some(DID)),
        OTHER_SECRET,
    )
}

/// `alg: none`, no signature.
pub fn alg_none() -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims(Some(DID)).to_string())
    )
}

/// A token bound to this `Authorization` value: `pay` = base64(SHA-256(value)).
pub fn bound_to(authorization: &str) -> String {
    let mut claims = claims(Some(DID));
    claims["pay"] = Value::String(STANDARD.encode(Sha256::digest(authorization)));
    mint(&claims)
}

/// `sha-256=:<base64>:`, the `Content-Digest` the SDKs send.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)))
}

/// An installation key, as the SDK makes on first start.
pub struct InstallKey(EcdsaKeyPair);

impl InstallKey {
    pub fn generate() -> Self {
        Self(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("a P-256 key"))
    }

    /// The token's `ipk`: base64 of the DER SubjectPublicKeyInfo.
    pub fn ipk(&self) -> String {
        let der = self.0.public_key().as_der().expect("the public key's DER");
        STANDARD.encode(der.as_ref())
    }

    /// A valid token carrying this key's `ipk`, and `did` = [`DID`].
    pub fn token(&self) -> String {
        let mut claims = claims(Some(DID));
        claims["ipk"] = Value::String(self.ipk());
        mint(&claims)
    }

    /// The raw `r||s` signature of `base`, base64, as every SDK sends it.
    pub fn sign(&self, base: &str) -> String {
        let signature = self
            .0
            .sign(&SystemRandom::new(), base.as_bytes())
            .expect("a signature");
        STANDARD.encode(signature.as_ref())
    }
}

/// The SDK's signature parameters for these covered components: `alg`, `created`, `expires`
/// 15 s later, in that order.
pub fn sdk_params(components: &str) -> String {
    let created = now() as i64;
    format!(
        "({components});alg=\"ecdsa-p256-sha256\";created={created};expires={}",
        created + 15
    )
}
