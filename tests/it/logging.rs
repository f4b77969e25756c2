//! What goes to the `tracing` logs: the reason code at the documented level, never the token,
//! the secret or the signature.

use crate::common;
use crate::log_capture::{capture, level, lines_with};

use common::*;
use tower_approov::{ApproovConfig, ApproovErrorKind as Kind, Mode};

/// The tests run on a current-thread runtime, so the thread's default subscriber sees the
/// whole request.
#[tokio::test]
async fn a_rejection_is_logged_at_debug_with_its_reason_code_and_without_the_token() {
    let (logs, _guard) = capture();
    let token = mint_with_secret(&valid_claims(), OTHER_SECRET);
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::InvalidSignature);
    let lines = lines_with(&logs, "reason=\"invalid_signature\"");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(level(&lines[0]), "DEBUG", "{lines:?}");
    // The capture holds that line, so it was listening: the token is in no line of it.
    let text = logs.text();
    for part in token.split('.') {
        assert!(!text.contains(part), "{text}");
    }
}

#[tokio::test]
async fn in_monitor_mode_a_failure_is_logged_at_warn_with_its_reason_code() {
    let (logs, _guard) = capture();
    let layer = layer_from(builder().with_mode(Mode::Monitor));
    let out = send(app(layer), request("/optional", &[])).await;
    assert_eq!(out.body, "no claims");
    let lines = lines_with(&logs, "reason=\"missing_token\"");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(level(&lines[0]), "WARN", "{lines:?}");
    assert!(lines[0].contains("mode=\"monitor\""), "{lines:?}");
}

#[tokio::test]
async fn an_accepted_token_leaves_no_trace_of_itself_in_the_logs() {
    let (logs, _guard) = capture();
    let token = valid_token();
    // The production example's request tracing around the layer: it logs each request, so the
    // capture is shown to have been listening while this one went through.
    let app = app(layer()).layer(tower_http::trace::TraceLayer::new_for_http());
    send(app, request("/", &[("approov-token", token.as_bytes())]))
        .await
        .assert_accepted();
    let text = logs.text();
    assert!(text.contains("finished processing request"), "{text}");
    assert!(text.contains("status=200"), "{text}");
    for part in token.split('.') {
        assert!(!text.contains(part), "{text}");
    }
}

#[tokio::test]
async fn a_binding_mismatch_is_logged_without_the_binding_value_or_the_pay() {
    let (logs, _guard) = capture();
    let layer = layer_from(builder().with_token_binding(["Authorization"]).unwrap());
    let pay = tower_approov::pay_claim_for([b"Bearer alice-secret-session".as_slice()]);
    let token = mint(&claims_with(serde_json::json!({ "pay": pay })));
    get_root(
        layer,
        &[
            ("approov-token", token.as_bytes()),
            ("authorization", b"Bearer mallory-secret-session"),
        ],
    )
    .await
    .assert_rejected(Kind::PayClaimMismatch);
    let lines = lines_with(&logs, "reason=\"pay_mismatch\"");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(level(&lines[0]), "DEBUG", "{lines:?}");
    // The capture holds that line: neither value is in any line of it.
    let text = logs.text();
    assert!(!text.contains("secret-session"), "{text}");
    assert!(!text.contains(&pay), "{text}");
}

#[test]
fn a_secret_shorter_than_32_bytes_is_accepted_with_a_warning_that_does_not_show_it() {
    let (logs, _guard) = capture();
    let short = b"short-secret-of-24-bytes";
    ApproovConfig::builder()
        .with_secret(short, None)
        .unwrap()
        .build()
        .unwrap();
    let lines = lines_with(&logs, "shorter than 32 bytes");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(level(&lines[0]), "WARN", "{lines:?}");
    let text = logs.text();
    assert!(!text.contains("short-secret"), "{text}");
}

#[test]
fn a_64_byte_secret_gives_no_warning_nor_does_one_of_32_bytes() {
    let (logs, _guard) = capture();
    builder().build().unwrap();
    ApproovConfig::builder()
        .with_secret(b"0123456789abcdef0123456789abcdef", None)
        .unwrap()
        .build()
        .unwrap();
    let text = logs.text();
    assert!(!text.lines().any(|line| level(line) == "WARN"), "{text}");
    // The same capture, in the same test, does record that warning for a short secret: the
    // silence above is the 64-byte secret's, not a capture that was not listening.
    ApproovConfig::builder()
        .with_secret(b"short-secret-of-24-bytes", None)
        .unwrap()
        .build()
        .unwrap();
    let lines = lines_with(&logs, "shorter than 32 bytes");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(level(&lines[0]), "WARN", "{lines:?}");
}

#[test]
fn switching_the_mode_at_run_time_is_logged_at_warn() {
    let (logs, _guard) = capture();
    let handle = layer().mode_handle();
    handle.set(Mode::Monitor);
    let lines = lines_with(&logs, "mode changed");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(level(&lines[0]), "WARN", "{lines:?}");
}
