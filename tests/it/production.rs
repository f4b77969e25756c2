//! `examples/production.rs` over loopback: CORS, 404, the public health route, the protected
//! route.

#[allow(dead_code)]
#[path = "../../examples/production.rs"]
pub(crate) mod example;
use crate::loopback;

use std::net::SocketAddr;

use axum::http::{HeaderValue, Request, StatusCode};
use http_body_util::Full;
use tower::util::MapResponseLayer;

const ORIGIN: &str = "https://app.example.com";

async fn start(secret: &[u8]) -> SocketAddr {
    let (listener, addr) = loopback::listener().await;
    let app = example::app(loopback::layer(secret), HeaderValue::from_static(ORIGIN)).layer(
        MapResponseLayer::new(loopback::expose_reason::<axum::body::Body>),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test]
async fn a_cors_preflight_for_the_approov_headers_is_allowed_without_a_token() {
    let addr = start(&loopback::secret()).await;
    let preflight = Request::options(format!("http://{addr}/api/hello"))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "GET")
        .header(
            "access-control-request-headers",
            "approov-token,approov-traceid,signature,signature-input,content-digest",
        )
        .body(Full::default())
        .unwrap();

    let response = loopback::send(preflight).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(loopback::reason(&response), None, "the check never ran");
    assert_eq!(response.headers()["access-control-allow-origin"], ORIGIN);
    let allowed = response.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "approov-token",
        "approov-traceid",
        "signature",
        "signature-input",
        "content-digest",
    ] {
        assert!(
            allowed.split(',').any(|h| h.trim() == name),
            "{name} in {allowed}"
        );
    }
}

#[tokio::test]
async fn an_unknown_route_answers_404_not_401() {
    let addr = start(&loopback::secret()).await;

    let response = loopback::send(loopback::get(&format!("http://{addr}/nope"), None)).await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(loopback::reason(&response), None);
}

#[tokio::test]
async fn the_health_route_answers_without_a_token() {
    let addr = start(&loopback::secret()).await;

    let response = loopback::send(loopback::get(&format!("http://{addr}/health"), None)).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(loopback::reason(&response), None);
    assert_eq!(&response.body()[..], b"ok");
}

#[tokio::test]
async fn the_protected_route_answers_401_empty_json_without_a_token() {
    let addr = start(&loopback::secret()).await;

    let response = loopback::send(loopback::get(&format!("http://{addr}/api/hello"), None)).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(loopback::reason(&response), Some("missing_token"));
    assert_eq!(&response.body()[..], b"{}");
}

#[tokio::test]
async fn a_cross_origin_rejection_still_carries_the_cors_headers() {
    let addr = start(&loopback::secret()).await;
    let request = Request::get(format!("http://{addr}/api/hello"))
        .header("origin", ORIGIN)
        .body(Full::default())
        .unwrap();

    let response = loopback::send(request).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(loopback::reason(&response), Some("missing_token"));
    // Otherwise the browser hides the 401 from the front end's code.
    assert_eq!(response.headers()["access-control-allow-origin"], ORIGIN);
}

#[tokio::test]
async fn the_ready_route_answers_200_without_a_token_when_the_keys_are_static() {
    let addr = start(&loopback::secret()).await;

    let response = loopback::send(loopback::get(&format!("http://{addr}/ready"), None)).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(loopback::reason(&response), None, "the check never ran");
    assert_eq!(&response.body()[..], b"ready");
}

#[tokio::test]
async fn the_protected_route_answers_200_with_the_device_id_for_a_valid_token() {
    let secret = loopback::secret();
    let addr = start(&secret).await;
    // Minted with jsonwebtoken, not the crate; `start` built a configuration, which installs
    // the crypto provider jsonwebtoken needs to sign.
    let exp = crate::common::now() + 600.5;
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &serde_json::json!({ "exp": exp, "did": "production-device" }),
        &jsonwebtoken::EncodingKey::from_secret(&secret).unwrap(),
    )
    .unwrap();

    let response = loopback::send(loopback::get(
        &format!("http://{addr}/api/hello"),
        Some(&token),
    ))
    .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(loopback::reason(&response), None);
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["did"], "production-device");
}
