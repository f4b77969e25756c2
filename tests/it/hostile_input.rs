//! Hostile input: the token length limit, and regressions found by fuzzing.

use crate::security_support;

use axum::Router;
use axum::routing::get;
use http::{HeaderMap, HeaderValue};
use security_support::{SECRET, client, get as send, is_rejection, mint, now, serve};
use serde_json::json;
use tower_approov::{
    ApproovConfig, ApproovConfigBuilder, ApproovErrorKind, ApproovLayer, DEFAULT_MAX_TOKEN_LENGTH,
};
use tower_layer::Layer;

fn headers(token: &[u8]) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("approov-token", HeaderValue::from_bytes(token).unwrap());
    h
}

fn config(max: Option<usize>) -> ApproovConfig {
    let b = ApproovConfig::builder().with_secret(SECRET, None).unwrap();
    match max {
        Some(max) => b.with_max_token_length(max),
        None => b,
    }
    .build()
    .unwrap()
}

async fn ok() -> &'static str {
    "ok"
}

#[tokio::test]
async fn a_validly_signed_token_over_the_default_8_kib_is_rejected_as_too_long() {
    let token = mint(&json!({"exp": now() + 3600.5, "did": "x".repeat(DEFAULT_MAX_TOKEN_LENGTH)}));
    assert!(token.len() > DEFAULT_MAX_TOKEN_LENGTH);
    let layer = ApproovLayer::new(config(None));
    let check = layer.layer(());
    assert_eq!(
        check.check(&headers(token.as_bytes())).unwrap_err().kind(),
        ApproovErrorKind::TokenTooLong
    );
    let addr = serve(Router::new().route("/", get(ok)).layer(layer)).await;
    let (status, h, body) = send(&client(), addr, &[("approov-token", token.as_bytes())]).await;
    assert!(is_rejection(status, &h, &body));
}

#[test]
fn the_length_limit_is_checked_before_the_value_is_decoded() {
    // Not UTF-8 and not base64: rejected for its length alone, so nothing was decoded.
    let value = vec![0xffu8; DEFAULT_MAX_TOKEN_LENGTH + 1];
    let check = ApproovLayer::new(config(None)).layer(());
    assert_eq!(
        check.check(&headers(&value)).unwrap_err().kind(),
        ApproovErrorKind::TokenTooLong
    );
    // One byte shorter, the same bytes are decoded and refused as not visible ASCII.
    assert_eq!(
        check.check(&headers(&value[1..])).unwrap_err().kind(),
        ApproovErrorKind::InvalidTokenEncoding
    );
}

#[tokio::test]
async fn a_raised_max_token_length_lets_a_long_valid_token_through() {
    let token = mint(&json!({"exp": now() + 3600.5, "did": "x".repeat(DEFAULT_MAX_TOKEN_LENGTH)}));
    let layer = ApproovLayer::new(config(Some(16 * 1024)));
    assert!(layer.layer(()).check(&headers(token.as_bytes())).is_ok());
    let addr = serve(Router::new().route("/", get(ok)).layer(layer)).await;
    let (status, _, body) = send(&client(), addr, &[("approov-token", token.as_bytes())]).await;
    assert_eq!((status.as_u16(), &body[..]), (200, &b"ok"[..]));
}

#[test]
fn a_token_exactly_at_the_limit_passes_and_one_byte_over_does_not() {
    let token = mint(&json!({"exp": now() + 3600.5, "did": "x".repeat(200)}));
    let len = token.len();
    let at = ApproovLayer::new(config(Some(len))).layer(());
    assert!(at.check(&headers(token.as_bytes())).is_ok());
    let under = ApproovLayer::new(config(Some(len - 1))).layer(());
    assert_eq!(
        under.check(&headers(token.as_bytes())).unwrap_err().kind(),
        ApproovErrorKind::TokenTooLong
    );
}

#[test]
fn the_max_token_length_comes_from_approov_max_token_length() {
    let config = ApproovConfigBuilder::from_env_with(|name| match name {
        "APPROOV_MAX_TOKEN_LENGTH" => Some(Ok("64".into())),
        _ => None,
    })
    .unwrap()
    .with_secret(SECRET, None)
    .unwrap()
    .build()
    .unwrap();
    let token = mint(&json!({"exp": now() + 3600.5}));
    assert!(token.len() > 64);
    let check = ApproovLayer::new(config).layer(());
    assert_eq!(
        check.check(&headers(token.as_bytes())).unwrap_err().kind(),
        ApproovErrorKind::TokenTooLong
    );
}
