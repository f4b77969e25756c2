//! `Approov-Token: MITM_DETECTED` can be sent by anyone, as often as they like: it is logged at
//! `warn` at most once per interval, with the count of such requests since the last warning,
//! and at `debug` in between (issue 23). One test in this binary: the rate limit is per
//! process. The interval itself is unit-tested with a given clock in `src/check/log.rs`.
#![cfg(any(feature = "aws_lc_rs", feature = "rust_crypto"))]

mod log_capture;
mod loopback;

use axum::routing::get;
use http::StatusCode;
use tower::util::MapResponseLayer;

#[tokio::test]
async fn four_hundred_mitm_detected_requests_give_exactly_one_warning_with_its_count() {
    log_capture::capture_process();
    let (listener, addr) = loopback::listener().await;
    let app = axum::Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(loopback::layer(&loopback::secret()))
        .layer(MapResponseLayer::new(
            loopback::expose_reason::<axum::body::Body>,
        ));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{addr}/");

    for _ in 0..400 {
        let response = loopback::send(loopback::get(&url, Some("MITM_DETECTED"))).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(loopback::reason(&response), Some("mitm_detected"));
    }

    let logs = log_capture::process_logs();
    let lines = |level: &str| -> Vec<String> {
        logs.lines()
            .filter(|l| l.contains(level) && l.contains("reason=\"mitm_detected\""))
            .map(str::to_owned)
            .collect()
    };
    let warnings = lines("WARN");
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].contains("count=1"), "{}", warnings[0]);
    assert!(
        warnings[0].contains("the Approov SDK reported a man in the middle"),
        "{}",
        warnings[0]
    );
    // The others are still logged, at debug, as rate-limited.
    let debug = lines("DEBUG");
    assert_eq!(debug.len(), 399);
    assert!(debug.iter().all(|l| l.contains("warning rate-limited")));
}
