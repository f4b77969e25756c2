//! The run-time enforcement switch (`ModeHandle`) under concurrent requests.

mod security_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use security_support::{SECRET, client, get as send, is_rejection, mint, serve, valid_claims};
use tower_approov::{ApproovClaims, ApproovConfig, ApproovLayer, Mode};

async fn handler(claims: Option<ApproovClaims>) -> &'static str {
    if claims.is_some() {
        "verified"
    } else {
        "monitored"
    }
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
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mode_flips_under_concurrent_requests_answer_with_a_mode_in_force() {
    let config = ApproovConfig::builder()
        .with_secret(SECRET, None)
        .unwrap()
        .build()
        .unwrap();
    let layer = ApproovLayer::new(config);
    let handle = layer.mode_handle();
    let addr = serve(Router::new().route("/", get(handler)).layer(layer)).await;

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
                let rejected = is_rejection(status, &headers, &body);
                let monitored = status == 200 && &body[..] == b"monitored";
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
    let addr = serve(Router::new().route("/", get(handler)).layer(layer)).await;
    let client = client();
    let bad: &[(&str, &[u8])] = &[("approov-token", b"not.a.token")];

    let (status, headers, body) = send(&client, addr, bad).await;
    assert!(is_rejection(status, &headers, &body));
    handle.set(Mode::Monitor);
    assert_eq!(handle.get(), Mode::Monitor);
    let (status, _, body) = send(&client, addr, bad).await;
    assert_eq!((status.as_u16(), &body[..]), (200, &b"monitored"[..]));
    handle.set(Mode::Enforce);
    let (status, headers, body) = send(&client, addr, bad).await;
    assert!(is_rejection(status, &headers, &body));
}
