//! Shared by the integration tests of the examples: real keys, a real server on 127.0.0.1:0, a
//! real HTTP client.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;
use tower_approov::{ApproovConfig, ApproovError, ApproovLayer};

/// The response header through which the tests' server wrapper reports the rejection reason.
/// The layer itself never sends the reason to clients; the test reads it this way because the
/// response extensions do not cross the wire.
pub const REASON_HEADER: &str = "x-test-approov-reason";

/// A fresh random 64-byte HS256 secret, like an Approov account secret.
pub fn secret() -> Vec<u8> {
    let mut secret = vec![0u8; 64];
    aws_lc_rs::rand::fill(&mut secret).expect("system randomness");
    secret
}

/// A layer that accepts tokens signed with `secret`.
pub fn layer(secret: &[u8]) -> ApproovLayer {
    ApproovLayer::new(
        ApproovConfig::builder()
            .with_secret(secret, None)
            .expect("a non-empty secret")
            .build()
            .expect("a valid config"),
    )
}

/// Copies the rejection reason from the response extensions into [`REASON_HEADER`].
pub fn expose_reason<B>(mut response: Response<B>) -> Response<B> {
    if let Some(error) = response.extensions().get::<ApproovError>().cloned() {
        response.headers_mut().insert(
            REASON_HEADER,
            HeaderValue::from_static(error.kind().reason_code()),
        );
    }
    response
}

/// The reason the test server reported, if any.
pub fn reason<B>(response: &Response<B>) -> Option<&str> {
    response
        .headers()
        .get(REASON_HEADER)
        .and_then(|v| v.to_str().ok())
}

/// A listener on a free loopback port.
pub async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    (listener, addr)
}

/// Sends one request over a real HTTP/1 connection and reads the whole response.
pub async fn send(request: Request<Full<Bytes>>) -> Response<Bytes> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client
        .request(request)
        .await
        .expect("the request reaches the server");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("a whole body").to_bytes();
    Response::from_parts(parts, body)
}

/// A GET request to `url`, with an `Approov-Token` header when a token is given.
pub fn get(url: &str, token: Option<&str>) -> Request<Full<Bytes>> {
    let mut request = Request::get(url);
    if let Some(token) = token {
        request = request.header("approov-token", token);
    }
    request.body(Full::default()).expect("a valid request")
}
