//! The framework-free check, `ApproovConfig::check`, as a front door without tower calls it:
//! headers as `(name, value)` pairs, the body read already, or not visible at all.

use crate::sdk_support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sdk_support::*;
use sha2::{Digest as _, Sha256};
use tower_approov::test_util::InstallationKey;
use tower_approov::{
    ApproovErrorKind as Kind, ApproovRequest, BodyRead, Mode, RequestBody, Verdict,
};

/// What the verdict says, in one comparable word.
fn outcome(verdict: Verdict) -> Result<&'static str, (Kind, &'static str)> {
    match verdict {
        Verdict::Accept(_) => Ok("accept"),
        Verdict::ReadBody(_) => Ok("read body"),
        Verdict::Reject(error) => Err((error.kind(), "reject")),
        Verdict::Monitor(error) => Err((error.kind(), "monitor")),
        other => panic!("{other:?}"),
    }
}

/// A signed POST to `/upload` with `body`, its signature covering `content-digest`: the
/// headers as pairs, the base written out by hand.
fn signed_post(key: &InstallationKey, body: &[u8]) -> Vec<(&'static str, String)> {
    let token = token(key);
    let digest = format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)));
    let components = r#""@method" "@target-uri" "approov-token" "content-digest""#;
    let params = sdk_params(components);
    let base = format!(
        "\"@method\": POST\n\"@target-uri\": https://api.example.com/upload\n\
         \"approov-token\": {token}\n\"content-digest\": {digest}\n\
         \"@signature-params\": {params}"
    );
    let (input, signature) = signature_headers(key, &params, &base, true);
    vec![
        ("host", "api.example.com".to_owned()),
        ("approov-token", token),
        ("content-digest", digest),
        ("signature-input", input),
        ("signature", signature),
    ]
}

#[test]
fn a_front_door_with_the_body_in_hand_gets_the_verdict_at_once() {
    let config = config(&[("APPROOV_MESSAGE_SIGNING", "require")]).unwrap();
    let key = InstallationKey::generate().unwrap();
    let headers = signed_post(&key, b"{\"id\":1}");
    let request = |body| ApproovRequest::new("POST", "/upload", &headers[..]).with_body(body);
    assert_eq!(
        outcome(config.check(&request(RequestBody::Read(b"{\"id\":1}")))),
        Ok("accept")
    );
    assert_eq!(
        outcome(config.check(&request(RequestBody::Read(b"{\"id\":2}")))),
        Err((Kind::ContentDigestMismatch, "reject"))
    );
}

#[test]
fn a_front_door_that_cannot_see_a_digested_body_refuses_it_even_in_monitor_mode() {
    let config = config(&[("APPROOV_MESSAGE_SIGNING", "require")]).unwrap();
    let key = InstallationKey::generate().unwrap();
    let headers = signed_post(&key, b"{\"id\":1}");
    let request =
        ApproovRequest::new("POST", "/upload", &headers[..]).with_body(RequestBody::Unavailable);
    for mode in [Mode::Enforce, Mode::Monitor] {
        config.mode_handle().set(mode);
        assert_eq!(
            outcome(config.check(&request)),
            Err((Kind::BodyUnavailable, "reject"))
        );
    }
}

#[test]
fn a_body_read_later_is_checked_by_finish_and_a_truncated_one_is_refused_in_any_mode() {
    let config = config(&[("APPROOV_MESSAGE_SIGNING", "require")]).unwrap();
    let key = InstallationKey::generate().unwrap();
    let headers = signed_post(&key, b"hello");
    let pending = || match config
        .check(&ApproovRequest::new("POST", "/upload", &headers[..]).with_body(RequestBody::Unread))
    {
        Verdict::ReadBody(check) => check,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        pending().limit(),
        tower_approov::DEFAULT_SIGNATURE_MAX_BODY_BYTES
    );
    assert_eq!(
        pending().deadline(),
        tower_approov::DEFAULT_SIGNATURE_BODY_READ_TIMEOUT
    );
    assert_eq!(
        outcome(pending().finish(BodyRead::Complete(b"hello"))),
        Ok("accept")
    );
    config.mode_handle().set(Mode::Monitor);
    assert_eq!(
        outcome(pending().finish(BodyRead::Complete(b"HELLO"))),
        Err((Kind::ContentDigestMismatch, "monitor"))
    );
    assert_eq!(
        outcome(pending().finish(BodyRead::Failed)),
        Err((Kind::ContentDigestMismatch, "reject"))
    );
    assert_eq!(
        outcome(pending().finish(BodyRead::TooLarge)),
        Err((Kind::BodyTooLarge, "reject"))
    );
}

