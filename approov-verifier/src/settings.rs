//! The verifier's own settings (`APPROOV_VERIFIER_*`), beside the `APPROOV_*` variables of the
//! check, which `tower_approov::ApproovConfigBuilder::from_env` reads.

use std::net::SocketAddr;

use clap::{Parser, ValueEnum};
use http::HeaderName;

/// Every variable of the check, with its default, for `--help`. `tests/verifier.rs` checks that
/// each variable of the library's `.env.example` is here, so that the two cannot drift.
const CHECK_VARIABLES: &str = "\
The check itself is configured by the variables of tower-approov, read from the environment
(or from ./.env, or the file APPROOV_ENV_FILE names). At least one key source is required.

Keys:
  APPROOV_BASE64_SECRET                 HS256 secret(s), standard base64; `kid:secret,...` rotates   [none]
  APPROOV_BASE64URL_SECRET              the same as base64url                                        [none]
  APPROOV_PUBLIC_KEY_PEM                a public key, PEM text or a path                             [none]
  APPROOV_JWKS                          a JWKS, JSON text or a path                                  [none]
  APPROOV_JWKS_URL                      a JWKS URL, fetched at start and refreshed                   [none]
  APPROOV_JWKS_CA_FILE                  extra root certificates (PEM) for the JWKS URL               [webpki roots]
  APPROOV_JWKS_PROXY                    the proxy for the JWKS URL                                    [no proxy]
  APPROOV_JWKS_MAX_STALENESS_SECONDS    fetched keys are dropped when older than this                [86400]
  APPROOV_ENV_FILE                      the settings file to read instead of ./.env                  [./.env]
Token:
  APPROOV_TOKEN_HEADER                  the header carrying the token                                [Approov-Token]
  APPROOV_TOKEN_PREFIX                  a prefix stripped from the token header, e.g. Bearer         [none]
  APPROOV_MAX_TOKEN_LENGTH              longer token headers are refused before decoding             [8192]
  APPROOV_TOKEN_CACHE_SIZE              verified-token cache entries; 0 turns it off                 [10000]
  APPROOV_LEEWAY_SECONDS                clock skew allowed on exp and nbf                            [0]
  APPROOV_ISSUER                        required iss (comma-separated)                                [not checked]
  APPROOV_AUDIENCE                      required aud (comma-separated)                                [not checked]
  APPROOV_STRIP_TOKEN_HEADER            (the verifier always removes the token upstream)             [true here]
Token binding:
  APPROOV_TOKEN_BINDING_HEADER          header names whose values `pay` must hash                    [off]
  APPROOV_ALLOW_MISSING_PAY             accept tokens without pay (failover) while binding is on     [false]
Message signing (RFC 9421):
  APPROOV_MESSAGE_SIGNING               off, verify or require                                       [off]
  APPROOV_ALLOW_MISSING_IPK             with require: let failover tokens through unsigned           [true]
  APPROOV_SIGNATURE_REQUIRE_EXPIRES     refuse signatures without expires                            [false]
  APPROOV_SIGNATURE_REQUIRE_DIGEST      refuse signed bodies not covered by content-digest           [false]
  APPROOV_SIGNATURE_CLOCK_SKEW_SECONDS  device/server skew on created and expires                    [30]
  APPROOV_SIGNATURE_MAX_AGE_SECONDS     oldest created accepted; 0 leaves only expires                [300]
  APPROOV_SIGNATURE_MAX_BODY_BYTES      largest body read to check content-digest                    [2097152]
  APPROOV_SIGNATURE_BODY_READ_TIMEOUT_SECONDS  time a digested body may take to arrive               [10]
  APPROOV_PUBLIC_ORIGIN                 the origin clients see, e.g. https://api.example.com         [from the request]
  APPROOV_TRUST_FORWARDED_HEADERS       forwarded, x-forwarded or x-forwarded-proto                  [not trusted]
  APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_BASE64URL  account message signing key(s), base64url        [none]
  APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_BASE64     the same as standard base64                      [none]
  APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_RAW        the same as the text's own bytes                  [none]
  APPROOV_ACCOUNT_MESSAGE_SIGNING_KEY_ID            the expected mskid                                [not checked]
