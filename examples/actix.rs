//! An actix-web API protected by `ApproovMiddleware::from_env()` (feature `actix`).
//!
//! ```text
//! cargo run --example actix --features actix
//! ```
//!
//! Serves `GET /` on 127.0.0.1:8003 (`PORT` to change it) and prints two `curl` lines: one with
//! a freshly minted valid token (200, JSON with the token's `did`), one with an invalid token
//! (401 `{}`). With no key configured it uses the fake example secret of `.env.example`.

mod support;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::json;
use tower_approov::ApproovClaims;
use tower_approov::actix::ApproovMiddleware;

async fn hello(claims: ApproovClaims) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "message": "Hello from an Approov-protected actix-web API",
        "did": claims.did(),
        "exp": claims.exp(),
    }))
}

/// The example's routes, behind the middleware `main` wraps the `App` in.
pub(crate) fn routes(config: &mut web::ServiceConfig) {
    config.route("/", web::get().to(hello));
}

fn main() -> std::io::Result<()> {
    support::init_tracing("info,tower_approov=debug");
    // `ApproovMiddleware::from_env()` in an app of your own; here, with the example fallback.
    let (config, minting_secret) = support::config_from_env();
    // Built once, before the workers: they share its keys, token cache and mode switch.
    let approov = ApproovMiddleware::new(config);

    let port = std::env::var("PORT").unwrap_or_else(|_| "8003".into());
    let listener = std::net::TcpListener::bind(format!("127.0.0.1:{port}"))?;
    let addr = listener.local_addr()?;

    println!("Approov-protected actix-web API listening on http://{addr}/");
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

    // Stops on Ctrl-C, letting the requests in flight finish (actix-web's own signal handling).
    let server = HttpServer::new(move || App::new().wrap(approov.clone()).configure(routes))
        .listen(listener)?
        .run();
    actix_web::rt::System::new().block_on(server)
}
