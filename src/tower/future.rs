//! [`ResponseFuture`]: the inner service's future, a ready rejection, or, for a request whose
//! message signature covers `Content-Digest`, the body read (up to the limit and the deadline)
//! and handed to the check before the inner service is called. No box on any path.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_timer::Delay;
use http::request::Parts;
use http::{Request, Response};
use http_body::Body;
use http_body_util::combinators::Collect;
use http_body_util::{BodyExt as _, Collected, LengthLimitError, Limited};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::check::config::ApproovConfig;
use crate::check::{BodyCheck, BodyRead, Recording, Verdict};
use crate::tower::body::ApproovBody;
use crate::tower::response::{RejectionResponse, accepted, monitored, rejected};

/// The error of a body read through [`http_body_util::Limited`].
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project! {
    /// The response future of [`ApproovService`](crate::ApproovService).
    ///
    /// Generic over the inner service `S`, the request body `ReqBody` and the rejection
    /// response `R`, because a request whose message signature covers `Content-Digest` carries
    /// all three in it: its body is read (up to the limit, within the deadline) and checked
    /// here, and only then is the inner service called or the rejection built.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<S, ReqBody, R>
    where
        S: Service<Request<ApproovBody<ReqBody>>>,
        ReqBody: Body,
        ReqBody::Error: Into<BoxError>,
    {
        #[pin]
        kind: Kind<S, ReqBody, R>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<S, ReqBody, R>
    where
        S: Service<Request<ApproovBody<ReqBody>>>,
        ReqBody: Body,
        ReqBody::Error: Into<BoxError>,
    {
        // The check passed (or failed in monitor mode), or the body was read and passed: the
        // inner service answers.
        Future {
            #[pin]
            future: S::Future,
        },
        // The check failed: the rejection is ready.
        Rejected {
            response: Option<S::Response>,
        },
        // The message signature covers `Content-Digest`: the body is being read, up to the
        // limit and until the deadline. Once read (or not), the check gives its verdict, and
        // the state becomes `Future` or `Rejected`.
        Reading {
            #[pin]
            body: Collect<Limited<ReqBody>>,
            #[pin]
            deadline: Delay,
            after: Option<AfterRead<S, R>>,
        },
        // Every check passed; replay protection is remembering the request's signatures in
        // Redis. Once the store answered, the state becomes `Future` or `Rejected`.
        Recording {
            #[pin]
            recording: Recording,
            after: Option<Pending<S, ReqBody, R>>,
        },
    }
}

/// A request whose verdict is still to come (the replay store's answer): the request, the
/// inner service that was polled ready, and what a failure needs.
pub(crate) struct Pending<S, ReqBody, R> {
    pub(crate) request: Request<ApproovBody<ReqBody>>,
    pub(crate) inner: S,
    pub(crate) rejection: R,
    pub(crate) config: ApproovConfig,
}

/// What the future does next with a verdict.
enum Next<S: Service<Req>, Req, Pending> {
    Call(S::Future),
    Answer(S::Response),
    Record(Recording, Pending),
}

impl<S, ReqBody, R> Pending<S, ReqBody, R> {
    /// Carries the verdict out: calls the inner service, answers with the rejection, or waits
    /// for the replay store.
    fn carry_out<ResBody>(self, verdict: Verdict) -> Next<S, Request<ApproovBody<ReqBody>>, Self>
    where
        S: Service<Request<ApproovBody<ReqBody>>, Response = Response<ResBody>>,
        R: RejectionResponse<ResBody>,
    {
        let Self {
            request,
            mut inner,
            rejection,
            config,
        } = self;
        match verdict {
            Verdict::Accept(claims) => Next::Call(inner.call(accepted(request, claims, &config))),
            Verdict::Monitor(error) => Next::Call(inner.call(monitored(request, error))),
            Verdict::Reject(error) => Next::Answer(rejected(&rejection, error, &request)),
            Verdict::Record(check) => Next::Record(
                check.record(),
                Self {
                    request,
                    inner,
                    rejection,
                    config,
                },
            ),
            // The check reads no body twice; should it ever ask, nothing is let through.
            Verdict::ReadBody(_) => Next::Answer(rejected(
                &rejection,
                crate::ApproovErrorKind::ContentDigestMismatch.into(),
                &request,
            )),
        }
    }
}

/// What a request whose body is being read needs once it is read: the rest of the request,
/// the check to finish, the inner service that was polled ready, and what a failure needs.
pub(crate) struct AfterRead<S, R> {
    pub(crate) parts: Parts,
    pub(crate) check: BodyCheck,
    pub(crate) inner: S,
    pub(crate) rejection: R,
    pub(crate) config: ApproovConfig,
}

impl<S, R> AfterRead<S, R> {
    /// Hands what was read to the check; the request goes on with the same bytes.
    fn finish<ReqBody>(
        self,
        read: Option<Result<Collected<Bytes>, BoxError>>,
    ) -> (Verdict, Pending<S, ReqBody, R>) {
        let Self {
            parts,
            check,
            inner,
            rejection,
            config,
        } = self;
        let (verdict, data, trailers) = match read {
            Some(Ok(collected)) => {
                let trailers = collected.trailers().cloned();
                let data = collected.to_bytes();
                (check.finish(BodyRead::Complete(&data)), data, trailers)
            }
            Some(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
                (check.finish(BodyRead::TooLarge), Bytes::new(), None)
            }
            // The body failed to arrive, or did not arrive in time (`None`).
            Some(Err(_)) | None => (check.finish(BodyRead::Failed), Bytes::new(), None),
        };
        let request = Request::from_parts(parts, ApproovBody::buffered(data, trailers));
        let pending = Pending {
            request,
            inner,
            rejection,
            config,
        };
        (verdict, pending)
    }
}

impl<S, ReqBody, R> fmt::Debug for ResponseFuture<S, ReqBody, R>
where
    S: Service<Request<ApproovBody<ReqBody>>>,
    ReqBody: Body,
    ReqBody::Error: Into<BoxError>,
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

impl<S, ReqBody, R> ResponseFuture<S, ReqBody, R>
where
    S: Service<Request<ApproovBody<ReqBody>>>,
    ReqBody: Body,
    ReqBody::Error: Into<BoxError>,
{
    pub(crate) fn future(future: S::Future) -> Self {
        Self {
            kind: Kind::Future { future },
        }
    }

    pub(crate) fn rejected(response: S::Response) -> Self {
        Self {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }

    /// Waits for the replay store's answer, then goes on as `pending` says.
    pub(crate) fn recording(recording: Recording, pending: Pending<S, ReqBody, R>) -> Self {
        Self {
            kind: Kind::Recording {
                recording,
                after: Some(pending),
            },
        }
    }

    /// Reads `body` up to the check's limit and deadline, then goes on as `after` says.
    pub(crate) fn reading(body: ReqBody, after: AfterRead<S, R>) -> Self {
        Self {
            kind: Kind::Reading {
                body: Limited::new(body, after.check.limit()).collect(),
                deadline: Delay::new(after.check.deadline()),
                after: Some(after),
            },
        }
    }
}

impl<S, ReqBody, R, ResBody> Future for ResponseFuture<S, ReqBody, R>
where
    S: Service<Request<ApproovBody<ReqBody>>, Response = Response<ResBody>>,
    R: RejectionResponse<ResBody>,
    ReqBody: Body<Data = Bytes>,
    ReqBody::Error: Into<BoxError>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let mut kind = self.as_mut().project().kind;
            let next = match kind.as_mut().project() {
                KindProj::Future { future } => return future.poll(cx),
                KindProj::Rejected { response } => {
                    let Some(response) = response.take() else {
                        polled_after_completion()
                    };
                    return Poll::Ready(Ok(response));
                }
                KindProj::Reading {
                    body,
                    deadline,
                    after,
                } => {
                    // Checked before the body is polled again: a finished `Collect` must not be.
                    if after.is_none() {
                        polled_after_completion()
                    }
                    let read = match body.poll(cx) {
                        Poll::Ready(read) => Some(read),
                        Poll::Pending => {
                            ready!(deadline.poll(cx));
                            None
                        }
                    };
                    let Some(after) = after.take() else {
                        polled_after_completion()
                    };
                    let (verdict, pending) = after.finish(read);
                    next(pending.carry_out(verdict))
                }
                KindProj::Recording { recording, after } => {
                    if after.is_none() {
                        polled_after_completion()
                    }
                    let verdict = ready!(recording.poll(cx));
                    let Some(pending) = after.take() else {
                        polled_after_completion()
                    };
                    next(pending.carry_out(verdict))
                }
            };
            kind.set(next);
        }
    }
}

/// The state that carries out `next`.
fn next<S, ReqBody, R, ResBody>(
    next: Next<S, Request<ApproovBody<ReqBody>>, Pending<S, ReqBody, R>>,
) -> Kind<S, ReqBody, R>
where
    S: Service<Request<ApproovBody<ReqBody>>, Response = Response<ResBody>>,
    ReqBody: Body,
    ReqBody::Error: Into<BoxError>,
{
    match next {
        Next::Call(future) => Kind::Future { future },
        Next::Answer(response) => Kind::Rejected {
            response: Some(response),
        },
        Next::Record(recording, pending) => Kind::Recording {
            recording,
            after: Some(pending),
        },
    }
}

/// A future polled again after it completed: a bug in the caller, and the one panic of the
/// tower front door, as in every tower future (tower-http's `validate_request` does the same).
#[allow(clippy::panic)]
#[cold]
fn polled_after_completion() -> ! {
    panic!("ResponseFuture polled after completion")
}
