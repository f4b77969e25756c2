//! Per-device rate limits with `tower_governor`, keyed by the **verified** Approov device id
//! (`did`), inside the Approov layer.
//!
//! ```text
//! cp .env.example .env        # or set APPROOV_BASE64_SECRET
//! cargo run --example rate_limit
//! ```
//!
//! Serves on 127.0.0.1:8006 (`PORT` to change it). Each device may send `RATE_LIMIT_BURST`
//! requests (default 10) at once, then one more every `RATE_LIMIT_PERIOD_MS` milliseconds
//! (default 6000, so 10 a minute); beyond that it gets `429 Too Many Requests`.
//!
//! Why the verified `did` and not a header or the IP:
//!
//! - The limiter runs *inside* the Approov layer, so it only ever sees requests whose token
//!   passed: the key is a device id that Approov signed, which a client cannot choose. A
//!   request without a valid token is answered `401` by the layer and never reaches the
//!   limiter, so it cannot spend anyone's quota.
//! - A header (`X-Device-Id`, or the `did` read from an unverified token) is whatever the
//!   client sends: a scraper rotates it to get a fresh quota per request, or sends a victim's
//!   id to lock the victim out.
//! - The peer IP is shared by every phone behind one carrier NAT or office proxy, and is the
//!   proxy's address behind a load balancer.

// Tests that include several examples by `#[path]` into one binary load this module once per
// example: each copy is private to its example, which is what is wanted.
#[allow(clippy::duplicate_mod)]
mod support;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ::governor::middleware::NoOpMiddleware;
use axum::extract::ConnectInfo;
use axum::{Json, Router, routing::get};
use http::Request;
use serde_json::{Value, json};
use tower_approov::{ApproovClaims, ApproovLayer};
use tower_governor::GovernorError;
use tower_governor::GovernorLayer;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::KeyExtractor;

/// The rate-limit key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeviceKey {
    /// The `did` of a verified Approov token.
    Device(Arc<str>),
    /// No verified `did`: the request passed in monitor mode with a bad token, or its valid
    /// token has no `did`. Limited by peer IP, so that a monitor-mode rollout never puts every
    /// unverified client in one shared bucket.
    Peer(IpAddr),
}

/// Takes the key from the [`ApproovClaims`] that the Approov layer put in the request
/// extensions: never from a header.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifiedDevice;

impl KeyExtractor for VerifiedDevice {
    type Key = DeviceKey;

    fn extract<T>(&self, request: &Request<T>) -> Result<DeviceKey, GovernorError> {
        let extensions = request.extensions();
        if let Some(did) = extensions
            .get::<ApproovClaims>()
            .and_then(ApproovClaims::did)
        {
            return Ok(DeviceKey::Device(did.into()));
        }
        extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| DeviceKey::Peer(peer.ip()))
            // Served without `into_make_service_with_connect_info`: a setup error.
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

/// The limiter's settings: `burst` requests at once per device, one more every `period`.
pub type Limits = Arc<GovernorConfig<VerifiedDevice, NoOpMiddleware>>;

/// # Panics
///
/// If `burst` or `period` is zero.
pub fn limits(burst: u32, period: Duration) -> Limits {
    Arc::new(
        GovernorConfigBuilder::default()
            .key_extractor(VerifiedDevice)
            .burst_size(burst)
            .period(period)
            .finish()
            .expect("a non-zero burst and period"),
    )
}

async fn hello(claims: ApproovClaims) -> Json<Value> {
    Json(json!({ "message": "Hello from a rate-limited route", "did": claims.did() }))
}

/// The application. Layers wrap what is added before them, so the Approov layer, added last,
/// is the outer one: it checks first and the limiter only sees verified requests. Serve it
/// with `into_make_service_with_connect_info::<SocketAddr>()` (see [`VerifiedDevice`]).
pub fn app(layer: ApproovLayer, limits: &Limits) -> Router {
    Router::new()
        .route("/api/hello", get(hello))
        .route_layer(GovernorLayer::new(Arc::clone(limits)))
        .route_layer(layer)
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    support::init_tracing("info,tower_approov=debug");
    let layer = support::approov_from_env().layer;
    let limits = limits(
        env_or("RATE_LIMIT_BURST", 10),
        Duration::from_millis(env_or("RATE_LIMIT_PERIOD_MS", 6000)),
    );
    // The limiter keeps one entry per device seen: forget the ones that are full again.
    let limiter = limits.limiter().clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
            limiter.retain_recent();
        }
    });

    let port = std::env::var("PORT").unwrap_or_else(|_| "8006".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let addr = listener.local_addr()?;
    println!("rate-limited API on http://{addr}/api/hello");
    println!(
        "try: T=$(cargo run -q --example mint --features test-util); \
         for i in $(seq 12); do curl -s -o /dev/null -w '%{{http_code}}\\n' \
         -H \"approov-token: $T\" http://{addr}/api/hello; done"
    );
    let app = app(layer, &limits);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
