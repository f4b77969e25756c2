//! Rejections that see the request: the rejection hook receives the request head beside the
//! `ApproovError`; the default answer stays `401`, `application/json`, `{}`. Over loopback,
//! through a real axum app.

use crate::loopback;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::{Router, routing::get};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::Full;
use tower::util::MapResponseLayer;
use tower_approov::test_util::TokenBuilder;
use tower_approov::{ApproovError, ApproovLayer, JsonRejection, RejectionResponse, RequestHead};

const TRACE_ID: &str = "approov-traceid";

/// Serves `GET /api/orders` behind `layer`, reporting the rejection reason.
async fn start<R>(layer: ApproovLayer<R>) -> SocketAddr
where
    R: RejectionResponse<Body> + Clone + Send + Sync + 'static,
{
    let app = Router::new()
        .route("/api/orders", get(|| async { "orders" }))
        .layer(layer)
        .layer(MapResponseLayer::new(loopback::expose_reason::<Body>));
    let (listener, addr) = loopback::listener().await;
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn request(addr: SocketAddr, headers: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut request = Request::get(format!("http://{addr}/api/orders"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Full::default()).unwrap()
}

/// The default `401 {}`, plus the client's `Approov-TraceID` when it is short visible ASCII,
/// so that a support ticket can quote it.
fn echo_trace_id(error: &ApproovError, request: &RequestHead<'_>) -> Response<Body> {
    let mut response: Response<Body> = JsonRejection.rejection(error, request);
    if let Some(id) = request.headers().get(TRACE_ID)
        && id.len() <= 64
        && id.to_str().is_ok()
    {
        response.headers_mut().insert(TRACE_ID, id.clone());
    }
    response
}

/// `WWW-Authenticate` naming the scheme and the path that was refused.
fn www_authenticate(error: &ApproovError, request: &RequestHead<'_>) -> Response<Body> {
    let mut response: Response<Body> = JsonRejection.rejection(error, request);
    let value = format!(
        "Approov realm=\"{} {}\"",
        request.method(),
        request.uri().path()
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_str(&value).unwrap(),
    );
    response
}

#[tokio::test]
async fn a_custom_rejection_echoes_the_trace_id_of_the_rejected_request() {
    let secret = loopback::secret();
    let addr = start(loopback::layer(&secret).with_rejection_response(echo_trace_id)).await;

    let response = loopback::send(request(addr, &[(TRACE_ID, "a1b2c3d4")])).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(loopback::reason(&response), Some("missing_token"));
    assert_eq!(response.headers()[TRACE_ID], "a1b2c3d4");
    assert_eq!(&response.body()[..], b"{}");
}

#[tokio::test]
async fn a_custom_rejection_echoes_the_trace_id_for_a_token_of_another_secret_too() {
    let secret = loopback::secret();
    let addr = start(loopback::layer(&secret).with_rejection_response(echo_trace_id)).await;
    let token = TokenBuilder::hs256(loopback::secret()).build().unwrap();

    let response = loopback::send(request(
        addr,
        &[("approov-token", &token), (TRACE_ID, "trace-9")],
    ))
    .await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(loopback::reason(&response), Some("invalid_signature"));
    assert_eq!(response.headers()[TRACE_ID], "trace-9");
}

#[tokio::test]
async fn a_custom_rejection_sees_the_method_and_path_for_www_authenticate() {
    let secret = loopback::secret();
    let addr = start(loopback::layer(&secret).with_rejection_response(www_authenticate)).await;

    let response = loopback::send(request(addr, &[])).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(loopback::reason(&response), Some("missing_token"));
    assert_eq!(
        response.headers()[header::WWW_AUTHENTICATE],
        "Approov realm=\"GET /api/orders\""
    );
}

#[tokio::test]
async fn a_valid_token_never_reaches_the_custom_rejection() {
    let secret = loopback::secret();
    let addr = start(loopback::layer(&secret).with_rejection_response(echo_trace_id)).await;
    let token = TokenBuilder::hs256(&secret).build().unwrap();

    let response = loopback::send(request(
        addr,
        &[("approov-token", &token), (TRACE_ID, "trace-1")],
    ))
    .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(loopback::reason(&response), None);
    assert!(response.headers().get(TRACE_ID).is_none());
    assert_eq!(&response.body()[..], b"orders");
}

#[tokio::test]
async fn the_default_rejection_is_401_json_empty_object_whatever_the_reason_and_request() {
    let secret = loopback::secret();
    let addr = start(loopback::layer(&secret)).await;
    let other = TokenBuilder::hs256(loopback::secret()).build().unwrap();
    let expired = TokenBuilder::hs256(&secret)
        .expired_since(Duration::from_secs(60))
        .build()
        .unwrap();
    let valid = TokenBuilder::hs256(&secret).build().unwrap();
    let cases: [(&[(&str, &str)], &str); 7] = [
        (&[], "missing_token"),
        (&[(TRACE_ID, "trace-2")], "missing_token"),
        (&[("approov-token", "")], "empty_token"),
        (&[("approov-token", "not.a.jwt")], "malformed_token"),
        (&[("approov-token", &other)], "invalid_signature"),
        (
            &[("approov-token", &expired), (TRACE_ID, "trace-3")],
            "expired",
        ),
        (
            &[("approov-token", &valid), ("approov-token", &valid)],
            "duplicate_token",
        ),
    ];

    for (headers, reason) in cases {
        let response = loopback::send(request(addr, headers)).await;

        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{reason}");
        assert_eq!(loopback::reason(&response), Some(reason));
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(&response.body()[..], b"{}", "{reason}");
        // Nothing of the request comes back: no trace id, no `WWW-Authenticate`.
        let mut names: Vec<&str> = response.headers().keys().map(|n| n.as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "content-length",
                "content-type",
                "date",
                loopback::REASON_HEADER
            ],
            "{reason}"
        );
    }
}
