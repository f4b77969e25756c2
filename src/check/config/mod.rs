//! [`ApproovConfig`]: what to check and how, from a builder or from the environment.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;

use crate::check::binding::Binding;
use crate::check::error::ConfigError;
use crate::check::parse::parse_header_name;
use crate::check::signing::SigningVerifier;
use crate::check::verify::Verifier;

mod builder;
mod env;

pub use crate::check::mode::{Mode, ModeHandle};

pub use builder::ApproovConfigBuilder;

/// The header that carries the token unless configured otherwise.
pub const DEFAULT_TOKEN_HEADER: &str = "approov-token";
/// The verified-token cache size unless configured otherwise.
pub const DEFAULT_TOKEN_CACHE_SIZE: usize = 10_000;
/// The longest token header value accepted unless configured otherwise.
pub const DEFAULT_MAX_TOKEN_LENGTH: usize = 8 * 1024;
/// The largest leeway on `exp`/`nbf`, and the largest message signature clock skew, accepted:
/// one hour. More is a configuration mistake (minutes where seconds were meant, or a number
/// out of range) that would quietly accept expired tokens.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(60 * 60);

// The bounds of the other size and duration settings. A value beyond one is a `ConfigError`
// from the builder and from the environment alike: each is a typo (a unit mistaken, a digit too
// many) that would otherwise crash the process at start-up (a duration overflowing), reserve
// memory it never uses, or quietly weaken a check. The `expected` texts below are the errors'
// own words, for the builder ("... was given an invalid value: pass <expected>") and for the
// environment ("... has an invalid value: set it to <expected>").

/// The largest verified-token cache: one million entries. A full cache of real tokens (under
/// 1 KiB each, with their claims) is then about a GiB; more is a digit too many. Nothing is
/// allocated up front in proportion to it.
pub(crate) const MAX_TOKEN_CACHE_SIZE: usize = 1_000_000;
pub(crate) const TOKEN_CACHE_SIZE_EXPECTED: &str =
    "at most 1000000 entries (one million), or 0 to turn the cache off";

/// The largest maximum token length: 64 KiB. Real Approov tokens are under 1 KiB, and HTTP
/// servers refuse header sections much larger than this anyway.
pub(crate) const MAX_MAX_TOKEN_LENGTH: usize = 64 * 1024;
pub(crate) const MAX_TOKEN_LENGTH_EXPECTED: &str =
    "at most 65536 bytes (64 KiB; real Approov tokens are under 1 KiB)";

/// The largest maximum age of a message signature: one hour. The SDKs' signatures expire 15 s
/// after they are made; an hour-old signature is a replay, not a slow network.
pub(crate) const MAX_SIGNATURE_MAX_AGE: Duration = Duration::from_secs(60 * 60);

/// The largest body read to check a `Content-Digest`: 64 MiB, 32 times axum's default body
/// limit. The body is held in memory while it is checked, once per request in flight.
pub(crate) const MAX_SIGNATURE_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
pub(crate) const SIGNATURE_MAX_BODY_BYTES_EXPECTED: &str = "at most 67108864 bytes (64 MiB)";

/// `Err(ConfigError::Invalid)` naming `variable` unless `ok`.
pub(crate) fn bounded(
    ok: bool,
    variable: &'static str,
    expected: &'static str,
) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Invalid { variable, expected })
    }
}

/// The first JWKS fetch that `build_async` awaits.
#[cfg(feature = "jwks-url")]
pub(super) type FirstFetch = crate::check::keys::remote::FirstFetch;
#[cfg(not(feature = "jwks-url"))]
pub(super) type FirstFetch = std::convert::Infallible;

/// A checked, ready-to-use configuration. Build one with [`ApproovConfig::builder`] or
/// [`ApproovConfig::from_env`], then hand it to [`ApproovLayer::new`](crate::ApproovLayer::new).
#[derive(Clone)]
pub struct ApproovConfig {
    pub(crate) shared: Arc<Shared>,
}

/// What every service made by one layer shares.
///
/// Cloned (cheaply) to specialise a layer per route, e.g. with or without token binding: the
/// clones share the keys, the verified-token cache and the mode switch.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) verifier: Arc<Verifier>,
    pub(crate) token_header: HeaderName,
    pub(crate) token_prefix: Option<Box<str>>,
    pub(crate) max_token_length: usize,
    pub(crate) strip_token_header: bool,
    pub(crate) binding: Option<Binding>,
    /// Kept apart from `binding` so that binding switched on later, per route, honours it.
    pub(crate) allow_missing_pay: bool,
    pub(crate) mode: ModeHandle,
    pub(crate) cache_size: usize,
    pub(crate) signing: Option<SigningVerifier>,
    /// Replay protection, when on; shared by the per-route clones, like the keys.
    pub(crate) replay: Option<Arc<crate::check::replay::Replay>>,
}

