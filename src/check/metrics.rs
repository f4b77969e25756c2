//! Request counts and verification time through the [`metrics`](https://docs.rs/metrics)
//! facade (feature `metrics`). Install any recorder or exporter; the layer records into it.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `approov_requests_total` | counter | `outcome` (`accepted`, `rejected`, `monitored`), `reason` (a [reason code](crate::ApproovErrorKind::reason_code), or `none` when accepted) |
//! | `approov_verify_seconds` | histogram | none: the time the whole check took, cache hits included |

use crate::check::error::ApproovErrorKind;
use crate::check::mode::Mode;

/// The counter of checked requests.
#[cfg(feature = "metrics")]
pub const REQUESTS_TOTAL: &str = "approov_requests_total";
/// The histogram of check durations, in seconds.
#[cfg(feature = "metrics")]
pub const VERIFY_SECONDS: &str = "approov_verify_seconds";

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
    ::metrics::describe_histogram!(
        VERIFY_SECONDS,
        ::metrics::Unit::Seconds,
        "Time the Approov layer spent checking a request's token and binding"
    );
}
