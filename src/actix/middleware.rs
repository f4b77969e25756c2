//! [`ApproovMiddleware`]: the actix-web `Transform`.

use std::fmt;
use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::Error;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};

use crate::actix::response::RejectionResponse;
use crate::actix::service::ApproovMiddlewareService;
use crate::check::config::{ApproovConfig, ModeHandle};
use crate::check::error::ConfigError;
use crate::check::error::JsonRejection;

/// An actix-web middleware that lets through only requests carrying a valid Approov token:
/// `App::new().wrap(approov.clone())`, `Scope::wrap`, `Resource::wrap`.
///
/// Build it once, before `HttpServer::new`, and clone it into each worker's `App`: the clones
/// share the keys, the verified-token cache, the JWKS refresher and the
/// [mode switch](Self::mode_handle). See the [module docs](crate::actix) for what it does with
/// each request.
#[derive(Clone)]
#[must_use]
pub struct ApproovMiddleware<R = JsonRejection> {
    config: ApproovConfig,
    rejection: R,
}

impl ApproovMiddleware {
    /// A middleware for this configuration, answering failures with `401 {}`.
    pub fn new(config: ApproovConfig) -> Self {
        Self {
            config,
            rejection: JsonRejection,
        }
    }

    /// A middleware configured from the environment (and a `.env` file, if present), as
    /// [`ApproovLayer::from_env`](crate::ApproovLayer::from_env).
    ///
    /// # Panics
    ///
    /// At start-up, if a variable is missing or unusable, with a message that names the
    /// variable and how to fix it (never its value). Use [`try_from_env`](Self::try_from_env)
    /// to handle the error yourself.
    pub fn from_env() -> Self {
        Self::new(ApproovConfig::from_env_or_panic())
    }

    /// A middleware configured from the environment (and a `.env` file, if present).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first variable that is missing or unusable.
    pub fn try_from_env() -> Result<Self, ConfigError> {
        ApproovConfig::from_env().map(Self::new)
    }
}

impl<R> ApproovMiddleware<R> {
    /// Answers failed checks with another response: any
    /// `Fn(&ApproovError, &HttpRequest) -> HttpResponse + Clone + 'static`, or a
    /// [`RejectionResponse`]. The middleware adds the [`ApproovError`](crate::ApproovError) to
    /// its extensions.
    ///
    /// ```
    /// use actix_web::{HttpRequest, HttpResponse};
    /// use tower_approov::ApproovError;
    /// use tower_approov::actix::ApproovMiddleware;
    ///
    /// /// `401 {}` with a `WWW-Authenticate` challenge.
    /// fn challenge(_error: &ApproovError, _request: &HttpRequest) -> HttpResponse {
    ///     HttpResponse::Unauthorized()
    ///         .insert_header(("www-authenticate", "Approov"))
    ///         .content_type("application/json")
    ///         .body("{}")
    /// }
    /// # fn main() -> Result<(), tower_approov::ConfigError> {
    /// # let config = tower_approov::ApproovConfig::builder().with_secret(&[7; 64], None)?.build()?;
    /// let approov = ApproovMiddleware::new(config).with_rejection_response(challenge);
    /// # let _ = approov;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_rejection_response<T>(self, rejection: T) -> ApproovMiddleware<T> {
        ApproovMiddleware {
            config: self.config,
            rejection,
        }
    }

    /// A handle that switches every clone of this middleware between enforce and monitor at
    /// run time.
    #[must_use]
    pub fn mode_handle(&self) -> ModeHandle {
        self.config.mode_handle()
    }

    /// Whether every key source can verify (for a readiness probe): at once for secrets, PEM
    /// keys and JWKS text; for a JWKS URL, once a fetch delivered its keys. See
    /// [`ApproovLayer::keys_ready`](crate::ApproovLayer::keys_ready).
    #[must_use]
    pub fn keys_ready(&self) -> bool {
        self.config.keys_ready()
    }

    /// Whether the middleware can check requests now: the keys can verify and the replay store
    /// (if any) answers. See [`ApproovConfig::ready`](crate::ApproovConfig::ready).
    pub async fn ready(&self) -> bool {
        self.config.ready().await
    }

    /// This middleware with token binding on `headers`, for the scopes whose requests carry
    /// the bound header; it shares the keys, the cache and the mode switch with `self`. See
    /// [`ApproovLayer::with_token_binding`](crate::ApproovLayer::with_token_binding).
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

    /// This middleware with token binding off (a login scope), sharing the keys, the cache and
    /// the mode switch with `self`.
    pub fn without_token_binding(self) -> Self {
        Self {
            config: self.config.without_token_binding(),
            rejection: self.rejection,
        }
    }

    /// The configuration this middleware checks with.
    #[must_use]
    pub fn config(&self) -> &ApproovConfig {
        &self.config
    }
}

impl<S, B, R> Transform<S, ServiceRequest> for ApproovMiddleware<R>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody,
    R: RejectionResponse + Clone + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = ApproovMiddlewareService<S, R>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ApproovMiddlewareService::new(
            service,
            self.config.clone(),
            Rc::new(self.rejection.clone()),
        )))
    }
}

impl<R> fmt::Debug for ApproovMiddleware<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApproovMiddleware")
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
    fn clones_for_each_worker_and_per_scope_bindings_share_the_verifier_and_the_mode() {
        let config = ApproovConfig::builder()
            .with_secret(&[7; 64], None)
            .unwrap()
            .build()
            .unwrap();
        let base = ApproovMiddleware::new(config);
        let worker = base.clone();
        let bound = base.clone().with_token_binding(["Authorization"]).unwrap();
        let verifier = |m: &ApproovMiddleware| Arc::as_ptr(&m.config.shared.verifier);
        assert_eq!(verifier(&base), verifier(&worker));
        assert_eq!(verifier(&base), verifier(&bound));
        bound.mode_handle().set(crate::Mode::Monitor);
        assert_eq!(worker.mode_handle().get(), crate::Mode::Monitor);
        assert!(base.keys_ready());
    }

    #[test]
    fn its_debug_names_the_rejection_type_and_shows_no_secret() {
        let config = ApproovConfig::builder()
            .with_secret(&[7; 64], None)
            .unwrap()
            .build()
            .unwrap();
        let text = format!("{:?}", ApproovMiddleware::new(config));
        assert!(text.starts_with("ApproovMiddleware { config: ApproovConfig { keys: 1,"));
        assert!(text.ends_with("rejection: \"tower_approov::check::error::JsonRejection\" }"));
    }
}
