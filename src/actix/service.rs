//! [`ApproovMiddlewareService`]: the actix-web front door. It hands the request to the check
//! ([`ApproovConfig::check`]) and carries out the [`Verdict`]; it decides nothing itself.

use std::fmt;
use std::rc::Rc;

use actix_web::Error;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, forward_ready};
use actix_web::http::header::{CONTENT_LENGTH, HeaderMap, HeaderValue};
use http::HeaderName;

use crate::actix::future::{Pending, ResponseFuture};
use crate::actix::response::{RejectionResponse, accepted, monitored, rejected};
use crate::check::config::ApproovConfig;
use crate::check::{ApproovRequest, HeaderSource, RequestBody, Verdict};

/// actix-web's header map (`http` 0.2 types), read in place: each lookup is by the name's
/// text, values as received, in the order received.
impl HeaderSource for HeaderMap {
    fn header_values<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> {
        self.get_all(name.as_str()).map(HeaderValue::as_bytes)
    }
}

/// The service made by [`ApproovMiddleware`](crate::actix::ApproovMiddleware) around the next
/// service `S` of an actix-web `App`, `Scope` or `Resource`.
///
/// Its responses are `ServiceResponse<EitherBody<B>>`: the next service's body, or the
/// rejection's.
#[must_use]
pub struct ApproovMiddlewareService<S, R> {
    // In an `Rc`: a request whose signature covers `content-digest` calls the next service
    // from its future, once the body is read.
    service: Rc<S>,
    config: ApproovConfig,
    rejection: Rc<R>,
}

impl<S, R> ApproovMiddlewareService<S, R> {
    pub(crate) fn new(service: S, config: ApproovConfig, rejection: Rc<R>) -> Self {
        Self {
            service: Rc::new(service),
            config,
            rejection,
        }
    }
}

/// The request as the check sees it. The target as received; the scheme and authority of the
/// URI, which actix-web sets only from the transport (HTTP/2, an absolute-form target), never
/// `connection_info()`, which believes the client's `Forwarded` and `X-Forwarded-*` headers.
fn approov_request(request: &ServiceRequest) -> ApproovRequest<'_, HeaderMap> {
    let (http_request, payload) = request.parts();
    let uri = http_request.uri();
    let target = uri.path_and_query().map_or("", |p| p.as_str());
    let headers = http_request.headers();
    // Over HTTP/1 actix-web gives a request with no body (no `Transfer-Encoding`, no or a zero
    // `Content-Length`) no payload at all. Over HTTP/2 every request has a payload stream, so a
    // `content-length: 0` is read too, as hyper's size hint tells the tower layer.
    let empty = matches!(payload, Payload::None)
        || headers
            .get(CONTENT_LENGTH)
            .and_then(|length| length.to_str().ok()?.trim().parse::<u64>().ok())
            == Some(0);
    let body = if empty {
        RequestBody::Empty
    } else {
        RequestBody::Unread
    };
    let mut approov =
        ApproovRequest::new(http_request.method().as_str(), target, headers).with_body(body);
    if let Some(scheme) = uri.scheme_str() {
        approov = approov.with_scheme(scheme);
    }
    if let Some(authority) = uri.authority() {
        approov = approov.with_authority(authority.as_str());
    }
    approov
}

impl<S, B, R> Service<ServiceRequest> for ApproovMiddlewareService<S, R>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody,
    R: RejectionResponse + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = ResponseFuture<S, B, R>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let verdict = self.config.check(&approov_request(&request));
        match verdict {
            Verdict::Accept(claims) => {
                ResponseFuture::future(self.service.call(accepted(request, claims, &self.config)))
            }
            Verdict::Monitor(error) => {
                ResponseFuture::future(self.service.call(monitored(request, error)))
            }
            Verdict::Reject(error) => {
                let response = rejected(&*self.rejection, error, request.request());
                ResponseFuture::rejected(request.into_response(response))
            }
            Verdict::ReadBody(check) => ResponseFuture::reading(
                request,
                check,
                Rc::clone(&self.service),
                Rc::clone(&self.rejection),
                self.config.clone(),
            ),
            Verdict::Record(check) => ResponseFuture::recording(
                check.record(),
                Pending {
                    request,
                    service: Rc::clone(&self.service),
                    rejection: Rc::clone(&self.rejection),
                    config: self.config.clone(),
                },
            ),
        }
    }
}

impl<S, R> fmt::Debug for ApproovMiddlewareService<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApproovMiddlewareService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
