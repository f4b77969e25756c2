//! A gRPC service (tonic) protected by the layer (feature `tonic`), in one line:
//! `Server::builder().layer(ApproovGrpcLayer::new(layer))`. A failed check answers the gRPC
//! status `UNAUTHENTICATED`; the handler reads the verified claims from the request extensions.
//!
//! ```text
//! cp .env.example .env        # or set APPROOV_BASE64_SECRET
//! cargo run --example grpc --features tonic
//! ```
//!
//! Serves `hello.Greeter/SayHello` on 127.0.0.1:50051 (`PORT` to change it).
//!
//! The service is written by hand, with `prost`-derived messages and tonic's `server::Grpc`,
//! so that the example builds without `protoc` and a build script. With generated code
//! (`tonic-prost-build`) the layer part is the same line.

// Tests that include several examples by `#[path]` into one binary load this module once per
// example: each copy is private to its example, which is what is wanted.
#[allow(clippy::duplicate_mod)]
mod support;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::server::NamedService;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;
use tower::Service;
use tower_approov::tonic::ApproovGrpcLayer;
use tower_approov::{ApproovClaims, ApproovLayer};

/// `message HelloRequest { string name = 1; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloRequest {
    /// Who to greet.
    #[prost(string, tag = "1")]
    pub name: String,
}

/// `message HelloReply { string message = 1; string did = 2; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloReply {
    /// The greeting.
    #[prost(string, tag = "1")]
    pub message: String,
    /// The device id from the verified Approov token: proof that the handler saw the claims.
    #[prost(string, tag = "2")]
    pub did: String,
}

/// The full path of the one method.
pub const SAY_HELLO: &str = "/hello.Greeter/SayHello";

/// The handler. The layer put the verified claims in the request extensions, and tonic keeps
/// the HTTP extensions on its `Request`.
async fn say_hello(request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
    let claims = request
        .extensions()
        .get::<ApproovClaims>()
        .cloned()
        // Only if the layer is missing from the server: a programming error.
        .ok_or_else(|| Status::internal("the Approov layer is not installed"))?;
    Ok(Response::new(HelloReply {
        message: format!("Hello, {}", request.get_ref().name),
        did: claims.did().unwrap_or_default().to_owned(),
    }))
}

/// The `hello.Greeter` service, as tonic's code generator would write it.
#[derive(Debug, Clone, Copy, Default)]
pub struct GreeterServer;

impl NamedService for GreeterServer {
    const NAME: &'static str = "hello.Greeter";
}

impl Service<http::Request<Body>> for GreeterServer {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match request.uri().path() {
            SAY_HELLO => Box::pin(async move {
                let mut grpc =
                    tonic::server::Grpc::new(ProstCodec::<HelloReply, HelloRequest>::default());
                Ok(grpc.unary(tower::service_fn(say_hello), request).await)
            }),
            _ => Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) }),
        }
    }
}

/// Serves the protected greeter on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    layer: ApproovLayer,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    Server::builder()
        .layer(ApproovGrpcLayer::new(layer))
        .add_service(GreeterServer)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), shutdown)
        .await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    support::init_tracing("info,tower_approov=debug");
    let layer = support::approov_from_env().layer;
    let port = std::env::var("PORT").unwrap_or_else(|_| "50051".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let addr = listener.local_addr()?;
    println!("gRPC hello.Greeter, Approov-protected, on {addr}");
    println!(
        "try: grpcurl -plaintext -import-path examples/proto -proto hello.proto \
         -H \"approov-token: $(cargo run -q --example mint --features test-util)\" \
         -d '{{\"name\":\"you\"}}' {addr} hello.Greeter/SayHello"
    );
    serve(listener, layer, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
