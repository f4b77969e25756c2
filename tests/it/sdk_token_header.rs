//! What else the Approov SDKs put in and beside the token header (APPROOV.md section 1): their
//! status strings in place of a token, `Approov-TraceID`, and a prefix such as `Bearer`. Over
//! real HTTP/1.1 on loopback, with the logs captured on the test's own thread (the runtime is
//! current-thread, so the server's task logs there too).

use crate::log_capture::{Captured, capture, level, lines_with};
use crate::sdk_support;

use sdk_support::*;
use tower_approov::ApproovErrorKind as Kind;

/// The captured lines that log a failure.
fn failure_lines(logs: &Captured) -> Vec<String> {
    lines_with(logs, "Approov check failed")
}

// ---- SDK status strings ----------------------------------------------------------------------

#[tokio::test]
async fn each_sdk_status_string_gets_its_own_reason_and_mitm_detected_is_logged_at_warn() {
    let addr = serve(config(&[]).unwrap()).await;
    let prefixed = serve(config(&[("APPROOV_TOKEN_PREFIX", "Bearer")]).unwrap()).await;
    for (status, kind, expected_level) in [
        ("NO_NETWORK", Kind::NoNetwork, "DEBUG"),
        ("POOR_NETWORK", Kind::PoorNetwork, "DEBUG"),
        ("MITM_DETECTED", Kind::MitmDetected, "WARN"),
    ] {
        let bearer = format!("Bearer {status}");
        for (addr, value) in [(addr, status), (prefixed, bearer.as_str())] {
            let (logs, _guard) = capture();
            let headers = [("Host", "api.example.com"), ("Approov-Token", value)];
            raw(addr, "GET /v1/orders HTTP/1.1", &headers, b"")
                .await
                .assert_rejected(kind);
            let lines = failure_lines(&logs);
            assert_eq!(lines.len(), 1, "{lines:?}");
            let line = &lines[0];
            // `mitm_detected` warns at most once per interval in the whole process (any test
            // of this binary may have had that warning): later ones are at `debug`, marked
            // rate-limited. `tests/mitm_detected_log.rs` counts them in a process of its own.
            let rate_limited = kind == Kind::MitmDetected
                && level(line) == "DEBUG"
                && line.contains("warning rate-limited");
            assert!(level(line) == expected_level || rate_limited, "{line}");
            assert!(
                line.contains(&format!("reason=\"{}\"", kind.reason_code())),
                "{line}"
            );
        }
    }
}

#[tokio::test]
async fn a_status_string_is_matched_exactly_and_never_reaches_the_token_cache() {
    let config = config(&[]).unwrap();
    let addr = serve(config.clone()).await;
    for (value, kind) in [
        ("no_network", Kind::MalformedToken),
        ("NO_NETWORK2", Kind::MalformedToken),
        ("  MITM_DETECTED  ", Kind::MitmDetected),
    ] {
        let headers = [("Host", "api.example.com"), ("Approov-Token", value)];
        raw(addr, "GET / HTTP/1.1", &headers, b"")
            .await
            .assert_rejected(kind);
    }
    assert_eq!(tower_approov::test_util::token_cache_len(&config), Some(0));
    // A real token does reach it: the cache was there to be filled.
    let token = token_with(None);
    let headers = [
        ("Host", "api.example.com"),
        ("Approov-Token", token.as_str()),
    ];
    raw(addr, "GET / HTTP/1.1", &headers, b"")
        .await
        .assert_ok("");
    assert_eq!(tower_approov::test_util::token_cache_len(&config), Some(1));
}

#[cfg(feature = "metrics")]
#[test]
fn sdk_status_strings_are_counted_in_the_metrics_by_their_reason() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let addr = serve(config(&[]).unwrap()).await;
            for value in [
                "NO_NETWORK",
                "POOR_NETWORK",
                "POOR_NETWORK",
                "MITM_DETECTED",
            ] {
                let headers = [("Host", "api.example.com"), ("Approov-Token", value)];
                raw(addr, "GET / HTTP/1.1", &headers, b"").await;
            }
        });
    });
    let mut counts = std::collections::BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        if key.name() != "approov_requests_total" {
            continue;
        }
        let reason = key
            .labels()
            .find(|l| l.key() == "reason")
            .map(|l| l.value().to_owned())
            .unwrap();
        if let DebugValue::Counter(n) = value {
            counts.insert(reason, n);
        }
    }
    let expected = [("mitm_detected", 1), ("no_network", 1), ("poor_network", 2)];
    assert_eq!(
        counts,
        expected
            .into_iter()
            .map(|(r, n)| (r.to_owned(), n))
            .collect()
    );
}

// ---- Approov-TraceID -------------------------------------------------------------------------

const TRACE: &str = "7f3a-Trace_ID.01~";

