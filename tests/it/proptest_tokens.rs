//! Property tests: whatever arrives in the headers, the layer answers `401 {}` unless the token
//! is genuinely valid, never panics, and gives the reason the order of its checks calls for.
//!
//! The reasons are worked out here from the documented order of the checks (the token header:
//! present, not too long, visible ASCII, not empty, not an SDK status; then the token: three
//! segments, a base64url JSON-object header with a configured `alg`, the claims, `exp` first,
//! then the signature), not read back from the code: where that order decides one reason the
//! test asserts it; where it leaves several (a random header that happens to be a JSON object
//! can fail any later check), the test asserts the set and says why.
//!
//! The cases run through the real `ApproovService` (a tower service answering the request),
//! driven on a tokio runtime; the case counts keep the whole file to about a second.

use crate::security_support;

use std::convert::Infallible;
use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use proptest::prelude::*;
use security_support::{SECRET, mint, now, raw_token, valid_claims};
use serde_json::json;
use tower::{Service, ServiceExt, service_fn};
use tower_approov::{
    ApproovConfig, ApproovError, ApproovErrorKind, ApproovErrorKind as K, ApproovLayer,
};
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

/// `401 {}` for one of the `expected` reasons.
#[track_caller]
fn assert_rejected(
    status: StatusCode,
    body: &[u8],
    kind: Option<ApproovErrorKind>,
    expected: &[ApproovErrorKind],
) {
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, b"{}");
    let kind = kind.expect("a 401 without an ApproovError");
    assert!(
        expected.contains(&kind),
        "{kind:?}, expected one of {expected:?}"
    );
}

/// The reasons a token whose header segment is a JSON object may still be refused with, by
/// the default configuration (one HS256 secret): whatever the later checks find (an `alg`
/// that is not `HS256`, a `kid`, the claims, the signature), as random input can fail any.
const AFTER_A_JSON_HEADER: [ApproovErrorKind; 10] = [
    K::MalformedHeader,
    K::AlgorithmNotAllowed,
    K::MalformedToken,
    K::MalformedClaims,
    K::MissingExpiry,
    K::InvalidExpiry,
    K::Expired,
    K::NotYetValid,
    K::InvalidSignature,
    K::UnknownKeyId,
];

/// The reasons a request whose `Approov-Token` is `value` (no header for `None`) may get from
/// the default configuration, by the order of the checks. Exactly one up to the header
/// segment's JSON; [`AFTER_A_JSON_HEADER`] once that is an object.
fn reasons_for(value: Option<&[u8]>) -> Vec<ApproovErrorKind> {
    let Some(value) = value else {
        return vec![K::MissingToken];
    };
    if value.len() > tower_approov::DEFAULT_MAX_TOKEN_LENGTH {
        return vec![K::TokenTooLong];
    }
    // `HeaderValue::to_str`: visible ASCII and tabs only.
    if !value
        .iter()
        .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        return vec![K::InvalidTokenEncoding];
    }
    let token = std::str::from_utf8(value).unwrap().trim();
    match token {
        "" => return vec![K::EmptyToken],
        "NO_NETWORK" => return vec![K::NoNetwork],
        "POOR_NETWORK" => return vec![K::PoorNetwork],
        "MITM_DETECTED" => return vec![K::MitmDetected],
        _ => {}
    }
    let segments: Vec<&str> = token.split('.').collect();
    let [header, payload, _signature] = segments[..] else {
        return vec![K::MalformedToken];
    };
    if header.is_empty() || payload.is_empty() {
        return vec![K::MalformedToken];
    }
    let Ok(header) = URL_SAFE_NO_PAD.decode(header) else {
        return vec![K::MalformedToken];
    };
    if !is_json_object(&header) {
        return vec![K::MalformedHeader];
    }
    AFTER_A_JSON_HEADER.to_vec()
}

/// Whether `json` is one JSON object, whatever its members' values (skipped, not read: a
/// number out of range or a lone surrogate in a value does not stop a check that ignores it).
fn is_json_object(json: &[u8]) -> bool {
    serde_json::from_slice::<std::collections::HashMap<String, serde::de::IgnoredAny>>(json).is_ok()
}

