//! Asymmetric keys from PEM and JWKS, key selection by `kid`, secret rotation, and algorithm
//! confusion, all through a real axum Router. Keys are generated at test time.
#![cfg(feature = "axum")]

use crate::keys_support;

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::Algorithm;
use keys_support::*;
use tower_approov::{ApproovConfigBuilder, ApproovErrorKind, ConfigError};

/// One test per algorithm and source: the token verifies through the layer.
macro_rules! verifies {
    ($($pem:ident, $jwks:ident, $jwks_no_alg:ident => $alg:expr;)*) => {$(
        #[tokio::test]
        async fn $pem() {
            let key = key_for($alg);
            let config = builder()
                .with_public_key_pem(key.public_pem.as_bytes(), None)
                .unwrap()
                .build()
                .unwrap();
            assert_eq!(send(&app(config), &token($alg, key, None)).await, OK);
        }

        #[tokio::test]
        async fn $jwks() {
            let key = key_for($alg);
            let config = builder()
                .with_jwks(&jwks(&[jwk($alg, key, Some("k1"), true)]))
                .unwrap()
                .build()
                .unwrap();
            assert_eq!(send(&app(config), &token($alg, key, Some("k1"))).await, OK);
        }

        #[tokio::test]
        async fn $jwks_no_alg() {
            let key = key_for($alg);
            let config = builder()
                .with_jwks(&jwks(&[jwk($alg, key, Some("k1"), false)]))
                .unwrap()
                .build()
                .unwrap();
            assert_eq!(send(&app(config), &token($alg, key, Some("k1"))).await, OK);
        }
    )*};
}

verifies! {
    rs256_token_verifies_with_a_pem_key, rs256_token_verifies_with_a_jwks_key, rs256_token_verifies_with_a_jwk_without_alg => Algorithm::RS256;
    rs384_token_verifies_with_a_pem_key, rs384_token_verifies_with_a_jwks_key, rs384_token_verifies_with_a_jwk_without_alg => Algorithm::RS384;
    rs512_token_verifies_with_a_pem_key, rs512_token_verifies_with_a_jwks_key, rs512_token_verifies_with_a_jwk_without_alg => Algorithm::RS512;
    ps256_token_verifies_with_a_pem_key, ps256_token_verifies_with_a_jwks_key, ps256_token_verifies_with_a_jwk_without_alg => Algorithm::PS256;
    ps384_token_verifies_with_a_pem_key, ps384_token_verifies_with_a_jwks_key, ps384_token_verifies_with_a_jwk_without_alg => Algorithm::PS384;
    ps512_token_verifies_with_a_pem_key, ps512_token_verifies_with_a_jwks_key, ps512_token_verifies_with_a_jwk_without_alg => Algorithm::PS512;
    es256_token_verifies_with_a_pem_key, es256_token_verifies_with_a_jwks_key, es256_token_verifies_with_a_jwk_without_alg => Algorithm::ES256;
    es384_token_verifies_with_a_pem_key, es384_token_verifies_with_a_jwks_key, es384_token_verifies_with_a_jwk_without_alg => Algorithm::ES384;
    eddsa_token_verifies_with_a_pem_key, eddsa_token_verifies_with_a_jwks_key, eddsa_token_verifies_with_a_jwk_without_alg => Algorithm::EdDSA;
}

fn env(vars: &[(&str, &str)]) -> Result<ApproovConfigBuilder, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ApproovConfigBuilder::from_env_with(|name| vars.get(name).cloned().map(Ok))
}

fn temp_file(name: &str, content: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tower-approov-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

#[tokio::test]
async fn public_key_pem_from_env_as_text_verifies() {
    let key = &keys().p256;
    let config = env(&[("APPROOV_PUBLIC_KEY_PEM", &key.public_pem)])
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        send(&app(config), &token(Algorithm::ES256, key, None)).await,
        OK
    );
}

#[tokio::test]
async fn public_key_pem_from_env_as_a_path_verifies() {
    let key = &keys().ed25519;
    let path = temp_file("ed25519.pem", key.public_pem.as_bytes());
    let config = env(&[("APPROOV_PUBLIC_KEY_PEM", path.to_str().unwrap())])
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        send(&app(config), &token(Algorithm::EdDSA, key, None)).await,
        OK
    );
}

