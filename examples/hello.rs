//! The README's first command: an API protected by `ApproovLayer::from_env()`.
//!
//! ```text
//! cargo run --example hello
//! ```
//!
//! Serves `GET /` on 127.0.0.1:8002 (`PORT` to change it) and prints two `curl` lines: one with
//! a freshly minted valid token (200, JSON with the token's `did`), one with an invalid token
//! (401 `{}`). With no key configured it uses the fake example secret of `.env.example`.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::{Json, Router, routing::get};
use base64::Engine as _;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use tower_approov::{ApproovClaims, ApproovConfigBuilder, ApproovLayer, ConfigError};

/// The fake secret of `.env.example`. Public: never deploy it.
const EXAMPLE_SECRET: &str =
    "Tk9ULUEtUkVBTC1TRUNSRVQ6ZXhhbXBsZS1hcHByb292LXNlY3JldC1mb3ItbG9jYWwtdGVzdGluZy1vbmx5IQ==";

async fn hello(claims: ApproovClaims) -> Json<Value> {
    Json(json!({
        "message": "Hello from an Approov-protected API",
        "did": claims.did(),
        "exp": claims.exp(),
    }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_approov=debug".into()),
        )
        .init();

    let (layer, minting_secret) = match ApproovLayer::try_from_env() {
        Ok(layer) => (layer, std::env::var("APPROOV_BASE64_SECRET").ok()),
        Err(ConfigError::NoKeySource) => {
            eprintln!();
            eprintln!(
                "!!! WARNING: no Approov key is configured (APPROOV_BASE64_SECRET is unset)."
            );
            eprintln!("!!! Falling back to the FAKE, PUBLIC example secret of .env.example.");
            eprintln!(
                "!!! Any token minted with it passes. Never run this configuration in production."
            );
            eprintln!();
            let config = ApproovConfigBuilder::from_env()?
                .with_base64_secret(EXAMPLE_SECRET)?
                .build()?;
            (ApproovLayer::new(config), Some(EXAMPLE_SECRET.to_owned()))
        }
        Err(e) => return Err(e.into()),
    };

    let app = Router::new().route("/", get(hello)).layer(layer);

    let port = std::env::var("PORT").unwrap_or_else(|_| "8002".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let addr = listener.local_addr()?;

    println!("Approov-protected API listening on http://{addr}/");
    println!();
    match minting_secret.and_then(|s| mint(s.split(',').next().unwrap_or_default()).ok()) {
        Some(token) => {
            println!("# valid token (expect 200 and the token's did):");
            println!("curl -i -H 'Approov-Token: {token}' http://{addr}/");
        }
        None => println!("# (no base64 secret to mint a valid token with: use your app's token)"),
    }
    println!();
    println!("# invalid token (expect 401 {{}}):");
    println!("curl -i -H 'Approov-Token: not.a.valid-token' http://{addr}/");
    println!();

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// Mints an Approov-shaped token valid for an hour: float `exp`, a `did`, an `ip`.
fn mint(base64_secret: &str) -> Result<String, Box<dyn std::error::Error>> {
    let entry = base64_secret.rsplit(':').next().unwrap_or_default().trim();
    let secret = base64::engine::general_purpose::STANDARD.decode(entry)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64();
    let claims = json!({
        "exp": now + 3600.25,
        "did": "ExampleDeviceID0123456789==",
        "ip": "127.0.0.1",
    });
    Ok(encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(&secret)?,
    )?)
}
