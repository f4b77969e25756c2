//! What operators expect of a service: `/healthz` (the process answers), `/readyz` (the keys
//! can verify: false until a JWKS URL delivered its keys, or once they went stale; and the
//! replay store, when replay protection uses Redis, answers),
//! `/metrics` (Prometheus: the check's counters by outcome and reason, and its duration
//! histogram), and the same readiness on `grpc.health.v1`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::Shared;

pub(crate) async fn healthz() -> &'static str {
    "ok"
}

pub(crate) async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    if !shared.config.keys_ready() {
        (StatusCode::SERVICE_UNAVAILABLE, "keys unavailable").into_response()
    } else if !shared.config.replay_store_ready().await {
        (StatusCode::SERVICE_UNAVAILABLE, "replay store unavailable").into_response()
    } else {
        (StatusCode::OK, "ready").into_response()
    }
}

pub(crate) async fn metrics(State(shared): State<Arc<Shared>>) -> String {
    shared.metrics.render()
}

/// The gRPC services whose health Envoy or a mesh may ask for.
const SERVICES: [&str; 2] = ["", "envoy.service.auth.v3.Authorization"];

/// Keeps `grpc.health.v1` in step with readiness, checked every second, until `stop`.
pub(crate) async fn report_health(
    shared: Arc<Shared>,
    reporter: HealthReporter,
    stop: impl Future<Output = ()>,
) {
    let update = async {
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        let mut last = None;
        loop {
            ticks.tick().await;
            let status = if shared.config.ready().await {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            if last != Some(status) {
                for service in SERVICES {
                    reporter.set_service_status(service, status).await;
                }
                last = Some(status);
            }
        }
    };
    tokio::select! {
        () = update => {}
        () = stop => {}
    }
}
