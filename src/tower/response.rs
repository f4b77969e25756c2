//! The response a failed check answers with.

use std::fmt;

use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, Version, header};

use crate::check::claims::ApproovClaims;
use crate::check::config::ApproovConfig;
use crate::check::error::{ApproovError, JsonRejection};

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
/// The headers include the token header: never copy that one into the response or a log. Its
/// `Debug` output shows the method, the path, the version and the header names only: the
/// query and the header values (the token, `Authorization`, `Cookie`) may be credentials.
#[derive(Clone, Copy)]
pub struct RequestHead<'a> {
    method: &'a Method,
    uri: &'a Uri,
    version: Version,
    headers: &'a HeaderMap,
}

impl fmt::Debug for RequestHead<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.keys().map(http::HeaderName::as_str).collect();
        f.debug_struct("RequestHead")
            .field("method", self.method)
            .field("path", &self.uri.path())
            .field("query", &self.uri.query().map(|_| "[redacted]"))
            .field("version", &self.version)
            .field("headers", &names)
            .finish()
    }
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

impl<B> RejectionResponse<B> for JsonRejection
where
    B: From<&'static str>,
{
    fn rejection(&self, _error: &ApproovError, _request: &RequestHead<'_>) -> Response<B> {
        let mut response = Response::new(B::from(JsonRejection::BODY));
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(JsonRejection::CONTENT_TYPE),
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

/// What the inner service receives once the check passed: the claims in the extensions, the
/// token header removed when configured.
pub(crate) fn accepted<B>(
    mut request: Request<B>,
    claims: ApproovClaims,
    config: &ApproovConfig,
) -> Request<B> {
    if let Some(header) = config.token_header_to_strip() {
        request.headers_mut().remove(header);
    }
    request.extensions_mut().insert(claims);
    request
}

/// What the inner service receives in monitor mode after a failed check: the error, and no
/// claims, not even an outer layer's.
pub(crate) fn monitored<B>(mut request: Request<B>, error: ApproovError) -> Request<B> {
    request.extensions_mut().remove::<ApproovClaims>();
    request.extensions_mut().insert(error);
    request
}

/// The rejection response, carrying the error in its extensions.
pub(crate) fn rejected<R, B, ResBody>(
    rejection: &R,
    error: ApproovError,
    request: &Request<B>,
) -> Response<ResBody>
where
    R: RejectionResponse<ResBody>,
{
    let mut response = rejection.rejection(&error, &RequestHead::of(request));
    response.extensions_mut().insert(error);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_head_debug_shows_header_names_and_never_a_value_or_the_query() {
        let request = Request::get("/v1/orders?api_key=hunter2")
            .header("approov-token", "eyJhbGciOi.secret.token")
            .header("authorization", "Bearer user-secret")
            .header("cookie", "session=s3cret")
            .body(())
            .unwrap();
        assert_eq!(
            format!("{:?}", RequestHead::of(&request)),
            "RequestHead { method: GET, path: \"/v1/orders\", query: Some(\"[redacted]\"), \
             version: HTTP/1.1, headers: [\"approov-token\", \"authorization\", \"cookie\"] }"
        );
    }
}
