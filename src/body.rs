//! [`ApproovBody`]: the request body handed to the inner service.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// The request body the inner service receives: the original body, untouched, or, when a
    /// message signature covered `content-digest` and the layer had to read the body to check
    /// it, the same bytes replayed from memory.
    ///
    /// axum routes and tonic servers accept any body, so this is invisible there. A plain hyper
    /// `service_fn` takes `Request<ApproovBody<Incoming>>` (or is generic over the body).
    #[derive(Debug)]
    pub struct ApproovBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<B> {
        Streaming {
            #[pin]
            body: B,
        },
        Buffered {
            data: Option<Bytes>,
            trailers: Option<HeaderMap>,
        },
    }
}

impl<B> ApproovBody<B> {
    /// Wraps a body that was not read.
    #[must_use]
    pub fn new(body: B) -> Self {
        Self {
            kind: Kind::Streaming { body },
        }
    }

    /// The original body when it was not read, else `wrap(self)`.
    #[cfg_attr(not(feature = "tonic"), allow(dead_code))]
    pub(crate) fn into_unread_or(self, wrap: impl FnOnce(Self) -> B) -> B {
        match self.kind {
            Kind::Streaming { body } => body,
            kind @ Kind::Buffered { .. } => wrap(Self { kind }),
        }
    }

    /// A body already read into memory, with its trailers if it had any.
    pub(crate) fn buffered(data: Bytes, trailers: Option<HeaderMap>) -> Self {
        Self {
            kind: Kind::Buffered {
                data: (!data.is_empty()).then_some(data),
                trailers,
            },
        }
    }
}

impl<B> Body for ApproovBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Streaming { body } => body.poll_frame(cx),
            KindProj::Buffered { data, trailers } => {
                if let Some(data) = data.take() {
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Poll::Ready(trailers.take().map(|t| Ok(Frame::trailers(t))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Streaming { body } => body.is_end_stream(),
            Kind::Buffered { data, trailers } => data.is_none() && trailers.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Streaming { body } => body.size_hint(),
            Kind::Buffered { data, .. } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}
