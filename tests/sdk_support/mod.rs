//! What the SDK-shaped tests share: tokens minted by `jsonwebtoken` (not by this crate), an
//! axum app served on loopback whose rejections carry their reason in
//! [`REASON_HEADER`](crate::common::REASON_HEADER), and requests written byte for byte by the
//! raw HTTP/1.1 client of `common`, so that the server sees the origin form, `Host`, raw
//! characters and repeated lines a phone would send.

#![allow(dead_code)]

use std::net::SocketAddr;

use crate::common::{REASON_HEADER, raw_exchange};
pub use crate::common::{SECRET, now};

use axum::body::{Body, Bytes};
use axum::{Extension, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{Response, StatusCode};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use tower_approov::test_util::InstallationKey;
use tower_approov::{
    ApproovClaims, ApproovConfig, ApproovConfigBuilder, ApproovError, ApproovLayer, ConfigError,
};

/// An Approov-shaped HS256 token: float `exp`, `did`, and `ipk` when given.
pub fn token_with(ipk: Option<&str>) -> String {
    // Building a configuration installs `jsonwebtoken`'s crypto provider, which `encode` needs.
    config(&[]).unwrap();
    let mut claims = json!({"exp": now() + 600.5, "did": "device-1", "ip": "127.0.0.1"});
    if let Some(ipk) = ipk {
        claims["ipk"] = Value::String(ipk.to_owned());
    }
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET).unwrap(),
    )
    .unwrap()
}

/// An Approov-shaped HS256 token with `ipk` and `mskid` when given: the claims of a token from
/// an account with installation and account message signing (both), one of them, or neither (a
/// failover token).
pub fn token_of(ipk: Option<&str>, mskid: Option<&str>) -> String {
    config(&[]).unwrap();
    let mut claims = json!({"exp": now() + 600.5, "did": "device-1", "ip": "127.0.0.1"});
    if let Some(ipk) = ipk {
        claims["ipk"] = Value::String(ipk.to_owned());
    }
    if let Some(mskid) = mskid {
        claims["mskid"] = Value::String(mskid.to_owned());
    }
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET).unwrap(),
    )
    .unwrap()
}

/// The HMAC-SHA256 of `base` under `key`, standard base64: an `account` signature computed
/// with aws-lc-rs directly, never by the crate.
pub fn account_mac(key: &[u8], base: &str) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    STANDARD.encode(aws_lc_rs::hmac::sign(&key, base.as_bytes()))
}

/// The SDK's parameters for these covered components and this `alg`: `alg`, `created`,
/// `expires` (15 s later), in that order.
pub fn sdk_params_for(alg: &str, components: &str) -> String {
    let created = now() as i64;
    format!(
        "({components});alg=\"{alg}\";created={created};expires={}",
        created + 15
    )
}

/// A token carrying `key`'s `ipk`.
pub fn token(key: &InstallationKey) -> String {
    token_with(Some(&key.ipk().unwrap()))
}

/// The configuration `ApproovLayer::from_env()` would build from these variables (and the
/// test secret), without touching the process environment.
pub fn config(vars: &[(&'static str, &str)]) -> Result<ApproovConfig, ConfigError> {
    let mut vars: Vec<(&'static str, String)> =
        vars.iter().map(|(n, v)| (*n, (*v).to_owned())).collect();
    vars.push(("APPROOV_BASE64_SECRET", STANDARD.encode(SECRET)));
    ApproovConfigBuilder::from_env_with(move |name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| Ok::<_, ()>(v.clone()))
    })?
    .build()
}

/// Adds the rejection's reason code to the response as [`REASON_HEADER`].
pub async fn reason_header(mut response: Response<Body>) -> Response<Body> {
    if let Some(error) = response.extensions().get::<ApproovError>() {
        let reason = error.kind().reason_code();
        response
            .headers_mut()
            .insert(REASON_HEADER, http::HeaderValue::from_static(reason));
    }
    response
}

/// The header in which the app's handler names the `did` of the claims it received, if any.
pub const DID_HEADER: &str = "x-test-did";
/// The header in which the app's handler names the reason of the `ApproovError` it received
/// in its request extensions (monitor mode), if any.
pub const MONITORED_HEADER: &str = "x-test-monitored";
/// The header in which the app's handler says whether `Approov-Token` reached it: `present`
/// or `absent`.
pub const TOKEN_HEADER_SEEN: &str = "x-test-token-header";

/// The headers the handler of [`app`] answers with, from what it received: test
/// instrumentation, written once for every front door's test app.
pub fn handler_headers(
    claims: Option<&ApproovClaims>,
    monitored: Option<&ApproovError>,
    token_header_present: bool,
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("content-type", "application/octet-stream".to_owned()),
        (
            TOKEN_HEADER_SEEN,
            if token_header_present {
                "present"
            } else {
                "absent"
            }
            .to_owned(),
        ),
    ];
    if let Some(did) = claims.map(|c| c.did().unwrap_or("-").to_owned()) {
        headers.push((DID_HEADER, did));
    }
    if let Some(error) = monitored {
        headers.push((MONITORED_HEADER, error.kind().reason_code().to_owned()));
    }
    headers
}

