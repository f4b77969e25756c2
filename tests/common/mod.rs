//! Shared helpers of the integration tests: the one test secret and clock reading, token
//! minting with `jsonwebtoken`, hand-crafted tokens, a real axum `Router` and requests sent to
//! it, and the one raw HTTP/1.1 client (with a deadline, so that a broken server fails a test
//! instead of hanging it).
//!
//! Included by the `it` binary and by the binaries beside it that need these (`log_hygiene`,
//! `keys_unavailable_log`, `dotenv_errors`), and used by the other support modules
//! (`sdk_support`, `security_support`): `SECRET`, `OTHER_SECRET`, `now` and the raw client are
//! written here once. Each test binary uses a different subset of these helpers.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tower::ServiceExt as _;
use tower_approov::{
    ApproovClaims, ApproovConfig, ApproovConfigBuilder, ApproovError, ApproovErrorKind,
    ApproovLayer,
};

/// The account secret of the tests: 64 bytes, like a real Approov secret.
pub const SECRET: &[u8; 64] = b"tower-approov-test-secret-64-bytes-long-0123456789abcdefghijklmn";

/// Another 64-byte secret, for "wrong secret" tests.
pub const OTHER_SECRET: &[u8; 64] =
    b"a-different-secret-of-64-bytes-that-the-server-does-not-know-!!!";

/// The device id the valid tokens carry; the test handler echoes it.
pub const DID: &str = "VGVzdERldmljZUlk";

/// `SECRET` as `approov secret -get base64` prints it.
pub fn secret_base64() -> String {
    STANDARD.encode(SECRET)
}

/// Installs `jsonwebtoken`'s crypto provider for minting (the layer installs it too when built).
pub fn install_crypto() {
    // Building a configuration installs the provider of the enabled backend feature.
    let _ = builder().build();
}

/// Seconds since the Unix epoch, as a float (Approov's `exp` is one); `now() as i64` for the
/// whole seconds of a signature's `created`.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A builder holding the test secret and nothing else.
pub fn builder() -> ApproovConfigBuilder {
    ApproovConfig::builder()
        .with_secret(SECRET, None)
        .expect("the test secret is valid")
}

/// A layer with the default configuration and the test secret.
pub fn layer() -> ApproovLayer {
    layer_from(builder())
}

/// A layer from a builder.
pub fn layer_from(builder: ApproovConfigBuilder) -> ApproovLayer {
    ApproovLayer::new(builder.build().expect("the test configuration builds"))
}

/// The claims of a valid Approov-shaped token: float `exp` ten minutes ahead, `did`, `ip`.
pub fn valid_claims() -> Value {
    json!({
        "exp": now() + 600.5,
        "did": DID,
        "ip": "127.0.0.1",
    })
}

/// `valid_claims()` with extra members set (or replaced).
pub fn claims_with(extra: Value) -> Value {
    let mut claims = valid_claims();
    let map = claims.as_object_mut().unwrap();
    for (k, v) in extra.as_object().expect("an object").clone() {
        map.insert(k, v);
    }
    claims
}

/// A valid HS256 token signed with the test secret.
pub fn valid_token() -> String {
    mint(&valid_claims())
}

/// An HS256 token with these claims, signed with the test secret by `jsonwebtoken::encode`.
pub fn mint(claims: &Value) -> String {
    mint_with_secret(claims, SECRET)
}

/// An HS256 token with these claims, signed with `secret`.
pub fn mint_with_secret(claims: &Value, secret: &[u8]) -> String {
    install_crypto();
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret).unwrap(),
    )
    .expect("minting works")
}

