//! Configuration and requests fail closed (issue 13): empty lists, out-of-range durations,
//! keys that must not verify, a monitored request whose signed body never arrived, and a
//! body `Debug` that shows no bytes.

use crate::common::SECRET;
use crate::keys_support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::signature::KeyPair as _;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{KeyOperations, PublicKeyUse};
use keys_support::*;
use tower::ServiceExt as _;
use tower_approov::test_util::{InstallationKey, RequestSigner};
use tower_approov::{
    ApproovBody, ApproovConfig, ApproovConfigBuilder, ApproovError, ApproovErrorKind, ApproovLayer,
    ConfigError, MessageSigning, Mode, SigningConfig,
};

fn secret_builder() -> ApproovConfigBuilder {
    ApproovConfig::builder().with_secret(SECRET, None).unwrap()
}

fn from_vars(vars: &[(&str, &str)]) -> Result<ApproovConfigBuilder, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ApproovConfigBuilder::from_env_with(|name| vars.get(name).cloned().map(Ok))
}

fn secret_var() -> (&'static str, String) {
    ("APPROOV_BASE64_SECRET", STANDARD.encode(SECRET))
}

fn assert_invalid(result: Result<impl std::fmt::Debug, ConfigError>, setting: &str) {
    match result {
        Err(ConfigError::Invalid { variable, .. }) => assert_eq!(variable, setting),
        other => panic!("expected ConfigError::Invalid for {setting}, got {other:?}"),
    }
}

fn assert_empty(result: Result<impl std::fmt::Debug, ConfigError>, setting: &str) {
    match result {
        Err(ConfigError::Empty { variable }) => assert_eq!(variable, setting),
        other => panic!("expected ConfigError::Empty for {setting}, got {other:?}"),
    }
}

// ---- 2. empty token-binding lists ----------------------------------------------------------

#[test]
fn an_empty_token_binding_list_is_a_config_error_in_the_builder() {
    assert_empty(
        secret_builder().with_token_binding(Vec::<String>::new()),
        "ApproovConfigBuilder::with_token_binding",
    );
}

#[test]
fn an_empty_token_binding_list_is_a_config_error_on_a_built_config_and_layer() {
    let config = secret_builder().build().unwrap();
    assert_empty(
        config.with_token_binding(Vec::<String>::new()),
        "ApproovConfig::with_token_binding",
    );
    assert_empty(
        ApproovLayer::new(config).with_token_binding(Vec::<String>::new()),
        "ApproovConfig::with_token_binding",
    );
}

#[test]
fn an_empty_token_binding_list_is_a_config_error_from_the_environment() {
    let (name, secret) = secret_var();
    assert_empty(
        from_vars(&[(name, &secret), ("APPROOV_TOKEN_BINDING_HEADER", " , ")]),
        "APPROOV_TOKEN_BINDING_HEADER",
    );
}

// ---- 3. bounded durations ------------------------------------------------------------------

#[test]
fn a_leeway_above_one_hour_is_a_config_error_in_the_builder() {
    assert_invalid(
        secret_builder()
            .with_leeway(Duration::from_secs(3601))
            .build(),
        "ApproovConfigBuilder::with_leeway",
    );
    // One hour itself is allowed, and the Debug output of the layer does not panic.
    let config = secret_builder()
        .with_leeway(tower_approov::MAX_CLOCK_SKEW)
        .build()
        .unwrap();
    assert!(format!("{:?}", ApproovLayer::new(config)).contains("leeway: 3600s"));
}

#[test]
fn a_huge_leeway_from_the_environment_is_a_config_error_not_a_debug_panic() {
    let (name, secret) = secret_var();
    assert_invalid(
        from_vars(&[
            (name, &secret),
            ("APPROOV_LEEWAY_SECONDS", "18446744073709551615"),
        ]),
        "APPROOV_LEEWAY_SECONDS",
    );
    assert_invalid(
        from_vars(&[(name, &secret), ("APPROOV_LEEWAY_SECONDS", "3601")]),
        "APPROOV_LEEWAY_SECONDS",
    );
}

#[test]
fn a_signature_clock_skew_above_one_hour_is_a_config_error() {
    assert_invalid(
        secret_builder()
            .with_signing_config(
                SigningConfig::default()
                    .with_mode(MessageSigning::Require)
                    .with_clock_skew(Duration::from_secs(3601)),
            )
            .build(),
        "SigningConfig::with_clock_skew",
    );
    let (name, secret) = secret_var();
    assert_invalid(
        from_vars(&[
            (name, &secret),
            (
                "APPROOV_SIGNATURE_CLOCK_SKEW_SECONDS",
                "18446744073709551615",
            ),
        ]),
        "APPROOV_SIGNATURE_CLOCK_SKEW_SECONDS",
    );
}

