//! Property tests: whatever arrives in the headers, the layer answers `401 {}` unless the token
//! is genuinely valid, and never panics.
//!
//! The cases run through the real `ApproovService` (a tower service answering the request),
//! driven on a tokio runtime; the case counts keep the whole file to about a second.

use crate::security_support;

use std::convert::Infallible;
use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Body;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use proptest::prelude::*;
use security_support::{SECRET, mint, now, raw_token, valid_claims};
use serde_json::json;
use tower::{Service, ServiceExt, service_fn};
use tower_approov::{ApproovConfig, ApproovError, ApproovErrorKind, ApproovLayer};
use tower_layer::Layer;

type Inner = tower::util::ServiceFn<fn(Request<tower_approov::ApproovBody<Body>>) -> Ready>;
type Ready = std::future::Ready<Result<Response<Body>, Infallible>>;

fn ok(_: Request<tower_approov::ApproovBody<Body>>) -> Ready {
    std::future::ready(Ok(Response::new(Body::from("ok"))))
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    })
}

fn service(
    config: ApproovConfig,
) -> tower_approov::ApproovService<Inner, tower_approov::JsonRejection> {
    ApproovLayer::new(config).layer(service_fn(ok as fn(_) -> Ready))
}

fn default_config() -> ApproovConfig {
    ApproovConfig::builder()
        .with_secret(SECRET, None)
        .unwrap()
        .build()
        .unwrap()
}

/// Sends one request through the service; returns the status, the body, and the rejection
/// kind if the layer rejected it.
fn send(
    svc: &mut tower_approov::ApproovService<Inner, tower_approov::JsonRejection>,
    headers: HeaderMap,
) -> (StatusCode, Vec<u8>, Option<ApproovErrorKind>) {
    runtime().block_on(async {
        let mut req = Request::new(Body::empty());
        *req.headers_mut() = headers;
        let resp = svc.ready().await.unwrap().call(req).await.unwrap();
        let kind = resp
            .extensions()
            .get::<ApproovError>()
            .map(ApproovError::kind);
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, body, kind)
    })
}

fn token_headers(value: HeaderValue) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("approov-token", value);
    headers
}

fn assert_rejected(status: StatusCode, body: &[u8], kind: Option<ApproovErrorKind>) {
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, b"{}");
    assert!(kind.is_some(), "a 401 without an ApproovError");
}

/// A base64url-looking segment.
fn segment() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{0,120}"
}

/// A JSON header with an `alg` among the usual suspects, and maybe a `kid`.
fn jose_header() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "HS256", "none", "HS512", "ES256", "RS256", "", "hs256",
        ]),
        prop::option::of("[a-z0-9]{0,8}"),
    )
        .prop_map(|(alg, kid)| match kid {
            Some(kid) => format!(r#"{{"alg":"{alg}","kid":"{kid}"}}"#),
            None => format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#),
        })
}