/// base64url without padding, as in JWT segments.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token with a hand-written JOSE header (any JSON text), these claims, and a genuine HS256
/// signature with the test secret over both segments: only the header is wrong.
pub fn mint_with_header(header_json: &str, claims: &Value) -> String {
    let message = format!(
        "{}.{}",
        b64url(header_json.as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    format!("{message}.{}", sign(message.as_bytes()))
}

/// A token with a hand-written claims segment (any JSON text), signed with the test secret.
pub fn mint_raw_claims(claims_json: &str) -> String {
    let message = format!(
        "{}.{}",
        b64url(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64url(claims_json.as_bytes())
    );
    format!("{message}.{}", sign(message.as_bytes()))
}

/// The HS256 signature segment of `message` under the test secret.
pub fn sign(message: &[u8]) -> String {
    install_crypto();
    jsonwebtoken::crypto::sign(
        message,
        &EncodingKey::from_secret(SECRET).unwrap(),
        Algorithm::HS256,
    )
    .expect("signing works")
}

/// The router of most tests: `GET /` needs `ApproovClaims` and echoes the `did`; `GET /optional`
/// takes `Option<ApproovClaims>` and says whether claims came.
pub fn app(layer: ApproovLayer) -> Router {
    routes().layer(layer)
}

/// The routes of [`app`], without any layer.
pub fn routes() -> Router {
    Router::new()
        .route("/", get(did_handler))
        .route("/optional", get(optional_handler))
}

pub async fn did_handler(claims: ApproovClaims) -> String {
    format!("did={}", claims.did().unwrap_or("-"))
}

pub async fn optional_handler(claims: Option<ApproovClaims>) -> String {
    match claims {
        Some(claims) => format!("claims did={}", claims.did().unwrap_or("-")),
        None => "no claims".to_owned(),
    }
}

/// What a request got back.
#[derive(Debug)]
pub struct Outcome {
    pub status: StatusCode,
    pub kind: Option<ApproovErrorKind>,
    pub content_type: Option<HeaderValue>,
    pub body: String,
}

impl Outcome {
    pub async fn from_response(response: Response<Body>) -> Self {
        let status = response.status();
        let kind = response
            .extensions()
            .get::<ApproovError>()
            .map(|e| e.kind());
        let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Self {
            status,
            kind,
            content_type,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }

    /// The default rejection: 401, `application/json`, `{}`, with this reason.
    #[track_caller]
    pub fn assert_rejected(&self, kind: ApproovErrorKind) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{self:?}");
        assert_eq!(self.kind, Some(kind), "{self:?}");
        assert_eq!(
            self.content_type.as_ref().map(|v| v.as_bytes()),
            Some(&b"application/json"[..]),
            "{self:?}"
        );
        assert_eq!(self.body, "{}", "{self:?}");
    }

    /// 200 from the `GET /` handler, with the token's `did`.
    #[track_caller]
    pub fn assert_accepted(&self) {
        assert_eq!(self.status, StatusCode::OK, "{self:?}");
        assert_eq!(self.kind, None, "{self:?}");
        assert_eq!(self.body, format!("did={DID}"), "{self:?}");
    }
}

/// Sends one request through the router with `oneshot`.
pub async fn send(app: Router, request: Request<Body>) -> Outcome {
    Outcome::from_response(app.oneshot(request).await.unwrap()).await
}

/// `GET path` with these headers (raw bytes values, repeated names kept).
pub fn request(path: &str, headers: &[(&str, &[u8])]) -> Request<Body> {
    let mut builder = Request::get(path);
    for (name, value) in headers {
        builder = builder.header(*name, HeaderValue::from_bytes(value).unwrap());
    }
    builder.body(Body::empty()).unwrap()
}

/// `GET /` through `app(layer)` with these headers.
pub async fn get_root(layer: ApproovLayer, headers: &[(&str, &[u8])]) -> Outcome {
    send(app(layer), request("/", headers)).await
}

/// `GET /` through `app(layer)` with `Approov-Token: token`.
pub async fn get_with_token(layer: ApproovLayer, token: &str) -> Outcome {
    get_root(layer, &[("approov-token", token.as_bytes())]).await
}

/// Serves `app` on a fresh loopback port; the server runs until the test's runtime ends.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// How long the raw client gives a server to accept, take the request and answer it whole:
/// a liveness deadline that keeps a broken server from hanging the test run, not a timing
/// assertion (a loopback answer takes milliseconds).
pub const RAW_DEADLINE: Duration = Duration::from_secs(20);

/// A response read off the wire by [`raw_exchange`].
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: String,
}

/// Writes `bytes` to `addr` exactly as given (the request line, the header lines, the empty
/// line and any body: repeated headers, non-UTF-8 bytes, spaces around values, raw characters
/// in the target), and reads the answer until the server closes the connection (send
/// `Connection: close`). Connecting, writing and reading share one [`RAW_DEADLINE`]: past it
/// the test fails, saying so.
pub async fn raw_exchange(addr: SocketAddr, bytes: &[u8]) -> RawResponse {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(bytes).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(RAW_DEADLINE, exchange)
        .await
        .unwrap_or_else(|_| panic!("no whole answer from {addr} within {RAW_DEADLINE:?}"))
        .unwrap_or_else(|e| panic!("the exchange with {addr} failed: {e}"));
    let text = String::from_utf8(answer).expect("a UTF-8 answer");
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of the head in {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    RawResponse {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

/// Writes `head` (the request line and headers, each ending in CRLF, without the final empty
/// line) byte for byte to `addr`, then `Host: 127.0.0.1` and `Connection: close`, and reads
/// the whole response. For requests a client library would normalise: repeated headers,
/// non-UTF-8 bytes, spaces around values.
pub async fn raw_request(addr: SocketAddr, head: &[u8]) -> RawResponse {
    let mut bytes = head.to_vec();
    bytes.extend_from_slice(b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n");
    raw_exchange(addr, &bytes).await
}

/// A loopback address where nothing listens, for as long as the returned socket lives: the
/// socket holds the port bound but never listens, so a connection there is refused at once,
/// and no other test (of this process or another) can start listening on the port meanwhile.
/// Bound without `SO_REUSEADDR`, which every listener would need in order to share it; a port
/// taken and freed again gives no such promise.
pub fn closed_port() -> (tokio::net::TcpSocket, SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
    socket
        .bind("127.0.0.1:0".parse().unwrap())
        .expect("a free loopback port");
    let addr = socket.local_addr().expect("its address");
    (socket, addr)
}

/// The response header in which [`expose_reason`] copies the rejection reason, so that tests
/// over real HTTP can see it.
pub const REASON_HEADER: &str = "x-test-approov-reason";

/// Wraps a router so that each response carries the reason code of its `ApproovError` (if any)
/// in [`REASON_HEADER`]. Test instrumentation only: a real API must not tell clients why.
pub fn expose_reason(router: Router) -> Router {
    router.layer(axum::middleware::map_response(
        |mut response: Response<Body>| async move {
            if let Some(kind) = response
                .extensions()
                .get::<ApproovError>()
                .map(|e| e.kind())
            {
                response
                    .headers_mut()
                    .insert(REASON_HEADER, HeaderValue::from_static(kind.reason_code()));
            }
            response
        },
    ))
}

impl RawResponse {
    /// The value of the response header `name` (the first, if repeated).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, value) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then_some(value.trim())
        })
    }

    /// The reason code that [`expose_reason`] put in the response, if any.
    pub fn reason(&self) -> Option<&str> {
        self.header(REASON_HEADER)
    }

    /// 401 `{}` with this reason.
    #[track_caller]
    pub fn assert_rejected(&self, kind: ApproovErrorKind) {
        assert_eq!(self.status, 401, "{self:?}");
        assert_eq!(self.reason(), Some(kind.reason_code()), "{self:?}");
        assert_eq!(self.body, "{}", "{self:?}");
    }

    /// 200 from the `GET /` handler of [`routes`].
    #[track_caller]
    pub fn assert_accepted(&self) {
        assert_eq!(self.status, 200, "{self:?}");
        assert_eq!(self.reason(), None, "{self:?}");
        assert_eq!(self.body, format!("did={DID}"), "{self:?}");
    }
}