/// The reason for a token made of this JOSE header (from [`jose_header`], so a JSON object
/// whose `alg` is one of a few names), these claims (any text) and this signature segment,
/// under the default configuration. Exact, except for a signature segment that is not
/// canonical base64url: the aws-lc backend reads at most 32 bytes of an HS256 signature and
/// calls a longer one `invalid_signature` without decoding it all, the RustCrypto one decodes
/// it and says `malformed_token`.
fn reasons_for_shaped(alg: &str, claims: &str, signature: &str) -> Vec<ApproovErrorKind> {
    // The shape first: the claims segment is the base64url of `claims`, empty for "".
    if claims.is_empty() {
        return vec![K::MalformedToken];
    }
    // Only the configured secret's algorithm gets further; a `kid` does not stop one secret.
    if alg != "HS256" {
        return vec![K::AlgorithmNotAllowed];
    }
    if !is_json_object(claims.as_bytes()) {
        return vec![K::MalformedClaims];
    }
    let members = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(claims);
    let Some(claims) = members
        .ok()
        .filter(|claims| claims.keys().all(|k| k == "exp" || k == "did"))
    else {
        // Random text that is an object with other members (`nbf`, `iss`, ...) or with a value
        // a map cannot hold: any of the claims' reasons, or the signature's.
        return vec![
            K::MalformedClaims,
            K::MissingExpiry,
            K::InvalidExpiry,
            K::Expired,
            K::NotYetValid,
            K::InvalidSignature,
            K::MalformedToken,
        ];
    };
    match claims.get("exp") {
        None => return vec![K::MissingExpiry],
        Some(exp) => match exp.as_f64().filter(|e| e.is_finite()) {
            None => return vec![K::InvalidExpiry],
            Some(exp) if exp <= now() => return vec![K::Expired],
            Some(_) => {}
        },
    }
    // The claims pass: the random signature is checked, and fails.
    if URL_SAFE_NO_PAD.decode(signature).is_ok() {
        vec![K::InvalidSignature]
    } else {
        vec![K::MalformedToken, K::InvalidSignature]
    }
}

/// The reasons a valid token with its byte `i` changed to `byte` may be refused with. Which
/// one depends on what the change hits, and within a segment on what the changed text decodes
/// to, so each segment has its set:
/// - a byte over `0x7f`: the header value is not visible ASCII, `invalid_token_encoding`;
/// - a dot changed, or a byte made a dot: not three segments, `malformed_token`;
/// - in the JOSE header: not base64url (`malformed_token`), not JSON (`malformed_header`), an
///   `alg` changed (`algorithm_not_allowed`), or still `HS256`, when the MAC over the changed
///   text fails (`invalid_signature`); one base64url character changes at most two bytes, so
///   no new member (`kid`, `crit`, `enc`) can appear;
/// - in the claims: not base64url, not JSON (`malformed_claims`), `exp` renamed, changed to a
///   time past or not a number, or still valid, when the MAC fails;
/// - in the signature: not base64url (`malformed_token`, or `invalid_signature` from the
///   backend that reads at most 32 bytes), or another MAC (`invalid_signature`).
///
/// A space or tab at either end is trimmed away, which shortens that end's segment: its set.
fn reasons_for_one_byte_changed(token: &str, i: usize, byte: u8) -> &'static [ApproovErrorKind] {
    const HEADER: &[ApproovErrorKind] = &[
        K::MalformedToken,
        K::MalformedHeader,
        K::AlgorithmNotAllowed,
        K::InvalidSignature,
    ];
    const CLAIMS: &[ApproovErrorKind] = &[
        K::MalformedToken,
        K::MalformedClaims,
        K::MissingExpiry,
        K::InvalidExpiry,
        K::Expired,
        K::InvalidSignature,
    ];
    const SIGNATURE: &[ApproovErrorKind] = &[K::MalformedToken, K::InvalidSignature];
    if byte > 0x7f {
        return &[K::InvalidTokenEncoding];
    }
    if byte == b'.' || token.as_bytes()[i] == b'.' {
        return &[K::MalformedToken];
    }
    let first_dot = token.find('.').unwrap();
    let last_dot = token.rfind('.').unwrap();
    if i < first_dot {
        HEADER
    } else if i < last_dot {
        CLAIMS
    } else {
        SIGNATURE
    }
}

