//! The framework-free check: one entry point, [`ApproovConfig::check`], that every front door
//! (the tower layer, the actix-web middleware, the verifier service) calls with what it can
//! always give: the method, the request target as received, the headers, the scheme and
//! authority when the transport knows them, and the body or "no body here".
//!
//! Every rule lives behind this entry point: what is accepted, why a request is refused, what
//! is logged and counted, what monitor mode lets through. A front door only translates a request
//! in and a [`Verdict`] out.
//!
//! The modules below are the check's parts; none of them imports a front door.

pub(crate) mod binding;
pub(crate) mod cache;
pub(crate) mod claims;
pub(crate) mod config;
pub(crate) mod error;
pub(crate) mod keys;
pub(crate) mod log;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(not(feature = "metrics"))]
pub(crate) mod metrics;
pub(crate) mod mode;
pub(crate) mod parse;
pub(crate) mod replay;
pub(crate) mod request;
pub(crate) mod signing;
pub(crate) mod verify;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::HeaderName;

use crate::check::claims::ApproovClaims;
use crate::check::config::{ApproovConfig, Shared};
use crate::check::error::{ApproovError, ApproovErrorKind};
use crate::check::log::{LogContext, log_failure};
use crate::check::metrics::Observation;
use crate::check::mode::{Mode, ModeHandle};
use crate::check::replay::{Remembered, Replay, Seen, StoreFailure};
pub use crate::check::request::{ApproovRequest, HeaderSource, RequestBody};
use crate::check::signing::{DigestCheck, Outcome, Verified};

/// The answer of [`ApproovConfig::check`]: what the front door must do with the request.
///
/// The reason of a failure has already been logged and counted when the verdict is returned;
/// the front door only acts on it.
#[must_use]
#[non_exhaustive]
pub enum Verdict {
    /// Every check passed: hand the request on with these claims, without the token header
    /// when [`ApproovConfig::token_header_to_strip`] says so.
    Accept(ApproovClaims),
    /// A check failed (enforce mode): answer with the rejection (`401 {}` by default). Never
    /// send the reason to the client.
    Reject(ApproovError),
    /// A check failed in monitor mode: hand the request on, without claims (remove any an
    /// earlier check put there), with this error in their place.
    Monitor(ApproovError),
    /// Everything but the body passed, and the message signature covers `content-digest`:
    /// read the body (at most [`BodyCheck::limit`] bytes, within [`BodyCheck::deadline`]),
    /// then hand it to [`BodyCheck::finish`] for the verdict.
    ReadBody(BodyCheck),
    /// Every check passed, and replay protection must remember the request's signatures in a
    /// store across the network (Redis): await [`ReplayCheck::record`] for the verdict. Never
    /// with a store in memory, which answers at once.
    Record(ReplayCheck),
}

impl fmt::Debug for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Accept(claims) => f.debug_tuple("Accept").field(claims).finish(),
            Self::Reject(error) => f.debug_tuple("Reject").field(error).finish(),
            Self::Monitor(error) => f.debug_tuple("Monitor").field(error).finish(),
            Self::ReadBody(check) => f.debug_tuple("ReadBody").field(check).finish(),
            Self::Record(check) => f.debug_tuple("Record").field(check).finish(),
        }
    }
}

/// How reading a body for [`BodyCheck::finish`] went.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum BodyRead<'a> {
    /// The whole body, at most [`BodyCheck::limit`] bytes.
    Complete(&'a [u8]),
    /// The body is longer than [`BodyCheck::limit`]: reading stopped there.
    TooLarge,
    /// The body did not arrive whole: the client went away, the stream failed, or the
    /// [`BodyCheck::deadline`] passed first.
    Failed,
}

impl fmt::Debug for BodyRead<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Complete(bytes) => f
                .debug_struct("Complete")
                .field("len", &bytes.len())
                .finish(),
            Self::TooLarge => f.write_str("TooLarge"),
            Self::Failed => f.write_str("Failed"),
        }
    }
}

/// The rest of a check whose message signature covers `content-digest`: the body must be read
/// and compared with the digest. Everything else about the request has passed.
pub struct BodyCheck {
    claims: ApproovClaims,
    digest: DigestCheck,
    /// The signatures that verified, to be recorded once the body matched (see
    /// [`accept`]). Boxed: this path reads a body anyway, and a `Verdict` stays small.
    verified: Box<Verified>,
    deadline: Duration,
    mode: ModeHandle,
    replay: Option<Arc<Replay>>,
    observation: Observation,
    context: LogContext,
}

