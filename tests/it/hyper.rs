//! `examples/hyper.rs` over loopback: plain hyper, no axum.

#[allow(dead_code)]
#[path = "../../examples/hyper.rs"]
mod example;
use crate::loopback;

use std::net::SocketAddr;

use http::StatusCode;
use tower::ServiceBuilder;
use tower_approov::test_util::TokenBuilder;

/// Serves the example's service (with the test's reason reporter outside it) on loopback.
async fn start(secret: &[u8]) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let (listener, addr) = loopback::listener().await;
    let service = ServiceBuilder::new()
        .map_response(loopback::expose_reason)
        .service(example::app(loopback::layer(secret)));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(example::serve(listener, service, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

#[tokio::test]
async fn a_valid_token_reaches_the_hyper_handler_with_its_claims() {
    let secret = loopback::secret();
    let (addr, _stop) = start(&secret).await;
    let token = TokenBuilder::hs256(&secret)
        .did("hyper-device")
        .build()
        .unwrap();

    let response = loopback::send(loopback::get(&format!("http://{addr}/"), Some(&token))).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(loopback::reason(&response), None);
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["did"], "hyper-device");
}

#[tokio::test]
async fn a_request_without_a_token_gets_401_empty_json_from_hyper() {
    let secret = loopback::secret();
    let (addr, _stop) = start(&secret).await;

    let response = loopback::send(loopback::get(&format!("http://{addr}/"), None)).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(loopback::reason(&response), Some("missing_token"));
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(&response.body()[..], b"{}");
}

#[tokio::test]
async fn an_expired_token_is_rejected_by_the_hyper_service() {
    let secret = loopback::secret();
    let (addr, _stop) = start(&secret).await;
    let token = TokenBuilder::hs256(&secret)
        .expired_since(std::time::Duration::from_secs(5))
        .build()
        .unwrap();

    let response = loopback::send(loopback::get(&format!("http://{addr}/"), Some(&token))).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(loopback::reason(&response), Some("expired"));
}
