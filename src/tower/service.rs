//! [`ApproovService`]: the tower front door. It hands the request to the check
//! ([`ApproovConfig::check`]) and carries out the [`Verdict`]; it decides nothing itself.

use std::fmt;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body::Body;
use tower_service::Service;

use crate::check::claims::ApproovClaims;
use crate::check::config::ApproovConfig;
use crate::check::error::ApproovError;
use crate::check::{ApproovRequest, BodyCheck, RequestBody, Verdict};
use crate::tower::body::ApproovBody;
use crate::tower::future::{AfterRead, BoxError, Pending, ResponseFuture};
use crate::tower::response::{RejectionResponse, accepted, monitored, rejected};

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

    /// The token and binding checks alone, from a request's headers: **message signatures
    /// are not checked**, since they need the method, the target and possibly the body, and
    /// nothing is logged or counted. For the whole check of a request, as `call` makes it,
    /// use [`ApproovConfig::check`].
    ///
    /// # Errors
    ///
    /// The [`ApproovError`] that a request with these headers would be rejected with before
    /// its signature is looked at.
    pub fn check(&self, headers: &HeaderMap) -> Result<ApproovClaims, ApproovError> {
        crate::check::check_token(&self.config.shared, headers, crate::check::verify::now())
            .map_err(ApproovError::new)
    }
}

/// The request as the check sees it: the target as received (origin form for HTTP/1.1; the
/// scheme and authority of HTTP/2 and of an absolute-form target come from the transport).
fn approov_request<B: Body>(request: &Request<B>) -> ApproovRequest<'_, HeaderMap> {
    let uri = request.uri();
    let target = uri.path_and_query().map_or("", |p| p.as_str());
    let body = request.body();
    let body = if body.is_end_stream() || body.size_hint().exact() == Some(0) {
        RequestBody::Empty
    } else {
        RequestBody::Unread
    };
    let mut approov =
        ApproovRequest::new(request.method().as_str(), target, request.headers()).with_body(body);
    if let Some(scheme) = uri.scheme_str() {
        approov = approov.with_scheme(scheme);
    }
    if let Some(authority) = uri.authority() {
        approov = approov.with_authority(authority.as_str());
    }
    approov
}

impl<S, R> ApproovService<S, R> {
    /// The one path that awaits: the future reads the body up to the limit and the deadline,
    /// hands it to the check, then the inner service gets the same bytes. The inner service
    /// that was polled ready goes into the future; a clone takes its place.
    fn read_then_call<ReqBody>(
        &mut self,
        request: Request<ReqBody>,
        check: BodyCheck,
    ) -> ResponseFuture<S, ReqBody, R>
    where
        S: Service<Request<ApproovBody<ReqBody>>> + Clone,
        R: Clone,
        ReqBody: Body,
        ReqBody::Error: Into<BoxError>,
    {
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let (parts, body) = request.into_parts();
        let after = AfterRead {
            parts,
            check,
            inner,
            rejection: self.rejection.clone(),
            config: self.config.clone(),
        };
        ResponseFuture::reading(body, after)
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for ApproovService<S, R>
where
    S: Service<Request<ApproovBody<ReqBody>>, Response = Response<ResBody>> + Clone,
    R: RejectionResponse<ResBody> + Clone,
    ReqBody: Body<Data = Bytes>,
    ReqBody::Error: Into<BoxError>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        match self.config.check(&approov_request(&request)) {
            Verdict::Accept(claims) => {
                let request = accepted(request.map(ApproovBody::new), claims, &self.config);
                ResponseFuture::future(self.inner.call(request))
            }
            Verdict::Monitor(error) => {
                let request = monitored(request.map(ApproovBody::new), error);
                ResponseFuture::future(self.inner.call(request))
            }
            Verdict::Reject(error) => {
                ResponseFuture::rejected(rejected(&self.rejection, error, &request))
            }
            Verdict::ReadBody(check) => self.read_then_call(request, check),
            Verdict::Record(check) => {
                let clone = self.inner.clone();
                let pending = Pending {
                    request: request.map(ApproovBody::new),
                    inner: std::mem::replace(&mut self.inner, clone),
                    rejection: self.rejection.clone(),
                    config: self.config.clone(),
                };
                ResponseFuture::recording(check.record(), pending)
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
