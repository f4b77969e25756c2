//! The response a failed check answers with.

use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, Uri, Version, header};

use crate::error::ApproovError;

/// Builds the response for a failed check.
///
/// The default, [`JsonRejection`], answers `401` with `content-type: application/json` and the
/// body `{}`, as every Approov quickstart does. Install another with
/// [`ApproovLayer::with_rejection_response`](crate::ApproovLayer::with_rejection_response),
/// e.g. a gRPC `UNAUTHENTICATED` status, a `WWW-Authenticate` header, or the request's
/// `Approov-TraceID` echoed for support. Any
/// `Fn(&ApproovError, &RequestHead<'_>) -> Response<B> + Clone` is one.
///
/// Whatever it returns, the layer adds the [`ApproovError`] to the response extensions.
///
/// ```
/// use axum::body::Body;
/// use http::{HeaderValue, Response};
/// use tower_approov::{ApproovError, JsonRejection, RejectionResponse, RequestHead};
///
/// /// The default `401 {}`, plus the client's trace id, so that support can find the request.
/// fn with_trace_id(error: &ApproovError, request: &RequestHead<'_>) -> Response<Body> {
///     let mut response: Response<Body> = JsonRejection.rejection(error, request);
///     if let Some(id) = request.headers().get("approov-traceid") {
///         // A visible-ASCII header value of bounded length is safe to send back.
///         if id.len() <= 64 && id.to_str().is_ok() {
///             response.headers_mut().insert("approov-traceid", id.clone());
///         }
///     }
///     response
/// }
/// # let _ = tower_approov::ApproovLayer::new(
/// #     tower_approov::ApproovConfig::builder()
/// #         .with_secret(&[7; 64], None).unwrap().build().unwrap(),
/// # ).with_rejection_response(with_trace_id);
/// ```
pub trait RejectionResponse<B> {
    /// The response for this failure of `request`. Do not leak [`ApproovError::kind`] to the
    /// client.
    fn rejection(&self, error: &ApproovError, request: &RequestHead<'_>) -> Response<B>;
}

/// The head of a rejected request (method, URI, version, headers), as the
/// [`RejectionResponse`] sees it.
///
/// The headers include the token header: never copy that one into the response or a log.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    method: &'a Method,
    uri: &'a Uri,
    version: Version,
    headers: &'a HeaderMap,
}

impl<'a> RequestHead<'a> {
    pub(crate) fn of<B>(request: &'a http::Request<B>) -> Self {
        Self {
            method: request.method(),
            uri: request.uri(),
            version: request.version(),
            headers: request.headers(),
        }
    }

    /// The request method.
    #[must_use]
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The request URI, as received (origin form for HTTP/1.1 without a proxy).
    #[must_use]
    pub fn uri(&self) -> &'a Uri {
        self.uri
    }

    /// The HTTP version of the request.
    #[must_use]
    pub fn version(&self) -> Version {
        self.version
    }

    /// The request headers (the token header included).
    #[must_use]
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }
}

/// The default rejection: `401 Unauthorized`, `content-type: application/json`, body `{}`.
///
/// The body deliberately says nothing: the reason goes to the server's logs only.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonRejection;

impl<B> RejectionResponse<B> for JsonRejection
where
    B: From<&'static str>,
{
    fn rejection(&self, _error: &ApproovError, _request: &RequestHead<'_>) -> Response<B> {
        let mut response = Response::new(B::from("{}"));
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

impl<F, B> RejectionResponse<B> for F
where
    F: Fn(&ApproovError, &RequestHead<'_>) -> Response<B>,
{
    fn rejection(&self, error: &ApproovError, request: &RequestHead<'_>) -> Response<B> {
        self(error, request)
    }
}
