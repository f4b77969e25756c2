//! The verified-token cache, through a real axum `Router`: what a cached token still has to
//! pass on every request, and the bound on the cache.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use tower::ServiceExt;
use tower_approov::test_util::token_cache_len;
use tower_approov::{
    ApproovConfig, ApproovConfigBuilder, ApproovError, ApproovErrorKind, ApproovLayer,
    pay_claim_for,
};

use crate::common::{SECRET, now};

fn mint(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(SECRET).unwrap(),
    )
    .unwrap()
}

/// A token for device `n`, expiring `exp_in` seconds from now.
fn token(n: u64, exp_in: f64) -> String {
    mint(&json!({ "exp": now() + exp_in, "did": format!("device-{n}"), "ip": "127.0.0.1" }))
}

fn builder() -> ApproovConfigBuilder {
    ApproovConfig::builder().with_secret(SECRET, None).unwrap()
}

fn app(config: &ApproovConfig) -> Router {
    Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(ApproovLayer::new(config.clone()))
}

async fn send(app: &Router, token: &str, authorization: Option<&str>) -> http::Response<Body> {
    let mut req = Request::get("/").header("approov-token", token);
    if let Some(value) = authorization {
        req = req.header("authorization", value);
    }
    app.clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

fn kind(resp: &http::Response<Body>) -> ApproovErrorKind {
    resp.extensions()
        .get::<ApproovError>()
        .expect("a rejection carries its error")
        .kind()
}

/// Sends `GET /` over a real HTTP/1 connection to `addr`; returns the status and the reason
/// the test server copied out of the response extensions.
async fn send_over_http(addr: std::net::SocketAddr, token: &str) -> (StatusCode, Option<String>) {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client = Client::builder(TokioExecutor::new()).build_http::<Body>();
    let req = Request::get(format!("http://{addr}/"))
        .header("approov-token", token)
        .body(Body::empty())
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let reason = resp
        .headers()
        .get(REASON)
        .map(|v| v.to_str().unwrap().to_owned());
    (resp.status(), reason)
}

/// Copies a rejection's reason into a response header: the extensions do not cross the wire.
const REASON: &str = "x-test-approov-reason";

/// The one real-time expiry test: over loopback, a token accepted (and so cached) is refused
/// once its `exp` has passed, and the refusal came from the cache hit, the only path that
/// drops an entry (a lookup that missed would have verified the token afresh and left the
/// entry in place). The exact boundary is unit-tested in `src/check/verify.rs` with a given clock.
#[tokio::test]
async fn a_cached_token_is_rejected_once_its_exp_has_passed() {
    let config = builder().with_token_cache_size(16).build().unwrap();
    let router = app(&config).layer(axum::middleware::map_response(
        |mut resp: http::Response<Body>| async move {
            if let Some(kind) = resp.extensions().get::<ApproovError>().map(|e| e.kind()) {
                resp.headers_mut()
                    .insert(REASON, http::HeaderValue::from_static(kind.reason_code()));
            }
            resp
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    // Expires in two to three seconds: long enough to be accepted on a busy machine, short
    // enough to wait. A whole number, so the `exp` read back is exactly this one.
    let exp = (now() + 3.0).trunc();
    let token = mint(&json!({ "exp": exp, "did": "device-exp" }));

    assert_eq!(send_over_http(addr, &token).await, (StatusCode::OK, None));
    assert_eq!(token_cache_len(&config), Some(1), "the token is cached");

    // Wait until the clock is past `exp` (leeway is 0); no assertion on how long that took.
    while now() <= exp {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    assert_eq!(
        send_over_http(addr, &token).await,
        (StatusCode::UNAUTHORIZED, Some("expired".to_owned()))
    );
    assert_eq!(
        token_cache_len(&config),
        Some(0),
        "the cache hit found it expired and dropped it"
    );
}

#[tokio::test]
async fn a_cached_token_still_fails_a_binding_mismatch() {
    let config = builder()
        .with_token_binding(["Authorization"])
        .unwrap()
        .build()
        .unwrap();
    let app = app(&config);
    let pay = pay_claim_for([b"Bearer alice".as_slice()]);
    let token = mint(&json!({ "exp": now() + 3600.5, "did": "device-pay", "pay": pay }));

    let resp = send(&app, &token, Some("Bearer alice")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(token_cache_len(&config), Some(1), "the token is cached");

    let resp = send(&app, &token, Some("Bearer mallory")).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(kind(&resp), ApproovErrorKind::PayClaimMismatch);
}

#[tokio::test]
async fn a_cached_token_still_fails_when_the_binding_header_is_missing() {
    let config = builder()
        .with_token_binding(["Authorization"])
        .unwrap()
        .build()
        .unwrap();
    let app = app(&config);
    let pay = pay_claim_for([b"Bearer alice".as_slice()]);
    let token = mint(&json!({ "exp": now() + 3600.5, "did": "device-pay", "pay": pay }));

    assert_eq!(
        send(&app, &token, Some("Bearer alice")).await.status(),
        StatusCode::OK
    );
    assert_eq!(token_cache_len(&config), Some(1), "the token is cached");
    let resp = send(&app, &token, None).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(kind(&resp), ApproovErrorKind::BindingHeaderMissing);
}

#[tokio::test]
async fn the_cache_never_holds_more_tokens_than_its_bound() {
    // 1 001 does not divide into equal shards: the bound must still be exact.
    const BOUND: usize = 1_001;
    let config = builder().with_token_cache_size(BOUND).build().unwrap();
    let app = app(&config);
    for n in 0..3 * BOUND as u64 {
        let resp = send(&app, &token(n, 3600.0), None).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let len = token_cache_len(&config).unwrap();
        assert!(len <= BOUND, "{len} cached tokens, bound {BOUND}");
    }
    // Not trivially within the bound: the cache did fill up.
    assert!(token_cache_len(&config).unwrap() > BOUND / 2);
}

#[tokio::test]
async fn a_token_with_a_bad_signature_is_never_cached() {
    let config = builder().build().unwrap();
    let app = app(&config);
    let forged = jsonwebtoken::encode(
        &Header::default(),
        &json!({ "exp": now() + 3600.0, "did": "forged" }),
        &EncodingKey::from_secret(b"not-the-account-secret").unwrap(),
    )
    .unwrap();

    for _ in 0..2 {
        let resp = send(&app, &forged, None).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(kind(&resp), ApproovErrorKind::InvalidSignature);
    }
    assert_eq!(token_cache_len(&config), Some(0));
}

#[tokio::test]
async fn with_a_cache_size_of_zero_valid_tokens_pass_and_nothing_is_cached() {
    let config = builder().with_token_cache_size(0).build().unwrap();
    assert_eq!(token_cache_len(&config), None, "the cache is off");
    let app = app(&config);
    let token = token(1, 3600.0);
    for _ in 0..3 {
        assert_eq!(send(&app, &token, None).await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn with_a_cache_size_of_zero_an_expired_token_is_rejected() {
    let config = builder().with_token_cache_size(0).build().unwrap();
    let app = app(&config);
    let resp = send(&app, &token(1, -1.0), None).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(kind(&resp), ApproovErrorKind::Expired);
}

#[tokio::test]
async fn the_cache_size_variable_zero_turns_the_cache_off() {
    let secret = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, SECRET);
    let config = ApproovConfigBuilder::from_env_with(|name| match name {
        "APPROOV_BASE64_SECRET" => Some(Ok(secret.clone())),
        "APPROOV_TOKEN_CACHE_SIZE" => Some(Ok("0".to_owned())),
        _ => None,
    })
    .unwrap()
    .build()
    .unwrap();
    assert_eq!(token_cache_len(&config), None);
    let app = app(&config);
    assert_eq!(
        send(&app, &token(2, 3600.0), None).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_default_cache_remembers_a_verified_token() {
    let config = builder().build().unwrap();
    let app = app(&config);
    let token = token(3, 3600.0);
    for _ in 0..3 {
        assert_eq!(send(&app, &token, None).await.status(), StatusCode::OK);
    }
    assert_eq!(token_cache_len(&config), Some(1));
}
