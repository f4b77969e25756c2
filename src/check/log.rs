//! Rate-limited warnings for the failures that can come by the thousand.
//!
//! Most failures are logged at `debug` (a client's fault) or at `warn` one by one. Three kinds
//! would flood the logs that way, and hide what matters in them:
//!
//! - `keys_unavailable`: during a JWKS outage every request fails so, and the fetch warnings
//!   that say why would drown in them;
//! - `mitm_detected`: anyone can send `Approov-Token: MITM_DETECTED`, 400 times a second;
//! - `clock_not_set`: while the server's clock is wrong, every request fails so.
//!
//! Each has one static [`RateLimitedWarning`]: at most one `warn` per interval, carrying the
//! count of such failures since the last one, and `debug` for the others. Each counts apart, so
//! a flood of one kind never silences the first warning of another.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http::HeaderName;

use crate::check::error::ApproovErrorKind;
use crate::check::mode::Mode;
use crate::check::request::HeaderSource;

/// The shortest time between two `warn` events of one kind.
pub(crate) const WARN_INTERVAL: Duration = Duration::from_secs(10);

static KEYS_UNAVAILABLE: RateLimitedWarning = RateLimitedWarning::new(
    ApproovErrorKind::KeysUnavailable,
    "the keys this token needs are not available (never fetched, or dropped as too old)",
    WARN_INTERVAL,
);
static MITM_DETECTED: RateLimitedWarning = RateLimitedWarning::new(
    ApproovErrorKind::MitmDetected,
    "the Approov SDK reported a man in the middle in place of a token",
    WARN_INTERVAL,
);
static CLOCK_NOT_SET: RateLimitedWarning = RateLimitedWarning::new(
    ApproovErrorKind::ClockNotSet,
    "the server's clock reads before 2026-01-01, so it has not been set: sync it (NTP)",
    WARN_INTERVAL,
);

static REPLAY_STORE_UNAVAILABLE: RateLimitedWarning = RateLimitedWarning::new(
    ApproovErrorKind::ReplayStoreUnavailable,
    "the replay store did not answer in time; signed requests are refused until it does",
    WARN_INTERVAL,
);

/// The rate limiter of `kind`'s warnings, for the kinds that have one.
pub(crate) fn limiter_for(kind: ApproovErrorKind) -> Option<&'static RateLimitedWarning> {
    match kind {
        ApproovErrorKind::KeysUnavailable => Some(&KEYS_UNAVAILABLE),
        ApproovErrorKind::MitmDetected => Some(&MITM_DETECTED),
        ApproovErrorKind::ClockNotSet => Some(&CLOCK_NOT_SET),
        ApproovErrorKind::ReplayStoreUnavailable => Some(&REPLAY_STORE_UNAVAILABLE),
        _ => None,
    }
}

/// What a failure's log event says besides the reason: the request's `Approov-TraceID`
/// (`trace_id`), and the SDK's `Approov-Status` (`approov_status`), each when the request
/// carries a usable one (once, at most 128 visible ASCII characters). Both come from the
/// client: they go into logs, never into a response.
#[derive(Default)]
pub(crate) struct LogContext {
    pub(crate) trace_id: Option<Box<str>>,
    /// The SDK's token fetch status, in lower case (`no_network`, `mitm_detected`, ...): why an
    /// app had no token, when it sends none (service layers 3.7 and later).
    pub(crate) status: Option<Box<str>>,
}

const TRACE_ID: HeaderName = HeaderName::from_static("approov-traceid");
const STATUS: HeaderName = HeaderName::from_static("approov-status");

impl LogContext {
    pub(crate) fn of<H: HeaderSource + ?Sized>(headers: &H) -> Self {
        Self {
            trace_id: loggable(headers, &TRACE_ID).map(Into::into),
            status: loggable(headers, &STATUS).map(Into::into),
        }
    }
}

/// A client-sent header's value for the logs when it is there once, short and visible ASCII;
/// anything else is left out of the logs.
fn loggable<'a, H: HeaderSource + ?Sized>(headers: &'a H, name: &'a HeaderName) -> Option<&'a str> {
    let mut values = headers.header_values(name);
    let value = values.next()?;
    if values.next().is_some() || value.len() > 128 || !value.iter().all(u8::is_ascii_graphic) {
        return None;
    }
    std::str::from_utf8(value).ok()
}

