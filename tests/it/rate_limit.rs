//! `examples/rate_limit.rs` over loopback: per-device quotas keyed by the verified `did`.

#[allow(dead_code)]
#[path = "../../examples/rate_limit.rs"]
mod example;
use crate::loopback;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use http::StatusCode;
use tower::util::MapResponseLayer;
use tower_approov::test_util::TokenBuilder;

const BURST: u32 = 3;
/// Long enough that no quota refills during a test.
const PERIOD: Duration = Duration::from_secs(3600);

async fn start(secret: &[u8]) -> (SocketAddr, example::Limits) {
    let limits = example::limits(BURST, PERIOD);
    let app = example::app(loopback::layer(secret), &limits)
        .layer(MapResponseLayer::new(loopback::expose_reason::<Body>));
    let (listener, addr) = loopback::listener().await;
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    (addr, limits)
}

fn hello(addr: SocketAddr) -> String {
    format!("http://{addr}/api/hello")
}

#[tokio::test]
async fn a_device_gets_429_after_its_quota_while_another_device_still_gets_200() {
    let secret = loopback::secret();
    let (addr, _limits) = start(&secret).await;
    let device_a = TokenBuilder::hs256(&secret)
        .did("device-a")
        .build()
        .unwrap();
    let device_b = TokenBuilder::hs256(&secret)
        .did("device-b")
        .build()
        .unwrap();

    for _ in 0..BURST {
        let response = loopback::send(loopback::get(&hello(addr), Some(&device_a))).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let limited = loopback::send(loopback::get(&hello(addr), Some(&device_a))).await;
    let other = loopback::send(loopback::get(&hello(addr), Some(&device_b))).await;

    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(loopback::reason(&limited), None, "the token was valid");
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(other.status(), StatusCode::OK);
    assert_eq!(loopback::reason(&other), None);
}

#[tokio::test]
async fn a_new_token_of_the_same_device_does_not_reset_its_quota() {
    let secret = loopback::secret();
    let (addr, _limits) = start(&secret).await;

    let mut statuses = Vec::new();
    for _ in 0..=BURST {
        // A fresh token each time (another `exp`): the key is the device, not the token.
        let token = TokenBuilder::hs256(&secret)
            .did("device-c")
            .expires_in(Duration::from_secs(600 + statuses.len() as u64))
            .build()
            .unwrap();
        let response = loopback::send(loopback::get(&hello(addr), Some(&token))).await;
        statuses.push(response.status());
    }

    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401_and_never_reach_the_limiter() {
    let secret = loopback::secret();
    let (addr, limits) = start(&secret).await;
    // Claims the victim's `did`, but signed with another secret: only a verified `did` counts.
    let forged = TokenBuilder::hs256(loopback::secret())
        .did("victim")
        .build()
        .unwrap();

    for _ in 0..(BURST * 3) {
        let missing = loopback::send(loopback::get(&hello(addr), None)).await;
        assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(loopback::reason(&missing), Some("missing_token"));
        assert!(!missing.headers().contains_key("retry-after"));
        let forged = loopback::send(loopback::get(&hello(addr), Some(&forged))).await;
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(loopback::reason(&forged), Some("invalid_signature"));
    }

    // The limiter never saw a key for them...
    assert_eq!(limits.limiter().len(), 0);
    // ...so the real device still has its whole quota.
    let victim = TokenBuilder::hs256(&secret).did("victim").build().unwrap();
    for _ in 0..BURST {
        let response = loopback::send(loopback::get(&hello(addr), Some(&victim))).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(limits.limiter().len(), 1);
}
