//! Keys and tokens for the benches, the load-test server and the memory check.
//!
//! Shared by `benches/layer.rs` (as `mod support;`) and the examples (through `#[path]`).
//! Keys are generated at run time with aws-lc-rs; tokens are minted with `jsonwebtoken`, shaped
//! like Approov's (a float `exp`, a `did`, an `ip`, optionally a `pay`).

#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{Value, json};
use tower_approov::{ApproovConfig, ApproovConfigBuilder};

/// The algorithms the benches compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    Hs256,
    Rs256,
    Es256,
}

impl Alg {
    pub const ALL: [Alg; 3] = [Alg::Hs256, Alg::Rs256, Alg::Es256];

    pub fn name(self) -> &'static str {
        match self {
            Alg::Hs256 => "HS256",
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
        }
    }

    pub fn parse(name: &str) -> Option<Alg> {
        Alg::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    pub fn jwt(self) -> Algorithm {
        match self {
            Alg::Hs256 => Algorithm::HS256,
            Alg::Rs256 => Algorithm::RS256,
            Alg::Es256 => Algorithm::ES256,
        }
    }
}

/// A fixed 64-byte HS256 secret, like an Approov account secret. For benches only.
pub const HS256_SECRET: [u8; 64] =
    *b"bench-only-approov-secret-0123456789-abcdefghijklmnopqrstuvwxyz!";

/// One signing key and the matching verification material.
pub struct KeyMaterial {
    pub alg: Alg,
    /// PKCS#8 PEM (asymmetric) or the raw secret (HS256).
    pub private: Vec<u8>,
    /// SubjectPublicKeyInfo PEM (asymmetric) or the raw secret (HS256).
    pub public: Vec<u8>,
    pub encoding: EncodingKey,
}

impl KeyMaterial {
    /// A fresh key for `alg` (HS256 uses [`HS256_SECRET`]).
    pub fn generate(alg: Alg) -> KeyMaterial {
        let (private, public) = match alg {
            Alg::Hs256 => (HS256_SECRET.to_vec(), HS256_SECRET.to_vec()),
            Alg::Rs256 => {
                let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .expect("RSA key generation");
                let private = AsDer::<Pkcs8V1Der<'_>>::as_der(&pair).expect("RSA PKCS#8");
                let public =
                    AsDer::<PublicKeyX509Der<'_>>::as_der(pair.public_key()).expect("RSA SPKI");
                (
                    pem("PRIVATE KEY", private.as_ref()),
                    pem("PUBLIC KEY", public.as_ref()),
                )
            }
            Alg::Es256 => {
                let pair =
                    EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("EC key");
                let private = pair.to_pkcs8v1().expect("EC PKCS#8");
                let public =
                    AsDer::<PublicKeyX509Der<'_>>::as_der(pair.public_key()).expect("EC SPKI");
                (
                    pem("PRIVATE KEY", private.as_ref()),
                    pem("PUBLIC KEY", public.as_ref()),
                )
            }
        };
        Self::from_parts(alg, private, public)
    }

    /// Rebuilds key material saved with [`private`](Self::private) / [`public`](Self::public).
    pub fn from_parts(alg: Alg, private: Vec<u8>, public: Vec<u8>) -> KeyMaterial {
        install_crypto_provider();
        let encoding = match alg {
            Alg::Hs256 => EncodingKey::from_secret(&private).expect("HS256 secret"),
            Alg::Rs256 => EncodingKey::from_rsa_pem(&private).expect("RSA PEM"),
            Alg::Es256 => EncodingKey::from_ec_pem(&private).expect("EC PEM"),
        };
        KeyMaterial {
            alg,
            private,
            public,
            encoding,
        }
    }

    /// The `jsonwebtoken` decoding key, for the baseline middleware and `decode` alone.
    pub fn decoding(&self) -> DecodingKey {
        match self.alg {
            Alg::Hs256 => DecodingKey::from_secret(&self.public).expect("HS256 secret"),
            Alg::Rs256 => DecodingKey::from_rsa_pem(&self.public).expect("RSA PEM"),
            Alg::Es256 => DecodingKey::from_ec_pem(&self.public).expect("EC PEM"),
        }
    }

    /// What the baseline middleware and `decode` alone check: the algorithm, `exp` with no
    /// leeway, no audience.
    pub fn validation(&self) -> jsonwebtoken::Validation {
        let mut validation = jsonwebtoken::Validation::new(self.alg.jwt());
        validation.leeway = 0;
        validation.validate_aud = false;
        validation
    }

    /// A layer configuration builder that trusts this key.
    pub fn builder(&self) -> ApproovConfigBuilder {
        let builder = ApproovConfig::builder();
        match self.alg {
            Alg::Hs256 => builder.with_secret(&self.public, None),
            Alg::Rs256 | Alg::Es256 => builder.with_public_key_pem(&self.public, None),
        }
        .expect("key accepted by the layer")
    }

    /// Signs `claims`.
    pub fn mint(&self, claims: &Value) -> String {
        jsonwebtoken::encode(&Header::new(self.alg.jwt()), claims, &self.encoding).expect("mint")
    }
}

/// `jsonwebtoken` needs a provider when both backend features are on (`--all-features`); the
/// layer installs aws-lc-rs itself, but minting may come first.
pub fn install_crypto_provider() {
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}

fn pem(label: &str, der: &[u8]) -> Vec<u8> {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out.into_bytes()
}

/// Seconds since the Unix epoch.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

/// Approov-shaped claims: a float `exp` an hour ahead (or `exp_in` seconds), a device id that
/// makes the token unique for `n`, an `ip`, and a `pay` when given.
pub fn claims(n: u64, exp_in: f64, pay: Option<&str>) -> Value {
    let mut claims = json!({
        "exp": now() + exp_in,
        "did": STANDARD.encode(n.to_be_bytes()),
        "ip": "127.0.0.1",
    });
    if let Some(pay) = pay {
        claims["pay"] = Value::from(pay);
    }
    claims
}

/// The `Authorization` value the binding benches bind their tokens to.
pub const BOUND_AUTHORIZATION: &str = "Bearer bench-user-session-token-0123456789";

/// The `pay` claim for [`BOUND_AUTHORIZATION`].
pub fn bound_pay() -> String {
    tower_approov::pay_claim_for([BOUND_AUTHORIZATION.as_bytes()])
}