impl fmt::Debug for BodyCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyCheck")
            .field("limit", &self.digest.limit())
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl BodyCheck {
    /// The most body to read: a longer one is [`BodyRead::TooLarge`], read no further.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.digest.limit()
    }

    /// How long the whole body may take to arrive: a body still incomplete then is
    /// [`BodyRead::Failed`], so that a client trickling bytes cannot hold the server.
    #[must_use]
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// The verdict, once the body is read: [`Verdict::Accept`] when it matches its digest.
    ///
    /// Monitor mode lets a mismatching body through only when it was read whole: a body over
    /// the limit was only partly read, and one that failed to arrive is gone, so the handler
    /// would get a truncated body as if it were the request's. Both are refused in either mode.
    pub fn finish(self, read: BodyRead<'_>) -> Verdict {
        let Self {
            claims,
            digest,
            verified,
            mode,
            replay,
            observation,
            context,
            ..
        } = self;
        let (kind, mode) = match read {
            BodyRead::Complete(body) if digest.matches(body) => {
                let passed = Passed {
                    claims,
                    observation,
                    mode: &mode,
                };
                return passed.remember(&verified, replay.as_ref(), || context);
            }
            BodyRead::Complete(_) => (ApproovErrorKind::ContentDigestMismatch, mode.get()),
            BodyRead::TooLarge => (ApproovErrorKind::BodyTooLarge, Mode::Enforce),
            BodyRead::Failed => (ApproovErrorKind::ContentDigestMismatch, Mode::Enforce),
        };
        conclude(kind, mode, observation, &context)
    }
}

impl ApproovConfig {
    /// The whole check of one request: the token, its binding, its message signatures, at
    /// this moment, in the mode in force. Logs and counts a failure, and answers what the
    /// front door must do.
    ///
    /// Synchronous: the one step that waits, reading a body whose digest the signature covers,
    /// is left to the front door ([`Verdict::ReadBody`]), unless the body came with the
    /// request ([`RequestBody::Read`]).
    pub fn check<H: HeaderSource + ?Sized>(&self, request: &ApproovRequest<'_, H>) -> Verdict {
        // One clock reading for the token and the signature.
        self.check_at(request, verify::now())
    }

    /// [`check`](Self::check) with the clock reading `now` (seconds since the epoch), so that
    /// a test can run the whole check, its logging included, at a time the system clock does
    /// not show.
    pub(crate) fn check_at<H: HeaderSource + ?Sized>(
        &self,
        request: &ApproovRequest<'_, H>,
        now: f64,
    ) -> Verdict {
        let observation = Observation::start();
        let shared = &*self.shared;
        let checked =
            check_token(shared, request.headers, now).and_then(|claims| match &shared.signing {
                None => Ok((claims, Outcome::default())),
                Some(signing) => signing.check(&claims, request, now).map(|o| (claims, o)),
            });
        match checked {
            Ok((
                claims,
                Outcome {
                    verified,
                    digest: None,
                },
            )) => {
                let passed = Passed {
                    claims,
                    observation,
                    mode: &shared.mode,
                };
                passed.remember(&verified, shared.replay.as_ref(), || {
                    LogContext::of(request.headers)
                })
            }
            Ok((
                claims,
                Outcome {
                    verified,
                    digest: Some(digest),
                },
            )) => {
                let body = BodyCheck {
                    claims,
                    digest,
                    verified: Box::new(verified),
                    deadline: shared
                        .signing
                        .as_ref()
                        .map_or(Duration::ZERO, |s| s.body_read_timeout()),
                    mode: shared.mode.clone(),
                    replay: shared.replay.clone(),
                    observation,
                    context: LogContext::of(request.headers),
                };
                match request.body {
                    RequestBody::Read(bytes) if bytes.len() > body.limit() => {
                        body.finish(BodyRead::TooLarge)
                    }
                    RequestBody::Read(bytes) => body.finish(BodyRead::Complete(bytes)),
                    RequestBody::Unavailable => conclude(
                        ApproovErrorKind::BodyUnavailable,
                        Mode::Enforce,
                        body.observation,
                        &body.context,
                    ),
                    // A request said to be empty whose signature covers a digest: the digest
                    // must be the empty body's.
                    RequestBody::Empty => body.finish(BodyRead::Complete(&[])),
                    RequestBody::Unread => Verdict::ReadBody(body),
                }
            }
            Err(kind) => conclude(
                kind,
                shared.mode.get(),
                observation,
                &LogContext::of(request.headers),
            ),
        }
    }

    /// The header to remove from a request that passed, before it goes on: the token header
    /// when [`with_strip_token_header`](crate::ApproovConfigBuilder::with_strip_token_header)
    /// is on.
    #[must_use]
    pub fn token_header_to_strip(&self) -> Option<&HeaderName> {
        self.shared
            .strip_token_header
            .then_some(&self.shared.token_header)
    }
}

