//! Memory under a flood of distinct valid tokens: the verified-token cache stays within its
//! bound and the process's resident memory stays flat.
//!
//! ```text
//! cargo run --release --features test-util --example cache_memory            # 1 000 000 tokens
//! cargo run --release --features test-util --example cache_memory -- 200000  # fewer
//! ```
//!
//! Mints HS256 tokens one at a time (none is kept) and sends each through `ApproovService` with
//! the default configuration (cache of 10 000 entries). Prints the cache length and the
//! resident set size (`VmRSS` of `/proc/self/status`) at checkpoints, and exits with an error
//! if the cache ever held more than its bound or if memory grew by more than 10 % between the
//! 100 000th token and the last one. Too slow for CI in a debug build, hence an example.

#[path = "../benches/support/mod.rs"]
mod support;

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use http::{Request, Response, StatusCode};
use tower::{Layer, Service, ServiceExt};
use tower_approov::test_util::token_cache_len;
use tower_approov::{ApproovBody, ApproovLayer, DEFAULT_TOKEN_CACHE_SIZE};

use support::{Alg, KeyMaterial, claims};

type Error = Box<dyn std::error::Error>;

/// Resident memory in KiB, from `/proc/self/status` (Linux).
fn rss_kib() -> Result<u64, Error> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or("no VmRSS in /proc/self/status")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .ok_or("malformed VmRSS")?
        .parse()?)
}

/// Polls a future that is ready at once (every service here answers synchronously).
fn ready_now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the services here answer at once"),
    }
}

fn main() -> Result<(), Error> {
    let total: u64 = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let bound = DEFAULT_TOKEN_CACHE_SIZE;
    let key = KeyMaterial::generate(Alg::Hs256);
    let config = key.builder().build()?;
    let mut service = ApproovLayer::new(config.clone()).layer(tower::service_fn(
        |_req: Request<ApproovBody<String>>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        },
    ));

    let checkpoints = [
        1_000, 10_000, 100_000, 200_000, 300_000, 400_000, 500_000, 600_000, 700_000, 800_000,
        900_000, 1_000_000,
    ];
    println!("{:>10}  {:>12}  {:>10}", "tokens", "cache len", "RSS (KiB)");
    println!("{:>10}  {:>12}  {:>10}", 0, 0, rss_kib()?);
    let mut max_len = 0;
    let mut rss_at_100k = None;
    let mut last_rss = 0;
    for n in 1..=total {
        let token = key.mint(&claims(n, 3600.0, None));
        let req = Request::get("/")
            .header("approov-token", token)
            .body(String::new())?;
        let svc = ready_now(service.ready()).unwrap_or_else(|e| match e {});
        let status = ready_now(svc.call(req))
            .unwrap_or_else(|e| match e {})
            .status();
        if status != StatusCode::OK {
            return Err(format!("token {n} was rejected: {status}").into());
        }
        if n % 1_000 == 0 {
            let len = token_cache_len(&config).ok_or("the cache is off")?;
            max_len = max_len.max(len);
        }
        if checkpoints.contains(&n) || n == total {
            let len = token_cache_len(&config).ok_or("the cache is off")?;
            last_rss = rss_kib()?;
            if n == 100_000 {
                rss_at_100k = Some(last_rss);
            }
            println!("{n:>10}  {len:>12}  {last_rss:>10}");
        }
    }
    println!("largest cache length seen: {max_len} (bound {bound})");
    if max_len > bound {
        return Err(format!("the cache held {max_len} tokens, over its bound of {bound}").into());
    }
    if let Some(base) = rss_at_100k {
        let growth = last_rss as f64 / base as f64 - 1.0;
        println!(
            "RSS from token 100 000 to token {total}: {base} KiB -> {last_rss} KiB ({:+.1} %)",
            growth * 100.0
        );
        if growth > 0.10 {
            return Err("resident memory grew by more than 10 %".into());
        }
    }
    Ok(())
}
