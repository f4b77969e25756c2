//! Mints an Approov-shaped token for testing an API by hand, in the spirit of
//! `approov token -genExample`, without the Approov CLI.
//!
//! ```text
//! cargo run --example mint --features test-util -- --help
//! cargo run --example mint --features test-util                       # a token, secret from .env
//! cargo run --example mint --features test-util -- --curl http://127.0.0.1:8002/
//! cargo run --example mint --features test-util -- --expired --curl http://127.0.0.1:8002/
//! cargo run --example mint --features test-util -- --alg ES256 --key-pem private.pem --kid k1
//! ```
//!
//! The HS256 secret comes from `--secret`, else `APPROOV_BASE64_SECRET` (the environment or a
//! `.env` file), exactly what the layer reads. Never mint with a production secret on a shared
//! machine: anyone holding such a token passes the check until it expires.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tower_approov::test_util::TokenBuilder;

/// Mint an Approov-shaped test token (HS256 by default).
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Args {
    /// HS256 secret as standard base64 or base64url (`approov secret -get base64`). A
    /// `kid:secret` list as in APPROOV_BASE64_SECRET uses the first entry.
    #[arg(long, env = "APPROOV_BASE64_SECRET", hide_env_values = true)]
    secret: Option<String>,

    /// Signing algorithm: HS256, or with --key-pem RS256, PS256, ES256, ES384, EdDSA, ...
    #[arg(long, default_value = "HS256")]
    alg: String,

    /// Private key PEM file (PKCS#8) for an asymmetric --alg.
    #[arg(long, value_name = "FILE")]
    key_pem: Option<PathBuf>,

    /// Seconds until the token expires (fractions allowed).
    #[arg(long, default_value_t = 300.0, value_name = "SECONDS")]
    expires_in: f64,

    /// Mint a token that expired a minute ago (overrides --expires-in).
    #[arg(long)]
    expired: bool,

    /// Device id (`did` claim).
    #[arg(long, default_value = "ExampleMintedDeviceID==")]
    did: String,

    /// Client IP address (`ip` claim).
    #[arg(long)]
    ip: Option<String>,

    /// Key id (`kid` header), as `approov secret -setKeyID` sets it.
    #[arg(long)]
    kid: Option<String>,

    /// Bind the token to this header value (`pay` claim), e.g. "Bearer user-token" for an
    /// Authorization header. Repeat for several binding headers, in the configured order.
    #[arg(long = "bind", value_name = "HEADER_VALUE")]
    bind: Vec<String>,

    /// Print a curl command for this URL instead of the bare token.
    #[arg(long, value_name = "URL")]
    curl: Option<String>,

    /// The header the token goes in, for --curl.
    #[arg(long, default_value = "Approov-Token")]
    header: String,

    /// Header carrying the bound value, for --curl with one --bind.
    #[arg(long, default_value = "Authorization")]
    bind_header: String,
}

fn main() -> ExitCode {
    // The same `.env` the layer reads; real environment variables win.
    let _ = dotenvy::dotenv();
    let args = Args::parse();
    match mint(&args) {
        Ok(token) => {
            match &args.curl {
                None => println!("{token}"),
                Some(url) => println!("{}", curl_line(&args, &token, url)),
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("mint: {message}");
            ExitCode::FAILURE
        }
    }
}

pub fn mint(args: &Args) -> Result<String, String> {
    let builder = match (&args.key_pem, args.alg.trim()) {
        (None, alg) if alg.eq_ignore_ascii_case("HS256") => {
            let list = args.secret.as_deref().ok_or(
                "no secret: pass --secret or set APPROOV_BASE64_SECRET (e.g. `cp .env.example .env`)",
            )?;
            let first = list.split(',').next().unwrap_or_default();
            // `kid:secret`: base64 has no `:`, so the part after it is the secret.
            let (kid, secret) = match first.split_once(':') {
                Some((kid, secret)) => (Some(kid.trim()), secret),
                None => (None, first),
            };
            let builder = TokenBuilder::hs256_base64(secret).map_err(|e| e.to_string())?;
            match kid {
                Some(kid) if args.kid.is_none() => builder.kid(kid),
                _ => builder,
            }
        }
        (None, alg) => return Err(format!("--alg {alg} needs --key-pem FILE")),
        (Some(path), alg) => {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read --key-pem {}: {e}", path.display()))?;
            TokenBuilder::private_key_pem(alg, pem).map_err(|e| e.to_string())?
        }
    };
    let mut builder = builder.did(&args.did);
    builder = if args.expired {
        builder.expired_since(Duration::from_secs(60))
    } else {
        let secs = Duration::try_from_secs_f64(args.expires_in)
            .map_err(|_| "--expires-in must be a positive number of seconds (or use --expired)")?;
        builder.expires_in(secs)
    };
    if let Some(ip) = &args.ip {
        builder = builder.ip(ip);
    }
    if let Some(kid) = &args.kid {
        builder = builder.kid(kid);
    }
    if !args.bind.is_empty() {
        builder = builder.pay_for(&args.bind);
    }
    builder.build().map_err(|e| e.to_string())
}

/// A curl line, single-quoted for POSIX shells.
pub fn curl_line(args: &Args, token: &str, url: &str) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut line = format!(
        "curl -i -H {} {}",
        quote(&format!("{}: {token}", args.header)),
        quote(url)
    );
    if let [value] = args.bind.as_slice() {
        line.push_str(&format!(
            " -H {}",
            quote(&format!("{}: {value}", args.bind_header))
        ));
    }
    line
}
