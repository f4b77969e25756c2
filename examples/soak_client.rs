//! The client half of `bench/soak.sh`: sends a mix of tokens to a server protected by the
//! layer with token binding on `Authorization`, and checks every single answer.
//!
//! ```text
//! SOAK_URL=http://127.0.0.1:8002/ SOAK_SECONDS=300 SOAK_CONNECTIONS=8 \
//! APPROOV_BASE64_SECRET=... cargo run --release --example soak_client
//! ```
//!
//! Kinds of request, in a fixed rotation on every connection:
//! - `valid`: a token from a small pool, reused (as apps do), bound to the request's
//!   `Authorization` -> must get 200;
//! - `unique`: a freshly minted valid token, never seen before (fills and churns the
//!   verified-token cache) -> 200;
//! - `expired`: a correctly signed token whose `exp` has passed -> 401 `{}`;
//! - `tampered`: a valid token with one character of its payload or signature changed -> 401;
//! - `unbound`: a valid token whose `pay` is bound to another `Authorization` -> 401;
//! - `garbage`: unique random-looking text -> 401.
//!
//! Only loopback addresses are accepted as targets. The run stops by itself after
//! `SOAK_SECONDS`. It prints one line of counts per kind, and exits 1 on any wrong answer or
//! transport error.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;

const KINDS: [&str; 6] = [
    "valid", "unique", "expired", "tampered", "unbound", "garbage",
];
/// How often each kind comes up in a rotation of 10 requests.
const ROTATION: [usize; 10] = [0, 0, 0, 0, 1, 2, 3, 4, 5, 0];

#[derive(Default)]
struct Counts {
    sent: [AtomicU64; 6],
    wrong: [AtomicU64; 6],
    transport_errors: AtomicU64,
}

struct Minter {
    key: EncodingKey,
    auth: String,
}

impl Minter {
    fn token(&self, exp_in: f64, auth: &str, n: u64) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let claims = json!({
            "exp": now + exp_in,
            "did": "SoakDeviceID0123456789==",
            "ip": "127.0.0.1",
            "pay": tower_approov::pay_claim_for([auth.as_bytes()]),
            "n": n,
        });
        encode(&Header::default(), &claims, &self.key).unwrap_or_default()
    }
}

