//! The layer's metrics (feature `metrics`) exported for Prometheus on `/metrics`, with
//! `metrics-exporter-prometheus`.
//!
//! ```text
//! cp .env.example .env        # or set APPROOV_BASE64_SECRET
//! cargo run --example prometheus --features metrics
//! curl -s http://127.0.0.1:8005/metrics | grep approov_
//! ```
//!
//! Serves on 127.0.0.1:8005 (`PORT` to change it): `/api/hello` protected, `/metrics` public
//! (put it on an internal port or behind your scraper's network policy in production).
//!
//! What would enforcing reject, by reason? Run with `APPROOV_MODE=monitor` and ask Prometheus:
//!
//! ```text
//! sum by (reason) (rate(approov_requests_total{outcome="monitored"}[5m]))
//! ```

mod support;

use std::time::Duration;

use axum::{Json, Router, routing::get};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::{Value, json};
use tower_approov::{ApproovClaims, ApproovLayer};

/// Buckets for `approov_verify_seconds`, in seconds: a cache hit takes microseconds, an RSA
/// verification tens of microseconds, a body digest of a large upload milliseconds.
pub const VERIFY_BUCKETS: &[f64] = &[
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.005, 0.025, 0.1,
];

/// A Prometheus recorder with real histogram buckets for the check duration (the exporter
/// renders summaries otherwise, which cannot be aggregated across instances).
pub fn recorder() -> metrics_exporter_prometheus::PrometheusRecorder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(tower_approov::metrics::VERIFY_SECONDS.to_owned()),
            VERIFY_BUCKETS,
        )
        .expect("non-empty buckets")
        .build_recorder()
}

async fn hello(claims: ApproovClaims) -> Json<Value> {
    Json(json!({ "message": "Hello from a protected route", "did": claims.did() }))
}

/// The protected API and the public `/metrics` route (added after `route_layer`, so not
/// checked).
pub fn app(layer: ApproovLayer, metrics: PrometheusHandle) -> Router {
    Router::new()
        .route("/api/hello", get(hello))
        .route_layer(layer)
        .route(
            "/metrics",
            get(move || std::future::ready(metrics.render())),
        )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    support::init_tracing("info,tower_approov=debug");
    let recorder = recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)?;
    // `# HELP` lines for the layer's metrics.
    tower_approov::metrics::describe_metrics();
    // The exporter's upkeep (draining histograms) when nothing scrapes for a while.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });

    let layer = support::approov_from_env().layer;
    let port = std::env::var("PORT").unwrap_or_else(|_| "8005".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let addr = listener.local_addr()?;
    println!("Approov-protected API on http://{addr}/api/hello, metrics on http://{addr}/metrics");
    axum::serve(listener, app(layer, handle)).await?;
    Ok(())
}
