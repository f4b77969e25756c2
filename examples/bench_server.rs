//! The server and token minter of the loopback load comparison (`bench/load.sh`).
//!
//! ```text
//! bench_server keys DIR                    # writes an HS256 secret and an ES256 key pair to DIR
//! bench_server mint DIR ALG COUNT          # prints COUNT distinct tokens (ALG: hs256, es256)
//! bench_server serve MODE DIR PORT         # serves GET / on 127.0.0.1:PORT
//! ```
//!
//! `MODE` is one of:
//! - `plain`: axum with no layer;
//! - `layer-hs256`, `layer-es256`: axum with `ApproovLayer` (default configuration: cache of
//!   10 000 tokens, no binding);
//! - `baseline-hs256`: axum with a `from_fn` middleware calling `jsonwebtoken::decode` on every
//!   request, the code a user would otherwise write.
//!
//! Every mode answers `200 ok` from the same handler; failures answer `401 {}`. Nothing is
//! logged per request. The runtime has one worker per CPU the process may run on, so pinning
//! it with `taskset` sets its size.

#[path = "../benches/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{StatusCode, header};
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;
use tower_approov::ApproovLayer;

use support::{Alg, KeyMaterial, claims};

type Error = Box<dyn std::error::Error>;

fn usage() -> Error {
    "usage: bench_server keys DIR | mint DIR ALG COUNT | serve MODE DIR PORT".into()
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
    Ok(())
}

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
