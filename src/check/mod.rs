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
pub(crate) mod parse;
pub(crate) mod signing;
pub(crate) mod verify;

use std::fmt;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::check::claims::ApproovClaims;
use crate::check::config::{ApproovConfig, Mode, ModeHandle, Shared};
use crate::check::error::{ApproovError, ApproovErrorKind};
use crate::check::metrics::Observation;
use crate::check::signing::{DigestCheck, Outcome, Verified};

/// Where the check reads a request's headers from: an [`http::HeaderMap`], actix-web's header
/// map, Envoy's header list, or a slice of `(name, value)` pairs.
///
/// Only lookups by name are needed, so a front door hands its own header type over without
/// copying it.
pub trait HeaderSource {
    /// Every value of the header `name` (lower case), as received, in the order received.
    fn header_values<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]>;
}

impl HeaderSource for HeaderMap {
    fn header_values<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> {
        self.get_all(name).iter().map(HeaderValue::as_bytes)
    }
}

/// `(name, value)` pairs, names matched without regard to case: for front doors whose headers
/// come as a list (AWS Lambda events, Envoy's raw headers), and for tests.
impl<K: AsRef<str>, V: AsRef<[u8]>> HeaderSource for [(K, V)] {
    fn header_values<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> {
        self.iter()
            .filter(move |(key, _)| key.as_ref().eq_ignore_ascii_case(name.as_str()))
            .map(|(_, value)| value.as_ref())
    }
}

impl<T: HeaderSource + ?Sized> HeaderSource for &T {
    fn header_values<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> {
        (**self).header_values(name)
    }
}

/// What a front door knows of a request's body.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestBody<'a> {
    /// No body, or one known to be empty (`Content-Length: 0`, a stream already ended).
    Empty,
    /// A body the front door can read when asked to: [`Verdict::ReadBody`].
    Unread,
    /// The whole body, already read (Envoy's `with_request_body`, a buffered Lambda event).
    Read(&'a [u8]),
    /// A body the front door cannot see (nginx `auth_request`, a forward-auth call): a message
    /// signature that covers `content-digest` cannot be checked, and is refused
    /// ([`BodyUnavailable`](ApproovErrorKind::BodyUnavailable)).
    Unavailable,
}

impl RequestBody<'_> {
    /// Whether there is a body (one not known to be empty).
    pub(crate) fn is_present(self) -> bool {
        match self {
            Self::Empty => false,
            Self::Read(bytes) => !bytes.is_empty(),
            Self::Unread | Self::Unavailable => true,
        }
    }
}

impl fmt::Debug for RequestBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("Empty"),
            Self::Unread => f.write_str("Unread"),
            // Never the bytes: they may hold credentials or personal data.
            Self::Read(bytes) => f.debug_struct("Read").field("len", &bytes.len()).finish(),
            Self::Unavailable => f.write_str("Unavailable"),
        }
    }
}

/// A request as a front door hands it to [`ApproovConfig::check`].
///
/// ```
/// use tower_approov::{ApproovConfig, ApproovRequest, Verdict};
///
/// # fn main() -> Result<(), tower_approov::ConfigError> {
/// let config = ApproovConfig::builder().with_secret(&[7; 64], None)?.build()?;
/// let headers = [("Host", "api.example.com"), ("Approov-Token", "not-a-token")];
/// let request = ApproovRequest::new("GET", "/v1/orders?page=2", &headers[..]);
/// match config.check(&request) {
///     Verdict::Accept(claims) => println!("device {:?}", claims.did()),
///     Verdict::Reject(error) => assert_eq!(error.kind().reason_code(), "malformed_token"),
///     other => unreachable!("{other:?}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Copy)]
pub struct ApproovRequest<'a, H: ?Sized> {
    pub(crate) method: &'a str,
    /// The path as received: empty for a target with none (authority form).
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) scheme: Option<&'a str>,
    pub(crate) authority: Option<&'a str>,
    pub(crate) headers: &'a H,
    pub(crate) body: RequestBody<'a>,
}

impl<'a, H: HeaderSource + ?Sized> ApproovRequest<'a, H> {
    /// A request with this method (`GET`), request target as received (origin form
    /// `/v1/orders?page=2`, or absolute form `https://api.example.com/v1/orders`, whose scheme
    /// and authority are then taken as the transport's) and headers, and no body.
    #[must_use]
    pub fn new(method: &'a str, target: &'a str, headers: &'a H) -> Self {
        let (scheme, authority, path_and_query) = split_target(target);
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        Self {
            method,
            path,
            query,
            scheme,
            authority,
            headers,
            body: RequestBody::Empty,
        }
    }

    /// The scheme the transport knows (HTTP/2 `:scheme`, TLS or not), if the target did not
    /// say. Without one, a signed request is taken as `https`: see
    /// [`SigningConfig::with_public_origin`](crate::SigningConfig::with_public_origin).
    #[must_use]
    pub fn with_scheme(mut self, scheme: &'a str) -> Self {
        self.scheme = Some(scheme);
        self
    }

    /// The authority the transport knows (HTTP/2 `:authority`), if the target did not say.
    /// Without one, the `Host` header is used.
    #[must_use]
    pub fn with_authority(mut self, authority: &'a str) -> Self {
        self.authority = Some(authority);
        self
    }

    /// What the front door knows of the body. Defaults to [`RequestBody::Empty`].
    #[must_use]
    pub fn with_body(mut self, body: RequestBody<'a>) -> Self {
        self.body = body;
        self
    }
}

