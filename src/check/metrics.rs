//! Request counts and verification time through the [`metrics`](https://docs.rs/metrics)
//! facade (feature `metrics`). Install any recorder or exporter; the layer records into it.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `approov_requests_total` | counter | `outcome` (`accepted`, `rejected`, `monitored`), `reason` (a [reason code](crate::ApproovErrorKind::reason_code), or `none` when accepted) |
//! | `approov_verify_seconds` | histogram | none: the time the whole check took, cache hits included |
//! | `approov_token_status_total` | counter | `reason` (`missing_token` or `empty_token`), `status` (the SDK's `Approov-Status`, one of [`TOKEN_STATUSES`], or `other`) |
//! | `approov_replay_unremembered_total` | counter | none: signed requests let through unremembered because the replay store did not answer (`APPROOV_REPLAY_STORE_FAILURE=allow`) |
//! | `approov_replay_forgotten_early_total` | counter | none: signatures the in-memory replay store forgot before their time because it was full (their replays would pass) |
//!
//! `approov_token_status_total` counts the requests that came without a token but with the
//! SDK's `Approov-Status` (service layers 3.7 and later send one when the SDK could not get a
//! token): `no_network` and `poor_network` tell a connectivity problem, `mitm_detected` a
//! man in the middle, from a request sent without a token by something that is not the app.
//! They are counted in `approov_requests_total` too, under their reason code. The status comes
//! from the client, so only the statuses the SDKs define are labels: anything else is `other`.

use crate::check::error::ApproovErrorKind;
use crate::check::mode::Mode;

/// The counter of checked requests.
#[cfg(feature = "metrics")]
pub const REQUESTS_TOTAL: &str = "approov_requests_total";
/// The histogram of check durations, in seconds.
#[cfg(feature = "metrics")]
pub const VERIFY_SECONDS: &str = "approov_verify_seconds";

/// The counter of requests without a token that carried the SDK's `Approov-Status`.
#[cfg(feature = "metrics")]
pub const TOKEN_STATUS_TOTAL: &str = "approov_token_status_total";

/// The counter of signed requests let through without replay protection, the store not
/// answering.
#[cfg(feature = "metrics")]
pub const REPLAY_UNREMEMBERED_TOTAL: &str = "approov_replay_unremembered_total";

/// The counter of signatures the in-memory replay store forgot early, being full.
#[cfg(feature = "metrics")]
pub const REPLAY_FORGOTTEN_EARLY_TOTAL: &str = "approov_replay_forgotten_early_total";

/// Counts a signed request let through unremembered.
#[inline]
pub(crate) fn replay_unremembered() {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(REPLAY_UNREMEMBERED_TOTAL).increment(1);
}

/// Counts a signature forgotten early by a full in-memory replay store.
#[inline]
pub(crate) fn replay_forgotten_early() {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(REPLAY_FORGOTTEN_EARLY_TOTAL).increment(1);
}

/// The values of `Approov-Status` used as the `status` label of `approov_token_status_total`:
/// the SDKs' token fetch statuses, in lower case as the service layers send them. Any other
/// value is counted as `other`, so that a client cannot grow the metric's label set.
#[cfg(feature = "metrics")]
pub const TOKEN_STATUSES: [&str; 16] = [
    "success",
    "no_network",
    "poor_network",
    "mitm_detected",
    "no_approov_service",
    "bad_url",
    "unknown_url",
    "unprotected_url",
    "no_network_permission",
    "missing_lib_dependency",
    "internal_error",
    "rejected",
    "disabled",
    "unknown_key",
    "bad_key",
    "bad_payload",
];

/// The `status` label for an `Approov-Status` value: one of [`TOKEN_STATUSES`], or `other`.
#[cfg(feature = "metrics")]
pub(crate) fn status_label(status: &str) -> &'static str {
    TOKEN_STATUSES
        .iter()
        .find(|known| known.eq_ignore_ascii_case(status))
        .copied()
        .unwrap_or("other")
}

/// Counts a request refused for `kind` that carried the SDK's `status`, when `kind` says it had
/// no token (`missing_token`, `empty_token`): the SDK's reason for sending none.
#[inline]
pub(crate) fn token_status(kind: ApproovErrorKind, status: Option<&str>) {
    let no_token = matches!(
        kind,
        ApproovErrorKind::MissingToken | ApproovErrorKind::EmptyToken
    );
    #[cfg(feature = "metrics")]
    if let (true, Some(status)) = (no_token, status) {
        ::metrics::counter!(
            TOKEN_STATUS_TOTAL,
            "reason" => kind.reason_code(),
            "status" => status_label(status)
        )
        .increment(1);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (no_token, status);
}

/// Times one request's check and records its outcome once it is known: right after the
/// synchronous check, or after the body digest when the request needed one.
///
/// Without the `metrics` feature this is a zero-sized no-op.
#[derive(Debug)]
pub(crate) struct Observation {
    #[cfg(feature = "metrics")]
    started: std::time::Instant,
}

impl Observation {
    #[inline]
    pub(crate) fn start() -> Self {
        Self {
            #[cfg(feature = "metrics")]
            started: std::time::Instant::now(),
        }
    }

    /// Records the outcome: accepted, or failed for `kind` under `mode` (rejected, or
    /// monitored when the request was let through).
    #[inline]
    pub(crate) fn finish(self, mode: Mode, result: Result<(), ApproovErrorKind>) {
        #[cfg(feature = "metrics")]
        {
            ::metrics::histogram!(VERIFY_SECONDS).record(self.started.elapsed().as_secs_f64());
            let (outcome, reason) = match result {
                Ok(()) => ("accepted", "none"),
                Err(kind) if mode == Mode::Monitor => ("monitored", kind.reason_code()),
                Err(kind) => ("rejected", kind.reason_code()),
            };
            ::metrics::counter!(REQUESTS_TOTAL, "outcome" => outcome, "reason" => reason)
                .increment(1);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (self, mode, result);
    }
}

/// Registers the units and descriptions of this crate's metrics with the installed recorder,
/// for exporters that show them (Prometheus `# HELP` lines). Call it once after installing the
/// recorder; the metrics are recorded whether or not it is called.
#[cfg(feature = "metrics")]
pub fn describe_metrics() {
    ::metrics::describe_counter!(
        REQUESTS_TOTAL,
        ::metrics::Unit::Count,
        "Requests checked by the Approov layer, by outcome (accepted, rejected, monitored) and \
         reason code"
    );
    ::metrics::describe_counter!(
        TOKEN_STATUS_TOTAL,
        ::metrics::Unit::Count,
        "Requests without an Approov token that carried the SDK's Approov-Status, by reason \
         (missing_token, empty_token) and status (no_network, mitm_detected, ..., other)"
    );
    ::metrics::describe_counter!(
        REPLAY_UNREMEMBERED_TOTAL,
        ::metrics::Unit::Count,
        "Signed requests let through without replay protection because the replay store did \
         not answer in time (APPROOV_REPLAY_STORE_FAILURE=allow)"
    );
    ::metrics::describe_counter!(
        REPLAY_FORGOTTEN_EARLY_TOTAL,
        ::metrics::Unit::Count,
        "Signatures the in-memory replay store forgot before their time because it was full"
    );
    ::metrics::describe_histogram!(
        VERIFY_SECONDS,
        ::metrics::Unit::Seconds,
        "Time the Approov check took: token, binding, message signatures, the body's digest \
         and the replay store included"
    );
}
