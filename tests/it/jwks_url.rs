//! Keys from a JWKS URL (feature `jwks-url`), against the JWKS test server
//! (`tests/jwks_support`) on loopback, whose answers the tests control and whose hits they
//! count.
//!
//! No test asserts on time, and none sleeps to show that something did not happen. Where a
//! test must know that a refresh happened, it waits for the server's n-th hit: the refresher
//! fetches one at a time, so hit `n + 1` proves that the answer to hit `n` was fully
//! processed. Where it must know that no more fetches can come, it waits for the refresher's
//! own "stopping" log line, after which none can.
#![cfg(all(feature = "jwks-url", feature = "axum"))]

use crate::jwks_support;
use crate::keys_support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use http::HeaderMap;
use jsonwebtoken::Algorithm;
use jwks_support::*;
use keys_support::*;
use tower::Layer as _;
use tower_approov::{
    ApproovConfig, ApproovConfigBuilder, ApproovErrorKind, ApproovLayer, ConfigError,
};

fn key_a() -> &'static TestKey {
    &keys().p256
}

fn key_b() -> &'static TestKey {
    &keys().p256b
}

fn jwks_a() -> Vec<u8> {
    jwks(&[jwk(Algorithm::ES256, key_a(), Some("a"), true)])
}

fn jwks_b() -> Vec<u8> {
    jwks(&[jwk(Algorithm::ES256, key_b(), Some("b"), true)])
}

fn jwks_a_b() -> Vec<u8> {
    jwks(&[
        jwk(Algorithm::ES256, key_a(), Some("a"), true),
        jwk(Algorithm::ES256, key_b(), Some("b"), true),
    ])
}

fn token_a() -> String {
    token(Algorithm::ES256, key_a(), Some("a"))
}

fn token_b() -> String {
    token(Algorithm::ES256, key_b(), Some("b"))
}

/// A config on the server's URL that refreshes every `refresh`, early at most once per `min`.
fn remote(server: &JwksServer, refresh: Duration, min: Duration) -> ApproovConfigBuilder {
    builder()
        .with_jwks_url(&server.url())
        .with_jwks_refresh_interval(refresh)
        .with_jwks_min_refresh_interval(min)
}

const FAST: Duration = Duration::from_millis(20);
const HOUR: Duration = Duration::from_secs(3600);

