//! Over real HTTP on loopback: an axum server with a hyper client, raw bytes on the wire for
//! what a client library would normalise, and a plain hyper server with no axum at all.

use crate::common;

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use common::*;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tower::{ServiceBuilder, ServiceExt as _};
use tower_approov::{ApproovBody, ApproovClaims, ApproovError, ApproovErrorKind as Kind};

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// What the hyper client got back.
#[derive(Debug)]
struct Got {
    status: StatusCode,
    content_type: String,
    reason: Option<String>,
    body: String,
}

impl Got {
    #[track_caller]
    fn assert_rejected(&self, kind: Kind) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{self:?}");
        assert_eq!(self.content_type, "application/json", "{self:?}");
        assert_eq!(self.body, "{}", "{self:?}");
        assert_eq!(self.reason.as_deref(), Some(kind.reason_code()), "{self:?}");
    }
}

/// Sends `GET http://addr/path` with these headers.
async fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Got {
    let mut request = Request::get(format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client()
        .request(request.body(Full::default()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let reason = response
        .headers()
        .get(REASON_HEADER)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Got {
        status,
        content_type,
        reason,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

async fn serve_default() -> SocketAddr {
    serve(expose_reason(app(layer()))).await
}

// --- axum over loopback ------------------------------------------------------------------

#[tokio::test]
async fn over_http_a_valid_token_gets_200_with_the_did() {
    let addr = serve_default().await;
    let got = http_get(addr, "/", &[("Approov-Token", &valid_token())]).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, format!("did={DID}"));
}

#[tokio::test]
async fn over_http_an_invalid_token_gets_401_with_an_empty_json_object() {
    let addr = serve_default().await;
    http_get(addr, "/", &[("Approov-Token", "not.a.token")])
        .await
        .assert_rejected(Kind::MalformedToken);
}

#[tokio::test]
async fn over_http_a_missing_token_is_rejected_as_missing_token() {
    let addr = serve_default().await;
    raw_request(addr, b"GET / HTTP/1.1\r\n")
        .await
        .assert_rejected(Kind::MissingToken);
}

#[tokio::test]
async fn over_http_the_token_header_name_is_matched_without_regard_to_case() {
    let addr = serve_default().await;
    let head = format!("GET / HTTP/1.1\r\naPPROOV-tOKEN: {}\r\n", valid_token());
    raw_request(addr, head.as_bytes()).await.assert_accepted();
}

#[tokio::test]
async fn over_http_two_token_headers_are_rejected_as_duplicate() {
    let addr = serve_default().await;
    let token = valid_token();
    let head = format!("GET / HTTP/1.1\r\nApproov-Token: {token}\r\napproov-token: {token}\r\n");
    raw_request(addr, head.as_bytes())
        .await
        .assert_rejected(Kind::DuplicateToken);
}

#[tokio::test]
async fn over_http_a_token_header_with_non_utf8_bytes_is_rejected_as_invalid_encoding() {
    let addr = serve_default().await;
    let mut head = b"GET / HTTP/1.1\r\nApproov-Token: ".to_vec();
    head.extend_from_slice(valid_token().as_bytes());
    head.extend_from_slice(b"\xc3\x28\r\n");
    raw_request(addr, &head)
        .await
        .assert_rejected(Kind::InvalidTokenEncoding);
}

#[tokio::test]
async fn over_http_a_64_kib_token_header_is_rejected_as_too_long() {
    let addr = serve_default().await;
    let head = format!(
        "GET / HTTP/1.1\r\nApproov-Token: {}\r\n",
        "a".repeat(64 * 1024)
    );
    raw_request(addr, head.as_bytes())
        .await
        .assert_rejected(Kind::TokenTooLong);
}

#[tokio::test]
async fn over_http_a_token_in_authorization_with_a_bearer_prefix_is_accepted() {
    let layer = layer_from(
        builder()
            .with_token_header("Authorization")
            .unwrap()
            .with_token_prefix("Bearer"),
    );
    let addr = serve(app(layer)).await;
    let value = format!("Bearer {}", valid_token());
    let got = http_get(addr, "/", &[("Authorization", &value)]).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, format!("did={DID}"));
}

#[tokio::test]
async fn over_http_a_route_without_the_layer_answers_500_saying_the_layer_is_missing() {
    let addr = serve(routes()).await;
    let got = http_get(addr, "/", &[("Approov-Token", &valid_token())]).await;
    assert_eq!(got.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(got.body.contains("ApproovLayer"), "{got:?}");
}

// --- No axum: tower::ServiceBuilder over a hyper server ----------------------------------

/// The application: echoes the `did` and the length of the body it read.
async fn plain_handler(
    request: Request<ApproovBody<Incoming>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let did = request
        .extensions()
        .get::<ApproovClaims>()
        .and_then(|c| c.did().map(str::to_owned))
        .unwrap_or_default();
    let body = request.into_body().collect().await.unwrap().to_bytes();
    Ok(Response::new(Full::from(format!(
        "did={did} body={}",
        body.len()
    ))))
}

/// Copies the rejection reason into [`REASON_HEADER`] for the test to see.
fn expose(mut response: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    if let Some(kind) = response
        .extensions()
        .get::<ApproovError>()
        .map(|e| e.kind())
    {
        let value = http::HeaderValue::from_static(kind.reason_code());
        response.headers_mut().insert(REASON_HEADER, value);
    }
    response
}

/// Serves `ServiceBuilder::new().layer(ApproovLayer).service_fn(..)` with hyper's HTTP/1
/// server, one connection per task, bridged with `hyper::service::service_fn`.
async fn serve_plain_hyper() -> SocketAddr {
    let stack = ServiceBuilder::new()
        .map_response(expose)
        .layer(layer())
        .service_fn(plain_handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let stack = stack.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    stack.clone().oneshot(request)
                });
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                    .unwrap();
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_plain_hyper_server_with_the_layer_passes_a_valid_token_and_the_body() {
    let addr = serve_plain_hyper().await;
    let request = Request::post(format!("http://{addr}/anything"))
        .header("Approov-Token", valid_token())
        .body(Full::from("twelve bytes"))
        .unwrap();
    let response = client().request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], format!("did={DID} body=12").as_bytes());
}

#[tokio::test]
async fn a_plain_hyper_server_with_the_layer_answers_401_empty_json_to_a_bad_token() {
    let addr = serve_plain_hyper().await;
    http_get(addr, "/", &[("Approov-Token", "not.a.token")])
        .await
        .assert_rejected(Kind::MalformedToken);
}

#[tokio::test]
async fn a_plain_hyper_server_with_the_layer_rejects_a_missing_token() {
    let addr = serve_plain_hyper().await;
    http_get(addr, "/", &[])
        .await
        .assert_rejected(Kind::MissingToken);
}
