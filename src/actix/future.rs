//! [`ResponseFuture`]: the next service's future, a ready rejection, or, for a request whose
//! message signature covers `content-digest`, the body read from actix-web's `Payload` (up to
//! the limit, within the deadline) and handed to the check before the next service is called
//! with the same bytes. No box on any path.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};

use actix_web::Error;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse};
use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_timer::Delay;
use pin_project_lite::pin_project;

use crate::actix::response::{RejectionResponse, accepted, monitored, rejected};
use crate::check::config::ApproovConfig;
use crate::check::error::ApproovErrorKind;
use crate::check::{BodyCheck, BodyRead, Recording, Verdict};

pin_project! {
    /// The response future of [`ApproovMiddlewareService`](crate::actix::ApproovMiddlewareService).
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<S, B, R>
    where
        S: Service<ServiceRequest>,
    {
        #[pin]
        kind: Kind<S, B, R>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<S, B, R>
    where
        S: Service<ServiceRequest>,
    {
        // The check passed (or failed in monitor mode), or the body was read and passed: the
        // next service answers.
        Future {
            #[pin]
            future: S::Future,
        },
        // The check failed: the rejection is ready.
        Rejected {
            response: Option<ServiceResponse<EitherBody<B>>>,
        },
        // The message signature covers `content-digest`: the body is being read, up to the
        // limit and until the deadline; then the state becomes `Future` or `Rejected`.
        Reading {
            #[pin]
            deadline: Delay,
            reading: Option<Reading<S, R>>,
        },
        // Every check passed; replay protection is remembering the request's signatures in
        // Redis. Once the store answered, the state becomes `Future` or `Rejected`.
        Recording {
            #[pin]
            recording: Recording,
            pending: Option<Pending<S, R>>,
        },
    }
}

/// A request whose verdict is still to come, and what carrying it out needs.
pub(crate) struct Pending<S, R> {
    pub(crate) request: ServiceRequest,
    pub(crate) service: Rc<S>,
    pub(crate) rejection: Rc<R>,
    pub(crate) config: ApproovConfig,
}

impl<S, R> Pending<S, R> {
    /// Carries the verdict out: calls the next service, answers with the rejection, or waits
    /// for the replay store.
    fn carry_out<B>(self, verdict: Verdict) -> Kind<S, B, R>
    where
        S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
        R: RejectionResponse,
    {
        let Self {
            request,
            service,
            rejection,
            config,
        } = self;
        let error = match verdict {
            Verdict::Accept(claims) => {
                let future = service.call(accepted(request, claims, &config));
                return Kind::Future { future };
            }
            Verdict::Monitor(error) => {
                let future = service.call(monitored(request, error));
                return Kind::Future { future };
            }
            Verdict::Record(check) => {
                return Kind::Recording {
                    recording: check.record(),
                    pending: Some(Self {
                        request,
                        service,
                        rejection,
                        config,
                    }),
                };
            }
            Verdict::Reject(error) => error,
            // The check reads no body twice; should it ever ask, nothing is let through.
            Verdict::ReadBody(_) => ApproovErrorKind::ContentDigestMismatch.into(),
        };
        let response = rejected(&*rejection, error, request.request());
        Kind::Rejected {
            response: Some(request.into_response(response).map_into_right_body()),
        }
    }
}

/// A request whose body is being read, and what is needed once it is.
struct Reading<S, R> {
    request: ServiceRequest,
    payload: Payload,
    body: BytesMut,
    check: BodyCheck,
    service: Rc<S>,
    rejection: Rc<R>,
    config: ApproovConfig,
}

impl<S, R> Reading<S, R> {
    /// Reads what has arrived; ready once the body ended, failed, or passed the limit.
    fn poll_body(&mut self, cx: &mut Context<'_>) -> Poll<Read> {
        loop {
            match ready!(Pin::new(&mut self.payload).poll_next(cx)) {
                Some(Ok(chunk)) => {
                    if chunk.len() > self.check.limit().saturating_sub(self.body.len()) {
                        return Poll::Ready(Read::TooLarge);
                    }
                    self.body.extend_from_slice(&chunk);
                }
                Some(Err(_)) => return Poll::Ready(Read::Failed),
                None => return Poll::Ready(Read::Complete),
            }
        }
    }

    /// Hands what was read to the check, then calls the next service with the same bytes as
    /// its payload, or answers with the rejection.
    fn finish<B>(self, read: Read) -> Kind<S, B, R>
    where
        S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
        R: RejectionResponse,
    {
        let Self {
            mut request,
            body,
            check,
            service,
            rejection,
            config,
            ..
        } = self;
        let body: Bytes = body.freeze();
        let verdict = check.finish(match read {
            Read::Complete => BodyRead::Complete(&body),
            Read::TooLarge => BodyRead::TooLarge,
            Read::Failed => BodyRead::Failed,
        });
        // The same bytes are the next service's payload, whatever the verdict.
        request.set_payload(Payload::from(body));
        let pending = Pending {
            request,
            service,
            rejection,
            config,
        };
        pending.carry_out(verdict)
    }
}

/// How reading the body went.
enum Read {
    Complete,
    TooLarge,
    /// The stream failed or the deadline passed.
    Failed,
}

impl<S, B, R> ResponseFuture<S, B, R>
where
    S: Service<ServiceRequest>,
{
    pub(crate) fn future(future: S::Future) -> Self {
        Self {
            kind: Kind::Future { future },
        }
    }

    pub(crate) fn rejected(response: ServiceResponse) -> Self {
        Self {
            kind: Kind::Rejected {
                response: Some(response.map_into_right_body()),
            },
        }
    }

    /// Waits for the replay store's answer, then goes on as `pending` says.
    pub(crate) fn recording(recording: Recording, pending: Pending<S, R>) -> Self {
        Self {
            kind: Kind::Recording {
                recording,
                pending: Some(pending),
            },
        }
    }

    /// Reads the body of `request` up to the check's limit and deadline, then goes on.
    pub(crate) fn reading(
        mut request: ServiceRequest,
        check: BodyCheck,
        service: Rc<S>,
        rejection: Rc<R>,
        config: ApproovConfig,
    ) -> Self {
        let payload = request.parts_mut().1.take();
        Self {
            kind: Kind::Reading {
                deadline: Delay::new(check.deadline()),
                reading: Some(Reading {
                    request,
                    payload,
                    body: BytesMut::new(),
                    check,
                    service,
                    rejection,
                    config,
                }),
            },
        }
    }
}

impl<S, B, R> Future for ResponseFuture<S, B, R>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
    R: RejectionResponse,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let mut kind = self.as_mut().project().kind;
            let next = match kind.as_mut().project() {
                KindProj::Future { future } => {
                    return future.poll(cx).map_ok(ServiceResponse::map_into_left_body);
                }
                KindProj::Rejected { response } => {
                    let Some(response) = response.take() else {
                        polled_after_completion()
                    };
                    return Poll::Ready(Ok(response));
                }
                KindProj::Reading { deadline, reading } => {
                    let Some(read) = reading.as_mut() else {
                        polled_after_completion()
                    };
                    let read = match read.poll_body(cx) {
                        Poll::Ready(read) => read,
                        Poll::Pending => {
                            ready!(deadline.poll(cx));
                            Read::Failed
                        }
                    };
                    let Some(reading) = reading.take() else {
                        polled_after_completion()
                    };
                    reading.finish(read)
                }
                KindProj::Recording { recording, pending } => {
                    if pending.is_none() {
                        polled_after_completion()
                    }
                    let verdict = ready!(recording.poll(cx));
                    let Some(pending) = pending.take() else {
                        polled_after_completion()
                    };
                    pending.carry_out(verdict)
                }
            };
            kind.set(next);
        }
    }
}

impl<S, B, R> fmt::Debug for ResponseFuture<S, B, R>
where
    S: Service<ServiceRequest>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.kind {
            Kind::Future { .. } => "Future",
            Kind::Rejected { .. } => "Rejected",
            Kind::Reading { .. } => "Reading",
            Kind::Recording { .. } => "Recording",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}

/// A future polled again after it completed: a bug in the caller, and the one panic of the
/// actix-web front door, as in actix-web's and tower's own futures.
#[allow(clippy::panic)]
#[cold]
fn polled_after_completion() -> ! {
    panic!("ResponseFuture polled after completion")
}
