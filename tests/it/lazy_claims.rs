//! Claims kept as the signed JSON text, read lazily, through a real axum app: typed claims,
//! the accessors, the map built on demand, and the checks that still run on every request.

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};
use tower_approov::test_util::token_cache_len;
use tower_approov::{ApproovClaims, ApproovConfig, ApproovError, ApproovErrorKind, ApproovLayer};

// `mint_raw_claims`: a token whose payload is exactly the text given (repeated names,
// escapes), correctly signed.
use crate::common::{SECRET, mint, mint_raw_claims as mint_raw, now};

/// The app's own claims, custom ones included.
#[derive(Deserialize)]
struct MyClaims {
    did: String,
    exp: f64,
    tier: String,
    #[serde(default)]
    scopes: Vec<String>,
}

async fn serve(config: ApproovConfig) -> SocketAddr {
    let app = Router::new()
        .route(
            "/typed",
            get(|claims: ApproovClaims| async move {
                match claims.deserialize::<MyClaims>() {
                    Ok(mine) => format!(
                        "{} {} {} {}",
                        mine.did,
                        mine.exp,
                        mine.tier,
                        mine.scopes.join(",")
                    ),
                    Err(e) => format!("error: {e}"),
                }
            }),
        )
        .route(
            "/accessors",
            get(|claims: ApproovClaims| async move {
                // The accessor and the map must agree.
                json!({
                    "did": claims.did(),
                    "did_map": claims.get("did"),
                    "iat": claims.iat(),
                    "ip": claims.ip(),
                    "mskid": claims.mskid(),
                    "mskid_map": claims.get("mskid"),
                })
                .to_string()
            }),
        )
        .layer(ApproovLayer::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn config() -> ApproovConfig {
    ApproovConfig::builder()
        .with_secret(SECRET, None)
        .unwrap()
        .build()
        .unwrap()
}

/// A GET over loopback with a hyper client; the status and the body.
async fn get_with(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    use http_body_util::{BodyExt as _, Full};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<bytes::Bytes>>();
    let mut request = http::Request::get(format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client
        .request(request.body(Full::default()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn typed_claims_read_the_apps_own_struct_with_its_custom_claims_fresh_and_from_the_cache() {
    let config = config();
    let addr = serve(config.clone()).await;
    let exp = (now() + 600.0).trunc();
    let token = mint(&json!({
        "exp": exp, "did": "device-1", "tier": "gold", "scopes": ["read", "write"]
    }));
    assert_eq!(token_cache_len(&config), Some(0));
    for _ in 0..2 {
        // The first time verified, the second time from the cache: the same claims.
        let (status, body) = get_with(addr, "/typed", &[("approov-token", &token)]).await;
        assert_eq!(status, 200);
        assert!(
            body.ends_with(&format!("device-1 {exp} gold read,write")),
            "{body}"
        );
        assert_eq!(token_cache_len(&config), Some(1), "the token is cached");
    }
}

#[tokio::test]
async fn typed_claims_that_do_not_fit_the_struct_are_an_error_for_the_handler() {
    let addr = serve(config()).await;
    // No `tier`: the token is valid, the app's struct does not fit.
    let token = mint(&json!({ "exp": now() + 600.0, "did": "device-2" }));
    let (status, body) = get_with(addr, "/typed", &[("approov-token", &token)]).await;
    assert_eq!(status, 200);
    assert!(body.contains("error: missing field `tier`"), "{body}");
}

#[tokio::test]
async fn the_accessors_unescape_strings_and_agree_with_the_claims_map() {
    let addr = serve(config()).await;
    let exp = now() + 600.0;
    // An escaped quote and a \u escape in `did`, an integer `iat`, a repeated `ip` (the last
    // one counts, as in a JSON map).
    let payload = format!(
        r#"{{"exp":{exp},"did":"a\"b\u00e9","iat":1700000000,"ip":"10.0.0.1","ip":"10.0.0.2"}}"#
    );
    let token = mint_raw(&payload);
    let (status, body) = get_with(addr, "/accessors", &[("approov-token", &token)]).await;
    assert_eq!(status, 200);
    let seen: Value = serde_json::from_str(body.trim()).unwrap();
    assert_eq!(seen["did"], json!("a\"b\u{e9}"));
    assert_eq!(seen["did_map"], seen["did"]);
    assert_eq!(seen["iat"], json!(1_700_000_000.0));
    assert_eq!(seen["ip"], json!("10.0.0.2"));
}

#[tokio::test]
async fn mskid_is_read_by_its_accessor_and_is_absent_from_a_token_without_it() {
    let addr = serve(config()).await;
    let exp = now() + 600.0;
    for (payload, mskid) in [
        (
            format!(r#"{{"exp":{exp},"did":"d","mskid":"aB3-_x"}}"#),
            json!("aB3-_x"),
        ),
        // A failover token has no `mskid`; one that is not a string has no text to give.
        (format!(r#"{{"exp":{exp},"did":"d"}}"#), Value::Null),
        (
            format!(r#"{{"exp":{exp},"did":"d","mskid":12}}"#),
            Value::Null,
        ),
    ] {
        let token = mint_raw(&payload);
        let (status, body) = get_with(addr, "/accessors", &[("approov-token", &token)]).await;
        assert_eq!(status, 200, "{payload}");
        let seen: Value = serde_json::from_str(body.trim()).unwrap();
        assert_eq!(seen["mskid"], mskid, "{payload}");
        if mskid.is_string() {
            assert_eq!(seen["mskid_map"], mskid);
        }
    }
}

async fn kind_of(config: ApproovConfig, token: &str) -> (http::StatusCode, ApproovErrorKind) {
    use tower::ServiceExt;
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(ApproovLayer::new(config));
    let response = app
        .oneshot(
            http::Request::get("/")
                .header("approov-token", token)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let kind = response
        .extensions()
        .get::<ApproovError>()
        .expect("a rejection carries its error")
        .kind();
    (response.status(), kind)
}

#[tokio::test]
async fn claims_that_a_json_map_cannot_hold_are_refused_after_the_signature_and_never_cached() {
    let exp = now() + 600.0;
    for custom in [
        r#""\ud800""#, // a lone surrogate
        "1e999",       // a number out of range
    ] {
        let payload = format!(r#"{{"exp":{exp},"did":"d","x":{{"y":[{custom}]}}}}"#);
        let config = config();
        let (status, kind) = kind_of(config.clone(), &mint_raw(&payload)).await;
        assert_eq!(status, 401, "{custom}");
        assert_eq!(kind, ApproovErrorKind::MalformedClaims, "{custom}");
        assert_eq!(token_cache_len(&config), Some(0), "{custom}");
        // With a bad signature the signature is what is reported: claims are read after it.
        let mut forged = mint_raw(&payload);
        forged.truncate(forged.rfind('.').unwrap() + 1);
        forged.push_str(&URL_SAFE_NO_PAD.encode([7u8; 32]));
        let (status, kind) = kind_of(config, &forged).await;
        assert_eq!(status, 401, "{custom}");
        assert_eq!(kind, ApproovErrorKind::InvalidSignature, "{custom}");
    }
}

#[tokio::test]
async fn a_cached_token_sent_in_two_headers_is_still_refused_as_a_duplicate() {
    use tower::ServiceExt;
    let config = config();
    let token = mint(&json!({ "exp": now() + 600.0, "did": "d" }));
    assert_eq!(
        kind_of(config.clone(), "not-a-token").await.1,
        ApproovErrorKind::MalformedToken
    );
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(ApproovLayer::new(config.clone()));
    let request = |n: usize| {
        let mut req = http::Request::get("/");
        for _ in 0..n {
            req = req.header("approov-token", &token);
        }
        req.body(axum::body::Body::empty()).unwrap()
    };
    let ok = app.clone().oneshot(request(1)).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(token_cache_len(&config), Some(1), "the token is cached");
    let twice = app.oneshot(request(2)).await.unwrap();
    assert_eq!(twice.status(), 401);
    assert_eq!(
        twice.extensions().get::<ApproovError>().unwrap().kind(),
        ApproovErrorKind::DuplicateToken
    );
}

#[tokio::test]
async fn a_token_behind_its_prefix_is_cached_as_the_token_so_the_bare_form_is_the_same_entry_and_a_glued_prefix_is_refused()
 {
    let config = ApproovConfig::builder()
        .with_secret(SECRET, None)
        .unwrap()
        .with_token_prefix("Bearer")
        .build()
        .unwrap();
    let addr = serve(config.clone()).await;
    let token = mint(&json!({ "exp": now() + 600.0, "did": "p", "tier": "t" }));
    let header = format!("Bearer {token}");
    for _ in 0..3 {
        let (status, body) = get_with(addr, "/typed", &[("approov-token", &header)]).await;
        assert_eq!(status, 200);
        assert!(body.contains("p "), "{body}");
        // One entry, made by the first request and answering the others.
        assert_eq!(
            token_cache_len(&config),
            Some(1),
            "one entry for the header"
        );
    }
    // The prefix glued to the token is refused before the cache is looked up, although the
    // token behind it is cached.
    let glued = format!("Bearer{token}");
    assert_eq!(
        kind_of(config.clone(), &glued).await,
        (
            http::StatusCode::UNAUTHORIZED,
            ApproovErrorKind::MalformedToken
        )
    );
    assert_eq!(token_cache_len(&config), Some(1));
    // The bare token is accepted too, from the same entry: the cache is keyed by the token,
    // not by how its header is written.
    let (status, _) = get_with(addr, "/typed", &[("approov-token", &token)]).await;
    assert_eq!(status, 200);
    assert_eq!(token_cache_len(&config), Some(1), "the same entry");
}
