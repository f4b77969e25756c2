//! `examples/prometheus.rs` over loopback: accepted, rejected (several reasons) and monitored
//! requests, then a real scrape of `/metrics`, parsed line by line.
//!
//! One test function: the exporter is the process-wide recorder, and the counts it shows are
//! the sum of everything this binary sent.

#[allow(dead_code)]
#[path = "../examples/prometheus.rs"]
mod example;
mod loopback;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use http::StatusCode;
use metrics_exporter_prometheus::PrometheusHandle;
use tower_approov::test_util::TokenBuilder;
use tower_approov::{ApproovConfig, ApproovLayer, Mode};

async fn start(layer: ApproovLayer, handle: PrometheusHandle) -> SocketAddr {
    let app = example::app(layer, handle);
    let (listener, addr) = loopback::listener().await;
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// The value of each `name{labels} value` sample, keyed by its labels as `k=v,k=v`.
fn samples(text: &str, name: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (metric, labels) = match series.split_once('{') {
            Some((metric, labels)) => (metric, labels.trim_end_matches('}')),
            None => (series, ""),
        };
        if metric != name {
            continue;
        }
        let mut labels: Vec<String> = labels
            .split(',')
            .filter(|l| !l.is_empty())
            .map(|l| l.replace('"', ""))
            .collect();
        labels.sort();
        samples.insert(labels.join(","), value.parse().unwrap());
    }
    samples
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_scraped_with_each_outcome_and_reason_and_the_histogram_count() {
    let recorder = example::recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).unwrap();
    tower_approov::metrics::describe_metrics();

    let secret = loopback::secret();
    let enforcing = start(loopback::layer(&secret), handle.clone()).await;
    let monitor = ApproovConfig::builder()
        .with_secret(&secret, None)
        .unwrap()
        .with_mode(Mode::Monitor)
        .build()
        .unwrap();
    let monitoring = start(ApproovLayer::new(monitor), handle.clone()).await;

    let valid = TokenBuilder::hs256(&secret).build().unwrap();
    let other = TokenBuilder::hs256(loopback::secret()).build().unwrap();
    let expired = TokenBuilder::hs256(&secret)
        .expired_since(Duration::from_secs(60))
        .build()
        .unwrap();
    let sends: [(SocketAddr, Option<&str>, StatusCode); 9] = [
        (enforcing, Some(&valid), StatusCode::OK),
        (enforcing, Some(&valid), StatusCode::OK),
        (enforcing, None, StatusCode::UNAUTHORIZED),
        (enforcing, Some(&other), StatusCode::UNAUTHORIZED),
        (enforcing, Some(&other), StatusCode::UNAUTHORIZED),
        (enforcing, Some(&expired), StatusCode::UNAUTHORIZED),
        // Monitor mode lets failures through; the handler then refuses for lack of claims.
        (monitoring, None, StatusCode::UNAUTHORIZED),
        (monitoring, Some(&expired), StatusCode::UNAUTHORIZED),
        (monitoring, Some(&valid), StatusCode::OK),
    ];
    for (addr, token, status) in sends {
        let response =
            loopback::send(loopback::get(&format!("http://{addr}/api/hello"), token)).await;
        assert_eq!(response.status(), status, "{token:?} to {addr}");
    }

    let scrape = loopback::send(loopback::get(&format!("http://{enforcing}/metrics"), None)).await;
    assert_eq!(scrape.status(), StatusCode::OK, "/metrics is public");
    let text = std::str::from_utf8(scrape.body()).unwrap();

    let counts = samples(text, "approov_requests_total");
    let count = |outcome: &str, reason: &str| {
        counts
            .get(&format!("outcome={outcome},reason={reason}"))
            .copied()
    };
    assert_eq!(count("accepted", "none"), Some(3.0), "{text}");
    assert_eq!(count("rejected", "missing_token"), Some(1.0));
    assert_eq!(count("rejected", "invalid_signature"), Some(2.0));
    assert_eq!(count("rejected", "expired"), Some(1.0));
    assert_eq!(count("monitored", "missing_token"), Some(1.0));
    assert_eq!(count("monitored", "expired"), Some(1.0));
    assert_eq!(counts.len(), 6, "no other series: {counts:?}");

    assert!(
        text.contains("# TYPE approov_verify_seconds histogram"),
        "{text}"
    );
    assert!(text.contains("# HELP approov_requests_total"), "{text}");
    let histogram_count = samples(text, "approov_verify_seconds_count");
    assert_eq!(histogram_count.get(""), Some(&9.0), "one check per request");
    let buckets = samples(text, "approov_verify_seconds_bucket");
    assert_eq!(buckets.get("le=+Inf"), Some(&9.0));
    assert_eq!(buckets.len(), example::VERIFY_BUCKETS.len() + 1);
}