/// Logs a failure with its reason code and, when the request has usable ones, the
/// `Approov-TraceID` (`trace_id`) that lets an operator find it in Approov's records and the
/// SDK's `Approov-Status` (`approov_status`); a missing one leaves its field out.
///
/// A request with no token (missing or empty) that carries a status is the SDK saying why it
/// had none (`no_network`, `mitm_detected`, ...): its event says so in its message, so that a
/// connectivity problem is told from a request forged without a token. Its reason code stays
/// `missing_token` or `empty_token`.
pub(crate) fn log_failure(kind: ApproovErrorKind, mode: Mode, context: &LogContext) {
    let trace_id = context.trace_id.as_deref();
    let approov_status = context.status.as_deref();
    if let Some(limiter) = limiter_for(kind) {
        return limiter.warn(mode, context);
    }
    let no_token = matches!(
        kind,
        ApproovErrorKind::MissingToken | ApproovErrorKind::EmptyToken
    );
    match mode {
        Mode::Monitor if no_token && approov_status.is_some() => tracing::warn!(
            reason = kind.reason_code(),
            mode = "monitor",
            trace_id,
            approov_status,
            "Approov check failed: no token, and the SDK's status says why; request let through \
             (monitor mode)"
        ),
        Mode::Monitor => tracing::warn!(
            reason = kind.reason_code(),
            mode = "monitor",
            trace_id,
            approov_status,
            "Approov check failed; request let through (monitor mode)"
        ),
        _ if no_token && approov_status.is_some() => tracing::debug!(
            reason = kind.reason_code(),
            trace_id,
            approov_status,
            "Approov check failed: no token, and the SDK's status says why; request rejected"
        ),
        _ if kind.is_client_fault() => tracing::debug!(
            reason = kind.reason_code(),
            trace_id,
            approov_status,
            "Approov check failed; request rejected"
        ),
        _ => tracing::warn!(
            reason = kind.reason_code(),
            trace_id,
            approov_status,
            "Approov check failed; request rejected"
        ),
    }
}

/// Marks "no warning yet" in `last_warn_ms`.
const NEVER: u64 = u64::MAX;

/// At most one `warn` per interval for one failure kind, with the count of such failures since
/// the last warning; `debug` in between.
#[derive(Debug)]
pub(crate) struct RateLimitedWarning {
    kind: ApproovErrorKind,
    /// What the failure means, for the warning's message.
    what: &'static str,
    limit: RateLimit,
}

impl RateLimitedWarning {
    pub(crate) const fn new(
        kind: ApproovErrorKind,
        what: &'static str,
        interval: Duration,
    ) -> Self {
        Self {
            kind,
            what,
            limit: RateLimit::new(interval),
        }
    }

    /// Logs one failure of this kind: at `warn` when the interval since the last warning has
    /// passed (or there was none), with the count of failures since, else at `debug`.
    pub(crate) fn warn(&self, mode: Mode, context: &LogContext) {
        let trace_id = context.trace_id.as_deref();
        let approov_status = context.status.as_deref();
        let reason = self.kind.reason_code();
        let mode = match mode {
            Mode::Monitor => "monitor",
            _ => "enforce",
        };
        match self.limit.due() {
            Some(count) => tracing::warn!(
                reason,
                mode,
                trace_id,
                approov_status,
                count,
                interval_seconds = self.limit.interval.as_secs(),
                "Approov check failed: {} ({count} such failures since the last warning; at most \
                 one warning per interval)",
                self.what
            ),
            None => tracing::debug!(
                reason,
                mode,
                trace_id,
                approov_status,
                "Approov check failed (warning rate-limited)"
            ),
        }
    }
}

/// The counting behind a rate-limited warning: lock-free, concurrent events race on one
/// compare-and-swap, and exactly one of them is due per interval.
#[derive(Debug)]
pub(crate) struct RateLimit {
    interval: Duration,
    /// The instant the milliseconds below count from: the first event.
    origin: OnceLock<Instant>,
    /// When the last warning was due, in milliseconds since `origin`; `NEVER` if none.
    last_warn_ms: AtomicU64,
    /// Events since the last warning, this one included once it is counted.
    since_last_warn: AtomicU64,
}

impl RateLimit {
    pub(crate) const fn new(interval: Duration) -> Self {
        Self {
            interval,
            origin: OnceLock::new(),
            last_warn_ms: AtomicU64::new(NEVER),
            since_last_warn: AtomicU64::new(0),
        }
    }

    /// Counts one event now: `Some(count)` when a warning is due, `count` being the events
    /// since the last warning (this one included); `None` otherwise.
    pub(crate) fn due(&self) -> Option<u64> {
        let origin = *self.origin.get_or_init(Instant::now);
        let now_ms = u64::try_from(origin.elapsed().as_millis()).unwrap_or(NEVER - 1);
        self.count_at(now_ms)
    }

    /// Counts one event at `now_ms` (milliseconds since `origin`) and decides. The clock is a
    /// parameter so that the decision is tested without waiting.
    fn count_at(&self, now_ms: u64) -> Option<u64> {
        self.since_last_warn.fetch_add(1, Ordering::AcqRel);
        let last = self.last_warn_ms.load(Ordering::Acquire);
        let interval = u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX);
        let due = last == NEVER || now_ms.saturating_sub(last) >= interval;
        if due
            && self
                .last_warn_ms
                .compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            Some(self.since_last_warn.swap(0, Ordering::AcqRel))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> RateLimit {
        RateLimit::new(Duration::from_millis(1000))
    }

