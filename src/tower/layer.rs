//! [`ApproovLayer`].

use std::fmt;

use tower_layer::Layer;

use crate::check::config::{ApproovConfig, ModeHandle};
use crate::check::error::ConfigError;
use crate::check::error::JsonRejection;
use crate::tower::service::ApproovService;

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
        Self::new(ApproovConfig::from_env_or_panic())
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

    /// This layer with token binding on `headers` (replacing the configured binding headers, if
    /// any), for the routes whose requests carry the bound header. The new layer shares the
    /// keys, the verified-token cache and the [mode switch](Self::mode_handle) with `self`, and
    /// keeps its [`with_allow_missing_pay`](crate::ApproovConfigBuilder::with_allow_missing_pay)
    /// setting.
    ///
    /// ```
    /// # use axum::{Router, routing::{get, post}};
    /// # use tower_approov::{ApproovConfig, ApproovLayer};
    /// # fn main() -> Result<(), tower_approov::ConfigError> {
    /// # let approov = ApproovLayer::new(ApproovConfig::builder().with_secret(b"0123456789abcdef0123456789abcdef", None)?.build()?);
    /// # async fn login() {}
    /// # async fn orders() {}
    /// // `approov` is e.g. `ApproovLayer::from_env()`.
    /// let app: Router = Router::new()
    ///     // No `Authorization` yet: the token is checked, not bound.
    ///     .route("/login", post(login))
    ///     .route_layer(approov.clone().without_token_binding())
    ///     // The token must be bound to the `Authorization` header sent with it.
    ///     .merge(
    ///         Router::new()
    ///             .route("/orders", get(orders))
    ///             .route_layer(approov.with_token_binding(["Authorization"])?),
    ///     );
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] if a name is not a valid header name, [`ConfigError::Empty`] if
    /// a name is empty or `headers` is.
    pub fn with_token_binding<I, T>(self, headers: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        Ok(Self {
            config: self.config.with_token_binding(headers)?,
            rejection: self.rejection,
        })
    }

    /// This layer with token binding off, for routes whose requests cannot carry the bound
    /// header yet, such as a login. It shares the keys, the verified-token cache and the
    /// [mode switch](Self::mode_handle) with `self`. See
    /// [`with_token_binding`](Self::with_token_binding).
    pub fn without_token_binding(self) -> Self {
        Self {
            config: self.config.without_token_binding(),
            rejection: self.rejection,
        }
    }

    /// Whether every key source can verify: at once for secrets, PEM keys and JWKS text; for
    /// a JWKS URL, once a fetch delivered its keys, and no longer once they are older than the
    /// maximum staleness (`APPROOV_JWKS_MAX_STALENESS_SECONDS`). Meanwhile a token whose key is
    /// not among the configured ones is rejected with
    /// [`KeysUnavailable`](crate::ApproovErrorKind::KeysUnavailable). For a readiness probe:
    ///
    /// ```
    /// # use axum::{Router, http::StatusCode, routing::get};
    /// # use tower_approov::{ApproovConfig, ApproovLayer};
    /// # fn main() -> Result<(), tower_approov::ConfigError> {
    /// # let approov = ApproovLayer::new(ApproovConfig::builder().with_secret(b"0123456789abcdef0123456789abcdef", None)?.build()?);
    /// let probe = approov.clone();
    /// let app: Router = Router::new().route(
    ///     "/ready",
    ///     get(move || async move {
    ///         if probe.keys_ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }
    ///     }),
    /// );
    /// # assert!(approov.keys_ready());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn keys_ready(&self) -> bool {
        self.config.keys_ready()
    }

    /// Whether the layer can check requests now: the keys can verify and the replay store (if
    /// any) answers; see [`ApproovConfig::ready`](crate::ApproovConfig::ready). For a
    /// readiness probe.
    pub async fn ready(&self) -> bool {
        self.config.ready().await
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn per_route_layers_share_the_verifier_and_its_cache() {
        let config = ApproovConfig::builder()
            .with_secret(&[7; 64], None)
            .unwrap()
            .build()
            .unwrap();
        let base = ApproovLayer::new(config);
        let bound = base.clone().with_token_binding(["Authorization"]).unwrap();
        let unbound = bound.clone().without_token_binding();
        let verifier = |l: &ApproovLayer| Arc::as_ptr(&l.config.shared.verifier);
        assert_eq!(verifier(&base), verifier(&bound));
        assert_eq!(verifier(&base), verifier(&unbound));
        assert!(base.config.shared.binding.is_none());
        assert!(bound.config.shared.binding.is_some());
        assert!(unbound.config.shared.binding.is_none());
    }
}
