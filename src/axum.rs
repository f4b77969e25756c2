//! axum extractors (feature `axum`).

use std::fmt;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};

use crate::check::claims::ApproovClaims;
use crate::check::error::ApproovError;

/// Why [`ApproovClaims`] could not be extracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApproovClaimsRejection {
    /// The request's token failed the check and the layer is in monitor mode, so the request
    /// reached the handler without claims. Answers `401 {}`, like the layer would. Handlers of
    /// monitored routes take `Option<ApproovClaims>` instead.
    TokenRejected,
    /// No [`ApproovLayer`](crate::ApproovLayer) ran before this handler: a programming error,
    /// answered with `500`.
    LayerMissing,
}

impl ApproovClaimsRejection {
    /// The status code of the rejection.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::TokenRejected => StatusCode::UNAUTHORIZED,
            Self::LayerMissing => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body of the rejection.
    #[must_use]
    pub fn body_text(&self) -> &'static str {
        match self {
            Self::TokenRejected => "{}",
            Self::LayerMissing => {
                "Missing request extension: ApproovClaims. Is `ApproovLayer` applied to this \
                 route? Add `.layer(ApproovLayer::from_env())` or `.route_layer(...)` to the router."
            }
        }
    }
}

impl fmt::Display for ApproovClaimsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.body_text())
    }
}

impl std::error::Error for ApproovClaimsRejection {}

impl IntoResponse for ApproovClaimsRejection {
    fn into_response(self) -> Response {
        let content_type = match self {
            Self::TokenRejected => "application/json",
            Self::LayerMissing => "text/plain; charset=utf-8",
        };
        let mut response = (self.status(), self.body_text()).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApproovClaims {
    type Rejection = ApproovClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(claims) = parts.extensions.get::<ApproovClaims>() {
            return Ok(claims.clone());
        }
        if parts.extensions.get::<ApproovError>().is_some() {
            return Err(ApproovClaimsRejection::TokenRejected);
        }
        Err(ApproovClaimsRejection::LayerMissing)
    }
}

/// `Option<ApproovClaims>`: `None` when the token failed in monitor mode. A route the layer does
/// not cover is still a `500`, since that is a bug rather than an unverified client.
impl<S: Send + Sync> OptionalFromRequestParts<S> for ApproovClaims {
    type Rejection = ApproovClaimsRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match <Self as FromRequestParts<S>>::from_request_parts(parts, state).await {
            Ok(claims) => Ok(Some(claims)),
            Err(ApproovClaimsRejection::TokenRejected) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
