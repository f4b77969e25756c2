//! [`ApproovService`]: pick the token out, verify it, pass the claims on or reject.

use std::fmt;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Request, Response};
use http_body::Body;
use tower_service::Service;

use crate::body::ApproovBody;
use crate::claims::ApproovClaims;
use crate::config::{ApproovConfig, Mode, Shared};
use crate::error::{ApproovError, ApproovErrorKind};
use crate::future::{AfterRead, ResponseFuture};
use crate::metrics::Observation;
use crate::response::{RejectionResponse, RequestHead};
use crate::signing::{BoxError, DigestCheck, Outcome, RequestView};
use crate::verify;

/// The service made by [`ApproovLayer`](crate::ApproovLayer).
///
/// The inner service receives the request with its body wrapped in [`ApproovBody`] (the same
/// bytes; see there why).
///
/// On success the request goes to the inner service with [`ApproovClaims`] in its extensions.
/// On failure the service answers itself with the rejection response (`401 {}` by default),
/// which carries the [`ApproovError`] in its extensions. In monitor mode a failed request goes
/// on too, with the [`ApproovError`] in its extensions instead of claims.
///
/// # Bounds
///
/// Neither the inner service, its future, the bodies nor the rejection response need be
/// `Send` or `'static`: a `!Send` service on a current-thread runtime works. Two `Clone`
/// bounds remain, both for requests whose message signature covers `Content-Digest`: the
/// inner service that was polled ready moves into the [`ResponseFuture`](crate::ResponseFuture),
/// which calls it once the body is read and checked (a clone takes its place in the service),
/// and a clone of the rejection response goes with it, in case the check fails.
#[derive(Clone)]
#[must_use]
pub struct ApproovService<S, R> {
    inner: S,
    config: ApproovConfig,
    rejection: R,
}

impl<S, R> ApproovService<S, R> {
    pub(crate) fn new(inner: S, config: ApproovConfig, rejection: R) -> Self {
        Self {
            inner,
            config,
            rejection,
        }
    }

    /// The inner service.
    #[must_use]
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    #[must_use]
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes this service, returning the inner service.
    #[must_use]
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The check alone, with no inner service involved: what `call` does with a request's
    /// headers. Message signatures are not checked here: they also need the method, the URI
    /// and possibly the body.
    ///
    /// # Errors
    ///
    /// The [`ApproovError`] that a request with these headers would be rejected with.
    pub fn check(&self, headers: &HeaderMap) -> Result<ApproovClaims, ApproovError> {
        check(&self.config.shared, headers, verify::now()).map_err(ApproovError::new)
    }
}

/// The whole per-request check at time `now`: token header, token, binding.
pub(crate) fn check(
    shared: &Shared,
    headers: &HeaderMap,
    now: f64,
) -> Result<ApproovClaims, ApproovErrorKind> {
    // A token cached under its header's exact bytes is looked up before any scan of them:
    // they passed every check of `extract_token` when it was verified.
    let mut values = headers.get_all(&shared.token_header).iter();
    let single = match (values.next(), values.next()) {
        (Some(raw), None) => Some(raw),
        _ => None,
    };
    let claims = match single.and_then(|raw| shared.verifier.cached(raw.as_bytes(), now)) {
        Some(hit) => hit?,
        None => {
            let token = extract_token(shared, headers)?;
            // `extract_token` passed, so there was exactly one header: `single`.
            let key = single.map_or(token.as_bytes(), http::HeaderValue::as_bytes);
            shared.verifier.verify_and_remember(key, token, now)?
        }
    };
    if let Some(binding) = &shared.binding {
        binding.check(&claims, headers)?;
    }
    Ok(claims)
}

/// Takes the token out of its header: exactly one header, bounded length, visible ASCII,
/// prefix stripped.
fn extract_token<'h>(shared: &Shared, headers: &'h HeaderMap) -> Result<&'h str, ApproovErrorKind> {
    let mut values = headers.get_all(&shared.token_header).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Err(ApproovErrorKind::MissingToken),
        (Some(value), None) => value,
        // Two tokens: which one would the app have meant? Neither.
        (Some(_), Some(_)) => return Err(ApproovErrorKind::DuplicateToken),
    };
    // Before any decoding, so that a huge header costs nothing.
    if value.len() > shared.max_token_length {
        return Err(ApproovErrorKind::TokenTooLong);
    }
    let mut token = value
        .to_str()
        .map_err(|_| ApproovErrorKind::InvalidTokenEncoding)?
        .trim();
    if let Some(prefix) = &shared.token_prefix
        && let Some(head) = token.get(..prefix.len())
        && head.eq_ignore_ascii_case(prefix)
    {
        let rest = &token[prefix.len()..];
        // `Bearer <token>`, never `Bearer<token>`: the prefix is a word of its own.
        if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
            return Err(ApproovErrorKind::MalformedToken);
        }
        token = rest.trim_start();
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

const TRACE_ID: HeaderName = HeaderName::from_static("approov-traceid");