#[cfg(feature = "jwks-url")]
#[test]
fn a_jwks_refresh_interval_or_minimum_interval_of_zero_is_a_config_error() {
    // Checked before any fetch: nothing listens on this URL.
    let url = "http://127.0.0.1:9/jwks.json";
    assert_invalid(
        ApproovConfig::builder()
            .with_jwks_url(url)
            .with_jwks_refresh_interval(Duration::ZERO)
            .build(),
        "ApproovConfigBuilder::with_jwks_refresh_interval",
    );
    assert_invalid(
        ApproovConfig::builder()
            .with_jwks_url(url)
            .with_jwks_min_refresh_interval(Duration::ZERO)
            .build(),
        "ApproovConfigBuilder::with_jwks_min_refresh_interval",
    );
}

// ---- 7. keys that must not verify tokens -----------------------------------------------------

#[tokio::test]
async fn a_jwk_for_encryption_is_skipped_and_does_not_verify() {
    let mut enc = jwk(Algorithm::ES256, &keys().p256, Some("enc"), true);
    enc.common.public_key_use = Some(PublicKeyUse::Encryption);
    let sig = jwk(Algorithm::ES256, &keys().p256b, Some("sig"), true);
    let app = app(builder()
        .with_jwks(&jwks(&[enc, sig]))
        .unwrap()
        .build()
        .unwrap());
    assert_eq!(
        send(&app, &token(Algorithm::ES256, &keys().p256, Some("enc"))).await,
        rejected(ApproovErrorKind::UnknownKeyId)
    );
    assert_eq!(
        send(&app, &token(Algorithm::ES256, &keys().p256b, Some("sig"))).await,
        OK
    );
}

#[tokio::test]
async fn a_jwk_whose_key_ops_lack_verify_is_skipped_and_does_not_verify() {
    let mut encrypt_only = jwk(Algorithm::ES256, &keys().p256, Some("ops"), true);
    encrypt_only.common.key_operations = Some(vec![KeyOperations::Encrypt]);
    let mut verify = jwk(Algorithm::ES256, &keys().p256b, Some("verify"), true);
    verify.common.key_operations = Some(vec![KeyOperations::Verify]);
    let app = app(builder()
        .with_jwks(&jwks(&[encrypt_only, verify]))
        .unwrap()
        .build()
        .unwrap());
    assert_eq!(
        send(&app, &token(Algorithm::ES256, &keys().p256, Some("ops"))).await,
        rejected(ApproovErrorKind::UnknownKeyId)
    );
    assert_eq!(
        send(
            &app,
            &token(Algorithm::ES256, &keys().p256b, Some("verify"))
        )
        .await,
        OK
    );
}

#[test]
fn a_jwks_of_encryption_keys_only_is_a_config_error() {
    let mut enc = jwk(Algorithm::ES256, &keys().p256, Some("enc"), true);
    enc.common.public_key_use = Some(PublicKeyUse::Encryption);
    match builder().with_jwks(&jwks(&[enc])) {
        Err(ConfigError::Key { reason, .. }) => assert!(reason.contains("no usable key")),
        other => panic!("expected ConfigError::Key, got {other:?}"),
    }
}

/// A public key whose curve OID names one curve and whose point is on the other (65 bytes
/// for P-256, 97 for P-384): the OID and the point must agree, or the key is refused at
/// start-up rather than taken for a curve its point is not on.
#[test]
fn an_ec_public_key_whose_curve_oid_and_point_disagree_is_a_config_error() {
    const P256_OID: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    const P384_OID: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
    const EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    let p256 = &keys().p256.public_der;
    let p384 = &keys().p384.public_der;
    for (curve, point) in [
        (P384_OID, &p256[p256.len() - 65..]),
        (P256_OID, &p384[p384.len() - 97..]),
    ] {
        assert_eq!(point[0], 0x04, "an uncompressed point");
        // SEQUENCE { SEQUENCE { id-ecPublicKey, curve }, BIT STRING { 0, point } }
        let mut algorithm = vec![0x30, (EC_PUBLIC_KEY.len() + curve.len()) as u8];
        algorithm.extend_from_slice(EC_PUBLIC_KEY);
        algorithm.extend_from_slice(curve);
        let mut spki = vec![0x30, (algorithm.len() + 3 + point.len()) as u8];
        spki.extend_from_slice(&algorithm);
        spki.extend_from_slice(&[0x03, (point.len() + 1) as u8, 0x00]);
        spki.extend_from_slice(point);
        let b64 = STANDARD.encode(&spki);
        let pem = format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n");
        match ApproovConfig::builder().with_public_key_pem(pem.as_bytes(), None) {
            Err(ConfigError::Key { reason, .. }) => {
                assert_eq!(reason, "only EC keys on P-256 and P-384 are supported");
            }
            other => panic!("expected ConfigError::Key, got {other:?}"),
        }
    }
}