#[tokio::test]
async fn a_rejection_is_logged_with_its_trace_id_which_never_goes_into_the_response() {
    let addr = serve(config(&[]).unwrap()).await;
    let (logs, _guard) = capture();
    let headers = [("Host", "api.example.com"), ("Approov-TraceID", TRACE)];
    let answer = raw(addr, "GET / HTTP/1.1", &headers, b"").await;
    answer.assert_rejected(Kind::MissingToken);
    assert!(!answer.head.contains(TRACE) && !answer.body.contains(TRACE));
    let lines = failure_lines(&logs);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(&format!("trace_id=\"{TRACE}\"")),
        "{lines:?}"
    );
    assert!(lines[0].contains("reason=\"missing_token\""), "{lines:?}");
}

#[tokio::test]
async fn a_monitor_mode_failure_is_logged_with_its_trace_id() {
    let addr = serve(config(&[("APPROOV_MODE", "monitor")]).unwrap()).await;
    let (logs, _guard) = capture();
    let headers = [
        ("Host", "api.example.com"),
        ("Approov-Token", "NO_NETWORK"),
        ("approov-traceid", TRACE),
    ];
    raw(addr, "GET / HTTP/1.1", &headers, b"")
        .await
        .assert_ok("");
    let lines = failure_lines(&logs);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(level(line), "WARN", "{line}");
    assert!(line.contains("mode=\"monitor\""), "{line}");
    assert!(line.contains(&format!("trace_id=\"{TRACE}\"")), "{line}");
    assert!(line.contains("reason=\"no_network\""), "{line}");
}

/// The failure line logged for a request with this raw `Approov-TraceID` value.
async fn failure_line_with_trace_bytes(value: &[u8]) -> String {
    let addr = serve(config(&[]).unwrap()).await;
    let (logs, _guard) = capture();
    let mut request = b"GET / HTTP/1.1\r\nHost: api.example.com\r\nApproov-TraceID: ".to_vec();
    request.extend_from_slice(value);
    request.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    raw_bytes(addr, &request)
        .await
        .assert_rejected(Kind::MissingToken);
    let lines = failure_lines(&logs);
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines[0].clone()
}

#[tokio::test]
async fn a_trace_id_of_128_visible_characters_is_logged_and_one_longer_is_left_out() {
    let longest = "t".repeat(128);
    let line = failure_line_with_trace_bytes(longest.as_bytes()).await;
    assert!(line.contains(&format!("trace_id=\"{longest}\"")), "{line}");
    for value in ["t".repeat(129), "x".repeat(5000)] {
        let line = failure_line_with_trace_bytes(value.as_bytes()).await;
        assert!(!line.contains("trace_id"), "{line}");
        assert!(line.contains("reason=\"missing_token\""), "{line}");
    }
}

#[tokio::test]
async fn a_trace_id_with_bytes_that_are_not_visible_ascii_is_left_out() {
    for value in [
        &b"abc def"[..],
        b"abc\tdef",
        b"abc\xffdef",
        b"caf\xc3\xa9",
        b"abc\"def",
    ] {
        let line = failure_line_with_trace_bytes(value).await;
        // A quote is visible ASCII: logged, escaped by the formatter.
        if value == b"abc\"def" {
            assert!(line.contains("trace_id="), "{line}");
            continue;
        }
        assert!(!line.contains("trace_id"), "{value:?}: {line}");
        assert!(line.contains("reason=\"missing_token\""), "{line}");
    }
}

// ---- Approov-Status ----------------------------------------------------------------------------