/// Keeps sending `token` until it is accepted (a liveness wait bounded by a deadline).
async fn eventually_ok(app: &axum::Router, token: &str) {
    let mut last = None;
    let deadline = Instant::now() + LIVENESS;
    while Instant::now() < deadline {
        let answer = send(app, token).await;
        if answer == OK {
            return;
        }
        last = Some(answer);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never accepted; last answer {last:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_from_a_jwks_url_verify_right_after_build() {
    let server = JwksServer::plain(Answer::jwks(jwks_a()));
    let config = remote(&server, HOUR, HOUR).build().unwrap();
    assert_eq!(send(&app(config), &token_a()).await, OK);
    assert_eq!(server.hits(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_from_a_jwks_url_set_in_env_verify() {
    let server = JwksServer::plain(Answer::jwks(jwks_a()));
    let vars: HashMap<&str, String> = [("APPROOV_JWKS_URL", server.url())].into();
    let config = ApproovConfigBuilder::from_env_with(|name| vars.get(name).cloned().map(Ok))
        .unwrap()
        .with_token_cache_size(0)
        .build()
        .unwrap();
    assert_eq!(send(&app(config), &token_a()).await, OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kid_published_later_is_accepted_without_a_restart() {
    let server = JwksServer::plain(Answer::jwks(jwks_a()));
    let app = app(remote(&server, HOUR, FAST).build().unwrap());
    server.set(Answer::jwks(jwks_a_b()));
    // The first request with the new kid asks for an early fetch; a later one finds the key.
    eventually_ok(&app, &token_b()).await;
    assert_eq!(send(&app, &token_a()).await, OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_key_set_of_another_algorithm_is_picked_up_by_its_first_tokens() {
    let server = JwksServer::plain(Answer::jwks(jwks_a()));
    let app = app(remote(&server, HOUR, FAST).build().unwrap());
    let rsa = &keys().rsa;
    server.set(Answer::jwks(jwks(&[
        jwk(Algorithm::ES256, key_a(), Some("a"), true),
        jwk(Algorithm::RS256, rsa, Some("r"), true),
    ])));
    let token = token(Algorithm::RS256, rsa, Some("r"));
    // No RSA key yet: the unknown kid asks for a fetch rather than refusing RS256 for good.
    assert_eq!(
        send(&app, &token).await,
        rejected(ApproovErrorKind::UnknownKeyId)
    );
    eventually_ok(&app, &token).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hs256_token_with_an_unknown_kid_is_refused_for_its_algorithm() {
    let server = JwksServer::plain(Answer::jwks(jwks_a()));
    let app = app(remote(&server, HOUR, FAST).build().unwrap());
    assert_eq!(
        send(&app, &hs256_token(&key_a().public_der, Some("new"))).await,
        rejected(ApproovErrorKind::AlgorithmNotAllowed)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn periodic_refresh_picks_up_a_new_kid() {
    let server = JwksServer::plain(Answer::jwks(jwks_a()));
    let app = app(remote(&server, FAST, HOUR).build().unwrap());
    server.set(Answer::jwks(jwks_a_b()));
    server.wait_for_hits(3).await;
    // Hit 3 proves the answer to hit 2 (with kid b) was swapped in, with no early fetch
    // possible (the minimum interval is an hour and nothing asked).
    assert_eq!(send(&app, &token_b()).await, OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn old_keys_keep_working_when_the_server_goes_down() {
    let server = JwksServer::plain(Answer::jwks(jwks_a()));
    // No token cache: each acceptance below is a verification with the key in force.
    let app = app(remote(&server, FAST, FAST)
        .with_token_cache_size(0)
        .build()
        .unwrap());
    server.wait_for_hits(2).await;
    // Every fetch from now on is read, then the connection is closed without an answer.
    server.set(Answer::hang_up());
    let seen = server.hits();
    // Three refreshes were tried against the dead server and failed (the first of them may
    // have read the old answer; the two after it cannot have).
    server.wait_for_hits(seen + 3).await;
    assert_eq!(send(&app, &token_a()).await, OK);
    assert_eq!(
        send(&app, &token_b()).await,
        rejected(ApproovErrorKind::UnknownKeyId)
    );
}

/// Serves `bad` after the first good answer, waits until it was processed, and checks that
/// kid `a` still verifies and kid `b` (only in `bad`, if at all) does not.
async fn bad_answer_keeps_the_last_good_keys(bad: Answer, timeout: Option<Duration>) {
    let server = JwksServer::plain(Answer::jwks(jwks_a()));
    let mut builder = remote(&server, FAST, FAST);
    if let Some(timeout) = timeout {
        builder = builder.with_jwks_fetch_timeout(timeout);
    }
    let app = app(builder.build().unwrap());
    assert_eq!(send(&app, &token_a()).await, OK);
    server.set(bad);
    let seen = server.hits();
    server.wait_for_hits(seen + 2).await;
    assert_eq!(send(&app, &token_a()).await, OK);
    assert_eq!(
        send(&app, &token_b()).await,
        rejected(ApproovErrorKind::UnknownKeyId)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_keeps_the_last_good_keys() {
    bad_answer_keeps_the_last_good_keys(Answer::jwks(b"<html>not json</html>".to_vec()), None)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_key_set_keeps_the_last_good_keys() {
    bad_answer_keeps_the_last_good_keys(Answer::jwks(br#"{"keys":[]}"#.to_vec()), None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_error_keeps_the_last_good_keys() {
    let answer = Answer {
        status: 500,
        ..Answer::jwks(jwks_b())
    };
    bad_answer_keeps_the_last_good_keys(answer, None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_keeps_the_last_good_keys_and_is_not_followed() {
    let elsewhere = JwksServer::plain(Answer::jwks(jwks_b()));
    bad_answer_keeps_the_last_good_keys(Answer::redirect(&elsewhere.url()), None).await;
    assert_eq!(elsewhere.hits(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_body_keeps_the_last_good_keys() {
    // A valid JWKS with kid b, padded with whitespace to just over 1 MiB: only the size limit
    // can make the refresher refuse it.
    let mut body = jwks_b();
    let close = body.pop().unwrap();
    body.resize(tower_approov::JWKS_MAX_BODY_BYTES as usize, b' ');
    body.push(close);
    assert!(body.len() as u64 > tower_approov::JWKS_MAX_BODY_BYTES);
    bad_answer_keeps_the_last_good_keys(Answer::jwks(body), None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_of_exactly_the_limit_is_accepted() {
    let server = JwksServer::plain(Answer::jwks(jwks_a()));
    let app = app(remote(&server, FAST, HOUR).build().unwrap());
    let mut body = jwks_a_b();
    let close = body.pop().unwrap();
    body.resize(tower_approov::JWKS_MAX_BODY_BYTES as usize - 1, b' ');
    body.push(close);
    server.set(Answer::jwks(body));
    let seen = server.hits();
    server.wait_for_hits(seen + 2).await;
    assert_eq!(send(&app, &token_b()).await, OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_server_times_out_and_keeps_the_last_good_keys() {
    let slow = Answer::jwks(jwks_b()).with_delay(Duration::from_secs(30));
    // Hit n + 2 can only come after the fetch of hit n + 1 gave up, long before 30 s.
    bad_answer_keeps_the_last_good_keys(slow, Some(Duration::from_millis(100))).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn symmetric_keys_are_refused_from_a_url() {
    let secret = b"a-symmetric-secret-that-must-not-be-public!";
    let oct = serde_json::json!({
        "kty": "oct", "kid": "hs", "alg": "HS256",
        "k": base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, secret),
    });
    let doc = serde_json::json!({ "keys": [oct, jwk(Algorithm::ES256, key_a(), Some("a"), true)] });
    let server = JwksServer::plain(Answer::jwks(serde_json::to_vec(&doc).unwrap()));
    let app = app(remote(&server, HOUR, HOUR).build().unwrap());
    assert_eq!(send(&app, &token_a()).await, OK);
    assert_eq!(
        send(&app, &hs256_token(secret, Some("hs"))).await,
        rejected(ApproovErrorKind::AlgorithmNotAllowed)
    );
}

/// 200 concurrent requests, each with a kid nobody has.
async fn unknown_kid_storm(app: &axum::Router, round: usize) {
    let requests = (0..200).map(|i| {
        let app = app.clone();
        tokio::spawn(async move {
            let token = token(Algorithm::ES256, key_a(), Some(&format!("x{round}-{i}")));
            send(&app, &token).await
        })
    });
    for answer in futures_join(requests).await {
        assert_eq!(answer, rejected(ApproovErrorKind::UnknownKeyId));
    }
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.unwrap());
    }
    out
}

/// Waits for the refresher of the JWKS at `server` to log that it stopped: from then on it
/// fetches nothing more, so the server's hits are final.
async fn refresher_stopped(server: &JwksServer) {
    let host = server.addr.to_string();
    wait_for_log(|l| l.contains(&host) && l.contains("Approov JWKS refresher stopping")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_kid_storm_causes_one_fetch_per_interval() {
    capture_logs();
    let server = JwksServer::plain(Answer::jwks(jwks_a()));
    let app = app(remote(&server, HOUR, HOUR).build().unwrap());
    assert_eq!(server.hits(), 1);
    unknown_kid_storm(&app, 1).await;
    server.wait_for_hits(2).await;
    unknown_kid_storm(&app, 2).await;
    // A fetch asked for by the second storm was queued during its requests, which are all
    // answered. Dropping the last layer stops the refresher, but only after it has taken
    // whatever was queued: once it says it stopped, every fetch it was asked for is done.
    drop(app);
    refresher_stopped(&server).await;
    assert_eq!(server.hits(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn never_fetched_keys_reject_with_keys_unavailable() {
    // A port nobody listens on: connections are refused at once.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = builder()
        .with_jwks_url(&format!("http://{addr}/jwks.json"))
        .build()
        .unwrap();
    assert_eq!(
        send(&app(config), &token_a()).await,
        rejected(ApproovErrorKind::KeysUnavailable)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn never_fetched_keys_recover_once_the_server_answers() {
    let server = JwksServer::plain(Answer::status(503));
    let app = app(remote(&server, HOUR, FAST).build().unwrap());
    assert_eq!(
        send(&app, &token_a()).await,
        rejected(ApproovErrorKind::KeysUnavailable)
    );
    server.set(Answer::jwks(jwks_a()));
    eventually_ok(&app, &token_a()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_older_than_the_maximum_staleness_are_dropped_until_a_fetch_succeeds_again() {
    capture_logs();
    let server = JwksServer::plain(Answer::jwks(jwks_a()));
    // No periodic refresh and no early fetch for an hour, but keys older than 400 ms are too
    // old: the refresher fetches again at 200 ms (half of it) on its own.
    let layer = ApproovLayer::new(
        remote(&server, HOUR, HOUR)
            .with_jwks_max_staleness(Duration::from_millis(400))
            .build()
            .unwrap(),
    );
    let app = app(layer.config().clone());
    // From now on every fetch fails.
    server.set(Answer::status(503));
    let host = server.addr.to_string();
    let old = |l: &str| {
        l.contains("WARN") && l.contains(&host) && l.contains("Approov JWKS keys getting old")
    };
    wait_for_log(old).await;
    let dropped = wait_for_log(|l| {
        l.contains("WARN") && l.contains(&host) && l.contains("Approov JWKS keys dropped")
    })
    .await;
    assert!(dropped.contains("max_staleness=400ms"), "{dropped}");
    // Warned before the drop, and rate-limited: from 200 ms on, at most once per 50 ms.
    let warnings = logs().lines().filter(|l| old(l)).count();
    assert!((1..=4).contains(&warnings), "{warnings} warnings");
    assert!(!layer.keys_ready());

    server.set(Answer::jwks(jwks_a()));
    // Refused; and the request asks for an early fetch (the first one asked for, so not held
    // back by the minimum interval) ...
    assert_eq!(
        send(&app, &token_a()).await,
        rejected(ApproovErrorKind::KeysUnavailable)
    );
    // ... which succeeds and restores everything.
    let deadline = Instant::now() + LIVENESS;
    while !layer.keys_ready() {
        assert!(Instant::now() < deadline, "the keys never came back");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(send(&app, &token_a()).await, OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_keeps_working_while_the_jwks_was_never_fetched() {
    let server = JwksServer::plain(Answer::status(503));
    let secret = b"the-account-secret-kept-during-migration!";
    let config = remote(&server, HOUR, HOUR)
        .with_secret(secret, None)
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(send(&app(config), &hs256_token(secret, None)).await, OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn cache_control_max_age_shortens_the_refresh_interval() {
    let server = JwksServer::plain(Answer::jwks(jwks_a()).with_cache_control("public, max-age=1"));
    // Without max-age the next fetch would be in an hour, and the minimum is 20 ms: hits 2
    // and 3 at all show the hour was shortened, and a second between them shows it was
    // shortened to max-age (neither to the minimum nor to a tight loop). A lower bound only,
    // which a slow machine can only make truer.
    let _config = remote(&server, HOUR, FAST).build().unwrap();
    server.wait_for_hits(3).await;
    let gaps = server.gaps();
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_secs(1)),
        "{gaps:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_max_age_of_zero_is_raised_to_the_minimum_refresh_interval() {
    let server = JwksServer::plain(Answer::jwks(jwks_a()).with_cache_control("public, max-age=0"));
    let min = Duration::from_millis(200);
    let _config = remote(&server, HOUR, min).build().unwrap();
    server.wait_for_hits(4).await;
    let gaps = server.gaps();
    assert!(gaps.iter().all(|g| *g >= min), "{gaps:?}");
}

#[cfg(feature = "test-util")]
#[tokio::test(flavor = "multi_thread")]
async fn a_removed_kid_no_longer_verifies_tokens_in_the_cache() {
    use tower_approov::test_util::token_cache_len;
    let server = JwksServer::plain(Answer::jwks(jwks_a_b()));
    let config = remote(&server, FAST, HOUR)
        .with_token_cache_size(100)
        .build()
        .unwrap();
    let app = app(config.clone());
    let token = token_a();
    assert_eq!(send(&app, &token).await, OK);
    assert_eq!(token_cache_len(&config), Some(1), "the token is cached");
    assert_eq!(send(&app, &token).await, OK);
    server.set(Answer::jwks(jwks_b()));
    let seen = server.hits();
    server.wait_for_hits(seen + 2).await;
    assert_eq!(
        send(&app, &token).await,
        rejected(ApproovErrorKind::UnknownKeyId)
    );
    assert_eq!(token_cache_len(&config), Some(0), "and no longer cached");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_refresher_stops_when_the_last_layer_is_dropped() {
    capture_logs();
    let server = JwksServer::plain(Answer::jwks(jwks_a()));
    let config = remote(&server, FAST, FAST).build().unwrap();
    let layer = ApproovLayer::new(config);
    let service = layer.layer(tower::service_fn(
        |_req: http::Request<axum::body::Body>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(axum::body::Body::empty()))
        },
    ));
    server.wait_for_hits(3).await;
    drop(layer);
    // The service still holds the configuration: refreshes go on.
    let seen = server.hits();
    server.wait_for_hits(seen + 2).await;
    drop(service);
    let stopped_at = server.hits();
    refresher_stopped(&server).await;
    // At most the fetch that was in flight when the service was dropped.
    assert!(
        server.hits() <= stopped_at + 1,
        "{} > {stopped_at} + 1",
        server.hits()
    );
}

/// No tokio runtime at all: the refresher is a plain thread with a blocking client.
#[test]
fn the_refresher_works_without_a_tokio_runtime() {
    let server = JwksServer::plain(Answer::jwks(jwks_a()));
    let config = remote(&server, HOUR, FAST).build().unwrap();
    let service =
        ApproovLayer::new(config).layer(tower::service_fn(|_req: http::Request<String>| async {
            Ok::<_, std::convert::Infallible>(())
        }));
    server.set(Answer::jwks(jwks_a_b()));
    let mut headers = HeaderMap::new();
    headers.insert("approov-token", token_b().parse().unwrap());
    let mut accepted = false;
    let deadline = Instant::now() + LIVENESS;
    while Instant::now() < deadline {
        if service.check(&headers).is_ok() {
            accepted = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(accepted);
    assert!(server.hits() >= 2);
}

#[test]
fn plain_http_to_a_non_loopback_host_is_a_config_error() {
    let error = builder()
        .with_jwks_url("http://keys.example.com/jwks.json")
        .build()
        .unwrap_err();
    assert!(matches!(error, ConfigError::Jwks { .. }), "{error:?}");
}

#[test]
fn a_jwks_url_without_https_or_http_is_a_config_error() {
    let error = builder()
        .with_jwks_url("ftp://keys.example.com/jwks.json")
        .build()
        .unwrap_err();
    assert!(matches!(error, ConfigError::Jwks { .. }), "{error:?}");
}

#[test]
fn a_config_with_only_a_jwks_url_has_a_key_source() {
    // Builds although the fetch fails: nothing listens on that port any more.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config: Result<ApproovConfig, _> = builder()
        .with_jwks_url(&format!("http://{addr}/jwks.json"))
        .build();
    assert!(config.is_ok());
}
