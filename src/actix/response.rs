//! What the middleware does with each verdict: the request handed on (with claims, or in monitor
//! mode with the error), or the rejection response.

use actix_web::dev::ServiceRequest;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse};

use crate::check::claims::ApproovClaims;
use crate::check::config::ApproovConfig;
use crate::check::error::{ApproovError, JsonRejection};

/// Builds the response for a failed check on actix-web.
///
/// The default, [`JsonRejection`], answers `401` with `content-type: application/json` and the
/// body `{}`. Any `Fn(&ApproovError, &HttpRequest) -> HttpResponse` is one too: install it with
/// [`ApproovMiddleware::with_rejection_response`](crate::actix::ApproovMiddleware::with_rejection_response).
/// Whatever it returns, the middleware adds the [`ApproovError`] to the response's extensions.
///
/// The request's headers include the token header: never copy that one into the response or
/// a log, nor [`ApproovError::kind`] into the response.
pub trait RejectionResponse {
    /// The response for this failure of `request`.
    fn rejection(&self, error: &ApproovError, request: &HttpRequest) -> HttpResponse;
}

impl RejectionResponse for JsonRejection {
    fn rejection(&self, _error: &ApproovError, _request: &HttpRequest) -> HttpResponse {
        let mut response = HttpResponse::with_body(StatusCode::UNAUTHORIZED, JsonRejection::BODY);
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static(JsonRejection::CONTENT_TYPE),
        );
        response.map_into_boxed_body()
    }
}

impl<F> RejectionResponse for F
where
    F: Fn(&ApproovError, &HttpRequest) -> HttpResponse,
{
    fn rejection(&self, error: &ApproovError, request: &HttpRequest) -> HttpResponse {
        self(error, request)
    }
}

/// What the next service receives once the check passed: the claims in the extensions, the
/// token header removed when configured.
pub(crate) fn accepted(
    mut request: ServiceRequest,
    claims: ApproovClaims,
    config: &ApproovConfig,
) -> ServiceRequest {
    if let Some(header) = config.token_header_to_strip() {
        request.headers_mut().remove(header.as_str());
    }
    request.extensions_mut().insert(claims);
    request
}

/// What the next service receives in monitor mode after a failed check: the error, and no
/// claims, not even an outer middleware's.
pub(crate) fn monitored(request: ServiceRequest, error: ApproovError) -> ServiceRequest {
    {
        let mut extensions = request.extensions_mut();
        extensions.remove::<ApproovClaims>();
        extensions.insert(error);
    }
    request
}

/// The rejection response, carrying the error in its extensions.
pub(crate) fn rejected<R: RejectionResponse + ?Sized>(
    rejection: &R,
    error: ApproovError,
    request: &HttpRequest,
) -> HttpResponse {
    let mut response = rejection.rejection(&error, request);
    response.extensions_mut().insert(error);
    response
}
