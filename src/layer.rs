//! [`ApproovLayer`].

use std::fmt;

use tower_layer::Layer;

use crate::config::{ApproovConfig, ModeHandle};
use crate::error::ConfigError;
use crate::response::JsonRejection;
use crate::service::ApproovService;

/// A [`Layer`] that lets through only requests carrying a valid Approov token.
///
/// See the [crate docs](crate) for a complete example.
#[derive(Clone)]
#[must_use]
pub struct ApproovLayer<R = JsonRejection> {
    config: ApproovConfig,
    rejection: R,
}

impl ApproovLayer {
    /// A layer for this configuration, answering failures with `401 {}`.
    pub fn new(config: ApproovConfig) -> Self {
        Self {
            config,
            rejection: JsonRejection,
        }
    }

    /// A layer configured from the environment (and a `.env` file, if present).
    ///
    /// # Panics
    ///
    /// At start-up, if a variable is missing or unusable, with a message that names the
    /// variable and how to fix it (never its value). Use [`try_from_env`](Self::try_from_env)
    /// to handle the error yourself.
    pub fn from_env() -> Self {
        match Self::try_from_env() {
            Ok(layer) => layer,
            // Documented: `from_env` is the start-up convenience that panics.
            #[allow(clippy::panic)]
            Err(error) => panic!("tower-approov configuration error: {error}"),
        }
    }

    /// A layer configured from the environment (and a `.env` file, if present).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first variable that is missing or unusable.
    pub fn try_from_env() -> Result<Self, ConfigError> {
        ApproovConfig::from_env().map(Self::new)
    }
}

impl<R> ApproovLayer<R> {
    /// Answers failed checks with another response, e.g. a gRPC `UNAUTHENTICATED` status.
    pub fn with_rejection_response<T>(self, rejection: T) -> ApproovLayer<T> {
        ApproovLayer {
            config: self.config,
            rejection,
        }
    }

    /// A handle that switches every service of this layer between enforce and monitor at run
    /// time.
    #[must_use]
    pub fn mode_handle(&self) -> ModeHandle {
        self.config.mode_handle()
    }

    /// The configuration this layer checks with.
    #[must_use]
    pub fn config(&self) -> &ApproovConfig {
        &self.config
    }
}

impl<S, R: Clone> Layer<S> for ApproovLayer<R> {
    type Service = ApproovService<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        ApproovService::new(inner, self.config.clone(), self.rejection.clone())
    }
}

impl<R> fmt::Debug for ApproovLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApproovLayer")
            .field("config", &self.config)
            .field("rejection", &std::any::type_name::<R>())
            .finish()
    }
}
