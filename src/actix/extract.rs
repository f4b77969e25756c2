//! actix-web extractors: [`ApproovClaims`] and [`OptionalApproovClaims`].

use std::fmt;
use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, HttpResponse, ResponseError};

use crate::check::claims::ApproovClaims;
use crate::check::error::ApproovError;

/// Why [`ApproovClaims`] could not be extracted on actix-web.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApproovClaimsRejection {
    /// The request's token failed the check and the middleware is in monitor mode, so the
    /// request reached the handler without claims. Answers `401 {}`, like the middleware
    /// would. Handlers of monitored routes take [`OptionalApproovClaims`] instead.
    TokenRejected,
    /// No [`ApproovMiddleware`](crate::actix::ApproovMiddleware) ran before this handler: a
    /// programming error, answered with `500`.
    MiddlewareMissing,
}

impl ApproovClaimsRejection {
    /// The status code of the rejection.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::TokenRejected => StatusCode::UNAUTHORIZED,
            Self::MiddlewareMissing => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body of the rejection.
    #[must_use]
    pub fn body_text(&self) -> &'static str {
        match self {
            Self::TokenRejected => "{}",
            Self::MiddlewareMissing => {
                "Missing request extension: ApproovClaims. Is `ApproovMiddleware` wrapping this \
                 route? Add `.wrap(ApproovMiddleware::from_env())` to the App, Scope or Resource."
            }
        }
    }

    /// Why the claims of `request` are not there, if they are not.
    fn of(request: &HttpRequest) -> Result<ApproovClaims, Self> {
        let extensions = request.extensions();
        if let Some(claims) = extensions.get::<ApproovClaims>() {
            return Ok(claims.clone());
        }
        if extensions.get::<ApproovError>().is_some() {
            return Err(Self::TokenRejected);
        }
        Err(Self::MiddlewareMissing)
    }
}

impl fmt::Display for ApproovClaimsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.body_text())
    }
}

impl std::error::Error for ApproovClaimsRejection {}

impl ResponseError for ApproovClaimsRejection {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let content_type = match self {
            Self::TokenRejected => "application/json",
            Self::MiddlewareMissing => "text/plain; charset=utf-8",
        };
        let mut response = HttpResponse::with_body(self.status(), self.body_text());
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        response.map_into_boxed_body()
    }
}

/// The verified claims, as an actix-web extractor: `async fn handler(claims: ApproovClaims)`.
///
/// # Errors
///
/// [`ApproovClaimsRejection::TokenRejected`] (`401 {}`) after a failed check in monitor mode,
/// [`ApproovClaimsRejection::MiddlewareMissing`] (`500`) on a route the middleware does not
/// cover.
impl FromRequest for ApproovClaims {
    type Error = ApproovClaimsRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(ApproovClaimsRejection::of(request))
    }
}

/// The verified claims if the check passed, `None` if the token failed it in monitor mode: for
/// the handlers of monitored routes.
///
/// Unlike `Option<ApproovClaims>` (actix-web's `Option<T>` extractor, `None` on any error), a
/// route the middleware does not cover still answers `500`
/// ([`ApproovClaimsRejection::MiddlewareMissing`]): a programming error, not an unverified
/// client.
///
/// ```
/// use tower_approov::actix::OptionalApproovClaims;
///
/// async fn orders(OptionalApproovClaims(claims): OptionalApproovClaims) -> String {
///     match claims {
///         Some(claims) => format!("device {}", claims.did().unwrap_or("?")),
///         None => "unverified (monitor mode)".to_owned(),
///     }
/// }
/// ```
#[derive(Clone, Debug)]
pub struct OptionalApproovClaims(pub Option<ApproovClaims>);

/// # Errors
///
/// [`ApproovClaimsRejection::MiddlewareMissing`] (`500`) on a route the middleware does not
/// cover.
impl FromRequest for OptionalApproovClaims {
    type Error = ApproovClaimsRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(match ApproovClaimsRejection::of(request) {
            Ok(claims) => Ok(Self(Some(claims))),
            Err(ApproovClaimsRejection::TokenRejected) => Ok(Self(None)),
            Err(e) => Err(e),
        })
    }
}