/// A base64url-looking segment.
fn segment() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{0,120}"
}

/// A JSON header with an `alg` among the usual suspects, and maybe a `kid`; and its `alg`.
fn jose_header() -> impl Strategy<Value = (&'static str, String)> {
    (
        prop::sample::select(vec![
            "HS256", "none", "HS512", "ES256", "RS256", "", "hs256",
        ]),
        prop::option::of("[a-z0-9]{0,8}"),
    )
        .prop_map(|(alg, kid)| {
            let header = match kid {
                Some(kid) => format!(r#"{{"alg":"{alg}","kid":"{kid}"}}"#),
                None => format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#),
            };
            (alg, header)
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
    /// `401 {}` with the reason the order of the checks calls for: nothing random is a validly
    /// signed token. Uniform random bytes are almost never a header value at all (any byte
    /// under `0x20` but a tab, or `0x7f`, stops it), so the token is drawn from three kinds:
    /// short runs of any bytes, visible ASCII up to past the length limit, and header-value
    /// bytes with and without the high half.
    #[test]
    fn random_header_bytes_always_get_401(
        token in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..32),
            "[\t -~]{0,9000}".prop_map(String::into_bytes),
            prop::collection::vec(
                prop_oneof![Just(b'\t'), 0x20u8..0x7f, 0x80u8..=0xff],
                0..300,
            ),
        ],
        others in prop::collection::vec(
            (prop::collection::vec(any::<u8>(), 1..20), prop::collection::vec(any::<u8>(), 0..200)),
            0..4,
        ),
    ) {
        let mut headers = HeaderMap::new();
        for (name, value) in others {
            if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(&name), HeaderValue::from_bytes(&value)) {
                // Only the token header under test is an `Approov-Token`.
                if n != "approov-token" {
                    headers.append(n, v);
                }
            }
        }
        let token = HeaderValue::from_bytes(&token).ok();
        if let Some(v) = &token {
            headers.append("approov-token", v.clone());
        }
        let mut svc = service(default_config());
        let (status, body, kind) = send(&mut svc, headers);
        assert_rejected(status, &body, kind, &reasons_for(token.as_ref().map(HeaderValue::as_bytes)));
    }

    /// Random JWT-shaped strings (three base64url segments, or a real JSON header and claims
    /// with a random signature) always get `401 {}`.
    #[test]
    fn random_jwt_shaped_strings_always_get_401(
        a in segment(), b in segment(), c in segment(),
        (alg, header) in jose_header(), claims in claims(), sig in segment(),
        shaped in any::<bool>(),
    ) {
        let (token, expected) = if shaped {
            (raw_token(&header, &claims, &sig), reasons_for_shaped(alg, &claims, &sig))
        } else {
            let token = format!("{a}.{b}.{c}");
            let expected = reasons_for(Some(token.as_bytes()));
            (token, expected)
        };
        let mut svc = service(default_config());
        let (status, body, kind) = send(&mut svc, token_headers(HeaderValue::from_str(&token).unwrap()));
        assert_rejected(status, &body, kind, &expected);
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

        let mut bytes = token.clone().into_bytes();
        let i = index.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let Ok(value) = HeaderValue::from_bytes(&bytes) else { return Ok(()) };
        let (status, body, kind) = send(&mut svc, token_headers(value));
        assert_rejected(status, &body, kind, reasons_for_one_byte_changed(&token, i, byte));
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
        assert_rejected(status, &body, kind, &[K::Expired]);
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
            let kind = svc
                .check(&token_headers(value))
                .map(|_| ())
                .map_err(|e| e.kind());
            let expected = reasons_for_one_byte_changed(&token, i, byte);
            assert!(
                kind.is_err_and(|kind| expected.contains(&kind)),
                "{kind:?} with byte {i} changed to {byte:#04x}, expected one of {expected:?}"
            );
            tried += 1;
        }
    }
    // Most of the 255 alternatives at each position are sendable header bytes.
    assert!(tried > token.len() * 200);
}