/// [`handler_headers`] for an app that gets the claims' `did` in a header and never an error:
/// an upstream behind a front door in another process (the verifier's `Approov-Device-Id`).
pub fn handler_headers_for_did(
    did: Option<&str>,
    token_header_present: bool,
) -> Vec<(&'static str, String)> {
    let mut headers = handler_headers(None, None, token_header_present);
    headers.extend(did.map(|did| (DID_HEADER, did.to_owned())));
    headers
}

/// Every path answers with the body it received, behind the layer, and says in
/// [`handler_headers`] what else it received.
pub fn app(config: ApproovConfig) -> Router {
    async fn echo(
        claims: Option<Extension<ApproovClaims>>,
        monitored: Option<Extension<ApproovError>>,
        headers: http::HeaderMap,
        body: Bytes,
    ) -> (http::HeaderMap, Bytes) {
        let mut answer = http::HeaderMap::new();
        let instrumentation = handler_headers(
            claims.as_ref().map(|c| &c.0),
            monitored.as_ref().map(|e| &e.0),
            headers.contains_key("approov-token"),
        );
        for (name, value) in instrumentation {
            answer.insert(name, http::HeaderValue::from_str(&value).unwrap());
        }
        (answer, body)
    }
    Router::new()
        .fallback(echo)
        .layer(ApproovLayer::new(config))
        .layer(axum::middleware::map_response(reason_header))
}

/// Serves `router` on 127.0.0.1.
pub async fn serve_router(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

pub async fn serve(config: ApproovConfig) -> SocketAddr {
    serve_router(app(config)).await
}

/// What came back: status, [`REASON_HEADER`], the response's header lines, body.
#[derive(Debug, PartialEq)]
pub struct Answer {
    pub status: StatusCode,
    pub reason: Option<String>,
    pub head: String,
    pub body: String,
}

impl Answer {
    /// The value of the response header `name` (the first, if repeated).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, value) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then_some(value.trim())
        })
    }

    #[track_caller]
    pub fn assert_ok(&self, body: &str) {
        assert_eq!(
            (self.status, self.reason.as_deref(), self.body.as_str()),
            (StatusCode::OK, None, body),
            "{self:?}"
        );
    }

    #[track_caller]
    pub fn assert_rejected(&self, kind: tower_approov::ApproovErrorKind) {
        assert_eq!(
            (self.status, self.reason.as_deref(), self.body.as_str()),
            (StatusCode::UNAUTHORIZED, Some(kind.reason_code()), "{}"),
            "{self:?}"
        );
    }

    /// `assert_ok("")` for `None`, `assert_rejected(kind)` for `Some(kind)`: for tables of
    /// cases where some pass and some are refused.
    #[track_caller]
    pub fn assert_outcome(&self, rejected: Option<tower_approov::ApproovErrorKind>) {
        match rejected {
            None => self.assert_ok(""),
            Some(kind) => self.assert_rejected(kind),
        }
    }
}

/// Writes `request_line` (`GET /x HTTP/1.1`), the `headers` lines as given (repeats and case
/// kept), `Content-Length` when there is a body, and the body, over a fresh connection.
pub async fn raw(
    addr: SocketAddr,
    request_line: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    raw_bytes(addr, &request_bytes(request_line, headers, body)).await
}

/// The bytes [`raw`] writes: `request_line`, the `headers` lines as given, `Content-Length`
/// when there is a body, `Connection: close`, the empty line and the body.
pub fn request_bytes(request_line: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut bytes = format!("{request_line}\r\n").into_bytes();
    for (name, value) in headers {
        bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if !body.is_empty() {
        bytes.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    bytes.extend_from_slice(b"Connection: close\r\n\r\n");
    bytes.extend_from_slice(body);
    bytes
}

/// Writes `bytes` as they are and reads the answer until the server closes.
pub async fn raw_bytes(addr: SocketAddr, bytes: &[u8]) -> Answer {
    let answer = raw_exchange(addr, bytes).await;
    Answer {
        status: StatusCode::from_u16(answer.status).unwrap(),
        reason: answer.reason().map(str::to_owned),
        head: answer.head,
        body: answer.body,
    }
}

/// `Signature-Input` and `Signature` for a base the test wrote out itself: the signature as
/// iOS sends it (a byte sequence), or as Android does (a string) when `android`.
pub fn signature_headers(
    key: &InstallationKey,
    params: &str,
    base: &str,
    android: bool,
) -> (String, String) {
    let signature = STANDARD.encode(key.sign(base.as_bytes()).unwrap());
    let signature = if android {
        format!("install=\"{signature}\"")
    } else {
        format!("install=:{signature}:")
    };
    (format!("install={params}"), signature)
}

/// The SDK's parameters for these covered components: `alg`, `created`, `expires` (15 s
/// later), in that order.
pub fn sdk_params(components: &str) -> String {
    let created = now() as i64;
    format!(
        "({components});alg=\"ecdsa-p256-sha256\";created={created};expires={}",
        created + 15
    )
}