/// Splits an absolute-form target into its scheme, authority and the rest; an origin-form
/// (or asterisk-form) target has neither scheme nor authority.
fn split_target(target: &str) -> (Option<&str>, Option<&str>, &str) {
    if let Some((scheme, rest)) = target.split_once("://")
        && !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_and_query) = rest.split_at(end);
        return (Some(scheme), Some(authority), path_and_query);
    }
    (None, None, target)
}

/// Shows the method and the path only: the query and the headers may hold credentials (the
/// token among them).
impl<H: ?Sized> fmt::Debug for ApproovRequest<'_, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApproovRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query.map(|_| "[redacted]"))
            .field("scheme", &self.scheme)
            .field("authority", &self.authority)
            .field("body", &self.body)
            .finish_non_exhaustive()
    }
}

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
}

impl fmt::Debug for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Accept(claims) => f.debug_tuple("Accept").field(claims).finish(),
            Self::Reject(error) => f.debug_tuple("Reject").field(error).finish(),
            Self::Monitor(error) => f.debug_tuple("Monitor").field(error).finish(),
            Self::ReadBody(check) => f.debug_tuple("ReadBody").field(check).finish(),
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
            observation,
            context,
            ..
        } = self;
        let (kind, mode) = match read {
            BodyRead::Complete(body) if digest.matches(body) => {
                return accept(claims, *verified, observation);
            }
            BodyRead::Complete(_) => (ApproovErrorKind::ContentDigestMismatch, mode.get()),
            BodyRead::TooLarge => (ApproovErrorKind::BodyTooLarge, Mode::Enforce),
            BodyRead::Failed => (ApproovErrorKind::ContentDigestMismatch, Mode::Enforce),
        };
        conclude(kind, mode, observation, &context)
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
    fn of<H: HeaderSource + ?Sized>(headers: &H) -> Self {
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

impl ApproovConfig {
    /// The whole check of one request: the token, its binding, its message signatures, at
    /// this moment, in the mode in force. Logs and counts a failure, and answers what the
    /// front door must do.
    ///
    /// Synchronous: the one step that waits, reading a body whose digest the signature covers,
    /// is left to the front door ([`Verdict::ReadBody`]), unless the body came with the
    /// request ([`RequestBody::Read`]).
    pub fn check<H: HeaderSource + ?Sized>(&self, request: &ApproovRequest<'_, H>) -> Verdict {
        let observation = Observation::start();
        // One clock reading for the token and the signature.
        let now = verify::now();
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
            )) => accept(claims, verified, observation),
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

/// A passed check: counted, and the request goes on with its claims.
///
/// `verified` holds the message signatures that verified, once every other check (the body's
/// digest included) has passed: this is where the replay protection of a later release records
/// them, and refuses a request whose signature it has seen.
fn accept(claims: ApproovClaims, verified: Verified, observation: Observation) -> Verdict {
    let _ = verified;
    observation.finish(Mode::Enforce, Ok(()));
    Verdict::Accept(claims)
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

/// Logs a failure with its reason code and, when the request has usable ones, the
/// `Approov-TraceID` (`trace_id`) that lets an operator find it in Approov's records and the
/// SDK's `Approov-Status` (`approov_status`); a missing one leaves its field out.
///
/// A request with no token (missing or empty) that carries a status is the SDK saying why it
/// had none (`no_network`, `mitm_detected`, ...): its event says so in its message, so that a
/// connectivity problem is told from a request forged without a token. Its reason code stays
/// `missing_token` or `empty_token`.
fn log_failure(kind: ApproovErrorKind, mode: Mode, context: &LogContext) {
    let trace_id = context.trace_id.as_deref();
    let approov_status = context.status.as_deref();
    if let Some(limiter) = crate::check::log::limiter_for(kind) {
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

    #[test]
    fn an_absolute_target_gives_its_scheme_and_authority_and_an_origin_form_one_neither() {
        let headers: [(&str, &str); 0] = [];
        let request =
            ApproovRequest::new("GET", "https://API.example.com:8443/a/b?q=1", &headers[..]);
        assert_eq!(
            (
                request.scheme,
                request.authority,
                request.path,
                request.query
            ),
            (
                Some("https"),
                Some("API.example.com:8443"),
                "/a/b",
                Some("q=1")
            )
        );
        let request = ApproovRequest::new("GET", "https://api.example.com?q=1", &headers[..]);
        assert_eq!((request.path, request.query), ("", Some("q=1")));
        let request = ApproovRequest::new("GET", "/a?b=c://d", &headers[..]);
        assert_eq!(
            (
                request.scheme,
                request.authority,
                request.path,
                request.query
            ),
            (None, None, "/a", Some("b=c://d"))
        );
        let request = ApproovRequest::new("OPTIONS", "*", &headers[..]);
        assert_eq!(
            (request.scheme, request.path, request.query),
            (None, "*", None)
        );
    }

    #[test]
    fn a_request_debug_shows_neither_its_query_nor_its_headers() {
        let headers = [("approov-token", "secret.token.value"), ("cookie", "s=1")];
        let request = ApproovRequest::new("POST", "/login?password=hunter2", &headers[..])
            .with_body(RequestBody::Read(b"password=hunter2"));
        assert_eq!(
            format!("{request:?}"),
            "ApproovRequest { method: \"POST\", path: \"/login\", query: Some(\"[redacted]\"), \
             scheme: None, authority: None, body: Read { len: 16 }, .. }"
        );
    }

    #[test]
    fn header_pairs_are_matched_without_regard_to_case_and_keep_their_order() {
        let headers = [("Signature", "a"), ("host", "h"), ("SIGNATURE", "b")];
        let name = HeaderName::from_static("signature");
        let values: Vec<&[u8]> = headers[..].header_values(&name).collect();
        assert_eq!(values, [b"a".as_slice(), b"b".as_slice()]);
    }
}
