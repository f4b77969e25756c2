//! Token binding, per route: `/login` checks the Approov token only (the app has no
//! `Authorization` yet), `/orders` also requires the token to be bound to the `Authorization`
//! header sent with it (the `pay` claim).
//!
//! ```text
//! cargo run --example token_binding
//! ```
//!
//! Serves on 127.0.0.1:8003 (`PORT` to change it) and prints `curl` lines: a login (200), an
//! order with the `Authorization` the token is bound to (200), and the same token with another
//! `Authorization` (401 `{}`). With no key configured it uses the fake example secret of
//! `.env.example`.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::{Json, Router, routing::get};
use base64::Engine as _;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use tower_approov::{
    ApproovClaims, ApproovConfigBuilder, ApproovLayer, ConfigError, pay_claim_for,
};

/// The fake secret of `.env.example`. Public: never deploy it.
const EXAMPLE_SECRET: &str =
    "Tk9ULUEtUkVBTC1TRUNSRVQ6ZXhhbXBsZS1hcHByb292LXNlY3JldC1mb3ItbG9jYWwtdGVzdGluZy1vbmx5IQ==";

/// The session the example's login hands out. A real login would make one per user.
const SESSION: &str = "Bearer example-user-session-42";

/// No binding here: the app has no `Authorization` to bind the token to yet.
async fn login(claims: ApproovClaims) -> Json<Value> {
    Json(json!({ "authorization": SESSION, "did": claims.did() }))
}

/// Reached only with a token bound to the `Authorization` header of this very request.
async fn orders(claims: ApproovClaims) -> Json<Value> {
    Json(json!({ "orders": [], "did": claims.did(), "pay": claims.pay() }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_approov=debug".into()),
        )
        .init();

    let (approov, minting_secret) = match ApproovLayer::try_from_env() {
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

    // One configuration, two layers sharing its keys, verified-token cache and mode switch.
    let app = Router::new()
        .route("/login", get(login))
        .route_layer(approov.clone().without_token_binding())
        .merge(
            Router::new()
                .route("/orders", get(orders))
                .route_layer(approov.with_token_binding(["Authorization"])?),
        );

    let port = std::env::var("PORT").unwrap_or_else(|_| "8003".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let addr = listener.local_addr()?;

    println!("Approov token binding example listening on http://{addr}/");
    println!();
    let secret = minting_secret
        .as_deref()
        .and_then(|s| s.split(',').next())
        .map(str::to_owned);
    match secret {
        Some(secret) => {
            let plain = mint(&secret, None)?;
            let pay = pay_claim_for([SESSION.as_bytes()]);
            let bound = mint(&secret, Some(&pay))?;
            println!("# login: no binding on this route (expect 200):");
            println!("curl -i -H 'Approov-Token: {plain}' http://{addr}/login");
            println!();
            println!("# token bound to the Authorization sent (pay = {pay}) (expect 200):");
            println!(
                "curl -i -H 'Approov-Token: {bound}' -H 'Authorization: {SESSION}' http://{addr}/orders"
            );
            println!();
            println!("# the same token with another Authorization (expect 401 {{}}):");
            println!(
                "curl -i -H 'Approov-Token: {bound}' -H 'Authorization: Bearer someone-else' http://{addr}/orders"
            );
            println!();
            println!("# a token bound to nothing, on the bound route (expect 401 {{}}):");
            println!(
                "curl -i -H 'Approov-Token: {plain}' -H 'Authorization: {SESSION}' http://{addr}/orders"
            );
        }
        None => println!("# (no base64 secret to mint tokens with: use your app's tokens)"),
    }
    println!();

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// Mints an Approov-shaped token valid for an hour, bound to `pay` if given.
fn mint(base64_secret: &str, pay: Option<&str>) -> Result<String, Box<dyn std::error::Error>> {
    let entry = base64_secret.rsplit(':').next().unwrap_or_default().trim();
    let secret = base64::engine::general_purpose::STANDARD.decode(entry)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64();
    let mut claims = json!({
        "exp": now + 3600.25,
        "did": "ExampleDeviceID0123456789==",
        "ip": "127.0.0.1",
    });
    if let Some(pay) = pay {
        claims["pay"] = json!(pay);
    }
    Ok(encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(&secret)?,
    )?)
}
