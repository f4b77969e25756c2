//! No cached token is accepted that a cache miss would reject (issue 13): for each change of a
//! JWKS served by a real local server (a key removed, a collision, a rotation), a token that
//! passed and sits in the verified-token cache is checked again after the change, next to
//! the answer a configuration without a cache gives. The cache is looked at before and after
//! (issue 25), so these tests fail if caching stops. And a fetched kid-less key that collides
//! with a configured one follows the rule for two configured keys.
#![cfg(all(feature = "jwks-url", feature = "axum", feature = "test-util"))]

use crate::jwks_support;
use crate::keys_support;

use std::time::Duration;

use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::Jwk;
use jwks_support::*;
use keys_support::*;
use tower_approov::test_util::token_cache_len;
use tower_approov::{ApproovConfig, ApproovErrorKind};

const FAST: Duration = Duration::from_millis(20);
const HOUR: Duration = Duration::from_secs(3600);

/// A configuration on `server`'s JWKS, refreshing every 20 ms, with a cache of `cache` tokens.
fn config(server: &JwksServer, cache: usize) -> ApproovConfig {
    ApproovConfig::builder()
        .with_jwks_url(&server.url())
        .with_jwks_refresh_interval(FAST)
        .with_jwks_min_refresh_interval(FAST)
        .with_token_cache_size(cache)
        .build()
        .unwrap()
}

/// Serves `before`, caches `token` (accepted), serves `after`, waits until the change was
/// fetched, and checks that the cached app answers exactly as the uncached one, `expected`.
///
/// Each configuration has a JWKS server of its own: the refresher fetches one at a time, so
/// two more hits on *its* server prove that it processed an answer served after the change.
/// (With one server for both, two hits could both come from the faster refresher.)
async fn cached_token_after_change(
    before: &[Jwk],
    after: &[Jwk],
    token: &str,
    expected: (http::StatusCode, Option<ApproovErrorKind>),
) {
    let (cached_server, uncached_server) = (
        JwksServer::plain(Answer::jwks(jwks(before))),
        JwksServer::plain(Answer::jwks(jwks(before))),
    );
    let cached_config = config(&cached_server, 1000);
    let (cached, uncached) = (app(cached_config.clone()), app(config(&uncached_server, 0)));
    assert_eq!(send(&cached, token).await, OK);
    assert_eq!(
        token_cache_len(&cached_config),
        Some(1),
        "the token is cached"
    );
    assert_eq!(send(&cached, token).await, OK, "the cache hit");
    for server in [&cached_server, &uncached_server] {
        server.set(Answer::jwks(jwks(after)));
    }
    for server in [&cached_server, &uncached_server] {
        let seen = server.hits();
        server.wait_for_hits(seen + 2).await;
    }
    assert_eq!(send(&uncached, token).await, expected, "cache miss");
    assert_eq!(send(&cached, token).await, expected, "after a cache hit");
    assert_eq!(
        token_cache_len(&cached_config),
        Some(0),
        "the entry verified with the old keys is gone"
    );
}

fn p256(kid: Option<&str>) -> Jwk {
    jwk(Algorithm::ES256, &keys().p256, kid, true)
}

fn p256b(kid: Option<&str>) -> Jwk {
    jwk(Algorithm::ES256, &keys().p256b, kid, true)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cached_token_stops_passing_when_its_key_is_removed_from_the_jwks() {
    let token = token(Algorithm::ES256, &keys().p256, Some("a"));
    cached_token_after_change(
        &[p256(Some("a")), p256b(Some("b"))],
        &[p256b(Some("b"))],
        &token,
        rejected(ApproovErrorKind::UnknownKeyId),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cached_token_stops_passing_when_its_kid_is_rotated_to_another_key() {
    // Same kid, new key material: the old token's signature no longer verifies.
    let token = token(Algorithm::ES256, &keys().p256, Some("k"));
    cached_token_after_change(
        &[p256(Some("k"))],
        &[p256b(Some("k"))],
        &token,
        rejected(ApproovErrorKind::InvalidSignature),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cached_token_stops_passing_when_a_colliding_key_shadows_its_key() {
    // A JWK with the same kid and algorithm listed first: the earlier JWK wins, so the key
    // that signed the cached token is no longer in force.
    let token = token(Algorithm::ES256, &keys().p256, Some("k"));
    cached_token_after_change(
        &[p256(Some("k"))],
        &[p256b(Some("k")), p256(Some("k"))],
        &token,
        rejected(ApproovErrorKind::InvalidSignature),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cached_kid_less_token_stops_passing_when_a_second_kid_less_key_makes_it_ambiguous() {
    let token = token(Algorithm::ES256, &keys().p256, None);
    cached_token_after_change(
        &[p256(None)],
        &[p256b(None), p256(None)],
        &token,
        rejected(ApproovErrorKind::InvalidSignature),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fetched_kid_less_key_colliding_with_a_configured_one_is_ignored_with_a_warning() {
    capture_logs();
    // The configured key: kid-less P-256 PEM. The JWKS: another kid-less P-256 key.
    let server = JwksServer::plain(Answer::jwks(jwks(&[p256b(None)])));
    let config = ApproovConfig::builder()
        .with_public_key_pem(keys().p256.public_pem.as_bytes(), None)
        .unwrap()
        .with_jwks_url(&server.url())
        .with_jwks_refresh_interval(HOUR)
        .with_jwks_min_refresh_interval(HOUR)
        .with_token_cache_size(0)
        .build()
        .unwrap();
    let app = app(config);
    // The configured key verifies, as for two configured keys the first one would be the
    // only one (the pair is refused at start-up there).
    assert_eq!(
        send(&app, &token(Algorithm::ES256, &keys().p256, None)).await,
        OK
    );
    assert_eq!(
        send(&app, &token(Algorithm::ES256, &keys().p256b, None)).await,
        rejected(ApproovErrorKind::InvalidSignature)
    );
    let host = server.addr.to_string();
    let logs = logs();
    assert!(
        logs.lines().any(|l| l.contains("WARN")
            && l.contains(&host)
            && l.contains("it is ignored and the configured key verifies")),
        "{logs}"
    );
}

#[test]
fn two_configured_kid_less_keys_of_one_algorithm_are_a_config_error() {
    // The rule the fetched keys follow.
    let result = ApproovConfig::builder()
        .with_public_key_pem(keys().p256.public_pem.as_bytes(), None)
        .unwrap()
        .with_public_key_pem(keys().p256b.public_pem.as_bytes(), None)
        .unwrap()
        .build();
    assert!(matches!(
        result,
        Err(tower_approov::ConfigError::Invalid {
            variable: "kid",
            ..
        })
    ));
}
