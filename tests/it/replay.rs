//! Replay protection with the store in memory (issue 22): a signed request sent again is
//! refused, its other ECDSA form too; a fresh signature passes; a request refused for another
//! reason, an unsigned one and a failover token remember nothing. Over loopback, with bases
//! written out by hand (`tests/replay_support`).

use crate::replay_support::SignedGet;
use crate::sdk_support::{self, config, serve};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};
use tower_approov::test_util::InstallationKey;
use tower_approov::{
    ApproovConfig, ApproovErrorKind as Kind, ConfigError, MessageSigning, ReplayConfig,
    SigningConfig,
};

const REQUIRE: (&str, &str) = ("APPROOV_MESSAGE_SIGNING", "require");
const ON: (&str, &str) = ("APPROOV_REPLAY_PROTECTION", "on");

#[tokio::test]
async fn a_signed_request_sent_twice_is_refused_the_second_time_as_replayed() {
    let addr = serve(config(&[REQUIRE, ON]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let request = SignedGet::install(&key);
    request.send(addr).await.assert_ok("");
    request
        .send(addr)
        .await
        .assert_rejected(Kind::SignatureReplayed);
    request
        .send(addr)
        .await
        .assert_rejected(Kind::SignatureReplayed);
}

#[tokio::test]
async fn without_replay_protection_the_same_signed_request_passes_twice() {
    let addr = serve(config(&[REQUIRE]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let request = SignedGet::install(&key);
    request.send(addr).await.assert_ok("");
    request.send(addr).await.assert_ok("");
}

#[tokio::test]
async fn the_other_valid_form_of_an_ecdsa_signature_is_the_same_signature() {
    let key = InstallationKey::generate().unwrap();
    let request = SignedGet::install(&key);
    let other = request.with_other_form();
    assert_ne!(request.signature, other.signature);
    // The other form verifies on its own: a server that has seen neither takes it.
    let fresh = serve(config(&[REQUIRE, ON]).unwrap()).await;
    other.send(fresh).await.assert_ok("");
    // Sent after the original, in either order, it is a replay.
    let addr = serve(config(&[REQUIRE, ON]).unwrap()).await;
    request.send(addr).await.assert_ok("");
    other
        .send(addr)
        .await
        .assert_rejected(Kind::SignatureReplayed);
    let addr = serve(config(&[REQUIRE, ON]).unwrap()).await;
    other.send(addr).await.assert_ok("");
    request
        .send(addr)
        .await
        .assert_rejected(Kind::SignatureReplayed);
}

#[tokio::test]
async fn a_fresh_signature_of_the_same_request_passes() {
    let addr = serve(config(&[REQUIRE, ON]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let token = sdk_support::token(&key);
    let first = SignedGet::install_with(&key, token.clone());
    first.send(addr).await.assert_ok("");
    // The app signs the same request again: ECDSA draws a new nonce, so a new signature.
    let again = SignedGet::install_with(&key, token);
    assert_ne!(first.signature, again.signature);
    again.send(addr).await.assert_ok("");
}

#[tokio::test]
async fn one_installations_signature_is_never_taken_for_anothers() {
    let addr = serve(config(&[REQUIRE, ON]).unwrap()).await;
    for _ in 0..3 {
        let key = InstallationKey::generate().unwrap();
        SignedGet::install(&key).send(addr).await.assert_ok("");
    }
}

#[tokio::test]
async fn an_account_signature_sent_twice_is_refused_the_second_time_as_replayed() {
    let key = b"an-account-message-signing-key-of-64-characters-as-approov-mints";
    let addr = serve(
        config(&[
            REQUIRE,
            ON,
            (
                "APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_RAW",
                std::str::from_utf8(key).unwrap(),
            ),
            ("APPROOV_ACCOUNT_MESSAGE_SIGNING_KEY_ID", "acct01"),
        ])
        .unwrap(),
    )
    .await;
    let request = SignedGet::account(key, "acct01");
    request.send(addr).await.assert_ok("");
    request
        .send(addr)
        .await
        .assert_rejected(Kind::SignatureReplayed);
}

/// The header lines of a signed POST covering `content-digest` of `body`, signed once.
fn signed_post(key: &InstallationKey, body: &[u8]) -> Vec<(&'static str, String)> {
    let token = sdk_support::token(key);
    let params =
        sdk_support::sdk_params(r#""@method" "@target-uri" "approov-token" "content-digest""#);
    let digest = format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)));
    let base = format!(
        "\"@method\": POST\n\"@target-uri\": https://api.example.com/orders\n\
         \"approov-token\": {token}\n\"content-digest\": {digest}\n\
         \"@signature-params\": {params}"
    );
    let (input, signature) = sdk_support::signature_headers(key, &params, &base, false);
    vec![
        ("Host", "api.example.com".to_owned()),
        ("Approov-Token", token),
        ("Content-Digest", digest),
        ("Signature-Input", input),
        ("Signature", signature),
    ]
}

#[tokio::test]
async fn a_request_refused_for_another_reason_burns_nothing() {
    let addr = serve(config(&[REQUIRE, ON]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let headers = signed_post(&key, b"{\"id\":1}");
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let send =
        |body: &'static [u8]| sdk_support::raw(addr, "POST /orders HTTP/1.1", &headers, body);
    // The signature verifies; the body does not match its digest: refused, not remembered.
    send(b"{\"id\":2}")
        .await
        .assert_rejected(Kind::ContentDigestMismatch);
    // The very same signature with the right body is its first passage, then a replay.
    send(b"{\"id\":1}").await.assert_ok("{\"id\":1}");
    send(b"{\"id\":1}")
        .await
        .assert_rejected(Kind::SignatureReplayed);
}

#[tokio::test]
async fn unsigned_requests_and_failover_tokens_remember_nothing() {
    // In verify mode an unsigned request passes, as often as it is sent.
    let addr = serve(config(&[("APPROOV_MESSAGE_SIGNING", "verify"), ON]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let token = sdk_support::token(&key);
    let unsigned = [
        ("Host", "api.example.com"),
        ("Approov-Token", token.as_str()),
    ];
    for _ in 0..3 {
        sdk_support::raw(addr, "GET /v1/orders HTTP/1.1", &unsigned, b"")
            .await
            .assert_ok("");
    }
    // In require mode a failover token (no `ipk`) passes unsigned, as often as it is sent.
    let addr = serve(config(&[REQUIRE, ON]).unwrap()).await;
    let failover = sdk_support::token_with(None);
    let headers = [
        ("Host", "api.example.com"),
        ("Approov-Token", failover.as_str()),
    ];
    for _ in 0..3 {
        sdk_support::raw(addr, "GET /v1/orders HTTP/1.1", &headers, b"")
            .await
            .assert_ok("");
    }
}

#[tokio::test]
async fn in_monitor_mode_a_replayed_request_goes_on_with_signature_replayed() {
    let addr = serve(config(&[REQUIRE, ON, ("APPROOV_MODE", "monitor")]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let request = SignedGet::install(&key);
    let first = request.send(addr).await;
    assert_eq!(
        first.header(sdk_support::MONITORED_HEADER),
        None,
        "{first:?}"
    );
    let again = request.send(addr).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(
        again.header(sdk_support::MONITORED_HEADER),
        Some(Kind::SignatureReplayed.reason_code()),
        "{again:?}"
    );
}

#[test]
fn replay_protection_without_message_signing_is_a_config_error() {
    let error = config(&[ON]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "APPROOV_REPLAY_PROTECTION has an invalid value: set it to replay protection with \
         message signing on (APPROOV_MESSAGE_SIGNING=verify or require): it remembers signatures"
    );
    let error = ApproovConfig::builder()
        .with_secret(sdk_support::SECRET, None)
        .unwrap()
        .with_replay_protection(ReplayConfig::memory())
        .build()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("ApproovConfigBuilder::with_replay_protection was given an invalid value"),
        "{error}"
    );
}

#[test]
fn replay_protection_with_signatures_that_never_expire_is_a_config_error() {
    let error = config(&[REQUIRE, ON, ("APPROOV_SIGNATURE_MAX_AGE_SECONDS", "0")]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "APPROOV_REPLAY_PROTECTION has an invalid value: set it to replay protection with \
         signatures that expire: keep APPROOV_SIGNATURE_MAX_AGE_SECONDS above 0, or set \
         APPROOV_SIGNATURE_REQUIRE_EXPIRES=true"
    );
    // Requiring `expires` bounds every signature: accepted.
    config(&[
        REQUIRE,
        ON,
        ("APPROOV_SIGNATURE_MAX_AGE_SECONDS", "0"),
        ("APPROOV_SIGNATURE_REQUIRE_EXPIRES", "true"),
    ])
    .unwrap();
    let built = ApproovConfig::builder()
        .with_secret(sdk_support::SECRET, None)
        .unwrap()
        .with_signing_config(SigningConfig::new(MessageSigning::Verify).with_max_age(None))
        .with_replay_protection(ReplayConfig::memory())
        .build();
    assert!(matches!(built, Err(ConfigError::Invalid { .. })));
}

#[test]
fn a_replay_variable_set_while_protection_is_not_on_is_a_config_error_naming_it() {
    for variable in [
        "APPROOV_REPLAY_REDIS_URL",
        "APPROOV_REPLAY_STORE_FAILURE",
        "APPROOV_REPLAY_MEMORY_ENTRIES",
        "APPROOV_REPLAY_KEY_PREFIX",
        "APPROOV_REPLAY_REDIS_TIMEOUT_MS",
    ] {
        let error = config(&[REQUIRE, (variable, "x")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{variable} has an invalid value: set it to nothing while \
                 APPROOV_REPLAY_PROTECTION is not `on`: set APPROOV_REPLAY_PROTECTION=on, or \
                 unset this variable"
            )
        );
    }
}

#[test]
fn replay_settings_out_of_range_are_config_errors_naming_their_variable() {
    for (vars, message) in [
        (
            vec![("APPROOV_REPLAY_PROTECTION", "yes")],
            "APPROOV_REPLAY_PROTECTION has an invalid value: set it to `on` or `off`",
        ),
        (
            vec![ON, ("APPROOV_REPLAY_STORE_FAILURE", "ignore")],
            "APPROOV_REPLAY_STORE_FAILURE has an invalid value: set it to `reject` (refuse \
             signed requests while the store cannot answer) or `allow`",
        ),
        (
            vec![ON, ("APPROOV_REPLAY_MEMORY_ENTRIES", "0")],
            "APPROOV_REPLAY_MEMORY_ENTRIES has an invalid value: set it to a replay memory \
             capacity from 1 to 50 000 000 signatures",
        ),
        (
            vec![ON, ("APPROOV_REPLAY_REDIS_TIMEOUT_MS", "60000")],
            "APPROOV_REPLAY_REDIS_TIMEOUT_MS has an invalid value: set it to a replay store \
             timeout from 1 ms to 10 s",
        ),
    ] {
        let mut vars = vars;
        vars.push(REQUIRE);
        assert_eq!(config(&vars).unwrap_err().to_string(), message);
    }
}

#[cfg(feature = "redis")]
#[test]
fn a_redis_url_that_is_not_one_is_a_config_error_naming_its_variable() {
    assert_eq!(
        config(&[
            REQUIRE,
            ON,
            ("APPROOV_REPLAY_REDIS_URL", "http://redis:6379")
        ])
        .unwrap_err()
        .to_string(),
        "APPROOV_REPLAY_REDIS_URL has an invalid value: set it to a Redis URL such as \
         redis://host:6379/0 or rediss://host:6380 (TLS)"
    );
}

#[cfg(not(feature = "redis"))]
#[test]
fn a_redis_url_without_the_redis_feature_is_a_config_error_naming_it() {
    assert_eq!(
        config(&[
            REQUIRE,
            ON,
            ("APPROOV_REPLAY_REDIS_URL", "redis://127.0.0.1:6379")
        ])
        .unwrap_err()
        .to_string(),
        "APPROOV_REPLAY_REDIS_URL has an invalid value: set it to no Redis URL: this build of \
         tower-approov lacks the `redis` feature"
    );
}

#[cfg(feature = "redis")]
#[test]
fn a_redis_url_with_a_password_never_appears_in_the_configuration_debug() {
    let config = config(&[
        REQUIRE,
        ON,
        (
            "APPROOV_REPLAY_REDIS_URL",
            "redis://:hunter2-password@replay.internal:6379/0",
        ),
    ])
    .unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("replay.internal:6379"), "{debug}");
}
