//! Plain hyper 1 + hyper-util, no axum: the layer goes on through `tower::ServiceBuilder`.
//!
//! ```text
//! cp .env.example .env        # or set APPROOV_BASE64_SECRET
//! cargo run --example hyper
//! ```
//!
//! Serves every path on 127.0.0.1:8003 (`PORT` to change it). The inner service receives
//! `Request<ApproovBody<Incoming>>` with the verified `ApproovClaims` in its extensions; a
//! request without a valid token never reaches it and gets `401 {}`.

// Tests that include several examples by `#[path]` into one binary load this module once per
// example: each copy is private to its example, which is what is wanted.
#[allow(clippy::duplicate_mod)]
mod support;

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::{Service, ServiceBuilder};
use tower_approov::{ApproovBody, ApproovClaims, ApproovLayer};

/// The protected handler: it only ever sees requests that passed the check.
pub async fn hello(
    req: Request<ApproovBody<Incoming>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let did = req
        .extensions()
        .get::<ApproovClaims>()
        .and_then(ApproovClaims::did)
        .unwrap_or("unknown");
    let body = serde_json::json!({ "message": "Hello from plain hyper", "did": did }).to_string();
    let mut response = Response::new(Full::from(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// The protected service: [`hello`] behind the layer, as a plain tower service.
pub fn app(
    layer: ApproovLayer,
) -> impl Service<Request<Incoming>, Response = Response<Full<Bytes>>, Error = Infallible, Future: Send>
+ Clone
+ Send
+ 'static {
    ServiceBuilder::new().layer(layer).service_fn(hello)
}

/// Accepts HTTP/1 connections on `listener` until `shutdown` resolves, serving `service` on
/// each.
pub async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            () = &mut shutdown => return Ok(()),
        };
        // One tower service cloned per connection: the layer's keys and cache are shared.
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let io = TokioIo::new(stream);
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await
            {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    support::init_tracing("info,tower_approov=debug");
    let layer = support::approov_from_env().layer;
    let port = std::env::var("PORT").unwrap_or_else(|_| "8003".into());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let addr = listener.local_addr()?;
    println!("plain hyper, Approov-protected, on http://{addr}/");
    println!("try: cargo run --example mint --features test-util -- --curl http://{addr}/");
    serve(listener, app(layer), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
