//! [`ResponseFuture`]: the inner service's future, a ready rejection, or, for a request whose
//! message signature covers `Content-Digest`, the body read and checked before the inner
//! service is called. No box on any path.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response};
use http_body::Body;
use http_body_util::combinators::Collect;
use http_body_util::{BodyExt as _, Collected, Limited};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::body::ApproovBody;
use crate::config::{Mode, ModeHandle};
use crate::metrics::Observation;
use crate::response::RejectionResponse;
use crate::signing::{BoxError, DigestCheck};

pin_project! {
    /// The response future of [`ApproovService`](crate::ApproovService).
    ///
    /// Generic over the inner service `S`, the request body `ReqBody` and the rejection
    /// response `R`, because a request whose message signature covers `Content-Digest` carries
    /// all three in it: its body is read (up to the limit) and checked here, and only then is
    /// the inner service called or the rejection built.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<S, ReqBody, R>
    where
        S: Service<Request<ApproovBody<ReqBody>>>,
        ReqBody: Body,
        ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
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
        ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        // The check passed (or failed in monitor mode), or the body was read and its digest
        // matched: the inner service answers.
        Future {
            #[pin]
            future: S::Future,
        },
        // The check failed: the rejection is ready.
        Rejected {
            response: Option<S::Response>,
        },
        // The message signature covers `Content-Digest`: the body is being read, up to the
        // limit. Once read, its digest is checked (synchronously), then the state becomes
        // `Future` or `Rejected`.
        Reading {
            #[pin]
            body: Collect<Limited<ReqBody>>,
            after: Option<AfterRead<S, R>>,
        },
    }
}

/// What a request whose body is being read needs once it is read: the rest of the request,
/// the inner service that was polled ready, and what a failure needs.
pub(crate) struct AfterRead<S, R> {
    pub(crate) parts: Parts,
    pub(crate) inner: S,
    pub(crate) rejection: R,
    pub(crate) digest: DigestCheck,
    /// The handle, not the mode: the mode in force when the body has arrived is the one used.
    pub(crate) mode: ModeHandle,
    pub(crate) observation: Observation,
}

impl<S, R> AfterRead<S, R> {
    /// Checks the body read against the digest, then calls the inner service with the same
    /// bytes, or answers with the rejection.
    fn finish<ReqBody, ResBody>(
        self,
        read: Result<Collected<Bytes>, BoxError>,
    ) -> Result<S::Future, Response<ResBody>>
    where
        S: Service<Request<ApproovBody<ReqBody>>, Response = Response<ResBody>>,
        R: RejectionResponse<ResBody>,
    {
        let Self {
            parts,
            mut inner,
            rejection,
            digest,
            mode,
            observation,
        } = self;
        let (outcome, read) = digest.check_read(read);
        let body_read = read.is_some();
        let (data, trailers) = read.unwrap_or_default();
        let mut req = Request::from_parts(parts, ApproovBody::buffered(data, trailers));
        match outcome {
            Ok(()) => observation.finish(Mode::Enforce, Ok(())),
            Err(kind) => {
                // Monitor mode passes the request on when its body could be read whole. A
                // body over the limit was only partly read, and one that failed to arrive
                // (the client reset mid-body) is gone: the handler would get an empty or
                // truncated body as if it were the request's, so neither goes on.
                let mode = if body_read { mode.get() } else { Mode::Enforce };
                let failure = crate::service::fail(kind, mode, observation, &mut req, &rejection);
                if let Some(response) = failure {
                    return Err(response);
                }
            }
        }
        Ok(inner.call(req))
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

    /// Reads `body` up to the digest check's limit, then goes on as `after` says.
    pub(crate) fn reading(body: ReqBody, after: AfterRead<S, R>) -> Self {
        Self {
            kind: Kind::Reading {
                body: Limited::new(body, after.digest.limit()).collect(),
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
                KindProj::Reading { body, after } => {
                    // Checked before the body is polled again: a finished `Collect` must not be.
                    if after.is_none() {
                        polled_after_completion()
                    }
                    let read = ready!(body.poll(cx));
                    let Some(after) = after.take() else {
                        polled_after_completion()
                    };
                    match after.finish(read) {
                        Ok(future) => Kind::Future { future },
                        Err(response) => Kind::Rejected {
                            response: Some(response),
                        },
                    }
                }
            };
            kind.set(next);
        }
    }
}

/// The one panic of this crate: a future polled again after it completed.
#[allow(clippy::panic)]
#[cold]
fn polled_after_completion() -> ! {
    panic!("ResponseFuture polled after completion")
}
