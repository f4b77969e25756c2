//! [`ApproovService`]: pick the token out, verify it, pass the claims on or reject.

use std::fmt;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body::Body;
use tower_service::Service;

use crate::body::ApproovBody;
use crate::claims::ApproovClaims;
use crate::config::{ApproovConfig, Mode, Shared};
use crate::error::{ApproovError, ApproovErrorKind};
use crate::future::ResponseFuture;
use crate::metrics::Observation;
use crate::response::RejectionResponse;
use crate::signing::{self, DigestCheck, Outcome, RequestView};
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

    /// The check alone, with no inner service involved: what `call` does with a request's
    /// headers. Message signatures are not checked here: they also need the method, the URI
    /// and possibly the body.
    ///
    /// # Errors
    ///
    /// The [`ApproovError`] that a request with these headers would be rejected with.
    pub fn check(&self, headers: &HeaderMap) -> Result<ApproovClaims, ApproovError> {
        check(&self.config.shared, headers).map_err(ApproovError::new)
    }
}

/// The whole per-request check: token header, token, binding.
pub(crate) fn check(
    shared: &Shared,
    headers: &HeaderMap,
) -> Result<ApproovClaims, ApproovErrorKind> {
    let now = verify::now();
    // A token cached under its header's exact bytes is looked up before any scan of them:
    // they passed every check of `extract_token` when it was verified.
    let mut values = headers.get_all(&shared.token_header).iter();
    let hit = match (values.next(), values.next()) {
        (Some(raw), None) => shared.verifier.cached(raw.as_bytes(), now),
        _ => None,
    };
    let claims = match hit {
        Some(hit) => hit?,
        None => {
            let token = extract_token(shared, headers)?;
            let key = headers
                .get(&shared.token_header)
                .map_or(token.as_bytes(), http::HeaderValue::as_bytes);
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
        token = token[prefix.len()..].trim_start();
    }
    if token.is_empty() {
        return Err(ApproovErrorKind::EmptyToken);
    }
    Ok(token)
}

/// A failed check: counted, logged, then answered with the rejection response, or, in monitor
/// mode, let through with the error in the request extensions in place of claims (`None`).
fn fail<R, ResBody>(
    kind: ApproovErrorKind,
    mode: Mode,
    observation: Observation,
    request_extensions: &mut http::Extensions,
    rejection: &R,
) -> Option<Response<ResBody>>
where
    R: RejectionResponse<ResBody>,
{
    observation.finish(mode, Err(kind));
    log_failure(kind, mode);
    let error = ApproovError::new(kind);
    if mode == Mode::Monitor {
        request_extensions.remove::<ApproovClaims>();
        request_extensions.insert(error);
        return None;
    }
    let mut response = rejection.rejection(&error);
    response.extensions_mut().insert(error);
    Some(response)
}

fn log_failure(kind: ApproovErrorKind, mode: Mode) {
    match mode {
        Mode::Monitor => tracing::warn!(
            reason = kind.reason_code(),
            mode = "monitor",
            "Approov check failed; request let through (monitor mode)"
        ),
        _ if kind.is_client_fault() => tracing::debug!(
            reason = kind.reason_code(),
            "Approov check failed; request rejected"
        ),
        _ => tracing::warn!(
            reason = kind.reason_code(),
            "Approov check failed; request rejected"
        ),
    }
}

/// The token check, then the message signature check when it is on. `Some` digest check when
/// the body must still be read.
fn check_request<B>(
    shared: &Shared,
    req: &Request<B>,
) -> Result<(ApproovClaims, Option<DigestCheck>), ApproovErrorKind> {
    let claims = check(shared, req.headers())?;
    let Some(signing) = &shared.signing else {
        return Ok((claims, None));
    };
    let view = RequestView {
        method: req.method(),
        uri: req.uri(),
        headers: req.headers(),
        token_header: &shared.token_header,
    };
    match signing.check(&claims, &view, verify::now())? {
        Outcome::Done => Ok((claims, None)),
        Outcome::Digest(digest) => Ok((claims, Some(digest))),
    }
}

impl<S, R> ApproovService<S, R> {
    /// The one path that awaits: read the body up to the limit, check its digest, then hand
    /// the inner service the same bytes. The inner service that was polled ready goes into the
    /// future; a clone takes its place.
    fn digest_then_call<ReqBody, ResBody>(
        &mut self,
        req: Request<ReqBody>,
        digest: DigestCheck,
        observation: Observation,
    ) -> ResponseFuture<S::Future, ResBody, S::Error>
    where
        S: Service<Request<ApproovBody<ReqBody>>, Response = Response<ResBody>>
            + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
        S::Error: 'static,
        R: RejectionResponse<ResBody> + Clone + Send + 'static,
        ReqBody: Body<Data = Bytes> + Send + 'static,
        ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        ResBody: 'static,
    {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let rejection = self.rejection.clone();
        let mode = self.config.shared.mode.clone();
        ResponseFuture::digesting(Box::pin(async move {
            let (parts, body) = req.into_parts();
            let (outcome, read) = signing::read_and_check(body, digest).await;
            let mut req = match read {
                Some((data, trailers)) => {
                    Request::from_parts(parts, ApproovBody::buffered(data, trailers))
                }
                None => Request::from_parts(parts, ApproovBody::buffered(Bytes::new(), None)),
            };
            match outcome {
                Ok(()) => observation.finish(Mode::Enforce, Ok(())),
                Err(kind) => {
                    // Monitor mode passes the request on when its body could be read whole; a
                    // body over the limit was only partly read, so it cannot go on.
                    let mode = match kind {
                        ApproovErrorKind::BodyTooLarge => Mode::Enforce,
                        _ => mode.get(),
                    };
                    let failure = fail(kind, mode, observation, req.extensions_mut(), &rejection);
                    if let Some(response) = failure {
                        return Ok(response);
                    }
                }
            }
            inner.call(req).await
        }))
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for ApproovService<S, R>
where
    S: Service<Request<ApproovBody<ReqBody>>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: 'static,
    R: RejectionResponse<ResBody> + Clone + Send + 'static,
    ReqBody: Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    ResBody: 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

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
                self.digest_then_call(req, digest, observation)
            }
            Err(kind) => {
                let mut req = req.map(ApproovBody::new);
                let mode = shared.mode.get();
                match fail(
                    kind,
                    mode,
                    observation,
                    req.extensions_mut(),
                    &self.rejection,
                ) {
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
