//! `approov-verifier`: the tower-approov check as a service, so that any backend, in any
//! language, behind nginx, Envoy/Istio, Traefik, Caddy or HAProxy gets the whole check (tokens,
//! binding, both message signatures, monitor mode, the reasons in the logs).
//!
//! Its doors, each translating only (every rule is the library's `ApproovConfig::check`):
//!
//! - `auth_http`: forward auth on `/check` (nginx `auth_request`, Traefik `forwardAuth`, Caddy
//!   `forward_auth`, HAProxy's Lua action) and Envoy's HTTP ext_authz on `/ext-authz/<path>`;
//! - `auth_grpc`: Envoy's gRPC ext_authz (`envoy.service.auth.v3.Authorization/Check`), with
//!   `grpc.health.v1`;
//! - `proxy`: a reverse proxy that checks every request, body included, then streams it on.
//!
//! `answer` is what every door says for a verdict (the claim headers to set, the token and
//! client-sent claim headers to remove); `ops` serves `/healthz`, `/readyz` and `/metrics`.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod answer;
mod auth_grpc;
mod auth_http;
mod ops;
mod proxy;
pub mod settings;

use std::future::Future;
use std::io;
use std::sync::Arc;

use axum::Router;
use axum::routing::{any, get};
use envoy_types::ext_authz::v3::pb::AuthorizationServer;
use http::HeaderName;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_approov::ApproovConfig;

pub use settings::Settings;

/// What every door shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: ApproovConfig,
    pub(crate) settings: Settings,
    /// Removed from every request that goes on.
    pub(crate) token_header: HeaderName,
    pub(crate) metrics: PrometheusHandle,
}

/// Binds every listener, prints where each serves (one `listening` line per door on standard
/// output, so that a test or a supervisor can use port 0), then serves until `shutdown`
/// resolves. In-flight checks finish before it returns.
///
/// # Errors
///
/// An address that cannot be bound, or a server that fails.
pub async fn run(
    settings: Settings,
    config: ApproovConfig,
    metrics: PrometheusHandle,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let token_header = config
        .token_header_to_strip()
        .cloned()
        .unwrap_or_else(|| HeaderName::from_static(tower_approov::DEFAULT_TOKEN_HEADER));
    let shared = Arc::new(Shared {
        config,
        settings,
        token_header,
        metrics,
    });
    let (stop, stopped) = watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };

    let http = TcpListener::bind(shared.settings.listen).await?;
    println!(
        "approov-verifier listening on http://{}",
        http.local_addr()?
    );
    let app = Router::new()
        .route("/check", any(auth_http::forward_auth))
        .route(auth_http::EXT_AUTHZ_PREFIX, any(auth_http::ext_authz))
        .route(
            &format!("{}/{{*path}}", auth_http::EXT_AUTHZ_PREFIX),
            any(auth_http::ext_authz),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .with_state(Arc::clone(&shared));
    let mut servers = tokio::task::JoinSet::new();
    servers.spawn(
        axum::serve(http, app)
            .with_graceful_shutdown(until_stopped())
            .into_future(),
    );

    if let Some(addr) = shared.settings.grpc_listen.0 {
        let grpc = TcpListener::bind(addr).await?;
        println!(
            "approov-verifier listening on grpc://{}",
            grpc.local_addr()?
        );
        let (reporter, health) = tonic_health::server::health_reporter();
        tokio::spawn(ops::report_health(
            Arc::clone(&shared),
            reporter,
            until_stopped(),
        ));
        let authorization = AuthorizationServer::new(auth_grpc::EnvoyAuthorization {
            shared: Arc::clone(&shared),
        });
        let incoming = tonic::transport::server::TcpIncoming::from(grpc);
        let server = tonic::transport::Server::builder()
            .add_service(health)
            .add_service(authorization)
            .serve_with_incoming_shutdown(incoming, until_stopped());
        servers.spawn(async move { server.await.map_err(io::Error::other) });
    }

    if let Some(upstream) = shared.settings.upstream.clone() {
        let listener = TcpListener::bind(shared.settings.proxy_listen).await?;
        println!(
            "approov-verifier listening on http://{} (proxy to {upstream})",
            listener.local_addr()?
        );
        let app = proxy::router(Arc::clone(&shared), upstream);
        servers.spawn(
            axum::serve(listener, app)
                .with_graceful_shutdown(until_stopped())
                .into_future(),
        );
    }

    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: in-flight checks finish first");
        let _ = stop.send(true);
    });
    while let Some(done) = servers.join_next().await {
        done.map_err(io::Error::other)??;
    }
    Ok(())
}