Replay protection (needs message signing):
  APPROOV_REPLAY_PROTECTION             on: refuse a signed request whose signature was seen         [off]
  APPROOV_REPLAY_REDIS_URL              the store every instance shares, redis:// or rediss://       [in memory]
  APPROOV_REPLAY_STORE_FAILURE          reject or allow while the store cannot answer                [reject]
  APPROOV_REPLAY_MEMORY_ENTRIES         the in-memory store's capacity                                [1000000]
  APPROOV_REPLAY_KEY_PREFIX             the prefix of the Redis keys                                  [approov:replay:]
  APPROOV_REPLAY_REDIS_TIMEOUT_MS       the timeout of each Redis call                                [250]
Operation:
  APPROOV_MODE                          enforce, or monitor (log failures, let requests through)     [enforce]

A setting that cannot be used stops the verifier at start-up, with a message naming the
variable (never its value), and exit status 2.";

/// The check as a service, for gateways and meshes: forward auth (nginx `auth_request`,
/// Traefik `forwardAuth`, Caddy `forward_auth`, HAProxy with the Lua action of
/// `approov-verifier/gateways/haproxy/approov.lua`) on `/check`, Envoy ext_authz over HTTP on
/// `/ext-authz/` and over gRPC, or a checking reverse proxy in front of any backend.
#[derive(Debug, Clone, Parser)]
#[command(name = "approov-verifier", version, after_long_help = CHECK_VARIABLES)]
#[non_exhaustive]
pub struct Settings {
    /// Where to serve forward auth (`/check`), Envoy's HTTP ext_authz (`/ext-authz/...`),
    /// `/healthz`, `/readyz` and `/metrics`.
    #[arg(
        long,
        env = "APPROOV_VERIFIER_LISTEN",
        default_value = "127.0.0.1:8080"
    )]
    pub listen: SocketAddr,

    /// Where to serve Envoy's gRPC ext_authz (`envoy.service.auth.v3.Authorization/Check`) and
    /// `grpc.health.v1`; `off` for none.
    #[arg(long, env = "APPROOV_VERIFIER_GRPC_LISTEN", default_value = "127.0.0.1:9191", value_parser = parse_optional_addr)]
    pub grpc_listen: OptionalAddr,

    /// Also serve as a reverse proxy to this origin (`http://host:port`): every request to
    /// `--proxy-listen` is checked, then streamed to it with the claim headers and without the
    /// token header.
    #[arg(long, env = "APPROOV_VERIFIER_UPSTREAM", value_parser = parse_upstream)]
    pub upstream: Option<http::Uri>,

    /// Where the reverse proxy listens, when `--upstream` is set.
    #[arg(
        long,
        env = "APPROOV_VERIFIER_PROXY_LISTEN",
        default_value = "127.0.0.1:8000"
    )]
    pub proxy_listen: SocketAddr,

    /// Claims sent upstream as headers on success, `claim:Header` comma-separated. A claim the
    /// token lacks removes its header, so that a client's own copy never reaches the upstream.
    #[arg(long, env = "APPROOV_VERIFIER_CLAIM_HEADERS", default_value = "did:Approov-Device-Id", value_parser = parse_claim_headers)]
    pub claim_headers: ClaimHeaders,

    /// Whether the gateway sends the whole request body to `/check` or `/ext-authz/` (Traefik
    /// `forwardBody`, Envoy `with_request_body` without `allow_partial_message`). Without it an
    /// auth request with no body says nothing about the client's body, so a signature covering
    /// `content-digest` is refused (`body_unavailable`).
    #[arg(long, env = "APPROOV_VERIFIER_BODY_FORWARDED", default_value_t = false, action = clap::ArgAction::Set, value_parser = parse_bool)]
    pub body_forwarded: bool,

    /// Log format: `text` or `json`. The level comes from `RUST_LOG` (default
    /// `info,tower_approov=debug`: every refusal with its reason).
    #[arg(long, env = "APPROOV_VERIFIER_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
}