impl fmt::Debug for ApproovConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.shared;
        f.debug_struct("ApproovConfig")
            .field("keys", &s.verifier.keys.load().len())
            .field("token_header", &s.token_header.as_str())
            .field("token_prefix", &s.token_prefix)
            // Bounded by `build`; `try_` so that Debug can never panic whatever the value.
            .field(
                "leeway",
                &Duration::try_from_secs_f64(s.verifier.leeway).unwrap_or(Duration::MAX),
            )
            .field("issuers", &s.verifier.issuers)
            .field("audiences", &s.verifier.audiences)
            .field(
                "binding_headers",
                &s.binding.as_ref().map(|b| {
                    b.headers()
                        .iter()
                        .map(HeaderName::as_str)
                        .collect::<Vec<_>>()
                }),
            )
            .field("allow_missing_pay", &s.allow_missing_pay)
            .field("mode", &s.mode.get())
            .field("token_cache_size", &s.cache_size)
            .field("max_token_length", &s.max_token_length)
            .field("strip_token_header", &s.strip_token_header)
            .field("message_signing", &s.signing)
            .field("replay", &s.replay)
            .finish()
    }
}

impl ApproovConfig {
    /// Starts a configuration. At least one key must be added before
    /// [`build`](ApproovConfigBuilder::build).
    pub fn builder() -> ApproovConfigBuilder {
        ApproovConfigBuilder::default()
    }

    /// Reads the whole configuration from the environment (see the crate docs for the
    /// variables), after reading the settings file named by `APPROOV_ENV_FILE`, else `./.env`
    /// in the working directory if there is one (never a parent directory's). Real environment
    /// variables win over the file, and key sources are taken from one place only: see
    /// [`ApproovConfigBuilder::from_env`].
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first variable that is missing or unusable.
    pub fn from_env() -> Result<Self, ConfigError> {
        ApproovConfigBuilder::from_env()?.build()
    }

    /// [`from_env`](Self::from_env) for the front doors' `from_env`, the start-up convenience
    /// that panics on a configuration error, with one message for every door (naming the
    /// variable, never its value).
    pub(crate) fn from_env_or_panic() -> Self {
        match Self::from_env() {
            Ok(config) => config,
            // Documented on each door's `from_env`: the start-up convenience that panics.
            #[allow(clippy::panic)]
            Err(error) => panic!("tower-approov configuration error: {error}"),
        }
    }

    /// The enforcement switch of this configuration.
    #[must_use]
    pub fn mode_handle(&self) -> ModeHandle {
        self.shared.mode.clone()
    }

    /// Whether every key source can verify: at once for secrets, PEM keys and JWKS text; for
    /// a JWKS URL, once a fetch delivered its keys, and until they are older than the maximum
    /// staleness. For a readiness probe; see
    /// [`ApproovLayer::keys_ready`](crate::ApproovLayer::keys_ready).
    #[must_use]
    pub fn keys_ready(&self) -> bool {
        self.shared.verifier.keys.ready()
    }

    /// Whether the replay store answers: always for the one in memory, or without replay
    /// protection; for Redis, a `PING` answered within the store's timeout. For a readiness
    /// probe, beside [`keys_ready`](Self::keys_ready): see [`ready`](Self::ready).
    pub async fn replay_store_ready(&self) -> bool {
        match &self.shared.replay {
            Some(replay) => replay.ping().await,
            None => true,
        }
    }

    /// Whether this configuration can check requests now: the keys can verify
    /// ([`keys_ready`](Self::keys_ready)) and the replay store answers
    /// ([`replay_store_ready`](Self::replay_store_ready)). What a readiness probe asks.
    pub async fn ready(&self) -> bool {
        self.keys_ready() && self.replay_store_ready().await
    }

    /// This configuration with token binding on `headers` instead of the configured binding
    /// headers (if any). Everything else is shared with `self`: the keys, the verified-token
    /// cache, the mode switch, and [`with_allow_missing_pay`](ApproovConfigBuilder::with_allow_missing_pay).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] if a name is not a valid header name, [`ConfigError::Empty`] if
    /// a name is empty or `headers` is.
    pub fn with_token_binding<I, T>(&self, headers: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        const SETTING: &str = "ApproovConfig::with_token_binding";
        let headers = headers
            .into_iter()
            .map(|h| parse_header_name(h.as_ref(), SETTING))
            .collect::<Result<Vec<_>, _>>()?;
        let binding = Binding::new(headers, self.shared.allow_missing_pay)
            .ok_or(ConfigError::Empty { variable: SETTING })?;
        Ok(self.with_binding(Some(binding)))
    }

    /// This configuration with token binding off, sharing everything else with `self` (keys,
    /// verified-token cache, mode switch). For routes such as a login, whose requests cannot
    /// carry the bound header yet.
    #[must_use]
    pub fn without_token_binding(&self) -> Self {
        self.with_binding(None)
    }

    fn with_binding(&self, binding: Option<Binding>) -> Self {
        let mut shared = Shared::clone(&self.shared);
        shared.binding = binding;
        Self {
            shared: Arc::new(shared),
        }
    }
}

/// Makes sure `jsonwebtoken` has a crypto provider, installing ours if the application has not
/// installed one (with both backend features on, `jsonwebtoken` picks none by itself).
pub(crate) fn ensure_crypto_provider() -> Result<(), ConfigError> {
    use jsonwebtoken::crypto::CryptoProvider;
    if CryptoProvider::try_get_default().is_some() {
        return Ok(());
    }
    #[cfg(feature = "aws_lc_rs")]
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    #[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    CryptoProvider::try_get_default()
        .map(|_| ())
        .ok_or(ConfigError::NoCryptoProvider)
}