#[tokio::test]
async fn jwks_from_env_as_a_path_verifies() {
    let key = &keys().rsa;
    let doc = jwks(&[jwk(Algorithm::PS256, key, Some("r1"), true)]);
    let path = temp_file("jwks.json", &doc);
    let config = env(&[("APPROOV_JWKS", path.to_str().unwrap())])
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        send(&app(config), &token(Algorithm::PS256, key, Some("r1"))).await,
        OK
    );
}

#[tokio::test]
async fn jwks_from_env_as_text_verifies() {
    let key = &keys().p384;
    let doc = jwks(&[jwk(Algorithm::ES384, key, Some("e1"), true)]);
    let config = env(&[("APPROOV_JWKS", std::str::from_utf8(&doc).unwrap())])
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        send(&app(config), &token(Algorithm::ES384, key, Some("e1"))).await,
        OK
    );
}

// --- selection -------------------------------------------------------------------------------

fn two_p256_keys() -> tower_approov::ApproovConfig {
    let k = keys();
    builder()
        .with_public_key_pem(k.p256.public_pem.as_bytes(), Some("a"))
        .unwrap()
        .with_public_key_pem(k.p256b.public_pem.as_bytes(), Some("b"))
        .unwrap()
        .build()
        .unwrap()
}

#[tokio::test]
async fn kid_selects_the_key_among_several_of_the_same_family() {
    let app = app(two_p256_keys());
    assert_eq!(
        send(&app, &token(Algorithm::ES256, &keys().p256b, Some("b"))).await,
        OK
    );
    assert_eq!(
        send(&app, &token(Algorithm::ES256, &keys().p256, Some("a"))).await,
        OK
    );
}

#[tokio::test]
async fn token_signed_by_another_key_than_its_kid_names_is_rejected() {
    let app = app(two_p256_keys());
    assert_eq!(
        send(&app, &token(Algorithm::ES256, &keys().p256b, Some("a"))).await,
        rejected(ApproovErrorKind::InvalidSignature)
    );
}

#[tokio::test]
async fn token_without_kid_is_accepted_when_one_key_of_its_family_is_configured() {
    let k = keys();
    let config = builder()
        .with_public_key_pem(k.p256.public_pem.as_bytes(), Some("ec"))
        .unwrap()
        .with_public_key_pem(k.rsa.public_pem.as_bytes(), Some("rsa"))
        .unwrap()
        .with_secret(b"an-hs256-secret-of-at-least-32-bytes!", Some("hs"))
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        send(&app(config), &token(Algorithm::ES256, &k.p256, None)).await,
        OK
    );
}

#[tokio::test]
async fn token_without_kid_is_rejected_when_two_keys_of_its_family_are_configured() {
    assert_eq!(
        send(
            &app(two_p256_keys()),
            &token(Algorithm::ES256, &keys().p256, None)
        )
        .await,
        rejected(ApproovErrorKind::NoMatchingKey)
    );
}

#[tokio::test]
async fn unknown_kid_is_rejected_with_its_own_reason() {
    assert_eq!(
        send(
            &app(two_p256_keys()),
            &token(Algorithm::ES256, &keys().p256, Some("c"))
        )
        .await,
        rejected(ApproovErrorKind::UnknownKeyId)
    );
}

#[tokio::test]
async fn unknown_kid_is_rejected_when_the_only_key_of_the_family_has_a_kid() {
    let config = builder()
        .with_public_key_pem(keys().p256.public_pem.as_bytes(), Some("a"))
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        send(
            &app(config),
            &token(Algorithm::ES256, &keys().p256, Some("z"))
        )
        .await,
        rejected(ApproovErrorKind::UnknownKeyId)
    );
}

/// Approov adds a `kid` to tokens when asked (`approov secret -setKeyID`, key sets); a single
/// key configured without one must still verify them.
#[tokio::test]
async fn kid_is_tolerated_when_the_single_key_of_the_family_has_none() {
    let config = builder()
        .with_public_key_pem(keys().rsa.public_pem.as_bytes(), None)
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        send(
            &app(config),
            &token(Algorithm::RS256, &keys().rsa, Some("0001"))
        )
        .await,
        OK
    );
}

#[tokio::test]
async fn jwk_alg_narrows_an_rsa_key_to_that_algorithm() {
    let key = &keys().rsa;
    let config = builder()
        .with_jwks(&jwks(&[jwk(Algorithm::RS256, key, Some("r"), true)]))
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        send(&app(config), &token(Algorithm::PS256, key, Some("r"))).await,
        rejected(ApproovErrorKind::AlgorithmNotAllowed)
    );
}