/// An address, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalAddr(pub Option<SocketAddr>);

fn parse_optional_addr(value: &str) -> Result<OptionalAddr, String> {
    match value.trim() {
        "off" | "" => Ok(OptionalAddr(None)),
        addr => addr
            .parse()
            .map(|a| OptionalAddr(Some(a)))
            .map_err(|_| "an address such as 127.0.0.1:9191, or `off`".to_owned()),
    }
}

fn parse_upstream(value: &str) -> Result<http::Uri, String> {
    let expected = "an origin such as http://127.0.0.1:3000 (http only, no path)";
    let uri: http::Uri = value.trim().parse().map_err(|_| expected.to_owned())?;
    let path_ok = uri.path_and_query().is_none_or(|p| p.as_str() == "/");
    if uri.scheme_str() != Some("http") || uri.authority().is_none() || !path_ok {
        return Err(expected.to_owned());
    }
    Ok(uri)
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err("true/false, 1/0 or yes/no".to_owned()),
    }
}

/// Log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One line of text per event.
    Text,
    /// One JSON object per event.
    Json,
}

/// Which claims go upstream in which headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimHeaders(pub Vec<(String, HeaderName)>);

/// Headers a claim may not be sent in: hop-by-hop headers, and those the check or the
/// gateways read.
const RESERVED: [&str; 12] = [
    "connection",
    "host",
    "content-length",
    "transfer-encoding",
    "te",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "signature",
    "signature-input",
    "content-digest",
    "approov-token",
];

fn parse_claim_headers(value: &str) -> Result<ClaimHeaders, String> {
    let expected = "`claim:Header` pairs, comma-separated, e.g. did:Approov-Device-Id";
    let mut pairs: Vec<(String, HeaderName)> = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((claim, header)) = entry.split_once(':') else {
            return Err(expected.to_owned());
        };
        let (claim, header) = (claim.trim(), header.trim());
        let header = HeaderName::from_bytes(header.as_bytes()).map_err(|_| expected.to_owned())?;
        if claim.is_empty() || RESERVED.contains(&header.as_str()) {
            return Err(format!(
                "{expected}; `{}` cannot carry a claim",
                header.as_str()
            ));
        }
        if pairs.iter().any(|(_, h)| *h == header) {
            return Err(format!("{expected}; `{}` is named twice", header.as_str()));
        }
        pairs.push((claim.to_owned(), header));
    }
    if pairs.is_empty() {
        return Err(format!("{expected}; unset the variable for the default"));
    }
    Ok(ClaimHeaders(pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_headers_are_pairs_and_never_a_reserved_or_repeated_header() {
        assert_eq!(
            parse_claim_headers("did:Approov-Device-Id, ip:X-Client-Ip").unwrap(),
            ClaimHeaders(vec![
                (
                    "did".to_owned(),
                    HeaderName::from_static("approov-device-id")
                ),
                ("ip".to_owned(), HeaderName::from_static("x-client-ip")),
            ])
        );
        for bad in [
            "",
            " , ",
            "did",
            ":X-A",
            "did:Host",
            "did:approov-token",
            "did:X-A,ip:x-a",
            "did:bad header",
        ] {
            assert!(parse_claim_headers(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_upstream_is_a_plain_http_origin() {
        assert!(parse_upstream("http://127.0.0.1:3000").is_ok());
        assert!(parse_upstream("http://backend:3000/").is_ok());
        for bad in ["https://a", "http://a/x", "127.0.0.1:3000", "ftp://a"] {
            assert!(parse_upstream(bad).is_err(), "{bad}");
        }
    }
}
