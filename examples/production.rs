//! An axum app laid out for production: tracing, CORS, public liveness (`/health`) and
//! readiness (`/ready`) routes, an async start that never blocks a runtime thread, graceful
//! shutdown, and the Approov layer on the API routes only.
//!
//! ```text
//! cp .env.example .env        # or set APPROOV_BASE64_SECRET
//! cargo run --example production
//! ```
//!
//! Serves on 127.0.0.1:8004 (`PORT` to change it). `CORS_ORIGIN` sets the web origin allowed to
//! call the API (default `http://localhost:3000`).

// Tests that include several examples by `#[path]` into one binary load this module once per
// example: each copy is private to its example, which is what is wanted.
#[allow(clippy::duplicate_mod)]
mod support;

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::{Json, Router, routing::get};
use serde_json::{Value, json};
use tower_approov::{ApproovClaims, ApproovConfigBuilder, ApproovLayer};
use tower_http::cors::CorsLayer;
use tower_http::trace::TraceLayer;

async fn hello(claims: ApproovClaims) -> Json<Value> {
    Json(json!({ "message": "Hello from a protected route", "did": claims.did() }))
}

async fn health() -> &'static str {
    "ok"
}

/// Readiness: `200 ready` once every key source can verify tokens, `503` before (a JWKS URL
/// whose first fetch failed). A load balancer sends no traffic until then; liveness
/// (`/health`) stays `200`, so the orchestrator does not restart a process that only waits for
/// its keys.
async fn ready(layer: ApproovLayer) -> (StatusCode, &'static str) {
    if layer.keys_ready() {
        (StatusCode::OK, "ready")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Approov keys not loaded yet",
        )
    }
}

/// CORS for a web front end on `origin` that calls the API with Approov headers.
///
/// The Approov token and the message-signing headers are not CORS-safelisted, so a browser
/// sends them only if the preflight allows them.
pub fn cors(origin: HeaderValue) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(origin)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            HeaderName::from_static("approov-token"),
            HeaderName::from_static("signature"),
            HeaderName::from_static("signature-input"),
            HeaderName::from_static("content-digest"),
            // Sent by the SDKs beside the token, for Approov support to trace a request.
            HeaderName::from_static("approov-traceid"),
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
        ])
        .max_age(Duration::from_secs(600))
}

/// The application.
///
/// - `route_layer`, not `layer`: the check runs only on matched routes, so an unknown path
///   still answers 404 rather than 401, and only the routes added *before* it are protected
///   (`/health` and `/ready`, added after, stay public for load balancers).
/// - CORS and tracing wrap everything, outside the check: a preflight `OPTIONS` carries no
///   token and must be answered by the CORS layer, never rejected.
/// - `TraceLayer`'s default spans hold the method and URI, not the headers, so tokens stay out
///   of the logs.
pub fn app(layer: ApproovLayer, cors_origin: HeaderValue) -> Router {
    // A clone shares the keys: it sees the same readiness as the layer that checks.
    let probe = layer.clone();
    Router::new()
        .route("/api/hello", get(hello))
        .route_layer(layer)
        .route("/health", get(health))
        .route("/ready", get(move || ready(probe.clone())))
        .layer(cors(cors_origin))
        .layer(TraceLayer::new_for_http())
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM (what orchestrators send).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    support::init_tracing("info,tower_http=debug,tower_approov=debug");
    // At start-up, never per request: a bad configuration stops the process with a message
    // that names the variable and how to fix it.
    // `build_async`: with a JWKS URL, the first fetch is awaited without blocking this
    // runtime's threads.
    let config = match ApproovConfigBuilder::from_env() {
        Ok(builder) => builder.build_async().await,
        Err(error) => Err(error),
    };
    let layer =
        ApproovLayer::new(config.unwrap_or_else(|error| support::exit_on_config_error(&error)));
    let origin = std::env::var("CORS_ORIGIN").unwrap_or_else(|_| "http://localhost:3000".into());
    let app = app(layer, HeaderValue::from_str(&origin)?);

    let port = std::env::var("PORT").unwrap_or_else(|_| "8004".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let addr = listener.local_addr()?;
    println!(
        "production-style app on http://{addr}/ (public: /health, /ready; protected: /api/hello)"
    );
    println!(
        "try: cargo run --example mint --features test-util -- --curl http://{addr}/api/hello"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}