#[tokio::test]
async fn a_key_never_verifies_another_family_even_when_its_kid_is_named() {
    let k = keys();
    let config = builder()
        .with_public_key_pem(k.rsa.public_pem.as_bytes(), Some("rsa"))
        .unwrap()
        .with_public_key_pem(k.p256.public_pem.as_bytes(), Some("ec"))
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        send(&app(config), &token(Algorithm::ES256, &k.p256, Some("rsa"))).await,
        rejected(ApproovErrorKind::AlgorithmNotAllowed)
    );
}

#[tokio::test]
async fn es384_token_is_not_verified_by_a_p256_key() {
    let config = builder()
        .with_public_key_pem(keys().p256.public_pem.as_bytes(), None)
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        send(&app(config), &token(Algorithm::ES384, &keys().p384, None)).await,
        rejected(ApproovErrorKind::AlgorithmNotAllowed)
    );
}

#[test]
fn two_keys_with_the_same_kid_and_algorithm_are_a_config_error() {
    let error = builder()
        .with_secret(b"first-secret-first-secret-first!", Some("k"))
        .unwrap()
        .with_secret(b"other-secret-other-secret-other!", Some("k"))
        .unwrap()
        .build()
        .unwrap_err();
    assert!(
        matches!(
            error,
            ConfigError::Invalid {
                variable: "kid",
                ..
            }
        ),
        "{error:?}"
    );
}

