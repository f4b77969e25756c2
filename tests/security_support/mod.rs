//! Shared by the security tests: real tokens, a real server on loopback, a real client.
#![allow(dead_code)]

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

/// The tests' 64-byte HS256 secret, printable so that a leak of its raw bytes shows in text
/// logs, and the clock: written once, in `common`.
pub use crate::common::{SECRET, now};

/// Mints an HS256 token with `SECRET` and these claims.
pub fn mint(claims: &Value) -> String {
    mint_with(&Header::new(Algorithm::HS256), claims, SECRET)
}

pub fn mint_with(header: &Header, claims: &Value, secret: &[u8]) -> String {
    // Building a configuration installs the crate's crypto provider, which `jsonwebtoken`
    // needs to sign too (with both backend features on, it picks none by itself).
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        let _ = tower_approov::ApproovConfig::builder()
            .with_secret(SECRET, None)
            .and_then(|b| b.build());
    });
    encode(header, claims, &EncodingKey::from_secret(secret).unwrap()).unwrap()
}

/// Approov-shaped claims valid for an hour (float `exp`).
pub fn valid_claims() -> Value {
    json!({"exp": now() + 3600.5, "did": "DeviceIdZ1x2c3v4b5n6m7==", "ip": "10.1.2.3"})
}

/// A token made of these raw header and claims JSON texts, and this signature text.
pub fn raw_token(header: &str, claims: &str, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    )
}

/// Serves `router` on 127.0.0.1 (an ephemeral port) for the rest of the test.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

pub type HttpClient = Client<HttpConnector, Body>;

pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Sends `GET /` with these headers and returns the status, headers and body.
pub async fn get(
    client: &HttpClient,
    addr: SocketAddr,
    headers: &[(&str, &[u8])],
) -> (StatusCode, HeaderMap, Bytes) {
    let mut req = Request::get(format!("http://{addr}/"));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = client
        .request(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = resp.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

/// Whether a response is the layer's default rejection: 401, JSON, `{}`.
pub fn is_rejection(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> bool {
    status == StatusCode::UNAUTHORIZED
        && headers.get("content-type").map(|v| v.as_bytes()) == Some(b"application/json")
        && body == b"{}"
}
