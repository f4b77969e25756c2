//! Mints an Approov-shaped token for testing an API by hand, in the spirit of
//! `approov token -genExample`, without the Approov CLI.
//!
//! ```text
//! cargo run --example mint --features test-util -- --help
//! cargo run --example mint --features test-util                       # a token, secret from .env
//! cargo run --example mint --features test-util -- --curl http://127.0.0.1:8002/
//! cargo run --example mint --features test-util -- --expired --curl http://127.0.0.1:8002/
//! cargo run --example mint --features test-util -- --alg ES256 --key-pem private.pem --kid k1
//! cargo run --example mint --features test-util -- --account-key "$KEY" --curl https://api.example.com/v1/orders
//! ```
//!
//! With `--account-key` (or `APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_RAW`), the token carries the
//! key's `mskid`, and `--curl` signs the GET with it as an app with account message signing
//! does (label `account`, `hmac-sha256`, valid for 15 s): paste the line quickly.
//!
//! The HS256 secret comes from `--secret`, else `APPROOV_BASE64_SECRET` (the environment or a
//! `.env` file), exactly what the layer reads. Never mint with a production secret on a shared
//! machine: anyone holding such a token passes the check until it expires.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tower_approov::test_util::{AccountKey, RequestSigner, TokenBuilder};

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

    /// The account message signing key, its text keying the HMAC, as
    /// APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_RAW gives it to the layer (a `mskid:key` list uses
    /// its first entry): the token gets the key's `mskid`, and --curl signs the request with it.
    #[arg(
        long,
        env = "APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_RAW",
        hide_env_values = true
    )]
    account_key: Option<String>,

    /// The account message signing key id (`mskid` claim). Defaults, with --account-key, to the
    /// `mskid:` of its entry, else to the key's first six characters (as Approov's test SDK
    /// names its key).
    #[arg(long, env = "APPROOV_ACCOUNT_MESSAGE_SIGNING_KEY_ID")]
    mskid: Option<String>,

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
    let minted = mint(&args).and_then(|token| match &args.curl {
        None => Ok(token),
        Some(url) => {
            let signed = account_signature(&args, &token, url)?;
            Ok(curl_line_with(&args, &token, url, &signed))
        }
    });
    match minted {
        Ok(line) => {
            println!("{line}");
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
    if let Some(mskid) = mskid(args) {
        builder = builder.mskid(mskid);
    }
    builder.build().map_err(|e| e.to_string())
}

/// The first entry of --account-key: its `mskid` if it has one, and the key text.
fn account_entry(args: &Args) -> Option<(Option<&str>, &str)> {
    let list = args.account_key.as_deref()?;
    let first = list.split(',').next()?.trim();
    Some(match first.split_once(':') {
        Some((mskid, key)) => (Some(mskid.trim()), key.trim()),
        None => (None, first),
    })
}

/// The token's `mskid`: --mskid, else the account key's.
pub fn mskid(args: &Args) -> Option<String> {
    if let Some(mskid) = &args.mskid {
        return Some(mskid.clone());
    }
    let (mskid, key) = account_entry(args)?;
    Some(mskid.or_else(|| key.get(..6)).unwrap_or(key).to_owned())
}

/// `Signature-Input` and `Signature` for a GET of `url` carrying `token`, signed with the
/// account key (none without --account-key).
pub fn account_signature(
    args: &Args,
    token: &str,
    url: &str,
) -> Result<Vec<(String, String)>, String> {
    let Some((_, key)) = account_entry(args) else {
        return Ok(Vec::new());
    };
    let key = AccountKey::from_bytes(key.as_bytes(), mskid(args).unwrap_or_default());
    let header = http::HeaderName::try_from(args.header.trim())
        .map_err(|_| format!("--header {} is not a header name", args.header))?;
    let mut request = http::Request::get(url)
        .header(&header, token)
        .body(Vec::new())
        .map_err(|e| format!("--curl {url}: {e}"))?;
    RequestSigner::account(&key)
        .with_token_header(header)
        .sign(&mut request)
        .map_err(|e| format!("cannot sign the request: {e}"))?;
    Ok(["signature-input", "signature"]
        .into_iter()
        .filter_map(|name| {
            let value = request.headers().get(name)?.to_str().ok()?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect())
}

/// A curl line, single-quoted for POSIX shells.
pub fn curl_line(args: &Args, token: &str, url: &str) -> String {
    curl_line_with(args, token, url, &[])
}

/// A curl line with these extra headers (the account signature), single-quoted for POSIX
/// shells.
pub fn curl_line_with(args: &Args, token: &str, url: &str, extra: &[(String, String)]) -> String {
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
    for (name, value) in extra {
        line.push_str(&format!(" -H {}", quote(&format!("{name}: {value}"))));
    }
    line
}
