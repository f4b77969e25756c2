//! The server and token minter of the loopback load comparisons (`bench/load.sh`,
//! `bench/replay.sh`).
//!
//! ```text
//! bench_server keys DIR                    # writes an HS256 secret, an ES256 key pair and an
//!                                          # installation key (P-256) to DIR
//! bench_server mint DIR ALG COUNT          # prints COUNT distinct tokens (ALG: hs256, es256)
//! bench_server signed DIR COUNT HOST       # prints COUNT distinct signed GETs of https://HOST/
//! bench_server redis-fill URL COUNT        # stores COUNT replay keys in Redis (feature redis)
//! bench_server serve MODE DIR PORT         # serves GET / on 127.0.0.1:PORT
//! ```
//!
//! `signed` writes one request a line, `TOKEN<tab>SIGNATURE-INPUT<tab>SIGNATURE`, for
//! `bench/signed.lua`: an installation signature (`install`, ECDSA P-256) over `@method`,
//! `@target-uri` and `approov-token`, its base written as the SDKs write it, `created` when
//! the command started and `expires` 15 s later (the SDKs' window), with one HS256 token whose
//! `ipk` is the installation key's (one token: it stays in the verified-token cache). Every
//! line is a new signature (ECDSA signs with a random nonce), signed on every CPU.
//!
//! `redis-fill` stores COUNT keys of the replay store's format (`approov:replay:<64 hex> 1
//! PXAT <an hour ahead>`, pipelined) and prints Redis's `used_memory` before and after.
//!
//! `MODE` is one of:
//! - `plain`: axum with no layer;
//! - `layer-hs256`, `layer-es256`: axum with `ApproovLayer` (default configuration: cache of
//!   10 000 tokens, no binding);
//! - `baseline-hs256`: axum with a `from_fn` middleware calling `jsonwebtoken::decode` on every
//!   request, the code a user would otherwise write;
//! - `signed-off`, `signed-memory`, `signed-redis`: `ApproovLayer` with the HS256 key, message
//!   signing required (`APPROOV_MESSAGE_SIGNING=require`) and replay protection off, in memory
//!   (default capacity), or in Redis at `APPROOV_REPLAY_REDIS_URL` (built with `--features
//!   redis`; the store must answer at start). `APPROOV_SIGNATURE_CLOCK_SKEW_SECONDS`, when set,
//!   is the signature clock skew (default 30 s). A refusal carries its reason code in an
//!   `x-bench-reason` header (the bench checks that a replay is refused as one; a real server
//!   keeps it in its logs).
//!
//! Every mode answers `200 ok` from the same handler; failures answer `401 {}`. Nothing is
//! logged per request. The runtime has one worker per CPU the process may run on, so pinning
//! it with `taskset` sets its size.

#[cfg(feature = "redis")]
#[path = "../benches/support/replay.rs"]
mod replay_support;
#[path = "../benches/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderValue, StatusCode, header};
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;
use tower_approov::{
    ApproovError, ApproovLayer, MessageSigning, ReplayConfig, RequestHead, SigningConfig,
};

use support::{Alg, KeyMaterial, claims};

type Error = Box<dyn std::error::Error>;

fn usage() -> Error {
    "usage: bench_server keys DIR | mint DIR ALG COUNT | signed DIR COUNT HOST \
     | redis-fill URL COUNT | serve MODE DIR PORT"
        .into()
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["keys", dir] => keys(Path::new(dir)),
        ["mint", dir, alg, count] => mint(Path::new(dir), alg, count.parse()?),
        ["signed", dir, count, host] => signed(Path::new(dir), count.parse()?, host),
        ["redis-fill", url, count] => redis_fill(url, count.parse()?),
        ["serve", mode, dir, port] => serve(mode, Path::new(dir), port.parse()?),
        _ => Err(usage()),
    }
}

fn key_files(dir: &Path, alg: Alg) -> (PathBuf, PathBuf) {
    let name = alg.name().to_ascii_lowercase();
    (
        dir.join(format!("{name}.private")),
        dir.join(format!("{name}.public")),
    )
}