#[test]
fn an_ec_public_key_on_secp256k1_is_a_config_error_not_a_p256_key() {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256K1_SHA256_FIXED_SIGNING,
        &rng,
    )
    .unwrap();
    let pair = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256K1_SHA256_FIXED_SIGNING,
        pkcs8.as_ref(),
    )
    .unwrap();
    let spki = pair.public_key().as_der().unwrap();
    let b64 = STANDARD.encode(spki.as_ref());
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n");
    // Its point is as long as a P-256 point: only the curve's OID tells them apart.
    assert_eq!(pair.public_key().as_ref().len(), 65);
    match ApproovConfig::builder().with_public_key_pem(pem.as_bytes(), None) {
        Err(ConfigError::Key { reason, .. }) => assert!(reason.contains("P-256")),
        other => panic!("expected ConfigError::Key, got {other:?}"),
    }
    // From the environment too.
    match from_vars(&[("APPROOV_PUBLIC_KEY_PEM", &pem)]) {
        Err(ConfigError::Key { variable, .. }) => assert_eq!(variable, "APPROOV_PUBLIC_KEY_PEM"),
        other => panic!("expected ConfigError::Key, got {other:?}"),
    }
    // P-256 and P-384 PEM keys still load.
    for key in [&keys().p256, &keys().p384] {
        let _loaded = ApproovConfig::builder()
            .with_public_key_pem(key.public_pem.as_bytes(), None)
            .unwrap();
    }
}

// ---- 9. monitor mode with a signed body that failed to read --------------------------------

/// A body that yields `head`, then fails, as hyper's body does when the client resets the
/// connection mid-body.
struct FailingBody {
    head: Option<Bytes>,
}

impl http_body::Body for FailingBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(Some(match self.head.take() {
            Some(head) => Ok(http_body::Frame::data(head)),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset by peer",
            )),
        }))
    }
}

#[tokio::test]
async fn monitor_mode_rejects_a_signed_body_that_failed_to_read_like_body_too_large() {
    let key = InstallationKey::generate().unwrap();
    let ipk = key.ipk().unwrap();
    let config = ApproovConfig::builder()
        .with_secret(SECRET, None)
        .unwrap()
        .with_message_signing(MessageSigning::Require)
        .with_mode(Mode::Monitor)
        .build()
        .unwrap();
    let token = tower_approov::test_util::TokenBuilder::hs256(SECRET)
        .ipk(ipk)
        .build()
        .unwrap();
    let full = br#"{"order":10,"note":"the whole body"}"#;
    let mut request = Request::post("https://api.example.com/v1/orders")
        .header("approov-token", token)
        .header("content-type", "application/json")
        .body(full.to_vec())
        .unwrap();
    RequestSigner::new(&key)
        .android()
        .sign(&mut request)
        .unwrap();
    assert!(request.headers().contains_key("content-digest"));

    let reached = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&reached);
    let app = Router::new()
        .route(
            "/v1/orders",
            post(move |body: Bytes| async move {
                seen.fetch_add(1, Ordering::SeqCst);
                body
            }),
        )
        .layer(ApproovLayer::new(config));
    let (parts, _) = request.into_parts();
    let body = Body::new(FailingBody {
        head: Some(Bytes::from_static(&full[..10])),
    });
    let request = Request::from_parts(parts, body);
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response
            .extensions()
            .get::<ApproovError>()
            .map(ApproovError::kind),
        Some(ApproovErrorKind::ContentDigestMismatch)
    );
    assert_eq!(reached.load(Ordering::SeqCst), 0, "the handler ran");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"{}");
}

// ---- 11. ApproovBody's Debug ----------------------------------------------------------------

#[test]
fn approov_body_debug_never_prints_the_body_bytes() {
    let body = ApproovBody::new(http_body_util::Full::new(Bytes::from_static(
        b"password=hunter2",
    )));
    assert_eq!(format!("{body:?}"), "ApproovBody::Streaming");
}
