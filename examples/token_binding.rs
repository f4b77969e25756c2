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

mod support;

use axum::{Json, Router, routing::get};
use serde_json::{Value, json};
use support::mint;
use tower_approov::{ApproovClaims, pay_claim_for};

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
    support::init_tracing("info,tower_approov=debug");
    let support::Approov {
        layer: approov,
        minting_secret,
    } = support::approov_from_env();

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
    match minting_secret {
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

    support::serve_until_ctrl_c(listener, app).await?;
    Ok(())
}
