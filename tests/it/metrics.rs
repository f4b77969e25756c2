//! Feature `metrics`: counts by outcome and reason, and the verification-time histogram, seen
//! by a real in-process recorder while real requests go through a loopback server.

use crate::loopback;

use std::collections::HashMap;
use std::time::Duration;

use axum::{Router, routing::get};
use http::StatusCode;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tower_approov::test_util::TokenBuilder;
use tower_approov::{ApproovConfig, ApproovLayer, Mode};

/// Sends each request (a token, or none) to a server protected by a layer in `mode`, all on one
/// thread so that `recorder`, installed for this test only, sees every check.
fn serve_and_send(
    recorder: &DebuggingRecorder,
    mode: Mode,
    tokens: impl FnOnce(&[u8]) -> Vec<Option<String>>,
) -> Vec<StatusCode> {
    let secret = loopback::secret();
    let tokens = tokens(&secret);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(recorder, || {
        runtime.block_on(async {
            let config = ApproovConfig::builder()
                .with_secret(&secret, None)
                .unwrap()
                .with_mode(mode)
                .build()
                .unwrap();
            let app = Router::new()
                .route("/", get(|| async { "ok" }))
                .layer(ApproovLayer::new(config));
            let (listener, addr) = loopback::listener().await;
            tokio::spawn(async move { axum::serve(listener, app).await });
            let mut statuses = Vec::new();
            for token in &tokens {
                let request = loopback::get(&format!("http://{addr}/"), token.as_deref());
                statuses.push(loopback::send(request).await.status());
            }
            statuses
        })
    })
}

/// `approov_requests_total` by `(outcome, reason)`. A snapshot drains the recorder, so take
/// one and read it.
fn counters(snapshotter: &Snapshotter) -> HashMap<(String, String), u64> {
    let mut counts = HashMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        if key.name() != "approov_requests_total" {
            continue;
        }
        let label = |name: &str| {
            key.labels()
                .find(|l| l.key() == name)
                .map(|l| l.value().to_owned())
                .unwrap_or_default()
        };
        if let DebugValue::Counter(n) = value {
            counts.insert((label("outcome"), label("reason")), n);
        }
    }
    counts
}

fn count(counts: &HashMap<(String, String), u64>, outcome: &str, reason: &str) -> u64 {
    counts
        .get(&(outcome.to_owned(), reason.to_owned()))
        .copied()
        .unwrap_or(0)
}

fn valid(secret: &[u8]) -> Option<String> {
    Some(TokenBuilder::hs256(secret).build().unwrap())
}

fn expired(secret: &[u8]) -> Option<String> {
    Some(
        TokenBuilder::hs256(secret)
            .expired_since(Duration::from_secs(10))
            .build()
            .unwrap(),
    )
}

#[test]
fn accepted_and_rejected_requests_are_counted_by_outcome_and_reason() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();

    let statuses = serve_and_send(&recorder, Mode::Enforce, |s| {
        vec![valid(s), valid(s), None, expired(s), None]
    });

    assert_eq!(
        statuses,
        [200, 200, 401, 401, 401].map(|c| StatusCode::from_u16(c).unwrap())
    );
    let counts = counters(&snapshotter);
    assert_eq!(count(&counts, "accepted", "none"), 2);
    assert_eq!(count(&counts, "rejected", "missing_token"), 2);
    assert_eq!(count(&counts, "rejected", "expired"), 1);
    assert_eq!(counts.len(), 3, "no other outcome or reason: {counts:?}");
}

#[test]
fn failures_in_monitor_mode_are_counted_as_monitored_not_rejected() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();

    let statuses = serve_and_send(&recorder, Mode::Monitor, |s| {
        vec![None, expired(s), valid(s)]
    });

    assert_eq!(
        statuses,
        [StatusCode::OK; 3],
        "monitor mode lets them through"
    );
    let counts = counters(&snapshotter);
    assert_eq!(count(&counts, "monitored", "missing_token"), 1);
    assert_eq!(count(&counts, "monitored", "expired"), 1);
    assert_eq!(count(&counts, "accepted", "none"), 1);
    assert_eq!(counts.len(), 3, "nothing counted as rejected: {counts:?}");
}

#[test]
fn every_check_records_its_verification_time() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();

    let started = std::time::Instant::now();
    serve_and_send(&recorder, Mode::Enforce, |s| {
        vec![valid(s), None, expired(s)]
    });
    let elapsed = started.elapsed().as_secs_f64();

    let samples = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .find_map(|(key, _, _, value)| match value {
            DebugValue::Histogram(samples) if key.key().name() == "approov_verify_seconds" => {
                Some(samples)
            }
            _ => None,
        })
        .expect("the histogram was recorded");
    assert_eq!(samples.len(), 3, "one sample per checked request");
    let samples: Vec<f64> = samples.iter().map(|s| s.into_inner()).collect();
    // A real measurement: a check takes some time, and each ran within this test's span, so
    // together they took no longer than the whole run (in seconds, not ms or ns).
    assert!(samples.iter().all(|s| *s > 0.0), "{samples:?}");
    assert!(
        samples.iter().sum::<f64>() <= elapsed,
        "{samples:?} over {elapsed} s"
    );
}

/// A request whose signature covers `content-digest` is decided only after its body is read:
/// it is counted then, once, with the digest's reason, not as accepted when its headers passed.
#[test]
fn a_body_that_fails_its_signed_digest_is_counted_once_as_rejected() {
    use axum::body::Body;
    use tower::ServiceExt as _;
    use tower_approov::MessageSigning;
    use tower_approov::test_util::{InstallationKey, RequestSigner};

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let secret = loopback::secret();
    let key = InstallationKey::generate().unwrap();
    let token = TokenBuilder::hs256(&secret)
        .ipk(key.ipk().unwrap())
        .build()
        .unwrap();
    let signed = |body: &str| {
        let mut request = http::Request::post("https://api.example.com/orders")
            .header("approov-token", &token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .unwrap();
        RequestSigner::new(&key).sign(&mut request).unwrap();
        request
    };
    let good = signed(r#"{"order":1}"#);
    let mut tampered = signed(r#"{"order":1}"#);
    *tampered.body_mut() = r#"{"order":9}"#.to_owned();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let statuses = metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let config = ApproovConfig::builder()
                .with_secret(&secret, None)
                .unwrap()
                .with_message_signing(MessageSigning::Require)
                .build()
                .unwrap();
            let app = Router::new()
                .route("/orders", axum::routing::post(|| async { "ok" }))
                .layer(ApproovLayer::new(config));
            let mut statuses = Vec::new();
            for request in [good, tampered] {
                let response = app.clone().oneshot(request.map(Body::from)).await.unwrap();
                statuses.push(response.status());
            }
            statuses
        })
    });

    assert_eq!(statuses, [StatusCode::OK, StatusCode::UNAUTHORIZED]);
    let counts = counters(&snapshotter);
    assert_eq!(count(&counts, "accepted", "none"), 1);
    assert_eq!(count(&counts, "rejected", "content_digest_mismatch"), 1);
    assert_eq!(counts.len(), 2, "nothing else counted: {counts:?}");
}
