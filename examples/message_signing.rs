//! Approov installation message signing (RFC 9421), end to end on loopback.
//!
//! ```text
//! cargo run --example message_signing --features test-util
//! ```
//!
//! Starts an API that requires signed requests (`MessageSigning::Require`), then plays the app:
//! generates an installation key, mints a token whose `ipk` claim holds its public half, signs
//! a GET as the iOS SDK does and a POST as the Android SDK does, and sends them, followed by a
//! tampered copy of the POST and an unsigned request. It prints each status and reason.
//!
//! The key and token come from the `test-util` feature, which stands in for the Approov SDK
//! and cloud: never enable it in production builds.

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::routing::get;
use axum::{Json, Router};
use http::Request;
use http_body_util::BodyExt as _;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use tower_approov::test_util::{InstallationKey, RequestSigner};
use tower_approov::{ApproovClaims, ApproovConfig, ApproovLayer, MessageSigning};

/// A fake secret for this demo only.
const SECRET: &[u8] = b"demo-only-secret-never-deploy-it-demo-only-secret-never-deploy!!";

async fn orders(claims: ApproovClaims, body: Bytes) -> Json<Value> {
    Json(json!({ "did": claims.did(), "received": String::from_utf8_lossy(&body) }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    support::init_tracing("info,tower_approov=debug");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // An HTTP/1.1 request carries no scheme, and the layer then assumes the `https` a mobile
    // app calls. This demo calls plain `http` on loopback, so it says so with its origin.
    let config = ApproovConfig::builder()
        .with_secret(SECRET, None)?
        .with_message_signing(MessageSigning::Require)
        .with_public_origin(&format!("http://{addr}"))?
        .build()?;
    let app = Router::new()
        .route("/v1/orders", get(orders).post(orders))
        .layer(ApproovLayer::new(config));
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("API requiring signed requests on http://{addr}/v1/orders\n");

    // The app side: its installation key, and a token carrying the key's public half.
    let key = InstallationKey::generate()?;
    let exp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64() + 300.0;
    let token = encode(
        &Header::default(),
        &json!({ "exp": exp, "did": "demo-device", "ipk": key.ipk()? }),
        &EncodingKey::from_secret(SECRET)?,
    )?;
    let url = format!("http://{addr}/v1/orders?page=1");
    let client = Client::builder(TokioExecutor::new()).build_http::<Body>();

    let mut get = Request::get(&url)
        .header("approov-token", &token)
        .body(String::new())?;
    RequestSigner::new(&key).ios().sign(&mut get)?;
    show("GET signed as iOS does", &get);
    send(&client, get).await?;

    let mut post = Request::post(&url)
        .header("approov-token", &token)
        .header("content-type", "application/json")
        .body(r#"{"item":42}"#.to_owned())?;
    RequestSigner::new(&key).android().sign(&mut post)?;
    show("POST signed as Android does", &post);
    let mut tampered = Request::post(&url).body(r#"{"item":43}"#.to_owned())?;
    *tampered.headers_mut() = post.headers().clone();
    send(&client, post).await?;

    println!("== the same POST with its body changed in flight");
    send(&client, tampered).await?;

    println!("== an unsigned GET");
    let unsigned = Request::get(&url)
        .header("approov-token", &token)
        .body(String::new())?;
    send(&client, unsigned).await?;
    Ok(())
}

fn show(title: &str, request: &Request<String>) {
    println!("== {title}");
    for name in ["signature-input", "signature", "content-digest"] {
        if let Some(value) = request.headers().get(name) {
            println!("{name}: {}", value.to_str().unwrap_or("?"));
        }
    }
}

async fn send(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Body>,
    request: Request<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let response = client.request(request.map(Body::from)).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    println!("-> {status} {}\n", String::from_utf8_lossy(&body));
    Ok(())
}