/// A request that passed every check but replay protection.
struct Passed<'m> {
    claims: ApproovClaims,
    observation: Observation,
    mode: &'m ModeHandle,
}

impl Passed<'_> {
    /// Remembers the signatures that verified, when replay protection is on (at once in
    /// memory; for Redis, the front door awaits [`Verdict::Record`]), then gives the verdict.
    /// Unsigned requests and failover tokens have nothing to remember, and never touch the
    /// store. `context` is read only if the request is refused.
    fn remember(
        self,
        verified: &Verified,
        replay: Option<&Arc<Replay>>,
        context: impl FnOnce() -> LogContext,
    ) -> Verdict {
        let seen = match replay {
            Some(_) => crate::check::replay::seen(&self.claims, verified),
            None => Vec::new(),
        };
        let Some(replay) = replay.filter(|_| !seen.is_empty()) else {
            return accept(self.claims, self.observation);
        };
        match replay.remember_now(&seen, verify::now_ms()) {
            Some(remembered) => after_replay(
                remembered,
                self.claims,
                self.observation,
                self.mode.get(),
                replay.failure,
                &context(),
            ),
            None => Verdict::Record(ReplayCheck {
                claims: self.claims,
                seen,
                replay: Arc::clone(replay),
                mode: self.mode.clone(),
                observation: self.observation,
                context: context(),
            }),
        }
    }
}

/// A passed check: counted, and the request goes on with its claims.
fn accept(claims: ApproovClaims, observation: Observation) -> Verdict {
    observation.finish(Mode::Enforce, Ok(()));
    Verdict::Accept(claims)
}

/// The verdict once the store said whether the request's signatures were seen before. A
/// store that cannot answer refuses the request (`replay_store_unavailable`, the default), or
/// lets it through unremembered, counted and warned about (`StoreFailure::Allow`).
fn after_replay(
    remembered: Remembered,
    claims: ApproovClaims,
    observation: Observation,
    mode: Mode,
    failure: StoreFailure,
    context: &LogContext,
) -> Verdict {
    match (remembered, failure) {
        (Remembered::Fresh, _) => accept(claims, observation),
        (Remembered::Replayed, _) => conclude(
            ApproovErrorKind::SignatureReplayed,
            mode,
            observation,
            context,
        ),
        (Remembered::Unavailable, StoreFailure::Allow) => {
            crate::check::replay::warn_unremembered();
            accept(claims, observation)
        }
        (Remembered::Unavailable, _) => conclude(
            ApproovErrorKind::ReplayStoreUnavailable,
            mode,
            observation,
            context,
        ),
    }
}

/// The rest of a check whose signatures must be remembered in a store across the network
/// (Redis): every other check passed. [`record`](Self::record) gives the verdict.
pub struct ReplayCheck {
    claims: ApproovClaims,
    seen: Vec<Seen>,
    replay: Arc<Replay>,
    mode: ModeHandle,
    observation: Observation,
    context: LogContext,
}

impl fmt::Debug for ReplayCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayCheck")
            .field("signatures", &self.seen.len())
            .finish_non_exhaustive()
    }
}

impl ReplayCheck {
    /// Remembers the request's signatures in the store (each only if absent, within the
    /// store's timeout, never retried), and gives the verdict: [`Verdict::Accept`] when none
    /// was seen before. Never [`Verdict::ReadBody`] or [`Verdict::Record`].
    pub fn record(self) -> Recording {
        Recording(Box::pin(async move {
            let remembered = self.replay.remember(&self.seen, verify::now_ms()).await;
            after_replay(
                remembered,
                self.claims,
                self.observation,
                self.mode.get(),
                self.replay.failure,
                &self.context,
            )
        }))
    }
}

/// The future of [`ReplayCheck::record`]: the check's one boxed future, on the path that
/// waits for a network round trip anyway.
#[must_use = "futures do nothing unless polled"]
pub struct Recording(Pin<Box<dyn Future<Output = Verdict> + Send>>);

impl fmt::Debug for Recording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Recording")
    }
}

impl Future for Recording {
    type Output = Verdict;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Verdict> {
        self.0.as_mut().poll(cx)
    }
}

/// A failed check: counted, logged, then refused, or, in monitor mode, let through.
fn conclude(
    kind: ApproovErrorKind,
    mode: Mode,
    observation: Observation,
    context: &LogContext,
) -> Verdict {
    observation.finish(mode, Err(kind));
    crate::check::metrics::token_status(kind, context.status.as_deref());
    log_failure(kind, mode, context);
    let error = ApproovError::new(kind);
    match mode {
        Mode::Monitor => Verdict::Monitor(error),
        _ => Verdict::Reject(error),
    }
}