/// The failure line logged for `GET /` with these headers, and the answer.
async fn failure_line(vars: &[(&'static str, &str)], headers: &[(&str, &str)]) -> (Answer, String) {
    let addr = serve(config(vars).unwrap()).await;
    let (logs, _guard) = capture();
    let answer = raw(addr, "GET / HTTP/1.1", headers, b"").await;
    let lines = failure_lines(&logs);
    assert_eq!(lines.len(), 1, "{lines:?}");
    (answer, lines[0].clone())
}

#[tokio::test]
async fn an_empty_token_sent_with_a_status_keeps_its_reason_and_is_logged_with_the_sdks_status() {
    for (token, kind) in [(Some(""), Kind::EmptyToken), (None, Kind::MissingToken)] {
        let mut headers = vec![
            ("Host", "api.example.com"),
            ("Approov-Status", "no_network"),
        ];
        headers.extend(token.map(|t| ("Approov-Token", t)));
        let (answer, line) = failure_line(&[], &headers).await;
        answer.assert_rejected(kind);
        // Never in the response.
        assert!(!answer.head.contains("no_network") && !answer.body.contains("no_network"));
        assert!(line.contains("approov_status=\"no_network\""), "{line}");
        assert!(
            line.contains(&format!("reason=\"{}\"", kind.reason_code())),
            "{line}"
        );
        // Its own message: the SDK said why it had no token.
        assert!(line.contains("the SDK's status says why"), "{line}");
        assert_eq!(level(&line), "DEBUG", "{line}");
    }
    // Without a status, the plain message: something sent no token and said nothing.
    let (_, line) = failure_line(&[], &[("Host", "api.example.com"), ("Approov-Token", "")]).await;
    assert!(
        !line.contains("approov_status") && !line.contains("status says why"),
        "{line}"
    );
    assert!(line.contains("reason=\"empty_token\""), "{line}");
}

#[tokio::test]
async fn the_status_is_logged_beside_every_reason_and_in_monitor_mode() {
    let expired = tower_approov::test_util::TokenBuilder::hs256(SECRET)
        .expired_since(std::time::Duration::from_secs(60))
        .build()
        .unwrap();
    let headers = [
        ("Host", "api.example.com"),
        ("Approov-Token", expired.as_str()),
        ("Approov-Status", "success"),
        ("Approov-TraceID", TRACE),
    ];
    let (answer, line) = failure_line(&[], &headers).await;
    answer.assert_rejected(Kind::Expired);
    assert!(line.contains("approov_status=\"success\""), "{line}");
    assert!(line.contains(&format!("trace_id=\"{TRACE}\"")), "{line}");
    let (answer, line) = failure_line(&[("APPROOV_MODE", "monitor")], &headers).await;
    answer.assert_ok("");
    assert_eq!(level(&line), "WARN", "{line}");
    assert!(line.contains("approov_status=\"success\""), "{line}");
    assert!(line.contains("reason=\"expired\""), "{line}");
}

#[tokio::test]
async fn a_status_longer_than_128_characters_or_not_visible_ascii_is_left_out_of_the_logs() {
    let longest = "s".repeat(128);
    let (_, line) = failure_line(&[], &[("Host", "h"), ("Approov-Status", &longest)]).await;
    assert!(
        line.contains(&format!("approov_status=\"{longest}\"")),
        "{line}"
    );
    let longer = "s".repeat(129);
    for value in [longer.as_str(), "no network"] {
        let (answer, line) = failure_line(&[], &[("Host", "h"), ("Approov-Status", value)]).await;
        answer.assert_rejected(Kind::MissingToken);
        assert!(!line.contains("approov_status"), "{line}");
        assert!(line.contains("reason=\"missing_token\""), "{line}");
    }
    // Sent twice: which one would the logs believe? Neither.
    let (_, line) = failure_line(
        &[],
        &[
            ("Host", "h"),
            ("Approov-Status", "no_network"),
            ("Approov-Status", "success"),
        ],
    )
    .await;
    assert!(!line.contains("approov_status"), "{line}");
}

#[cfg(feature = "metrics")]
#[test]
fn missing_and_empty_tokens_with_a_status_are_counted_by_status_and_an_unknown_status_as_other() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let addr = serve(config(&[]).unwrap()).await;
            for (token, status) in [
                (Some(""), Some("no_network")),
                (Some(""), Some("no_network")),
                (None, Some("mitm_detected")),
                (Some(""), Some("made-up-by-a-client")),
                // Not counted: no status, or a token that was there (and failed).
                (Some(""), None),
                (Some("a.b.c"), Some("no_network")),
            ] {
                let mut headers = vec![("Host", "api.example.com")];
                headers.extend(token.map(|t| ("Approov-Token", t)));
                headers.extend(status.map(|s| ("Approov-Status", s)));
                raw(addr, "GET / HTTP/1.1", &headers, b"").await;
            }
        });
    });
    let mut counts = std::collections::BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        if key.name() != "approov_token_status_total" {
            continue;
        }
        let label = |name: &str| {
            key.labels()
                .find(|l| l.key() == name)
                .map(|l| l.value().to_owned())
                .unwrap()
        };
        if let DebugValue::Counter(n) = value {
            counts.insert((label("reason"), label("status")), n);
        }
    }
    let expected = [
        (("empty_token", "no_network"), 2),
        (("empty_token", "other"), 1),
        (("missing_token", "mitm_detected"), 1),
    ];
    assert_eq!(
        counts,
        expected
            .into_iter()
            .map(|((r, s), n)| ((r.to_owned(), s.to_owned()), n))
            .collect()
    );
}

// ---- the token prefix ------------------------------------------------------------------------

#[tokio::test]
async fn with_the_prefix_bearer_a_token_glued_to_it_is_malformed_and_one_after_a_space_passes() {
    let addr = serve(config(&[("APPROOV_TOKEN_PREFIX", "Bearer")]).unwrap()).await;
    let token = token_with(None);
    let send = |value: String| async move {
        let headers = [
            ("Host", "api.example.com"),
            ("Approov-Token", value.as_str()),
        ];
        raw(addr, "GET / HTTP/1.1", &headers, b"").await
    };
    send(format!("Bearer{token}"))
        .await
        .assert_rejected(Kind::MalformedToken);
    for value in [
        format!("Bearer {token}"),
        format!("bearer {token}"),
        format!("BEARER \t {token}"),
        // The prefix is stripped when present, not required.
        token.clone(),
    ] {
        send(value).await.assert_ok("");
    }
    send("Bearer ".to_owned())
        .await
        .assert_rejected(Kind::EmptyToken);
}
