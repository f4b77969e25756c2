//! [`ApproovBody`]: the request body handed to the inner service.

use std::fmt;
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
    ///
    /// Its `Debug` output never shows the body's bytes (they may hold credentials or personal
    /// data): a buffered body prints only its length.
    pub struct ApproovBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
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

impl<B> fmt::Debug for ApproovBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            // The inner body's own Debug could print bytes too: not called.
            Kind::Streaming { .. } => f.write_str("ApproovBody::Streaming"),
            Kind::Buffered { data, trailers } => f
                .debug_struct("ApproovBody::Buffered")
                .field("len", &data.as_ref().map_or(0, Bytes::len))
                .field("trailers", &trailers.as_ref().map_or(0, HeaderMap::len))
                .finish(),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_buffered_body_reports_its_exact_size_and_its_end_only_once_read() {
        use http_body_util::BodyExt as _;
        type Buffered = ApproovBody<http_body_util::Empty<Bytes>>;
        // What hyper and tonic rely on when they forward the body (`Content-Length`, ending
        // the stream): the body the handler gets from a digest check reports them exactly.
        let mut body = Buffered::buffered(Bytes::from_static(b"hello"), None);
        assert_eq!(body.size_hint().exact(), Some(5));
        assert!(!body.is_end_stream());
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "hello");
        assert!(body.is_end_stream());
        assert!(body.frame().await.is_none());

        // Trailers still to come: not the end yet.
        let mut trailers = HeaderMap::new();
        trailers.insert("x-checksum", http::HeaderValue::from_static("1"));
        let body = Buffered::buffered(Bytes::from_static(b"x"), Some(trailers.clone()));
        assert!(!body.is_end_stream());
        let body = Buffered::buffered(Bytes::new(), Some(trailers));
        assert!(!body.is_end_stream());
        assert_eq!(body.size_hint().exact(), Some(0));
        let empty = Buffered::buffered(Bytes::new(), None);
        assert!(empty.is_end_stream());
    }

    #[test]
    fn a_streaming_body_reports_what_the_inner_body_does() {
        let full = ApproovBody::new(http_body_util::Full::new(Bytes::from_static(b"abc")));
        assert_eq!(full.size_hint().exact(), Some(3));
        assert!(!full.is_end_stream());
        let empty = ApproovBody::new(http_body_util::Empty::<Bytes>::new());
        assert!(empty.is_end_stream());
        assert_eq!(empty.size_hint().exact(), Some(0));
    }

    #[test]
    fn a_buffered_body_debug_shows_its_length_and_never_its_bytes() {
        let mut trailers = HeaderMap::new();
        trailers.insert("x-checksum", http::HeaderValue::from_static("hunter2"));
        let body =
            ApproovBody::<()>::buffered(Bytes::from_static(b"password=hunter2"), Some(trailers));
        assert_eq!(
            format!("{body:?}"),
            "ApproovBody::Buffered { len: 16, trailers: 1 }"
        );
    }
}
