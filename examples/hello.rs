//! The README's first command: an API protected by `ApproovLayer::from_env()`.
//!
//! ```text
//! cargo run --example hello
//! ```
//!
//! Serves `GET /` on 127.0.0.1:8002 (`PORT` to change it) and prints two `curl` lines: one with
//! a freshly minted valid token (200, JSON with the token's `did`), one with an invalid token
//! (401 `{}`). With no key configured it uses the fake example secret of `.env.example`.

mod support;

use axum::{Json, Router, routing::get};
use serde_json::{Value, json};
use tower_approov::ApproovClaims;

async fn hello(claims: ApproovClaims) -> Json<Value> {
    Json(json!({
        "message": "Hello from an Approov-protected API",
        "did": claims.did(),
        "exp": claims.exp(),
    }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    support::init_tracing("info,tower_approov=debug");
    let support::Approov {
        layer,
        minting_secret,
    } = support::approov_from_env();

    let app = Router::new().route("/", get(hello)).layer(layer);

    let port = std::env::var("PORT").unwrap_or_else(|_| "8002".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let addr = listener.local_addr()?;

    println!("Approov-protected API listening on http://{addr}/");
    println!();
    match minting_secret.and_then(|s| support::mint(&s, None).ok()) {
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

    support::serve_until_ctrl_c(listener, app).await?;
    Ok(())
}