/// The token check at time `now`: the token header, the token (from the cache or verified),
/// its binding.
pub(crate) fn check_token<H: HeaderSource + ?Sized>(
    shared: &Shared,
    headers: &H,
    now: f64,
) -> Result<ApproovClaims, ApproovErrorKind> {
    let token = extract_token(shared, headers)?;
    // Cached under the token itself, not the header's bytes: however the header is written
    // (`Bearer` in any case, any run of spaces), one token is one entry.
    let claims = match shared.verifier.cached(token.as_bytes(), now) {
        Some(hit) => hit?,
        None => shared
            .verifier
            .verify_and_remember(token.as_bytes(), token, now)?,
    };
    if let Some(binding) = &shared.binding {
        binding.check(&claims, headers)?;
    }
    Ok(claims)
}

/// Takes the token out of its header: exactly one header, bounded length (checked before
/// anything else reads it, so that a huge header costs nothing), visible ASCII, prefix
/// stripped.
fn extract_token<'h, H: HeaderSource + ?Sized>(
    shared: &'h Shared,
    headers: &'h H,
) -> Result<&'h str, ApproovErrorKind> {
    let mut values = headers.header_values(&shared.token_header);
    let value = match (values.next(), values.next()) {
        (None, _) => return Err(ApproovErrorKind::MissingToken),
        (Some(value), None) => value,
        // Two tokens: which one would the app have meant? Neither.
        (Some(_), Some(_)) => return Err(ApproovErrorKind::DuplicateToken),
    };
    if value.len() > shared.max_token_length {
        return Err(ApproovErrorKind::TokenTooLong);
    }
    // Visible ASCII, spaces and tabs, as `HeaderValue::to_str` accepts; every byte is looked
    // at (no early exit), which lets the compiler check them many at a time.
    let visible = value.iter().fold(true, |ok, &b| {
        ok & ((b' '..=b'~').contains(&b) | (b == b'\t'))
    });
    let mut token = std::str::from_utf8(value)
        .ok()
        .filter(|_| visible)
        .ok_or(ApproovErrorKind::InvalidTokenEncoding)?
        .trim_matches([' ', '\t']);
    if let Some(prefix) = &shared.token_prefix
        && let Some(head) = token.get(..prefix.len())
        && head.eq_ignore_ascii_case(prefix)
    {
        let rest = &token[prefix.len()..];
        // `Bearer <token>`, never `Bearer<token>`: the prefix is a word of its own.
        if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
            return Err(ApproovErrorKind::MalformedToken);
        }
        token = rest.trim_start_matches([' ', '\t']);
    }
    // What the SDK sends in place of a token it could not get: never decoded or cached.
    match token {
        "" => Err(ApproovErrorKind::EmptyToken),
        "NO_NETWORK" => Err(ApproovErrorKind::NoNetwork),
        "POOR_NETWORK" => Err(ApproovErrorKind::PoorNetwork),
        "MITM_DETECTED" => Err(ApproovErrorKind::MitmDetected),
        token => Ok(token),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::replay::ReplayConfig;

    #[test]
    fn a_replay_check_and_its_future_show_no_signature() {
        let check = ReplayCheck {
            claims: ApproovClaims::new(1.0, serde_json::Map::new()),
            seen: vec![Seen::new("install", b"ipk", &[7; 64], 1)],
            replay: Arc::new(Replay::new(&ReplayConfig::memory(), "test").unwrap()),
            mode: ModeHandle::new(Mode::Enforce),
            observation: Observation::start(),
            context: LogContext::default(),
        };
        assert_eq!(format!("{check:?}"), "ReplayCheck { signatures: 1, .. }");
        assert_eq!(
            format!("{:?}", Verdict::Record(check)),
            "Record(ReplayCheck { signatures: 1, .. })"
        );
    }

    #[tokio::test]
    async fn a_replay_check_records_once_and_refuses_the_same_signature_after() {
        let replay = Arc::new(Replay::new(&ReplayConfig::memory(), "test").unwrap());
        let check = || ReplayCheck {
            claims: ApproovClaims::new(1.0, serde_json::Map::new()),
            seen: vec![Seen::new("install", b"ipk", &[7; 64], u64::MAX)],
            replay: Arc::clone(&replay),
            mode: ModeHandle::new(Mode::Enforce),
            observation: Observation::start(),
            context: LogContext::default(),
        };
        let first = check().record();
        assert_eq!(format!("{first:?}"), "Recording");
        assert!(matches!(first.await, Verdict::Accept(_)));
        match check().record().await {
            Verdict::Reject(error) => assert_eq!(error.kind(), ApproovErrorKind::SignatureReplayed),
            other => panic!("{other:?}"),
        }
    }
}
