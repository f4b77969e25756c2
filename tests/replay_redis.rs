//! Replay protection in Redis (issue 22), against a real `redis-server` (Debian's package)
//! started by the test on a free loopback port: two instances of an app share one store; the
//! other form of an ECDSA signature; fresh signatures; the keys' expiry; the store killed or
//! paused under each failure policy; readiness. Bases are written out by hand
//! (`tests/replay_support`). And the replay cases of the front doors' table
//! (`tests/it/front_doors`), with the store in Redis, through the axum layer and the actix-web
//! middleware.
//!
//! A binary of its own: it installs a process-wide metrics recorder, to count the requests let
//! through while the store is down.

#[path = "common/mod.rs"]
mod common;
// The whole table comes along; this binary runs only its replay cases, in Redis.
#[allow(dead_code)]
#[path = "it/front_doors"]
mod front_doors {
    #[cfg(feature = "actix")]
    pub mod actix;
    pub mod axum;
    pub mod cases;
    pub mod runner;
}
#[path = "redis_support/mod.rs"]
mod redis_support;
#[path = "replay_support/mod.rs"]
mod replay_support;
#[path = "sdk_support/mod.rs"]
mod sdk_support;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use front_doors::runner::run_replay_cases_in_redis;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use redis_support::RedisServer;
use replay_support::SignedGet;
use sdk_support::{config, serve};
use tower_approov::ApproovErrorKind as Kind;
use tower_approov::test_util::InstallationKey;

fn snapshotter() -> &'static Snapshotter {
    static SNAPSHOTTER: OnceLock<Snapshotter> = OnceLock::new();
    SNAPSHOTTER.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder.install().unwrap();
        snapshotter
    })
}

/// The requests let through unremembered so far.
fn unremembered() -> u64 {
    snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .find(|(key, ..)| key.key().name() == "approov_replay_unremembered_total")
        .map_or(0, |(.., value)| match value {
            DebugValue::Counter(n) => n,
            _ => 0,
        })
}

const REQUIRE: (&str, &str) = ("APPROOV_MESSAGE_SIGNING", "require");
const ON: (&str, &str) = ("APPROOV_REPLAY_PROTECTION", "on");

/// An app whose replay store is `redis`, with these more variables.
async fn instance(redis: &RedisServer, more: &[(&'static str, &str)]) -> SocketAddr {
    let url = redis.url();
    let mut vars = vec![REQUIRE, ON, ("APPROOV_REPLAY_REDIS_URL", url.as_str())];
    vars.extend_from_slice(more);
    serve(config(&vars).unwrap()).await
}

#[tokio::test]
async fn two_instances_sharing_one_store_refuse_a_request_replayed_from_one_to_the_other() {
    let redis = RedisServer::start();
    let (first, second) = (instance(&redis, &[]).await, instance(&redis, &[]).await);
    let key = InstallationKey::generate().unwrap();
    let request = SignedGet::install(&key);
    request.send(first).await.assert_ok("");
    request
        .send(second)
        .await
        .assert_rejected(Kind::SignatureReplayed);
    request
        .send(first)
        .await
        .assert_rejected(Kind::SignatureReplayed);
}

#[tokio::test]
async fn the_other_form_of_an_ecdsa_signature_replayed_to_another_instance_is_refused() {
    let redis = RedisServer::start();
    let (first, second) = (instance(&redis, &[]).await, instance(&redis, &[]).await);
    let key = InstallationKey::generate().unwrap();
    let request = SignedGet::install(&key);
    request.send(first).await.assert_ok("");
    request
        .with_other_form()
        .send(second)
        .await
        .assert_rejected(Kind::SignatureReplayed);
}

#[tokio::test]
async fn a_fresh_signature_of_the_same_request_passes_on_either_instance() {
    let redis = RedisServer::start();
    let (first, second) = (instance(&redis, &[]).await, instance(&redis, &[]).await);
    let key = InstallationKey::generate().unwrap();
    let token = sdk_support::token(&key);
    SignedGet::install_with(&key, token.clone())
        .send(first)
        .await
        .assert_ok("");
    SignedGet::install_with(&key, token)
        .send(second)
        .await
        .assert_ok("");
}

#[tokio::test]
async fn every_stored_key_expires_when_its_signature_can_no_longer_be_accepted() {
    let redis = RedisServer::start();
    let addr = instance(&redis, &[("APPROOV_REPLAY_KEY_PREFIX", "shop:replay:")]).await;
    let key = InstallationKey::generate().unwrap();
    let before_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let request = SignedGet::install(&key);
    request.send(addr).await.assert_ok("");
    // The SDK's window: `expires` is `created` + 15 s, and the default clock skew is 30 s. The
    // key lives through its last accepted instant (+1 ms), and no longer.
    let created = request.created();
    let keys = redis.keys("shop:replay:");
    assert_eq!(keys.len(), 1, "{keys:?}");
    let (name, expires_at) = &keys[0];
    assert_eq!(name.len(), "shop:replay:".len() + 64, "{name}");
    assert_eq!(*expires_at, (created + 15 + 30) * 1000 + 1);
    assert!(*expires_at > before_ms, "{expires_at} <= {before_ms}");
    // Nothing under the default prefix.
    assert!(redis.keys("approov:replay:").is_empty());
}

#[tokio::test]
async fn with_a_maximum_age_shorter_than_expires_the_key_expires_with_the_maximum_age() {
    let redis = RedisServer::start();
    let addr = instance(&redis, &[("APPROOV_SIGNATURE_MAX_AGE_SECONDS", "5")]).await;
    let key = InstallationKey::generate().unwrap();
    let request = SignedGet::install(&key);
    request.send(addr).await.assert_ok("");
    let created = request.created();
    let keys = redis.keys("approov:replay:");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].1, (created + 5 + 30) * 1000 + 1);
}