/// `APPROOV_BASE64_SECRET=old,new` without kids would make every HS256 token ambiguous
/// (`no_matching_key` on every request): it is refused at start-up instead.
#[test]
fn two_secrets_without_kid_are_a_config_error_naming_kid() {
    let lookup = |name: &str| match name {
        "APPROOV_BASE64_SECRET" => Some(Ok(format!(
            "{},{}",
            STANDARD.encode(b"first-secret-first-secret-first!"),
            STANDARD.encode(b"other-secret-other-secret-other!")
        ))),
        _ => None,
    };
    let error = tower_approov::ApproovConfigBuilder::from_env_with(lookup)
        .unwrap()
        .build()
        .unwrap_err();
    assert!(
        matches!(
            error,
            ConfigError::Invalid {
                variable: "kid",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("kid:secret"), "{error}");
}

#[tokio::test]
async fn a_kid_less_secret_and_a_kid_less_public_key_live_together() {
    let secret = b"first-secret-first-secret-first!";
    let rsa = key_for(Algorithm::RS256);
    let config = builder()
        .with_secret(secret, None)
        .unwrap()
        .with_public_key_pem(rsa.public_pem.as_bytes(), None)
        .unwrap()
        .build();
    let app = app(config.unwrap());
    // Each verifies its own tokens; neither stands in for the other.
    assert_eq!(send(&app, &hs256_token(secret, None)).await, OK);
    assert_eq!(send(&app, &token(Algorithm::RS256, rsa, None)).await, OK);
    assert_eq!(
        send(
            &app,
            &hs256_token(b"other-secret-other-secret-other!", None)
        )
        .await,
        rejected(ApproovErrorKind::InvalidSignature)
    );
}

// --- migration and rotation -----------------------------------------------------------------

const OLD: &[u8] = b"the-old-account-secret-64-bytes-long-or-at-least-32-bytes-long!!";
const NEW: &[u8] = b"the-new-account-secret-64-bytes-long-or-at-least-32-bytes-long!!";

fn secret_and_rsa_key() -> tower_approov::ApproovConfig {
    builder()
        .with_secret(OLD, None)
        .unwrap()
        .with_public_key_pem(keys().rsa.public_pem.as_bytes(), Some("rsa"))
        .unwrap()
        .build()
        .unwrap()
}

#[tokio::test]
async fn hs256_tokens_still_verify_while_migrating_to_a_public_key() {
    assert_eq!(
        send(&app(secret_and_rsa_key()), &hs256_token(OLD, None)).await,
        OK
    );
}

#[tokio::test]
async fn rs256_tokens_verify_while_the_old_secret_is_still_configured() {
    assert_eq!(
        send(
            &app(secret_and_rsa_key()),
            &token(Algorithm::RS256, &keys().rsa, Some("rsa"))
        )
        .await,
        OK
    );
}

fn rotating_builder() -> tower_approov::ApproovConfig {
    builder()
        .with_secret(OLD, Some("old"))
        .unwrap()
        .with_secret(NEW, Some("new"))
        .unwrap()
        .build()
        .unwrap()
}

#[tokio::test]
async fn rotation_from_the_builder_accepts_the_old_secret_by_kid() {
    assert_eq!(
        send(&app(rotating_builder()), &hs256_token(OLD, Some("old"))).await,
        OK
    );
}

#[tokio::test]
async fn rotation_from_the_builder_accepts_the_new_secret_by_kid() {
    assert_eq!(
        send(&app(rotating_builder()), &hs256_token(NEW, Some("new"))).await,
        OK
    );
}

#[tokio::test]
async fn rotation_without_kid_in_the_token_is_rejected_as_ambiguous() {
    assert_eq!(
        send(&app(rotating_builder()), &hs256_token(NEW, None)).await,
        rejected(ApproovErrorKind::NoMatchingKey)
    );
}

fn rotating_env() -> tower_approov::ApproovConfig {
    let list = format!("old:{},new:{}", STANDARD.encode(OLD), STANDARD.encode(NEW));
    env(&[("APPROOV_BASE64_SECRET", &list)])
        .unwrap()
        .with_token_cache_size(0)
        .build()
        .unwrap()
}

#[tokio::test]
async fn rotation_from_env_accepts_both_secrets_by_kid() {
    let app = app(rotating_env());
    assert_eq!(send(&app, &hs256_token(OLD, Some("old"))).await, OK);
    assert_eq!(send(&app, &hs256_token(NEW, Some("new"))).await, OK);
}

#[tokio::test]
async fn rotation_from_env_rejects_a_secret_under_the_wrong_kid() {
    assert_eq!(
        send(&app(rotating_env()), &hs256_token(OLD, Some("new"))).await,
        rejected(ApproovErrorKind::InvalidSignature)
    );
}

#[test]
fn env_secret_list_with_an_empty_kid_is_a_config_error() {
    let list = format!(":{}", STANDARD.encode(OLD));
    let error = env(&[("APPROOV_BASE64_SECRET", &list)]).unwrap_err();
    assert!(
        matches!(
            error,
            ConfigError::Invalid {
                variable: "APPROOV_BASE64_SECRET",
                ..
            }
        ),
        "{error:?}"
    );
}

// --- algorithm confusion ----------------------------------------------------------------------

/// Only public keys are configured: an HS256 token "signed" with a public key's bytes finds no
/// key that accepts HS256, whatever its `kid`.
async fn hs256_with_public_key_bytes(secret: &[u8], kid: Option<&str>) {
    let k = keys();
    let config = builder()
        .with_public_key_pem(k.rsa.public_pem.as_bytes(), Some("rsa"))
        .unwrap()
        .with_public_key_pem(k.p256.public_pem.as_bytes(), Some("ec"))
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        send(&app(config), &hs256_token(secret, kid)).await,
        rejected(ApproovErrorKind::AlgorithmNotAllowed)
    );
}

#[tokio::test]
async fn hs256_token_signed_with_the_rsa_public_key_pem_is_rejected() {
    hs256_with_public_key_bytes(keys().rsa.public_pem.as_bytes(), Some("rsa")).await;
}

#[tokio::test]
async fn hs256_token_signed_with_the_rsa_public_key_der_is_rejected() {
    hs256_with_public_key_bytes(&keys().rsa.public_der, None).await;
}

#[tokio::test]
async fn hs256_token_signed_with_the_ec_public_key_pem_is_rejected() {
    hs256_with_public_key_bytes(keys().p256.public_pem.as_bytes(), None).await;
}

#[tokio::test]
async fn hs256_token_signed_with_the_ec_public_key_der_is_rejected() {
    hs256_with_public_key_bytes(&keys().p256.public_der, Some("ec")).await;
}

/// With a secret configured too (migration), the HS256 token is checked against the secret,
/// never against the public key's bytes.
#[tokio::test]
async fn hs256_token_signed_with_a_public_key_is_rejected_while_a_secret_is_configured() {
    assert_eq!(
        send(
            &app(secret_and_rsa_key()),
            &hs256_token(keys().rsa.public_pem.as_bytes(), None)
        )
        .await,
        rejected(ApproovErrorKind::InvalidSignature)
    );
}

#[tokio::test]
async fn hs256_token_naming_the_rsa_kid_is_rejected_while_a_secret_is_configured() {
    assert_eq!(
        send(
            &app(secret_and_rsa_key()),
            &hs256_token(keys().rsa.public_pem.as_bytes(), Some("rsa"))
        )
        .await,
        rejected(ApproovErrorKind::AlgorithmNotAllowed)
    );
}

// ---- RSA key sizes: 2048 to 4096 bits ---------------------------------------------------------

/// Public keys made by openssl (`tests/fixtures/README.md` says how): only their size is wrong.
const RSA_1024_PEM: &str = include_str!("../fixtures/rsa-1024-public.pem");
const RSA_8192_PEM: &str = include_str!("../fixtures/rsa-8192-public.pem");

/// The message of every refusal of an RSA key for its size.
const RSA_SIZE: &str = "RSA keys must have 2048 to 4096 bits";

/// An RS256 JWK (`kid` "rsa") of an RSA public key given as SubjectPublicKeyInfo PEM.
fn rsa_jwks_of(public_pem: &str) -> Vec<u8> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let b64: String = public_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let key = aws_lc_rs::rsa::PublicKey::from_der(&STANDARD.decode(b64).unwrap()).unwrap();
    let n = URL_SAFE_NO_PAD.encode(key.modulus().big_endian_without_leading_zero());
    let e = URL_SAFE_NO_PAD.encode(key.exponent().big_endian_without_leading_zero());
    serde_json::to_vec(&serde_json::json!({
        "keys": [{ "kty": "RSA", "alg": "RS256", "use": "sig", "kid": "rsa", "n": n, "e": e }]
    }))
    .unwrap()
}

