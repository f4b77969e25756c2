//! The run-time enforcement switch (`ModeHandle`) under concurrent requests.

use crate::security_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode};
use security_support::{SECRET, client, get as send, is_rejection, mint, serve, valid_claims};
use tower_approov::{
    ApproovClaims, ApproovConfig, ApproovError, ApproovErrorKind, ApproovLayer, Mode,
};

/// `verified` with claims; without, `monitored ` and the reason the request carries.
async fn handler(req: http::Request<Body>) -> String {
    if req.extensions().get::<ApproovClaims>().is_some() {
        return "verified".to_owned();
    }
    let reason = req
        .extensions()
        .get::<ApproovError>()
        .map_or("-", |e| e.kind().reason_code());
    format!("monitored {reason}")
}

/// The header the test server copies a rejection's reason into (the extensions do not cross
/// the wire). Test instrumentation: a real API never tells the client why.
const REASON: &str = "x-test-approov-reason";

/// The routes behind `layer`, with each rejection's reason copied into [`REASON`].
fn app(layer: ApproovLayer) -> Router {
    Router::new()
        .route("/", get(handler))
        .layer(layer)
        .layer(axum::middleware::map_response(
            |mut res: Response| async move {
                if let Some(kind) = res.extensions().get::<ApproovError>().map(|e| e.kind()) {
                    res.headers_mut()
                        .insert(REASON, HeaderValue::from_static(kind.reason_code()));
                }
                res
            },
        ))
}

/// The layer's default rejection (401, JSON, `{}`) for `kind`.
fn is_rejection_for(
    kind: ApproovErrorKind,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> bool {
    is_rejection(status, headers, body)
        && headers.get(REASON).map(HeaderValue::as_bytes) == Some(kind.reason_code().as_bytes())
}

/// A monitored answer for `kind`: the handler ran, without claims, knowing the reason.
fn is_monitored_for(kind: ApproovErrorKind, status: StatusCode, body: &[u8]) -> bool {
    status == StatusCode::OK && body == format!("monitored {}", kind.reason_code()).as_bytes()
}

/// The mode in force while the version counter holds the even value `v`: the flipper starts in
/// enforce (version 0) and alternates.
fn mode_at(v: u64) -> Mode {
    if (v / 2).is_multiple_of(2) {
        Mode::Enforce
    } else {
        Mode::Monitor
    }
}

/// Many tasks send valid and invalid tokens while another task flips the mode. The flipper
/// marks each switch with an odd version before `set` and an even one after, so a request that
/// saw the same even version before and after it ran had exactly one mode in force, and its
/// answer must be that mode's: an invalid token gets `401 {}` in enforce and reaches the
/// handler without claims in monitor. Valid tokens get through with claims in both modes.
/// Why the invalid token of the concurrent test fails.
const INVALID: ApproovErrorKind = ApproovErrorKind::InvalidSignature;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mode_flips_under_concurrent_requests_answer_with_a_mode_in_force() {
    let config = ApproovConfig::builder()
        .with_secret(SECRET, None)
        .unwrap()
        .build()
        .unwrap();
    let layer = ApproovLayer::new(config);
    let handle = layer.mode_handle();
    let addr = serve(app(layer)).await;

    let version = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let flipper = {
        let (version, done, handle) = (version.clone(), done.clone(), handle.clone());
        tokio::spawn(async move {
            let mut v = 0;
            while !done.load(SeqCst) {
                tokio::time::sleep(Duration::from_millis(3)).await;
                version.store(v + 1, SeqCst);
                handle.set(mode_at(v + 2));
                version.store(v + 2, SeqCst);
                v += 2;
            }
        })
    };

    let valid = mint(&valid_claims());
    // A signature segment one character longer: it no longer verifies.
    let invalid = format!("{valid}x");
    let mut tasks = Vec::new();
    for t in 0..8u64 {
        let (version, valid, invalid) = (version.clone(), valid.clone(), invalid.clone());
        tasks.push(tokio::spawn(async move {
            let client = client();
            // (stable requests seen in enforce, in monitor)
            let mut stable = [0u32; 2];
            for i in 0..150u64 {
                let good = (i + t) % 3 == 0;
                let token = if good { &valid } else { &invalid };
                let before = version.load(SeqCst);
                let (status, headers, body) =
                    send(&client, addr, &[("approov-token", token.as_bytes())]).await;
                let after = version.load(SeqCst);
                let rejected = is_rejection_for(INVALID, status, &headers, &body);
                let monitored = is_monitored_for(INVALID, status, &body);
                let verified = status == 200 && &body[..] == b"verified";
                if good {
                    assert!(verified, "a valid token was not let through with claims");
                    continue;
                }
                assert!(
                    rejected || monitored,
                    "an invalid token got {status} {body:?}"
                );
                if before == after && before.is_multiple_of(2) {
                    match mode_at(before) {
                        Mode::Enforce => {
                            assert!(
                                rejected,
                                "monitor behaviour while only enforce was in force"
                            );
                            stable[0] += 1;
                        }
                        _ => {
                            assert!(
                                monitored,
                                "enforce behaviour while only monitor was in force"
                            );
                            stable[1] += 1;
                        }
                    }
                }
            }
            stable
        }));
    }
    let mut stable = [0u32; 2];
    for t in tasks {
        let s = t.await.unwrap();
        stable[0] += s[0];
        stable[1] += s[1];
    }
    done.store(true, SeqCst);
    flipper.await.unwrap();
    assert!(version.load(SeqCst) >= 4, "the mode was never flipped");
    // Both modes were seen in force on their own, so the checks above did bite.
    assert!(stable[0] > 0 && stable[1] > 0, "stable windows: {stable:?}");
}

/// Clones of the handle share one switch, and the layer's services see a change on their next
/// request.
#[tokio::test]
async fn a_cloned_mode_handle_switches_the_running_layer() {
    let config = ApproovConfig::builder()
        .with_secret(SECRET, None)
        .unwrap()
        .build()
        .unwrap();
    let layer = ApproovLayer::new(config);
    let handle = layer.mode_handle().clone();
    let addr = serve(app(layer)).await;
    let client = client();
    let bad: &[(&str, &[u8])] = &[("approov-token", b"not.a.token")];
    const WHY: ApproovErrorKind = ApproovErrorKind::MalformedToken;

    let (status, headers, body) = send(&client, addr, bad).await;
    assert!(
        is_rejection_for(WHY, status, &headers, &body),
        "{status} {headers:?} {body:?}"
    );
    handle.set(Mode::Monitor);
    assert_eq!(handle.get(), Mode::Monitor);
    let (status, _, body) = send(&client, addr, bad).await;
    assert!(is_monitored_for(WHY, status, &body), "{status} {body:?}");
    handle.set(Mode::Enforce);
    let (status, headers, body) = send(&client, addr, bad).await;
    assert!(
        is_rejection_for(WHY, status, &headers, &body),
        "{status} {headers:?} {body:?}"
    );
}
