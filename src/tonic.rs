//! The layer on a [tonic](https://docs.rs/tonic) server (feature `tonic`): one line, gRPC
//! status `UNAUTHENTICATED` on failure, tonic's own body type for the services behind it.
//!
//! ```no_run
//! # async fn run(greeter: tonic::service::Routes) -> Result<(), Box<dyn std::error::Error>> {
//! use tower_approov::tonic::ApproovGrpcLayer;
//!
//! tonic::transport::Server::builder()
//!     .layer(ApproovGrpcLayer::from_env())
//!     .add_routes(greeter)
//!     .serve("127.0.0.1:50051".parse()?)
//!     .await?;
//! # Ok(())
//! # }
//! ```
//!
//! Handlers find the verified [`ApproovClaims`](crate::ApproovClaims) in
//! `request.extensions()`: tonic keeps the HTTP extensions on its `Request`.

use std::fmt;
use std::task::{Context, Poll};

use ::tonic::Status;
use ::tonic::body::Body;
use tower_layer::Layer;
use tower_service::Service;

use crate::check::config::ModeHandle;
use crate::check::error::{ApproovError, ConfigError};
use crate::tower::body::ApproovBody;
use crate::tower::layer::ApproovLayer;
use crate::tower::response::{RejectionResponse, RequestHead};
use crate::tower::service::ApproovService;

/// An [`ApproovLayer`] for a tonic server: `Server::builder().layer(ApproovGrpcLayer::new(..))`.
///
/// A failed check answers [`GrpcRejection`] (gRPC status `UNAUTHENTICATED`) unless another
/// rejection is installed with [`with_rejection_response`](Self::with_rejection_response),
/// e.g. one that adds metadata. The services behind it receive `Request<tonic::body::Body>`.
#[derive(Clone)]
#[must_use]
pub struct ApproovGrpcLayer<R = GrpcRejection> {
    layer: ApproovLayer<R>,
}

impl ApproovGrpcLayer {
    /// The checks of `layer`, answered with gRPC statuses.
    pub fn new(layer: ApproovLayer) -> Self {
        Self {
            layer: layer.with_rejection_response(GrpcRejection),
        }
    }

    /// A layer configured from the environment, as [`ApproovLayer::from_env`].
    ///
    /// # Panics
    ///
    /// At start-up, if a variable is missing or unusable, as [`ApproovLayer::from_env`].
    pub fn from_env() -> Self {
        Self::new(ApproovLayer::from_env())
    }

    /// A layer configured from the environment, as [`ApproovLayer::try_from_env`].
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first variable that is missing or unusable.
    pub fn try_from_env() -> Result<Self, ConfigError> {
        ApproovLayer::try_from_env().map(Self::new)
    }
}

impl<R> ApproovGrpcLayer<R> {
    /// Answers failed checks with another response, e.g. `UNAUTHENTICATED` with metadata taken
    /// from the request. Any `Fn(&ApproovError, &RequestHead<'_>) -> http::Response<Body> +
    /// Clone` is one.
    pub fn with_rejection_response<T>(self, rejection: T) -> ApproovGrpcLayer<T> {
        ApproovGrpcLayer {
            layer: self.layer.with_rejection_response(rejection),
        }
    }

    /// See [`ApproovLayer::mode_handle`].
    #[must_use]
    pub fn mode_handle(&self) -> ModeHandle {
        self.layer.mode_handle()
    }

    /// See [`ApproovLayer::keys_ready`].
    #[must_use]
    pub fn keys_ready(&self) -> bool {
        self.layer.keys_ready()
    }
}

impl From<ApproovLayer> for ApproovGrpcLayer {
    fn from(layer: ApproovLayer) -> Self {
        Self::new(layer)
    }
}

impl<S, R: Clone> Layer<S> for ApproovGrpcLayer<R> {
    type Service = ApproovService<TonicBody<S>, R>;

    fn layer(&self, inner: S) -> Self::Service {
        self.layer.layer(TonicBody { inner })
    }
}

impl<R> fmt::Debug for ApproovGrpcLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApproovGrpcLayer")
            .field("layer", &self.layer)
            .finish()
    }
}

/// The gRPC rejection: status `UNAUTHENTICATED` (HTTP 200 with `grpc-status: 16`), saying no
/// more than the default `401 {}` does. The reason stays in the server's logs.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcRejection;

impl RejectionResponse<Body> for GrpcRejection {
    fn rejection(&self, _error: &ApproovError, _request: &RequestHead<'_>) -> http::Response<Body> {
        Status::unauthenticated("missing or invalid Approov token").into_http()
    }
}

/// Hands tonic's services the `Request<tonic::body::Body>` they take, in place of the
/// layer's `Request<ApproovBody<_>>`. An unread body is passed on as it came, with no new box.
#[derive(Debug, Clone)]
pub struct TonicBody<S> {
    inner: S,
}

impl<S> TonicBody<S> {
    /// The inner service.
    #[must_use]
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Consumes this wrapper, returning the inner service.
    #[must_use]
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Service<http::Request<ApproovBody<Body>>> for TonicBody<S>
where
    S: Service<http::Request<Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ApproovBody<Body>>) -> Self::Future {
        self.inner
            .call(request.map(|body| body.into_unread_or(Body::new)))
    }
}