/// What each key source makes of an RSA public key: the builder's PEM, the builder's JWKS, and
/// `APPROOV_PUBLIC_KEY_PEM`.
fn rsa_key_sources(
    public_pem: &str,
) -> [(
    &'static str,
    Result<tower_approov::ApproovConfig, ConfigError>,
); 3] {
    [
        (
            "with_public_key_pem",
            builder()
                .with_public_key_pem(public_pem.as_bytes(), Some("rsa"))
                .and_then(|b| b.build()),
        ),
        (
            "with_jwks",
            builder()
                .with_jwks(&rsa_jwks_of(public_pem))
                .and_then(|b| b.build()),
        ),
        (
            "APPROOV_PUBLIC_KEY_PEM",
            env(&[("APPROOV_PUBLIC_KEY_PEM", public_pem)]).and_then(|b| b.build()),
        ),
    ]
}

/// Asserts that every key source refuses `public_pem` for its size, each with its exact
/// message. A JWKS skips the key with a warning that gives the size as the reason, then has no
/// key left.
fn assert_refused_for_its_size(public_pem: &str) {
    let (logs, _guard) = crate::log_capture::capture();
    let [pem, jwks, env] = rsa_key_sources(public_pem);
    let message = |(_, result): (&str, Result<_, ConfigError>)| match result {
        Err(error @ ConfigError::Key { .. }) => error.to_string(),
        other => panic!("expected ConfigError::Key, got {other:?}"),
    };
    assert_eq!(
        message(pem),
        format!("ApproovConfigBuilder::with_public_key_pem holds an unusable key: {RSA_SIZE}")
    );
    assert_eq!(
        message(jwks),
        "ApproovConfigBuilder::with_jwks holds an unusable key: the JWKS holds no usable key"
    );
    let skipped = crate::log_capture::lines_with(&logs, "skipping a JWK that cannot be used");
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(
        crate::log_capture::level(&skipped[0]),
        "WARN",
        "{skipped:?}"
    );
    assert!(
        skipped[0].contains(&format!("reason=\"{RSA_SIZE}\"")),
        "{skipped:?}"
    );
    assert_eq!(
        message(env),
        format!("APPROOV_PUBLIC_KEY_PEM holds an unusable key: {RSA_SIZE}")
    );
}

#[test]
fn an_rsa_key_of_1024_bits_is_refused_by_each_key_source_for_its_size() {
    assert_refused_for_its_size(RSA_1024_PEM);
}

#[test]
fn an_rsa_key_of_8192_bits_is_refused_by_each_key_source_for_its_size() {
    assert_refused_for_its_size(RSA_8192_PEM);
}

