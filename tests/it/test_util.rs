//! `test_util::TokenBuilder` against the real layer: what it mints passes (or fails) the check
//! exactly as a token from the Approov cloud would.

use std::time::Duration;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use axum::body::Body;
use axum::{Router, routing::get};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;
use tower_approov::test_util::TokenBuilder;
use tower_approov::{ApproovClaims, ApproovConfig, ApproovError, ApproovErrorKind, ApproovLayer};

/// A route that echoes the verified claims.
fn app(config: ApproovConfig) -> Router {
    Router::new()
        .route(
            "/",
            get(|claims: ApproovClaims| async move { axum::Json(claims.as_map().clone()) }),
        )
        .layer(ApproovLayer::new(config))
}

fn hs256_config(secret: &[u8]) -> ApproovConfig {
    ApproovConfig::builder()
        .with_secret(secret, None)
        .unwrap()
        .build()
        .unwrap()
}

fn secret() -> Vec<u8> {
    let mut secret = vec![0u8; 64];
    aws_lc_rs::rand::fill(&mut secret).unwrap();
    secret
}

async fn call(app: Router, request: Request<Body>) -> (Response<Body>, serde_json::Value) {
    let response = app.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (Response::from_parts(parts, Body::empty()), json)
}

fn with_token(token: &str) -> Request<Body> {
    Request::get("/")
        .header("approov-token", token)
        .body(Body::empty())
        .unwrap()
}