/// Claims with an `exp` of any shape: future, past, float, integer, string, null, missing.
fn claims() -> impl Strategy<Value = String> {
    let t = now();
    prop_oneof![
        (-1e9f64..1e9).prop_map(move |d| format!(r#"{{"exp":{}}}"#, t + d)),
        (0u64..u64::MAX).prop_map(|e| format!(r#"{{"exp":{e},"did":"x"}}"#)),
        Just(r#"{"exp":"4708683205"}"#.to_owned()),
        Just(r#"{"exp":null}"#.to_owned()),
        Just(r#"{"did":"no exp"}"#.to_owned()),
        "[ -~]{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random bytes in the token header (and in other headers) never panic and always get
    /// `401 {}`: nothing random is a validly signed token.
    #[test]
    fn random_header_bytes_always_get_401(
        token in prop::collection::vec(any::<u8>(), 0..9000),
        others in prop::collection::vec(
            (prop::collection::vec(any::<u8>(), 1..20), prop::collection::vec(any::<u8>(), 0..200)),
            0..4,
        ),
    ) {
        let mut headers = HeaderMap::new();
        for (name, value) in others {
            if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(&name), HeaderValue::from_bytes(&value)) {
                headers.append(n, v);
            }
        }
        if let Ok(v) = HeaderValue::from_bytes(&token) {
            headers.append("approov-token", v);
        }
        let mut svc = service(default_config());
        let (status, body, kind) = send(&mut svc, headers);
        assert_rejected(status, &body, kind);
    }

    /// Random JWT-shaped strings (three base64url segments, or a real JSON header and claims
    /// with a random signature) always get `401 {}`.
    #[test]
    fn random_jwt_shaped_strings_always_get_401(
        a in segment(), b in segment(), c in segment(),
        header in jose_header(), claims in claims(), sig in segment(),
        shaped in any::<bool>(),
    ) {
        let token = if shaped { raw_token(&header, &claims, &sig) } else { format!("{a}.{b}.{c}") };
        let mut svc = service(default_config());
        let (status, body, kind) = send(&mut svc, token_headers(HeaderValue::from_str(&token).unwrap()));
        assert_rejected(status, &body, kind);
    }

    /// A valid token with any single byte changed is rejected.
    ///
    /// Which single-byte changes could decode to the same token? None get through here:
    /// - the HS256 MAC covers the *encoded* text `header.payload`, not the decoded JSON, so
    ///   any change in the first two segments changes the MAC input (even one that would
    ///   decode to the same JSON);
    /// - the signature segment is decoded by a canonical base64url decoder (the `base64`
    ///   crate rejects non-zero trailing bits by default, in `jsonwebtoken` as in this crate),
    ///   so a change in the last character's unused low bits, the "same value, different
    ///   letter" case, is a decode error, and any other change decodes to different bytes;
    /// - padding `=` and whitespace inside the token are decode errors; a byte changed to a
    ///   space at either end is trimmed away, which truncates the token;
    /// - bytes that cannot be in a header value (control characters) never reach the layer.
    ///
    /// So the property is "always rejected"; `every_single_byte_change_is_rejected` below
    /// checks all positions and all byte values exhaustively.
    #[test]
    fn a_valid_token_with_one_byte_changed_is_rejected(index in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let token = mint(&valid_claims());
        let mut svc = service(default_config());
        // Prime the verified-token cache with the genuine token.
        let (status, _, _) = send(&mut svc, token_headers(HeaderValue::from_str(&token).unwrap()));
        prop_assert_eq!(status, StatusCode::OK);

        let mut bytes = token.into_bytes();
        let i = index.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let Ok(value) = HeaderValue::from_bytes(&bytes) else { return Ok(()) };
        let (status, body, kind) = send(&mut svc, token_headers(value));
        assert_rejected(status, &body, kind);
    }

    /// Verification never accepts a token whose `exp` is in the past beyond the leeway,
    /// whatever the leeway, with a float or an integer `exp`.
    #[test]
    fn a_token_expired_beyond_the_leeway_is_never_accepted(
        leeway in 0f64..900.0,
        past in 0.001f64..1e8,
        integer in any::<bool>(),
    ) {
        let exp = now() - leeway - past;
        let exp = if integer { json!(exp.floor() as i64) } else { json!(exp) };
        let token = mint(&json!({"exp": exp, "did": "d"}));
        let config = ApproovConfig::builder()
            .with_secret(SECRET, None).unwrap()
            .with_leeway(Duration::from_secs_f64(leeway))
            .build().unwrap();
        let mut svc = service(config);
        let (status, body, kind) = send(&mut svc, token_headers(HeaderValue::from_str(&token).unwrap()));
        assert_rejected(status, &body, kind);
        prop_assert_eq!(kind, Some(ApproovErrorKind::Expired));
    }
}

/// Exhaustive companion of the property above: every position, every byte value.
#[test]
fn every_single_byte_change_of_a_valid_token_is_rejected() {
    let token = mint(&valid_claims());
    let config = default_config();
    let svc = service(config);
    assert!(
        svc.check(&token_headers(HeaderValue::from_str(&token).unwrap()))
            .is_ok()
    );
    let mut tried = 0;
    for i in 0..token.len() {
        for byte in 0..=255u8 {
            let mut bytes = token.clone().into_bytes();
            if bytes[i] == byte {
                continue;
            }
            bytes[i] = byte;
            let Ok(value) = HeaderValue::from_bytes(&bytes) else {
                continue;
            };
            let result = svc.check(&token_headers(value));
            assert!(
                result.is_err(),
                "accepted with byte {i} changed to {byte:#04x}"
            );
            tried += 1;
        }
    }
    // Most of the 255 alternatives at each position are sendable header bytes.
    assert!(tried > token.len() * 200);
}