/// Changes one character of the token, in the payload or the signature, to another base64url
/// character.
fn tamper(token: &str, n: u64) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let dots: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'.')
        .map(|(i, _)| i)
        .collect();
    // Alternate between a payload character and a signature character (never the dots).
    let i = if n.is_multiple_of(2) {
        dots[0] + 1 + (n as usize / 2) % (dots[1] - dots[0] - 1)
    } else {
        dots[1] + 1 + (n as usize / 2) % (bytes.len() - dots[1] - 2)
    };
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url: http::Uri = std::env::var("SOAK_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:8002/".into())
        .parse()?;
    let host = url.host().unwrap_or_default().to_owned();
    if !(host == "localhost" || host == "[::1]" || host.starts_with("127.")) {
        return Err(format!("refusing to soak a non-loopback host: {host}").into());
    }
    let port = url.port_u16().unwrap_or(80);
    let seconds: u64 = std::env::var("SOAK_SECONDS").map_or(Ok(300), |s| s.parse())?;
    let connections: usize = std::env::var("SOAK_CONNECTIONS").map_or(Ok(8), |s| s.parse())?;
    let secret = std::env::var("APPROOV_BASE64_SECRET")?;
    let secret = base64::engine::general_purpose::STANDARD.decode(secret.trim())?;

    let minter = Arc::new(Minter {
        key: EncodingKey::from_secret(&secret)?,
        auth: "Bearer soak-user".into(),
    });
    // A small pool of reused valid tokens, as real apps reuse one token for minutes.
    let pool: Arc<Vec<String>> = Arc::new(
        (0..16)
            .map(|i| minter.token(3600.5, &minter.auth, i))
            .collect(),
    );
    let expired: Arc<Vec<String>> = Arc::new(
        (0..16)
            .map(|i| minter.token(-30.25, &minter.auth, i))
            .collect(),
    );
    let counts = Arc::new(Counts::default());
    let unique = Arc::new(AtomicU64::new(1_000_000));
    let deadline = Instant::now() + Duration::from_secs(seconds);

    let mut tasks = Vec::new();
    for c in 0..connections {
        let (minter, pool, expired, counts, unique, url) = (
            minter.clone(),
            pool.clone(),
            expired.clone(),
            counts.clone(),
            unique.clone(),
            url.clone(),
        );
        let host = host.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = c as u64;
            'reconnect: while Instant::now() < deadline {
                let stream = match tokio::net::TcpStream::connect((host.as_str(), port)).await {
                    Ok(s) => s,
                    Err(_) => {
                        counts.transport_errors.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Ok((mut sender, conn)) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
                else {
                    counts.transport_errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                tokio::spawn(conn);
                while Instant::now() < deadline {
                    i += 1;
                    let kind = ROTATION[(i % 10) as usize];
                    let n = unique.fetch_add(1, Ordering::Relaxed);
                    let (token, auth) = match kind {
                        0 => (pool[(i % 16) as usize].clone(), minter.auth.clone()),
                        1 => (minter.token(3600.5, &minter.auth, n), minter.auth.clone()),
                        2 => (expired[(i % 16) as usize].clone(), minter.auth.clone()),
                        3 => (tamper(&pool[(i % 16) as usize], n), minter.auth.clone()),
                        4 => (
                            pool[(i % 16) as usize].clone(),
                            format!("Bearer other-user-{n}"),
                        ),
                        _ => (format!("eyJ{n:x}.garbage.{n}"), minter.auth.clone()),
                    };
                    let req = Request::get(url.path())
                        .header("host", format!("{host}:{port}"))
                        .header("approov-token", token)
                        .header("authorization", auth)
                        .body(Empty::<Bytes>::new())
                        .map_err(|_| ());
                    let Ok(req) = req else {
                        counts.transport_errors.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    if sender.ready().await.is_err() {
                        counts.transport_errors.fetch_add(1, Ordering::Relaxed);
                        continue 'reconnect;
                    }
                    let resp = match sender.send_request(req).await {
                        Ok(r) => r,
                        Err(_) => {
                            counts.transport_errors.fetch_add(1, Ordering::Relaxed);
                            continue 'reconnect;
                        }
                    };
                    let status = resp.status();
                    let json_type = resp
                        .headers()
                        .get("content-type")
                        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
                    let body = match resp.into_body().collect().await {
                        Ok(b) => b.to_bytes(),
                        Err(_) => {
                            counts.transport_errors.fetch_add(1, Ordering::Relaxed);
                            continue 'reconnect;
                        }
                    };
                    let right = match kind {
                        0 | 1 => {
                            status == StatusCode::OK
                                && json_type
                                && body.windows(9).any(|w| w == b"\"did\":\"So")
                        }
                        _ => status == StatusCode::UNAUTHORIZED && json_type && &body[..] == b"{}",
                    };
                    counts.sent[kind].fetch_add(1, Ordering::Relaxed);
                    if !right {
                        counts.wrong[kind].fetch_add(1, Ordering::Relaxed);
                        eprintln!(
                            "WRONG: kind={} status={status} body={:?}",
                            KINDS[kind],
                            String::from_utf8_lossy(&body)
                        );
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }

    let mut total = 0;
    let mut wrong = 0;
    for (k, name) in KINDS.iter().enumerate() {
        let s = counts.sent[k].load(Ordering::Relaxed);
        let w = counts.wrong[k].load(Ordering::Relaxed);
        total += s;
        wrong += w;
        println!("{name:>9}: {s:>10} sent, {w} wrong");
    }
    let transport = counts.transport_errors.load(Ordering::Relaxed);
    println!(
        "    total: {total:>10} sent in {seconds} s over {connections} connections ({:.0} req/s), {wrong} wrong, {transport} transport errors",
        total as f64 / seconds as f64
    );
    if wrong > 0 || transport > 0 {
        std::process::exit(1);
    }
    Ok(())
}
