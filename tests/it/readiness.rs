//! Async start and readiness: `ApproovConfigBuilder::build_async` and
//! `ApproovLayer::keys_ready`, with a real JWKS served on loopback and `examples/production.rs`
//! (its `/ready` route) served on loopback too.
//!
//! No test asserts on time: the waits are liveness waits bounded by a deadline.

use crate::jwks_support::{Answer, JwksServer};
use crate::keys_support;
use crate::loopback;
// The production example, compiled once for the whole binary by the `production` module.
use crate::production::example;

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::HeaderValue;
use http::StatusCode;
use jsonwebtoken::Algorithm;
use keys_support::{jwk, jwks, keys, token};
use tower::util::MapResponseLayer;
use tower_approov::{ApproovConfig, ApproovConfigBuilder, ApproovLayer};

/// The JWKS test server, its connections accepted on the *calling* runtime: with
/// `#[tokio::test]`'s single thread, it can only answer while that thread is free.
async fn jwks_server(answer: Answer) -> (String, JwksServer) {
    let server = JwksServer::on_this_runtime(answer).await;
    (server.url(), server)
}

fn good_jwks() -> Vec<u8> {
    jwks(&[jwk(Algorithm::ES256, &keys().p256, Some("a"), true)])
}

fn es256_token() -> String {
    token(Algorithm::ES256, &keys().p256, Some("a"))
}

fn remote(url: &str) -> ApproovConfigBuilder {
    ApproovConfig::builder()
        .with_jwks_url(url)
        .with_jwks_fetch_timeout(Duration::from_secs(2))
}

/// Serves the production example with `layer`, reporting rejection reasons.
async fn start(layer: ApproovLayer) -> SocketAddr {
    let (listener, addr) = loopback::listener().await;
    let app = example::app(layer, HeaderValue::from_static("https://app.example.com")).layer(
        MapResponseLayer::new(loopback::expose_reason::<axum::body::Body>),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test]
async fn build_async_awaits_the_first_jwks_fetch_without_blocking_the_runtime_serving_it() {
    keys_support::install_provider();
    let (url, jwks) = jwks_server(Answer::jwks(good_jwks())).await;

    // The JWKS server runs on this test's only thread: the fetch can succeed only if the
    // await gives the thread back while the refresher thread fetches.
    let config = remote(&url).build_async().await.unwrap();
    let layer = ApproovLayer::new(config);

    assert!(layer.keys_ready());
    assert_eq!(jwks.hits(), 1);
    let addr = start(layer).await;
    let hello = format!("http://{addr}/api/hello");
    let response = loopback::send(loopback::get(&hello, Some(&es256_token()))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(loopback::reason(&response), None);
}

#[tokio::test]
async fn build_on_the_runtime_serving_the_jwks_blocks_it_so_the_first_fetch_times_out() {
    // Why `build_async` exists: the blocking `build` holds this test's only thread, so the
    // JWKS server spawned on it cannot answer before the fetch timeout.
    keys_support::install_provider();
    let (url, _jwks) = jwks_server(Answer::jwks(good_jwks())).await;

    let config = ApproovConfig::builder()
        .with_jwks_url(&url)
        .with_jwks_fetch_timeout(Duration::from_millis(300))
        .with_jwks_min_refresh_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let layer = ApproovLayer::new(config);

    assert!(!layer.keys_ready());
    let addr = start(layer).await;
    let hello = format!("http://{addr}/api/hello");
    let response = loopback::send(loopback::get(&hello, Some(&es256_token()))).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(loopback::reason(&response), Some("keys_unavailable"));
}

#[tokio::test]
async fn the_ready_route_answers_503_until_a_jwks_fetch_succeeds_then_200() {
    keys_support::install_provider();
    let (url, jwks) = jwks_server(Answer::status(503)).await;
    let config = remote(&url)
        .with_jwks_min_refresh_interval(Duration::from_millis(20))
        .build_async()
        .await
        .unwrap();
    let layer = ApproovLayer::new(config);
    assert!(!layer.keys_ready(), "the first fetch failed");
    assert!(
        !layer.ready().await,
        "not ready while the keys cannot verify"
    );
    let probe = layer.clone();
    let addr = start(layer).await;
    let ready = format!("http://{addr}/ready");
    let hello = format!("http://{addr}/api/hello");

    let response = loopback::send(loopback::get(&ready, None)).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(&response.body()[..], b"Approov keys not loaded yet");
    let response = loopback::send(loopback::get(&hello, Some(&es256_token()))).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(loopback::reason(&response), Some("keys_unavailable"));
    let health = loopback::send(loopback::get(&format!("http://{addr}/health"), None)).await;
    assert_eq!(
        health.status(),
        StatusCode::OK,
        "liveness does not wait for keys"
    );

    jwks.set(Answer::jwks(good_jwks()));
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..500 {
        status = loopback::send(loopback::get(&ready, None)).await.status();
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(status, StatusCode::OK, "ready after a good fetch");
    assert!(probe.ready().await, "the layer's own probe agrees");
    let response = loopback::send(loopback::get(&hello, Some(&es256_token()))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(loopback::reason(&response), None);
}

#[tokio::test]
async fn build_async_without_a_jwks_url_is_ready_at_once() {
    let config = ApproovConfig::builder()
        .with_secret(&loopback::secret(), None)
        .unwrap()
        .build_async()
        .await
        .unwrap();

    let layer = ApproovLayer::new(config);
    assert!(layer.keys_ready());
    assert!(layer.ready().await);
}

#[tokio::test]
async fn build_async_reports_the_same_config_errors_as_build() {
    let error = ApproovConfig::builder().build_async().await.unwrap_err();

    assert!(matches!(error, tower_approov::ConfigError::NoKeySource));
}
