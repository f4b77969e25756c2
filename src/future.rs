//! [`ResponseFuture`]: the inner service's future, or a ready rejection. No box, except for
//! requests whose message signature covers `Content-Digest`, whose body must be read first.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

/// The future of a request whose body is read and digested before the inner service runs.
type Digesting<B, E> = Pin<Box<dyn Future<Output = Result<Response<B>, E>> + Send>>;

pin_project! {
    /// The response future of [`ApproovService`](crate::ApproovService).
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        kind: Kind<F, B, E>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B, E> {
        // The check passed (or failed in monitor mode): the inner service answers.
        Future {
            #[pin]
            future: F,
        },
        // The check failed: the rejection is ready.
        Rejected {
            response: Option<Response<B>>,
        },
        // The message signature covers `Content-Digest`: read the body, check it, then call
        // the inner service. The one boxed path.
        Digesting {
            future: Digesting<B, E>,
        },
    }
}

impl<F, B, E> fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.kind {
            Kind::Future { .. } => "Future",
            Kind::Rejected { .. } => "Rejected",
            Kind::Digesting { .. } => "Digesting",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    pub(crate) fn future(future: F) -> Self {
        Self {
            kind: Kind::Future { future },
        }
    }

    pub(crate) fn rejected(response: Response<B>) -> Self {
        Self {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }

    pub(crate) fn digesting(future: Digesting<B, E>) -> Self {
        Self {
            kind: Kind::Digesting { future },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Future { future } => future.poll(cx),
            KindProj::Digesting { future } => future.as_mut().poll(cx),
            KindProj::Rejected { response } => {
                // The one panic of this crate: a future polled again after it completed.
                #[allow(clippy::expect_used)]
                let response = response
                    .take()
                    .expect("ResponseFuture polled after completion");
                Poll::Ready(Ok(response))
            }
        }
    }
}