/// Writes the keys; the HS256 secret as standard base64, as `approov secret -get base64` does.
fn keys(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir)?;
    for alg in [Alg::Hs256, Alg::Es256] {
        let key = KeyMaterial::generate(alg);
        let (private, public) = key_files(dir, alg);
        let encode = |bytes: &[u8]| match alg {
            Alg::Hs256 => STANDARD.encode(bytes).into_bytes(),
            _ => bytes.to_vec(),
        };
        std::fs::write(private, encode(&key.private))?;
        std::fs::write(public, encode(&key.public))?;
    }
    let install = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
        .map_err(|_| "installation key generation")?;
    let der = install
        .to_pkcs8v1()
        .map_err(|_| "installation key encoding")?;
    std::fs::write(dir.join(INSTALL_KEY), der.as_ref())?;
    Ok(())
}

/// The installation key's file in DIR: PKCS#8 DER.
const INSTALL_KEY: &str = "install.pk8";

fn load(dir: &Path, alg: Alg) -> Result<KeyMaterial, Error> {
    let (private, public) = key_files(dir, alg);
    let (private, public) = (std::fs::read(private)?, std::fs::read(public)?);
    Ok(match alg {
        Alg::Hs256 => KeyMaterial::from_parts(
            alg,
            STANDARD.decode(private.trim_ascii())?,
            STANDARD.decode(public.trim_ascii())?,
        ),
        _ => KeyMaterial::from_parts(alg, private, public),
    })
}

fn mint(dir: &Path, alg: &str, count: u64) -> Result<(), Error> {
    use std::io::Write as _;
    let alg = Alg::parse(alg).ok_or_else(usage)?;
    let key = load(dir, alg)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for n in 0..count {
        // Valid for two hours: long enough for any run of the load script.
        writeln!(out, "{}", key.mint(&claims(n, 7200.0, None)))?;
    }
    Ok(())
}