    #[test]
    fn the_first_failure_warns_with_a_count_of_one_and_the_next_ones_in_the_interval_do_not() {
        let limiter = limiter();
        assert_eq!(limiter.count_at(0), Some(1));
        for ms in [1, 500, 999] {
            assert_eq!(limiter.count_at(ms), None, "at {ms} ms");
        }
    }

    #[test]
    fn once_the_interval_has_passed_the_next_failure_warns_with_the_count_since_the_last_warning() {
        let limiter = limiter();
        assert_eq!(limiter.count_at(0), Some(1));
        for _ in 0..398 {
            assert_eq!(limiter.count_at(10), None);
        }
        // 398 in between, and this one.
        assert_eq!(limiter.count_at(1000), Some(399));
        // The interval counts from that warning, not from the first one.
        assert_eq!(limiter.count_at(1999), None);
        assert_eq!(limiter.count_at(2000), Some(2));
    }

    #[test]
    fn concurrent_failures_give_exactly_one_warning_per_interval() {
        let limiter = limiter();
        let warned: u64 = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        (0..500)
                            .filter_map(|_| limiter.count_at(5))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let counts: Vec<u64> = handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect();
            assert_eq!(counts.len(), 1, "{counts:?}");
            counts[0]
        });
        // The warning counted the failures that came before it; the rest go to the next one.
        assert!((1..=4000).contains(&warned));
        assert_eq!(limiter.count_at(1005), Some(4000 - warned + 1));
    }

    /// What is logged on this thread while `f` runs, one event a line, without colours.
    fn logs_of(f: impl FnOnce()) -> String {
        use std::sync::{Arc, Mutex};

        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            // A callsite another test reached first, while no subscriber was interested, may
            // still have that interest cached: have it asked again.
            tracing::callsite::rebuild_interest_cache();
            f();
        });
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    /// The only unit test that has a `clock_not_set` failure logged: the limiter is one per
    /// process, so its first warning is this test's.
    #[test]
    fn below_the_clock_floor_four_hundred_refused_requests_give_exactly_one_clock_not_set_warning_with_its_count()
     {
        use crate::ApproovConfig;
        use crate::check::{ApproovRequest, Verdict};

        const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
        let config = ApproovConfig::builder()
            .with_secret(SECRET, None)
            .unwrap()
            .build()
            .unwrap();
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &serde_json::json!({ "exp": 4_000_000_000.0_f64 }),
            &jsonwebtoken::EncodingKey::from_secret(SECRET).unwrap(),
        )
        .unwrap();
        let headers = [("approov-token", token)];
        // A machine without a real-time clock, three days after it booted at 1970: below
        // `CLOCK_FLOOR`, so every token is refused, this one (good until 2096) included.
        let booted_at_1970 = 3.0 * 86_400.0;
        assert!(booted_at_1970 < crate::check::verify::CLOCK_FLOOR);
        let logs = logs_of(|| {
            for _ in 0..400 {
                let request = ApproovRequest::new("GET", "/", &headers[..]);
                match config.check_at(&request, booted_at_1970) {
                    Verdict::Reject(error) => {
                        assert_eq!(error.kind(), ApproovErrorKind::ClockNotSet);
                    }
                    other => panic!("{other:?}"),
                }
            }
        });
        // The level is the word after the timestamp, where the subscriber writes it.
        let lines = |level: &str| -> Vec<&str> {
            logs.lines()
                .filter(|l| l.split_whitespace().nth(1) == Some(level))
                .filter(|l| l.contains("reason=\"clock_not_set\""))
                .collect()
        };
        let warnings = lines("WARN");
        assert_eq!(warnings.len(), 1, "{logs}");
        assert!(warnings[0].contains("count=1"), "{}", warnings[0]);
        assert!(
            warnings[0].contains(
                "the server's clock reads before 2026-01-01, so it has not been set: sync it (NTP)"
            ),
            "{}",
            warnings[0]
        );
        // The others are still logged, at debug, as rate-limited; nothing else is.
        let debug = lines("DEBUG");
        assert_eq!(debug.len(), 399, "{logs}");
        assert!(debug.iter().all(|l| l.contains("warning rate-limited")));
        assert_eq!(logs.lines().count(), 400, "{logs}");
    }

    #[test]
    fn each_rate_limited_kind_has_its_own_limiter_and_the_others_have_none() {
        for kind in ApproovErrorKind::ALL {
            let limiter = limiter_for(*kind);
            match kind {
                ApproovErrorKind::KeysUnavailable
                | ApproovErrorKind::MitmDetected
                | ApproovErrorKind::ClockNotSet
                | ApproovErrorKind::ReplayStoreUnavailable => {
                    assert_eq!(limiter.map(|l| l.kind), Some(*kind));
                }
                _ => assert!(limiter.is_none(), "{kind:?}"),
            }
        }
    }
}
