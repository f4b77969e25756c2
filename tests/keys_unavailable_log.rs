//! During a JWKS outage, `keys_unavailable` is logged at `warn` at most once per interval, with
//! a count, not on every request (issue 13). One test in this binary: the rate limit is per
//! process. That the next warning, once the interval has passed, carries the count since the
//! last one is unit-tested with a given clock in `src/check/log.rs`, without waiting 10 s here.

mod common;
mod jwks_support;
mod keys_support;
mod log_capture;

use jsonwebtoken::Algorithm;
use jwks_support::*;
use keys_support::*;
use tower_approov::ApproovErrorKind;

fn warnings(logs: &str) -> Vec<String> {
    logs.lines()
        .filter(|l| l.contains("WARN") && l.contains("reason=\"keys_unavailable\""))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_unavailable_warns_at_most_once_per_interval_with_a_count() {
    capture_logs();
    // Held until the test ends: every fetch is refused, and nothing can listen there meanwhile.
    let (_held, closed) = common::closed_port();
    let config = builder()
        .with_jwks_url(&format!("http://{closed}/jwks.json"))
        .build()
        .unwrap();
    let app = app(config);
    let token = token(Algorithm::ES256, &keys().p256, Some("a"));
    for _ in 0..25 {
        assert_eq!(
            send(&app, &token).await,
            rejected(ApproovErrorKind::KeysUnavailable)
        );
    }
    let first = warnings(&logs());
    assert_eq!(first.len(), 1, "{first:#?}");
    assert!(first[0].contains("count=1"), "{}", first[0]);
    // The others were still logged, at debug.
    let debug = logs()
        .lines()
        .filter(|l| l.contains("DEBUG") && l.contains("reason=\"keys_unavailable\""))
        .count();
    assert_eq!(debug, 24);
}
