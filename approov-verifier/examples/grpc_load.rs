//! A gRPC load client for `bench/verifier.sh`: Envoy-shaped `Check` calls (a GET with raw
//! headers, as Envoy sends them with `encode_raw_headers: true`), each with the next token of
//! a file, from CONCURRENCY tasks over one HTTP/2 connection each, for SECONDS.
//!
//! ```text
//! grpc_load http://127.0.0.1:9191 TOKEN_FILE CONCURRENCY SECONDS
//! ```
//!
//! Prints `RESULT requests=N duration_us=D not_ok=K`, as `bench/tokens.lua` does for wrk.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use envoy_types::ext_authz::v3::pb::{CheckRequest, HttpResponse};
use envoy_types::pb::envoy::config::core::v3::{HeaderMap, HeaderValue};
use envoy_types::pb::envoy::service::auth::v3::AttributeContext;
use envoy_types::pb::envoy::service::auth::v3::attribute_context::{HttpRequest, Request};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;

fn check_request(token: &str) -> CheckRequest {
    let header = |key: &str, value: &str| HeaderValue {
        key: key.to_owned(),
        raw_value: value.as_bytes().to_vec(),
        ..Default::default()
    };
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(Request {
                http: Some(HttpRequest {
                    method: "GET".to_owned(),
                    path: "/v1/orders".to_owned(),
                    host: "api.example.com".to_owned(),
                    scheme: "https".to_owned(),
                    protocol: "HTTP/1.1".to_owned(),
                    size: 0,
                    header_map: Some(HeaderMap {
                        headers: vec![
                            header(":authority", "api.example.com"),
                            header(":path", "/v1/orders"),
                            header(":method", "GET"),
                            header("user-agent", "okhttp/4.12.0"),
                            header("approov-token", token),
                        ],
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, addr, tokens, concurrency, seconds] = args.as_slice() else {
        return Err("usage: grpc_load URL TOKEN_FILE CONCURRENCY SECONDS".into());
    };
    let tokens: Arc<Vec<String>> = Arc::new(
        std::fs::read_to_string(tokens)?
            .lines()
            .map(str::to_owned)
            .collect(),
    );
    let concurrency: usize = concurrency.parse()?;
    let until = Instant::now() + Duration::from_secs(seconds.parse()?);
    let (done, not_ok) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..concurrency {
        let mut client = AuthorizationClient::connect(addr.clone()).await?;
        let (tokens, done, not_ok) = (Arc::clone(&tokens), Arc::clone(&done), Arc::clone(&not_ok));
        tasks.push(tokio::spawn(async move {
            // Each task walks the pool from its own offset, as the wrk script's threads do.
            let mut i = task * tokens.len() / concurrency;
            while Instant::now() < until {
                i = (i + 1) % tokens.len();
                let response = client.check(check_request(&tokens[i])).await;
                let ok = matches!(
                    response.map(tonic::Response::into_inner),
                    Ok(r) if matches!(r.http_response, Some(HttpResponse::OkResponse(_)))
                );
                done.fetch_add(1, Ordering::Relaxed);
                if !ok {
                    not_ok.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    println!(
        "RESULT requests={} duration_us={} not_ok={}",
        done.load(Ordering::Relaxed),
        started.elapsed().as_micros(),
        not_ok.load(Ordering::Relaxed)
    );
    Ok(())
}