/// An RS256 token signed by `pair` with aws-lc-rs directly (a 4096-bit signature made by the
/// crate's backend would cost seconds in a debug build of `rsa`), with `kid` "rsa".
fn rs256_token_signed_by(pair: &aws_lc_rs::rsa::KeyPair) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT","kid":"rsa"}"#);
    let exp = crate::common::now() + 600.5;
    let claims = URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp},"did":"device-1"}}"#));
    let message = format!("{header}.{claims}");
    let mut signature = vec![0; pair.public_modulus_len()];
    pair.sign(
        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        message.as_bytes(),
        &mut signature,
    )
    .unwrap();
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[tokio::test]
async fn an_rsa_key_of_4096_bits_is_taken_by_each_key_source_and_verifies_its_tokens() {
    use aws_lc_rs::encoding::{AsDer as _, PublicKeyX509Der};
    use aws_lc_rs::signature::KeyPair as _;
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa4096).unwrap();
    let der: PublicKeyX509Der<'_> = pair.public_key().as_der().unwrap();
    let b64 = STANDARD.encode(der.as_ref());
    let mut public_pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        public_pem.push_str(std::str::from_utf8(line).unwrap());
        public_pem.push('\n');
    }
    public_pem.push_str("-----END PUBLIC KEY-----\n");
    let token = rs256_token_signed_by(&pair);
    for (source, config) in rsa_key_sources(&public_pem) {
        let config = config.unwrap_or_else(|e| panic!("{source}: {e}"));
        assert_eq!(send(&app(config), &token).await, OK, "{source}");
    }
}

#[tokio::test]
async fn an_es256_signature_that_is_not_base64url_is_malformed_and_one_of_the_wrong_length_invalid()
{
    let key = &keys().p256;
    let config = builder()
        .with_public_key_pem(key.public_pem.as_bytes(), None)
        .unwrap()
        .build()
        .unwrap();
    let app = app(config);
    let token = token(Algorithm::ES256, key, None);
    let message = token.rsplit_once('.').unwrap().0;
    assert_eq!(send(&app, &token).await, OK);
    // Not base64url: the token's form is wrong, whatever the key.
    assert_eq!(
        send(&app, &format!("{message}.*not-base64*")).await,
        rejected(ApproovErrorKind::MalformedToken)
    );
    // Base64url of 10 bytes: a well-formed token whose signature cannot be P-256's.
    assert_eq!(
        send(&app, &format!("{message}.AAAAAAAAAAAAAA")).await,
        rejected(ApproovErrorKind::InvalidSignature)
    );
}

// ---- Secrets in an inline JWKS ------------------------------------------------------------------

/// A JWKS given inline (`with_jwks`, `APPROOV_JWKS`) may carry the account's HS256 secret as
/// an `oct` key: the configuration is the operator's own, unlike a JWKS URL's.
fn oct_jwks(alg: Option<&str>) -> Vec<u8> {
    let k = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(b"0123456789abcdef0123456789abcdef");
    let mut key = serde_json::json!({ "kty": "oct", "kid": "s1", "k": k });
    if let Some(alg) = alg {
        key["alg"] = alg.into();
    }
    serde_json::to_vec(&serde_json::json!({ "keys": [key] })).unwrap()
}

fn hs256_token_with_kid(kid: &str) -> String {
    let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(
        &header,
        &serde_json::json!({ "exp": 4_000_000_000.0_f64, "did": "device-1" }),
        &jsonwebtoken::EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef").unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn an_inline_jwks_may_carry_an_hs256_secret_as_an_oct_key_which_verifies_its_tokens() {
    for alg in [None, Some("HS256")] {
        let config = builder()
            .with_jwks(&oct_jwks(alg))
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(
            send(&app(config), &hs256_token_with_kid("s1")).await,
            OK,
            "{alg:?}"
        );
    }
}

#[test]
fn an_oct_key_for_hs384_or_hs512_is_not_taken_since_only_hs256_secrets_are() {
    for alg in ["HS384", "HS512"] {
        let error = builder().with_jwks(&oct_jwks(Some(alg))).unwrap_err();
        assert!(matches!(error, ConfigError::Key { .. }), "{alg}: {error:?}");
        assert!(
            error.to_string().contains("the JWKS holds no usable key"),
            "{alg}: {error}"
        );
    }
}
