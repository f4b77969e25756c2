//! The start-up every example shares, so that each example shows only its own point: logs,
//! the Approov layer from the environment or `.env` (with a loud fallback to the example
//! secret of `.env.example`), and tokens for the `curl` lines an example prints.
//!
//! A plain module (`mod support;`), not `examples/support/main.rs`, which cargo would take for an
//! example of its own. Tests that include an example by `#[path]` get this module with it.

// Each example uses the part it needs.
#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;
use tower_approov::{ApproovConfig, ApproovConfigBuilder, ApproovLayer, ConfigError};

/// The fake secret of `.env.example`. Public: never deploy it.
pub const EXAMPLE_SECRET: &str =
    "Tk9ULUEtUkVBTC1TRUNSRVQ6ZXhhbXBsZS1hcHByb292LXNlY3JldC1mb3ItbG9jYWwtdGVzdGluZy1vbmx5IQ==";

/// Logs (to stdout, `tracing-subscriber`'s default), filtered by `RUST_LOG`, else by
/// `default_filter`.
pub fn init_tracing(default_filter: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .init();
}

/// An example's Approov layer, and the secret its `curl` lines can mint tokens with.
pub struct Approov {
    pub layer: ApproovLayer,
    /// The first entry of `APPROOV_BASE64_SECRET` (`secret` or `kid:secret`), or the example
    /// secret; `None` when the keys are configured otherwise (a PEM, a JWKS).
    pub minting_secret: Option<String>,
}

/// The layer configured from the environment or `.env`, as `ApproovLayer::try_from_env` does,
/// with the fallback of [`config_from_env`].
pub fn approov_from_env() -> Approov {
    let (config, minting_secret) = config_from_env();
    Approov {
        layer: ApproovLayer::new(config),
        minting_secret,
    }
}

/// The configuration from the environment or `.env`, as `ApproovConfig::from_env` reads it,
/// for any front door (the layer, the actix-web middleware), and the secret the `curl` lines
/// can mint tokens with.
///
/// With no key configured at all, it says loudly that it falls back to the fake, public
/// secret of `.env.example`, so that `cargo run --example ...` works on a fresh checkout. Any
/// other configuration error stops the process (see [`exit_on_config_error`]): at start-up,
/// never per request.
pub fn config_from_env() -> (ApproovConfig, Option<String>) {
    match ApproovConfig::from_env() {
        Ok(config) => (
            config,
            std::env::var("APPROOV_BASE64_SECRET")
                .ok()
                .and_then(|secrets| secrets.split(',').next().map(str::to_owned)),
        ),
        Err(ConfigError::NoKeySource) => {
            eprintln!();
            eprintln!(
                "!!! WARNING: no Approov key is configured (APPROOV_BASE64_SECRET is unset)."
            );
            eprintln!("!!! Falling back to the FAKE, PUBLIC example secret of .env.example.");
            eprintln!(
                "!!! Any token minted with it passes. Never run this configuration in production."
            );
            eprintln!();
            let config = ApproovConfigBuilder::from_env()
                .and_then(|builder| builder.with_base64_secret(EXAMPLE_SECRET))
                .and_then(ApproovConfigBuilder::build)
                .unwrap_or_else(|error| exit_on_config_error(&error));
            (config, Some(EXAMPLE_SECRET.to_owned()))
        }
        Err(error) => exit_on_config_error(&error),
    }
}

/// Serves `app` on `listener` until Ctrl-C, then lets the requests in flight finish.
pub async fn serve_until_ctrl_c(
    listener: tokio::net::TcpListener,
    app: axum::Router,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

/// Stops the process with the configuration error, which names the variable and the fix.
pub fn exit_on_config_error(error: &ConfigError) -> ! {
    eprintln!("tower-approov configuration error: {error}");
    eprintln!("(for a local try: cp .env.example .env)");
    std::process::exit(2);
}

/// Mints an Approov-shaped token valid for an hour (float `exp`, a `did`, an `ip`), bound to
/// `pay` if given, with a base64 secret entry (`secret` or `kid:secret`).
pub fn mint(base64_secret: &str, pay: Option<&str>) -> Result<String, Box<dyn std::error::Error>> {
    let entry = base64_secret.rsplit(':').next().unwrap_or_default().trim();
    let secret = base64::engine::general_purpose::STANDARD.decode(entry)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64();
    let mut claims = json!({
        "exp": now + 3600.25,
        "did": "ExampleDeviceID0123456789==",
        "ip": "127.0.0.1",
    });
    if let Some(pay) = pay {
        claims["pay"] = json!(pay);
    }
    Ok(encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(&secret)?,
    )?)
}