fn kind(response: &Response<Body>) -> Option<ApproovErrorKind> {
    response
        .extensions()
        .get::<ApproovError>()
        .map(ApproovError::kind)
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

#[tokio::test]
async fn a_minted_hs256_token_passes_and_its_claims_reach_the_handler() {
    let secret = secret();
    let token = TokenBuilder::hs256(&secret)
        .did("device-1")
        .ip("203.0.113.7")
        .claim("arc", "annotation")
        .build()
        .unwrap();

    let (response, claims) = call(app(hs256_config(&secret)), with_token(&token)).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(kind(&response), None);
    assert_eq!(claims["did"], "device-1");
    assert_eq!(claims["ip"], "203.0.113.7");
    assert_eq!(claims["arc"], "annotation");
}

#[tokio::test]
async fn the_minted_exp_is_a_float_as_approov_sends_it() {
    let secret = secret();
    let token = TokenBuilder::hs256(&secret)
        .expires_at(4_708_683_205.891_912)
        .build()
        .unwrap();

    let (response, claims) = call(app(hs256_config(&secret)), with_token(&token)).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(claims["exp"].as_f64(), Some(4_708_683_205.891_912));
}

#[tokio::test]
async fn a_token_minted_from_the_base64_text_passes_a_layer_given_the_same_text() {
    let text = STANDARD.encode(secret());
    let config = ApproovConfig::builder()
        .with_base64_secret(&text)
        .unwrap()
        .build()
        .unwrap();
    let token = TokenBuilder::hs256_base64(&text).unwrap().build().unwrap();

    let (response, _) = call(app(config), with_token(&token)).await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_already_expired_minted_token_is_rejected_as_expired() {
    let secret = secret();
    let token = TokenBuilder::hs256(&secret)
        .expired_since(Duration::from_secs(1))
        .build()
        .unwrap();

    let (response, _) = call(app(hs256_config(&secret)), with_token(&token)).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(kind(&response), Some(ApproovErrorKind::Expired));
}

#[tokio::test]
async fn a_minted_token_without_exp_is_rejected_as_missing_exp() {
    let secret = secret();
    let token = TokenBuilder::hs256(&secret)
        .without_expiry()
        .build()
        .unwrap();

    let (response, _) = call(app(hs256_config(&secret)), with_token(&token)).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(kind(&response), Some(ApproovErrorKind::MissingExpiry));
}

fn binding_config(secret: &[u8]) -> ApproovConfig {
    ApproovConfig::builder()
        .with_secret(secret, None)
        .unwrap()
        .with_token_binding(["Authorization"])
        .unwrap()
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_pay_claim_minted_from_the_header_value_passes_the_binding_check() {
    let secret = secret();
    let token = TokenBuilder::hs256(&secret)
        .pay_for(["Bearer user-token"])
        .build()
        .unwrap();
    let request = Request::get("/")
        .header("approov-token", &token)
        .header("authorization", "Bearer user-token")
        .body(Body::empty())
        .unwrap();

    let (response, _) = call(app(binding_config(&secret)), request).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(kind(&response), None);
}

#[tokio::test]
async fn a_pay_claim_minted_from_another_header_value_is_a_mismatch() {
    let secret = secret();
    let token = TokenBuilder::hs256(&secret)
        .pay_for(["Bearer someone-else"])
        .build()
        .unwrap();
    let request = Request::get("/")
        .header("approov-token", &token)
        .header("authorization", "Bearer user-token")
        .body(Body::empty())
        .unwrap();

    let (response, _) = call(app(binding_config(&secret)), request).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(kind(&response), Some(ApproovErrorKind::PayClaimMismatch));
}

#[tokio::test]
async fn the_minted_kid_header_selects_the_configured_key() {
    let (old, new) = (secret(), secret());
    let config = ApproovConfig::builder()
        .with_secret(&old, Some("old"))
        .unwrap()
        .with_secret(&new, Some("new"))
        .unwrap()
        .build()
        .unwrap();
    let right = TokenBuilder::hs256(&new).kid("new").build().unwrap();
    let wrong = TokenBuilder::hs256(&new).kid("old").build().unwrap();

    let (accepted, _) = call(app(config.clone()), with_token(&right)).await;
    let (rejected, _) = call(app(config), with_token(&wrong)).await;

    assert_eq!(accepted.status(), StatusCode::OK);
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(kind(&rejected), Some(ApproovErrorKind::InvalidSignature));
}

#[tokio::test]
async fn an_es256_token_minted_with_a_generated_key_passes_a_layer_with_its_jwks() {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let private_pem = pem("PRIVATE KEY", pair.to_pkcs8v1().unwrap().as_ref());
    let point = pair.public_key().as_ref(); // 0x04 || x || y
    let jwks = serde_json::json!({ "keys": [{
        "kty": "EC", "crv": "P-256", "kid": "es-1", "alg": "ES256", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    }]});
    let config = ApproovConfig::builder()
        .with_jwks(jwks.to_string().as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let token = TokenBuilder::private_key_pem("ES256", &private_pem)
        .unwrap()
        .kid("es-1")
        .did("es-device")
        .build()
        .unwrap();

    let (response, claims) = call(app(config), with_token(&token)).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(claims["did"], "es-device");
}

#[tokio::test]
async fn an_eddsa_token_minted_with_a_generated_key_passes_a_layer_with_its_jwks() {
    let pair = Ed25519KeyPair::generate().unwrap();
    let private_pem = pem("PRIVATE KEY", pair.to_pkcs8().unwrap().as_ref());
    let jwks = serde_json::json!({ "keys": [{
        "kty": "OKP", "crv": "Ed25519", "kid": "ed-1",
        "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
    }]});
    let config = ApproovConfig::builder()
        .with_jwks(jwks.to_string().as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let token = TokenBuilder::private_key_pem("EdDSA", &private_pem)
        .unwrap()
        .kid("ed-1")
        .build()
        .unwrap();

    let (response, _) = call(app(config), with_token(&token)).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(kind(&response), None);
}

#[tokio::test]
async fn a_token_signed_by_another_key_pair_is_rejected_as_invalid_signature() {
    let signer = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let other = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let point = other.public_key().as_ref();
    let jwks = serde_json::json!({ "keys": [{
        "kty": "EC", "crv": "P-256", "alg": "ES256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    }]});
    let config = ApproovConfig::builder()
        .with_jwks(jwks.to_string().as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let token = TokenBuilder::private_key_pem(
        "ES256",
        pem("PRIVATE KEY", signer.to_pkcs8v1().unwrap().as_ref()),
    )
    .unwrap()
    .build()
    .unwrap();

    let (response, _) = call(app(config), with_token(&token)).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(kind(&response), Some(ApproovErrorKind::InvalidSignature));
}
