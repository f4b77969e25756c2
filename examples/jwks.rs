//! An API whose keys come from a JWKS URL, with a key rotation you can watch.
//!
//! ```text
//! cargo run --example jwks --features jwks-url
//! ```
//!
//! Self-contained: the example generates two ES256 key pairs, serves its own JWKS on
//! 127.0.0.1:8003 (`JWKS_PORT` to change it) with the first key only, and protects `GET /` on
//! 127.0.0.1:8002 (`PORT`) with a layer whose keys come from that JWKS. It prints `curl` lines:
//! a token of the published key (200), a token of the second key before it is published (401,
//! reason `unknown_kid`), and a command that publishes the second key, after which the same
//! token is accepted without a restart (the unknown `kid` makes the layer fetch the JWKS again,
//! at most once per 5 s here, 30 s by default).
//!
//! With `APPROOV_JWKS_URL` set, the layer uses that URL instead (and the other `APPROOV_*`
//! variables); the printed tokens then fail, since your JWKS does not hold the example's keys.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use tower_approov::{ApproovClaims, ApproovConfigBuilder, ApproovLayer};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One signing key of the example's "Approov account".
struct SigningKey {
    kid: &'static str,
    encoding: EncodingKey,
    jwk: Jwk,
}

impl SigningKey {
    fn generate(kid: &'static str) -> Result<Self, Error> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)?;
        let pkcs8 = pair.to_pkcs8v1()?;
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref())
        );
        let encoding = EncodingKey::from_ec_pem(pem.as_bytes())?;
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256)?;
        jwk.common.key_id = Some(kid.to_owned());
        Ok(Self { kid, encoding, jwk })
    }

    /// An Approov-shaped token valid for an hour.
    fn mint(&self) -> Result<String, Error> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64();
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.to_owned());
        let claims = json!({ "exp": now + 3600.0, "did": format!("device-of-{}", self.kid) });
        Ok(encode(&header, &claims, &self.encoding)?)
    }
}

/// The published JWKS, and the key that `POST /rotate` adds to it.
#[derive(Clone)]
struct Jwks {
    published: Arc<Mutex<JwkSet>>,
    next: Jwk,
}

async fn jwks(State(jwks): State<Jwks>) -> Json<JwkSet> {
    Json(
        jwks.published
            .lock()
            .map(|s| s.clone())
            .unwrap_or(JwkSet { keys: vec![] }),
    )
}

async fn rotate(State(jwks): State<Jwks>) -> &'static str {
    if let Ok(mut set) = jwks.published.lock()
        && !set
            .keys
            .iter()
            .any(|k| k.common.key_id == jwks.next.common.key_id)
    {
        set.keys.push(jwks.next.clone());
    }
    "published the next key\n"
}

async fn hello(claims: ApproovClaims) -> Json<Value> {
    Json(json!({ "message": "Hello from an API whose keys come from a JWKS", "did": claims.did() }))
}

fn port(var: &str, default: u16) -> u16 {
    std::env::var(var)
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    support::init_tracing("info,tower_approov=debug");
    // `Jwk::from_encoding_key` needs a crypto provider; the layer would install the same one.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();

    let current = SigningKey::generate("2026-01")?;
    let next = SigningKey::generate("2026-07")?;

    // The account's JWKS, as Approov would publish it (`approov keyset -setJWKSURI on`).
    let state = Jwks {
        published: Arc::new(Mutex::new(JwkSet {
            keys: vec![current.jwk.clone()],
        })),
        next: next.jwk.clone(),
    };
    let jwks_listener =
        tokio::net::TcpListener::bind(("127.0.0.1", port("JWKS_PORT", 8003))).await?;
    let jwks_addr: SocketAddr = jwks_listener.local_addr()?;
    let jwks_app = Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/rotate", post(rotate))
        .with_state(state);
    tokio::spawn(async move { axum::serve(jwks_listener, jwks_app).await });

    // `build` fetches the JWKS once before returning: keep that blocking I/O off the runtime.
    let url = format!("http://{jwks_addr}/.well-known/jwks.json");
    let config = tokio::task::spawn_blocking(move || {
        let builder = if std::env::var_os("APPROOV_JWKS_URL").is_some() {
            ApproovConfigBuilder::from_env()?
        } else {
            ApproovConfigBuilder::from_env()?
                .with_jwks_url(&url)
                // Short, so that the rotation below shows quickly. Defaults: 10 min and 30 s.
                .with_jwks_refresh_interval(Duration::from_secs(60))
                .with_jwks_min_refresh_interval(Duration::from_secs(5))
        };
        builder.build()
    })
    .await??;

    let app = Router::new()
        .route("/", get(hello))
        .layer(ApproovLayer::new(config));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port("PORT", 8002))).await?;
    let addr = listener.local_addr()?;

    println!("API on http://{addr}/, JWKS on http://{jwks_addr}/.well-known/jwks.json");
    println!();
    println!("# a token of the published key (expect 200):");
    println!(
        "curl -i -H 'Approov-Token: {}' http://{addr}/",
        current.mint()?
    );
    println!();
    let rotated = next.mint()?;
    println!("# a token of the next key, not yet published (expect 401 {{}}, reason unknown_kid):");
    println!("curl -i -H 'Approov-Token: {rotated}' http://{addr}/");
    println!();
    println!("# publish the next key, then send that token again: the first try may still get 401");
    println!("# while the layer fetches the JWKS in the background (requests never wait for it),");
    println!("# the next one gets 200:");
    println!("curl -i -X POST http://{jwks_addr}/rotate");
    println!("curl -i -H 'Approov-Token: {rotated}' http://{addr}/");
    println!();

    support::serve_until_ctrl_c(listener, app).await?;
    Ok(())
}