/// The request's `Approov-TraceID`, for the logs, when it is a short visible-ASCII value. It
/// comes from the client: anything longer or with other bytes is left out of the logs.
fn trace_id(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(TRACE_ID)?;
    let bytes = value.as_bytes();
    if bytes.len() > 128 || !bytes.iter().all(u8::is_ascii_graphic) {
        return None;
    }
    value.to_str().ok()
}

/// A failed check: counted, logged, then answered with the rejection response, or, in monitor
/// mode, let through with the error in the request extensions in place of claims (`None`).
pub(crate) fn fail<R, ReqBody, ResBody>(
    kind: ApproovErrorKind,
    mode: Mode,
    observation: Observation,
    request: &mut Request<ReqBody>,
    rejection: &R,
) -> Option<Response<ResBody>>
where
    R: RejectionResponse<ResBody>,
{
    observation.finish(mode, Err(kind));
    log_failure(kind, mode, trace_id(request.headers()));
    let error = ApproovError::new(kind);
    if mode == Mode::Monitor {
        request.extensions_mut().remove::<ApproovClaims>();
        request.extensions_mut().insert(error);
        return None;
    }
    let mut response = rejection.rejection(&error, &RequestHead::of(request));
    response.extensions_mut().insert(error);
    Some(response)
}

/// Logs a failure with its reason code and, when the request has a usable one, the
/// `Approov-TraceID` (`trace_id`) that lets an operator find it in Approov's records. A `None`
/// trace id leaves the field out.
fn log_failure(kind: ApproovErrorKind, mode: Mode, trace_id: Option<&str>) {
    if let Some(limiter) = crate::log::limiter_for(kind) {
        return limiter.warn(mode, trace_id);
    }
    match mode {
        Mode::Monitor => tracing::warn!(
            reason = kind.reason_code(),
            mode = "monitor",
            trace_id,
            "Approov check failed; request let through (monitor mode)"
        ),
        _ if kind.is_client_fault() => tracing::debug!(
            reason = kind.reason_code(),
            trace_id,
            "Approov check failed; request rejected"
        ),
        _ => tracing::warn!(
            reason = kind.reason_code(),
            trace_id,
            "Approov check failed; request rejected"
        ),
    }
}

/// The token check, then the message signature check when it is on. `Some` digest check when
/// the body must still be read.
fn check_request<B: Body>(
    shared: &Shared,
    req: &Request<B>,
) -> Result<(ApproovClaims, Option<DigestCheck>), ApproovErrorKind> {
    // One clock reading for the token and the signature.
    let now = verify::now();
    let claims = check(shared, req.headers(), now)?;
    let Some(signing) = &shared.signing else {
        return Ok((claims, None));
    };
    let view = RequestView {
        method: req.method(),
        uri: req.uri(),
        headers: req.headers(),
        token_header: &shared.token_header,
        has_body: !req.body().is_end_stream() && req.body().size_hint().exact() != Some(0),
    };
    match signing.check(&claims, &view, now)? {
        Outcome::Done => Ok((claims, None)),
        Outcome::Digest(digest) => Ok((claims, Some(digest))),
    }
}

impl<S, R> ApproovService<S, R> {
    /// The one path that awaits: the future reads the body up to the limit, checks its
    /// digest, then hands the inner service the same bytes. The inner service that was polled
    /// ready goes into the future; a clone takes its place.
    fn read_then_call<ReqBody>(
        &mut self,
        req: Request<ReqBody>,
        digest: DigestCheck,
        observation: Observation,
    ) -> ResponseFuture<S, ReqBody, R>
    where
        S: Service<Request<ApproovBody<ReqBody>>> + Clone,
        R: Clone,
        ReqBody: Body,
        ReqBody::Error: Into<BoxError>,
    {
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let (parts, body) = req.into_parts();
        let after = AfterRead {
            parts,
            inner,
            rejection: self.rejection.clone(),
            digest,
            mode: self.config.shared.mode.clone(),
            observation,
        };
        ResponseFuture::reading(body, after)
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for ApproovService<S, R>
where
    S: Service<Request<ApproovBody<ReqBody>>, Response = Response<ResBody>> + Clone,
    R: RejectionResponse<ResBody> + Clone,
    ReqBody: Body<Data = Bytes>,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let shared = &self.config.shared;
        let observation = Observation::start();
        let checked = check_request(shared, &req);
        if checked.is_ok() && shared.strip_token_header {
            // Checked, signature included: the handler gets the claims, not the token.
            req.headers_mut().remove(&shared.token_header);
        }
        match checked {
            Ok((claims, None)) => {
                observation.finish(Mode::Enforce, Ok(()));
                let mut req = req.map(ApproovBody::new);
                req.extensions_mut().insert(claims);
                ResponseFuture::future(self.inner.call(req))
            }
            Ok((claims, Some(digest))) => {
                req.extensions_mut().insert(claims);
                self.read_then_call(req, digest, observation)
            }
            Err(kind) => {
                let mut req = req.map(ApproovBody::new);
                let mode = shared.mode.get();
                match fail(kind, mode, observation, &mut req, &self.rejection) {
                    Some(response) => ResponseFuture::rejected(response),
                    None => ResponseFuture::future(self.inner.call(req)),
                }
            }
        }
    }
}

impl<S: fmt::Debug, R> fmt::Debug for ApproovService<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApproovService")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
