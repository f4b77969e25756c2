//! The response a failed check answers with.

use http::{HeaderValue, Response, StatusCode, header};

use crate::error::ApproovError;

/// Builds the response for a failed check.
///
/// The default, [`JsonRejection`], answers `401` with `content-type: application/json` and the
/// body `{}`, as every Approov quickstart does. Install another with
/// [`ApproovLayer::with_rejection_response`](crate::ApproovLayer::with_rejection_response),
/// e.g. a gRPC `UNAUTHENTICATED` status. Any `Fn(&ApproovError) -> Response<B> + Clone` is one.
///
/// Whatever it returns, the layer adds the [`ApproovError`] to the response extensions.
pub trait RejectionResponse<B> {
    /// The response for this failure. Do not leak [`ApproovError::kind`] to the client.
    fn rejection(&self, error: &ApproovError) -> Response<B>;
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
    fn rejection(&self, _error: &ApproovError) -> Response<B> {
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
    F: Fn(&ApproovError) -> Response<B>,
{
    fn rejection(&self, error: &ApproovError) -> Response<B> {
        self(error)
    }
}