#[tokio::test]
async fn unsigned_requests_never_touch_the_store() {
    let redis = RedisServer::start();
    let url = redis.url();
    let addr = serve(
        config(&[
            ("APPROOV_MESSAGE_SIGNING", "verify"),
            ON,
            ("APPROOV_REPLAY_REDIS_URL", url.as_str()),
        ])
        .unwrap(),
    )
    .await;
    let key = InstallationKey::generate().unwrap();
    let token = sdk_support::token(&key);
    for _ in 0..3 {
        sdk_support::raw(
            addr,
            "GET /v1/orders HTTP/1.1",
            &[("Host", "api.example.com"), ("Approov-Token", &token)],
            b"",
        )
        .await
        .assert_ok("");
    }
    assert!(redis.keys("").is_empty());
}

#[tokio::test]
async fn with_the_store_down_signed_requests_are_refused_and_unsigned_ones_pass() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    let config = config(&[
        ("APPROOV_MESSAGE_SIGNING", "verify"),
        ON,
        ("APPROOV_REPLAY_REDIS_URL", url.as_str()),
    ])
    .unwrap();
    let addr = serve(config.clone()).await;
    let key = InstallationKey::generate().unwrap();
    SignedGet::install(&key).send(addr).await.assert_ok("");
    assert!(config.ready().await);
    redis.kill();
    SignedGet::install(&key)
        .send(addr)
        .await
        .assert_rejected(Kind::ReplayStoreUnavailable);
    assert!(!config.ready().await, "ready while the store is down");
    let token = sdk_support::token(&key);
    sdk_support::raw(
        addr,
        "GET /v1/orders HTTP/1.1",
        &[("Host", "api.example.com"), ("Approov-Token", &token)],
        b"",
    )
    .await
    .assert_ok("");
}

#[tokio::test]
async fn with_the_store_down_and_the_allow_policy_signed_requests_pass_unremembered_and_counted() {
    let mut redis = RedisServer::start();
    let addr = instance(&redis, &[("APPROOV_REPLAY_STORE_FAILURE", "allow")]).await;
    let key = InstallationKey::generate().unwrap();
    let request = SignedGet::install(&key);
    request.send(addr).await.assert_ok("");
    redis.kill();
    let before = unremembered();
    // Not remembered, so a replay passes too while the store is down: that is the policy.
    request.send(addr).await.assert_ok("");
    SignedGet::install(&key).send(addr).await.assert_ok("");
    assert_eq!(unremembered() - before, 2);
}

#[tokio::test]
async fn a_store_that_stops_answering_is_given_up_at_the_timeout_and_readiness_follows() {
    let redis = RedisServer::start();
    let url = redis.url();
    let config = config(&[
        REQUIRE,
        ON,
        ("APPROOV_REPLAY_REDIS_URL", url.as_str()),
        ("APPROOV_REPLAY_REDIS_TIMEOUT_MS", "300"),
    ])
    .unwrap();
    let addr = serve(config.clone()).await;
    let key = InstallationKey::generate().unwrap();
    SignedGet::install(&key).send(addr).await.assert_ok("");
    assert!(config.ready().await);
    // Every client paused for 20 s: the store takes commands and answers none.
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(20_000)
        .arg("ALL")
        .exec(&mut redis.connection())
        .unwrap();
    let started = Instant::now();
    SignedGet::install(&key)
        .send(addr)
        .await
        .assert_rejected(Kind::ReplayStoreUnavailable);
    assert!(
        !config.ready().await,
        "ready while the store does not answer"
    );
    // The answers came long before the pause ends: the timeout, not the store, ended them.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .exec(&mut redis.connection())
        .unwrap();
    // Answering again: ready, and signed requests pass.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !config.ready().await {
        assert!(Instant::now() < deadline, "not ready again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    SignedGet::install(&key).send(addr).await.assert_ok("");
}

#[tokio::test]
async fn a_store_that_was_down_at_start_is_used_once_it_answers() {
    // Nothing listens at first: the store is not ready, and signed requests are refused.
    let mut redis = RedisServer::start();
    let url = redis.url();
    redis.kill();
    let config = config(&[REQUIRE, ON, ("APPROOV_REPLAY_REDIS_URL", url.as_str())]).unwrap();
    let addr = serve(config.clone()).await;
    let key = InstallationKey::generate().unwrap();
    assert!(!config.ready().await);
    SignedGet::install(&key)
        .send(addr)
        .await
        .assert_rejected(Kind::ReplayStoreUnavailable);
    // The same port, a new server: the connection manager reconnects.
    let _restarted = RedisServer::on_port(redis.port);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !config.ready().await {
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    SignedGet::install(&key).send(addr).await.assert_ok("");
}

#[tokio::test]
async fn every_replay_case_of_the_table_is_answered_as_written_through_the_axum_layer_with_the_store_in_redis()
 {
    let redis = RedisServer::start();
    run_replay_cases_in_redis::<front_doors::axum::Axum>(&redis.url(), || {
        redis.keys("approov:replay:").len()
    })
    .await;
}

#[cfg(feature = "actix")]
#[tokio::test]
async fn every_replay_case_of_the_table_is_answered_as_written_through_the_actix_middleware_with_the_store_in_redis()
 {
    let redis = RedisServer::start();
    run_replay_cases_in_redis::<front_doors::actix::Actix>(&redis.url(), || {
        redis.keys("approov:replay:").len()
    })
    .await;
}