/// Prints `count` distinct signed GETs of `https://HOST/`, one a line (see the module docs).
fn signed(dir: &Path, count: usize, host: &str) -> Result<(), Error> {
    use std::io::Write as _;
    let der = std::fs::read(dir.join(INSTALL_KEY))
        .map_err(|e| format!("{}: {e} (run `bench_server keys DIR` first)", INSTALL_KEY))?;
    let install = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
        .map_err(|_| "not a P-256 PKCS#8 key")?;
    let spki = AsDer::<PublicKeyX509Der<'_>>::as_der(install.public_key())
        .map_err(|_| "installation key encoding")?;
    let mut claims = claims(0, 7200.0, None);
    claims["ipk"] = STANDARD.encode(spki.as_ref()).into();
    let token = load(dir, Alg::Hs256)?.mint(&claims);
    let created = support::now() as i64;
    let params = format!(
        "(\"@method\" \"@target-uri\" \"approov-token\");alg=\"ecdsa-p256-sha256\";\
         created={created};expires={}",
        created + 15
    );
    let base = format!(
        "\"@method\": GET\n\"@target-uri\": https://{host}/\n\"approov-token\": {token}\n\
         \"@signature-params\": {params}"
    );
    let input = format!("install={params}");
    // Every CPU signs a share of the lines.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let shares: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let share = count * (t + 1) / threads - count * t / threads;
                let (install, token, input, base) = (&install, &token, &input, &base);
                scope.spawn(move || {
                    let rng = SystemRandom::new();
                    let mut out = String::with_capacity(share * (token.len() + 220));
                    for _ in 0..share {
                        let signature = install.sign(&rng, base.as_bytes()).expect("ECDSA signing");
                        let signature = STANDARD.encode(signature.as_ref());
                        out.push_str(&format!("{token}\t{input}\tinstall=:{signature}:\n"));
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for share in shares {
        out.write_all(share.as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(feature = "redis")]
fn redis_fill(url: &str, count: u64) -> Result<(), Error> {
    let before = replay_support::used_memory(url)?;
    let took = replay_support::fill(url, tower_approov::DEFAULT_REPLAY_KEY_PREFIX, count)?;
    let after = replay_support::used_memory(url)?;
    println!(
        "stored {count} keys ({}<64 hex> 1 PXAT <an hour ahead>) in {:.1} s; used_memory {before} \
         -> {after} bytes: {:.1} bytes per key",
        tower_approov::DEFAULT_REPLAY_KEY_PREFIX,
        took.as_secs_f64(),
        (after as f64 - before as f64) / count.max(1) as f64
    );
    Ok(())
}

#[cfg(not(feature = "redis"))]
fn redis_fill(_url: &str, _count: u64) -> Result<(), Error> {
    Err("redis-fill needs bench_server built with --features redis".into())
}

#[derive(Clone)]
struct Baseline {
    key: Arc<DecodingKey>,
    validation: Arc<Validation>,
}

async fn baseline_middleware(
    State(baseline): State<Baseline>,
    mut req: Request,
    next: Next,
) -> Response {
    let claims = req
        .headers()
        .get("approov-token")
        .and_then(|v| v.to_str().ok())
        .and_then(|token| {
            jsonwebtoken::decode::<Value>(token, &baseline.key, &baseline.validation).ok()
        });
    match claims {
        Some(data) => {
            req.extensions_mut().insert(Arc::new(data.claims));
            next.run(req).await
        }
        None => (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "application/json")],
            "{}",
        )
            .into_response(),
    }
}

#[tokio::main]
async fn serve(mode: &str, dir: &Path, port: u16) -> Result<(), Error> {
    let app = Router::new().route("/", get(|| async { "ok" }));
    let app = match mode {
        "plain" => app,
        "layer-hs256" | "layer-es256" => {
            let alg = if mode == "layer-hs256" {
                Alg::Hs256
            } else {
                Alg::Es256
            };
            let config = load(dir, alg)?.builder().build()?;
            app.layer(ApproovLayer::new(config))
        }
        "baseline-hs256" => {
            let key = load(dir, Alg::Hs256)?;
            let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
            validation.leeway = 0;
            validation.validate_aud = false;
            let state = Baseline {
                key: Arc::new(key.decoding()),
                validation: Arc::new(validation),
            };
            app.layer(from_fn_with_state(state, baseline_middleware))
        }
        "signed-off" | "signed-memory" | "signed-redis" => {
            let mut signing = SigningConfig::new(MessageSigning::Require);
            if let Ok(skew) = std::env::var("APPROOV_SIGNATURE_CLOCK_SKEW_SECONDS") {
                signing = signing.with_clock_skew(Duration::from_secs(skew.trim().parse()?));
            }
            let mut builder = load(dir, Alg::Hs256)?
                .builder()
                .with_signing_config(signing);
            match mode {
                "signed-memory" => builder = builder.with_replay_protection(ReplayConfig::memory()),
                "signed-redis" => {
                    let url = std::env::var("APPROOV_REPLAY_REDIS_URL")
                        .map_err(|_| "signed-redis: set APPROOV_REPLAY_REDIS_URL")?;
                    builder = builder.with_replay_protection(ReplayConfig::redis(&url));
                }
                _ => {}
            }
            let layer = ApproovLayer::new(builder.build()?).with_rejection_response(
                |error: &ApproovError, _: &RequestHead<'_>| {
                    let mut response = (
                        StatusCode::UNAUTHORIZED,
                        [(header::CONTENT_TYPE, "application/json")],
                        "{}",
                    )
                        .into_response();
                    response.headers_mut().insert(
                        "x-bench-reason",
                        HeaderValue::from_static(error.kind().reason_code()),
                    );
                    response
                },
            );
            if !layer.ready().await {
                return Err(format!("{mode}: the replay store does not answer").into());
            }
            app.layer(layer)
        }
        _ => return Err(usage()),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{} ({mode})", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
