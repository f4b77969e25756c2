//! `examples/grpc.rs` with a real tonic client over loopback.

#[allow(dead_code)]
#[path = "../../examples/grpc.rs"]
mod example;
use crate::loopback;

use std::net::SocketAddr;
use std::time::Duration;

use example::{HelloReply, HelloRequest};
use http::uri::PathAndQuery;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic::{Code, Request, Status};
use tonic_prost::ProstCodec;
use tower::util::MapResponseLayer;
use tower_approov::test_util::TokenBuilder;
use tower_approov::tonic::ApproovGrpcLayer;
use tower_approov::{ApproovError, RejectionResponse, RequestHead};

/// Serves the example's greeter behind `layer`, with the tests' reason reporter outside it (a
/// gRPC error's response headers reach the client as the status metadata).
async fn start_with<R>(layer: ApproovGrpcLayer<R>) -> SocketAddr
where
    R: RejectionResponse<tonic::body::Body> + Clone + Send + Sync + 'static,
{
    let (listener, addr) = loopback::listener().await;
    let router = Server::builder()
        .layer(MapResponseLayer::new(
            loopback::expose_reason::<tonic::body::Body>,
        ))
        .layer(layer)
        .add_service(example::GreeterServer);
    tokio::spawn(router.serve_with_incoming(TcpIncoming::from(listener)));
    addr
}

/// The example's server: the layer in one line, `ApproovGrpcLayer::new`.
async fn start(secret: &[u8]) -> SocketAddr {
    start_with(ApproovGrpcLayer::new(loopback::layer(secret))).await
}

/// Calls `SayHello` with a real tonic client, with the token as `approov-token` metadata.
async fn say_hello(addr: SocketAddr, token: Option<&str>) -> Result<HelloReply, Status> {
    say_hello_with(addr, token, &[]).await
}

/// `say_hello` with extra metadata.
async fn say_hello_with(
    addr: SocketAddr,
    token: Option<&str>,
    metadata: &[(&'static str, &str)],
) -> Result<HelloReply, Status> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("the server accepts connections");
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await.expect("a ready channel");
    let mut request = Request::new(HelloRequest {
        name: "tester".into(),
    });
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("approov-token", token.parse().unwrap());
    }
    for (name, value) in metadata {
        request.metadata_mut().insert(*name, value.parse().unwrap());
    }
    let codec = ProstCodec::<HelloRequest, HelloReply>::default();
    client
        .unary(
            request,
            PathAndQuery::from_static(example::SAY_HELLO),
            codec,
        )
        .await
        .map(tonic::Response::into_inner)
}

fn reason(status: &Status) -> Option<&str> {
    status
        .metadata()
        .get(loopback::REASON_HEADER)
        .and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn a_grpc_call_without_a_token_gets_unauthenticated() {
    let addr = start(&loopback::secret()).await;

    let status = say_hello(addr, None).await.unwrap_err();

    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(reason(&status), Some("missing_token"));
    assert!(
        !status.message().contains("missing_token"),
        "no reason to the client"
    );
}

#[tokio::test]
async fn a_grpc_call_with_a_token_of_another_secret_gets_unauthenticated() {
    let addr = start(&loopback::secret()).await;
    let token = TokenBuilder::hs256(loopback::secret()).build().unwrap();

    let status = say_hello(addr, Some(&token)).await.unwrap_err();

    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(reason(&status), Some("invalid_signature"));
}

#[tokio::test]
async fn a_grpc_call_with_a_valid_token_succeeds_and_the_handler_sees_the_claims() {
    let secret = loopback::secret();
    let addr = start(&secret).await;
    let token = TokenBuilder::hs256(&secret)
        .did("grpc-device-42")
        .build()
        .unwrap();

    let reply = say_hello(addr, Some(&token)).await.unwrap();

    assert_eq!(reply.message, "Hello, tester");
    assert_eq!(reply.did, "grpc-device-42");
}

/// A rejection that sets gRPC metadata from the request: the client's trace id, for support.
fn unauthenticated_with_trace_id(
    _error: &ApproovError,
    request: &RequestHead<'_>,
) -> http::Response<tonic::body::Body> {
    let mut status = Status::unauthenticated("missing or invalid Approov token");
    if let Some(id) = request
        .headers()
        .get("approov-traceid")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
    {
        status.metadata_mut().insert("approov-traceid", id);
    }
    status.into_http()
}

#[tokio::test]
async fn a_grpc_rejection_hook_can_echo_the_trace_id_as_status_metadata() {
    let secret = loopback::secret();
    let layer = ApproovGrpcLayer::new(loopback::layer(&secret))
        .with_rejection_response(unauthenticated_with_trace_id);
    let addr = start_with(layer).await;

    let status = say_hello_with(addr, None, &[("approov-traceid", "trace-77")])
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(reason(&status), Some("missing_token"));
    assert_eq!(
        status.metadata().get("approov-traceid").unwrap(),
        "trace-77"
    );
}

#[tokio::test]
async fn a_grpc_call_with_an_expired_token_gets_unauthenticated() {
    let secret = loopback::secret();
    let addr = start(&secret).await;
    let token = TokenBuilder::hs256(&secret)
        .expired_since(Duration::from_secs(60))
        .build()
        .unwrap();

    let status = say_hello(addr, Some(&token)).await.unwrap_err();

    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(reason(&status), Some("expired"));
}