#[test]
fn a_request_without_a_token_is_refused_in_enforce_mode_and_let_through_in_monitor_mode() {
    let config = config(&[]).unwrap();
    let headers = [("host", "api.example.com")];
    let request = ApproovRequest::new("GET", "/", &headers[..]);
    assert_eq!(
        outcome(config.check(&request)),
        Err((Kind::MissingToken, "reject"))
    );
    config.mode_handle().set(Mode::Monitor);
    assert_eq!(
        outcome(config.check(&request)),
        Err((Kind::MissingToken, "monitor"))
    );
}

#[test]
fn the_token_header_to_strip_is_named_only_when_stripping_is_configured() {
    let plain = config(&[]).unwrap();
    assert_eq!(plain.token_header_to_strip(), None);
    let strip = config(&[("APPROOV_STRIP_TOKEN_HEADER", "true")]).unwrap();
    assert_eq!(
        strip.token_header_to_strip().map(http::HeaderName::as_str),
        Some("approov-token")
    );
}

#[test]
fn a_body_in_hand_over_the_limit_is_refused_and_one_at_the_limit_is_checked() {
    let config = config(&[
        ("APPROOV_MESSAGE_SIGNING", "require"),
        ("APPROOV_SIGNATURE_MAX_BODY_BYTES", "16"),
    ])
    .unwrap();
    let key = InstallationKey::generate().unwrap();
    for (body, expected) in [
        (&b"0123456789abcdef"[..], Ok("accept")),
        (
            &b"0123456789abcdefX"[..],
            Err((Kind::BodyTooLarge, "reject")),
        ),
    ] {
        let headers = signed_post(&key, body);
        let request =
            ApproovRequest::new("POST", "/upload", &headers[..]).with_body(RequestBody::Read(body));
        assert_eq!(
            outcome(config.check(&request)),
            expected,
            "{} bytes",
            body.len()
        );
    }
}

#[test]
fn the_debug_of_a_verdict_and_of_a_body_read_shows_no_claim_value_or_byte() {
    let config = config(&[("APPROOV_MESSAGE_SIGNING", "require")]).unwrap();
    let key = InstallationKey::generate().unwrap();
    let headers = signed_post(&key, b"secret-body");
    let verdict = config.check(
        &ApproovRequest::new("POST", "/upload", &headers[..]).with_body(RequestBody::Unread),
    );
    assert_eq!(
        format!("{verdict:?}"),
        "ReadBody(BodyCheck { limit: 2097152, deadline: 10s, .. })"
    );
    assert_eq!(
        format!("{:?}", BodyRead::Complete(b"secret-body")),
        "Complete { len: 11 }"
    );
    let Verdict::ReadBody(check) = verdict else {
        unreachable!()
    };
    let accepted = check.finish(BodyRead::Complete(b"secret-body"));
    let debug = format!("{accepted:?}");
    assert!(debug.starts_with("Accept(ApproovClaims { exp: "), "{debug}");
    assert!(!debug.contains("device-1"), "{debug}");
}

#[test]
fn a_token_header_with_a_control_byte_is_refused_as_not_visible_ascii() {
    let config = config(&[]).unwrap();
    let token = token_with(None);
    for bad in [format!("{token}\u{1}"), format!("\u{7f}{token}")] {
        let headers = [("approov-token", bad.as_str())];
        assert_eq!(
            outcome(config.check(&ApproovRequest::new("GET", "/", &headers[..]))),
            Err((Kind::InvalidTokenEncoding, "reject")),
            "{bad:?}"
        );
    }
    // Spaces and tabs around the token are not control bytes to refuse.
    let spaced = format!("\t {token} \t");
    let headers = [("approov-token", spaced.as_str())];
    assert_eq!(
        outcome(config.check(&ApproovRequest::new("GET", "/", &headers[..]))),
        Ok("accept")
    );
}

#[test]
fn with_the_replay_store_in_memory_the_verdict_comes_at_once() {
    let config = config(&[
        ("APPROOV_MESSAGE_SIGNING", "require"),
        ("APPROOV_REPLAY_PROTECTION", "on"),
    ])
    .unwrap();
    let key = InstallationKey::generate().unwrap();
    let headers = signed_post(&key, b"once");
    let request = || {
        ApproovRequest::new("POST", "/upload", &headers[..]).with_body(RequestBody::Read(b"once"))
    };
    // Never `Verdict::Record`, which would make every front door wait for nothing.
    assert_eq!(outcome(config.check(&request())), Ok("accept"));
    assert_eq!(
        outcome(config.check(&request())),
        Err((Kind::SignatureReplayed, "reject"))
    );
}
