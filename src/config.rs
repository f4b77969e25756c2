//! [`ApproovConfig`]: what to check and how, from a builder or from the environment.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use http::HeaderName;

use crate::binding::Binding;
use crate::cache::TokenCache;
use crate::error::ConfigError;
use crate::keys::{KeySet, KeyStore, Secret, VerifyingKey};
use crate::signing::{MessageSigning, SigningConfig, SigningVerifier};
use crate::verify::Verifier;

/// The header that carries the token unless configured otherwise.
pub const DEFAULT_TOKEN_HEADER: &str = "approov-token";
/// The verified-token cache size unless configured otherwise.
pub const DEFAULT_TOKEN_CACHE_SIZE: usize = 10_000;
/// The longest token header value accepted unless configured otherwise.
pub const DEFAULT_MAX_TOKEN_LENGTH: usize = 8 * 1024;

/// Whether failed checks are enforced or only reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mode {
    /// Failed checks answer 401. The default.
    #[default]
    Enforce,
    /// Failed checks are logged at `warn` and the request goes on, without claims. This is how
    /// Approov is rolled out: watch the logs, then switch to [`Mode::Enforce`].
    Monitor,
}

/// A handle that switches a running layer between [`Mode::Enforce`] and [`Mode::Monitor`].
///
/// Get one from [`ApproovLayer::mode_handle`](crate::ApproovLayer::mode_handle). Clones share
/// the same switch; a change is seen by the next request on every service the layer made.
#[derive(Clone)]
pub struct ModeHandle(Arc<AtomicU8>);

impl ModeHandle {
    fn new(mode: Mode) -> Self {
        Self(Arc::new(AtomicU8::new(mode as u8)))
    }

    /// The mode in force.
    #[must_use]
    pub fn get(&self) -> Mode {
        if self.0.load(Ordering::Relaxed) == Mode::Monitor as u8 {
            Mode::Monitor
        } else {
            Mode::Enforce
        }
    }

    /// Switches the mode, for every service made by the layer.
    pub fn set(&self, mode: Mode) {
        let before = self.get();
        self.0.store(mode as u8, Ordering::Relaxed);
        if before != mode {
            tracing::warn!(from = ?before, to = ?mode, "Approov enforcement mode changed");
        }
    }
}

impl fmt::Debug for ModeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ModeHandle").field(&self.get()).finish()
    }
}

/// The first JWKS fetch that `build_async` awaits.
#[cfg(feature = "jwks-url")]
type FirstFetch = crate::keys::remote::FirstFetch;
#[cfg(not(feature = "jwks-url"))]
type FirstFetch = std::convert::Infallible;

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
}

impl fmt::Debug for ApproovConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.shared;
        f.debug_struct("ApproovConfig")
            .field("keys", &s.verifier.keys.load().len())
            .field("token_header", &s.token_header.as_str())
            .field("token_prefix", &s.token_prefix)
            .field("leeway", &Duration::from_secs_f64(s.verifier.leeway))
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
    /// variables), after loading a `.env` file if one is found. Real environment variables win
    /// over the file.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first variable that is missing or unusable.
    pub fn from_env() -> Result<Self, ConfigError> {
        ApproovConfigBuilder::from_env()?.build()
    }

    /// The enforcement switch of this configuration.
    #[must_use]
    pub fn mode_handle(&self) -> ModeHandle {
        self.shared.mode.clone()
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

/// A builder for [`ApproovConfig`]. Every setting has a documented default; the ones that
/// matter for security say why.
#[must_use]
pub struct ApproovConfigBuilder {
    keys: KeySet,
    token_header: HeaderName,
    token_prefix: Option<String>,
    leeway: Duration,
    issuers: Option<Vec<String>>,
    audiences: Option<Vec<String>>,
    binding_headers: Vec<HeaderName>,
    allow_missing_pay: bool,
    mode: Mode,
    token_cache_size: usize,
    max_token_length: usize,
    strip_token_header: bool,
    signing: SigningConfig,
    #[cfg(feature = "jwks-url")]
    jwks_url: Option<crate::keys::remote::RemoteOptions>,
}

impl Default for ApproovConfigBuilder {
    fn default() -> Self {
        Self {
            keys: KeySet::default(),
            token_header: HeaderName::from_static(DEFAULT_TOKEN_HEADER),
            token_prefix: None,
            leeway: Duration::ZERO,
            issuers: None,
            audiences: None,
            binding_headers: Vec::new(),
            allow_missing_pay: false,
            mode: Mode::Enforce,
            token_cache_size: DEFAULT_TOKEN_CACHE_SIZE,
            max_token_length: DEFAULT_MAX_TOKEN_LENGTH,
            strip_token_header: false,
            signing: SigningConfig::default(),
            #[cfg(feature = "jwks-url")]
            jwks_url: None,
        }
    }
}

impl fmt::Debug for ApproovConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApproovConfigBuilder")
            .field("keys", &self.keys.len())
            .field("token_header", &self.token_header.as_str())
            .field("token_prefix", &self.token_prefix)
            .field("leeway", &self.leeway)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

const BUILDER: &str = "ApproovConfigBuilder";

impl ApproovConfigBuilder {
    /// Adds the account's HS256 secret, as printed by `approov secret -get base64`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] or [`ConfigError::Invalid`] if the text is not standard base64.
    pub fn with_base64_secret(self, secret: &str) -> Result<Self, ConfigError> {
        let secret = Secret::from_base64(secret, BUILDER)?;
        self.with_key(secret.into_key(None, BUILDER)?)
    }

    /// Adds an HS256 secret as printed by `approov secret -get base64url` (padded or not).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] or [`ConfigError::Invalid`] if the text is not base64url.
    pub fn with_base64url_secret(self, secret: &str) -> Result<Self, ConfigError> {
        let secret = Secret::from_base64url(secret, BUILDER)?;
        self.with_key(secret.into_key(None, BUILDER)?)
    }

    /// Adds an HS256 secret given as raw bytes, optionally under a key id (`kid`), e.g. to
    /// accept tokens signed with the old and the new secret while rotating.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] for an empty secret.
    pub fn with_secret(self, secret: &[u8], kid: Option<&str>) -> Result<Self, ConfigError> {
        let secret = Secret::from_bytes(secret, BUILDER)?;
        self.with_key(secret.into_key(kid.map(str::to_owned), BUILDER)?)
    }

    /// Adds a public key in PEM form (RSA 2048 to 4096 bits, EC P-256 or P-384, Ed25519), as
    /// printed by `approov keyset -kid K -getPEM`, optionally under its key id (`kid`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Key`] if the PEM is not a supported public key.
    pub fn with_public_key_pem(self, pem: &[u8], kid: Option<&str>) -> Result<Self, ConfigError> {
        let key = crate::keys::key_from_pem(pem, kid.map(str::to_owned), BUILDER)?;
        self.with_key(key)
    }

    /// Adds every usable key of a JWKS document (`{"keys": [...]}`). Each key verifies only the
    /// algorithms of its type, narrowed to its `alg` when the JWK has one.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Key`] if the document is not a JWKS or holds no usable key.
    pub fn with_jwks(mut self, json: &[u8]) -> Result<Self, ConfigError> {
        self.keys
            .extend(crate::keys::keys_from_jwks(json, true, BUILDER)?);
        Ok(self)
    }

    /// Takes keys from a JWKS URL (feature `jwks-url`): fetched when the configuration is
    /// built, then refreshed in the background every
    /// [`with_jwks_refresh_interval`](Self::with_jwks_refresh_interval) (or as the response's
    /// `Cache-Control: max-age` says, between the minimum refresh interval and one hour), and
    /// early when a token names an unknown `kid` (at most once per
    /// [`with_jwks_min_refresh_interval`](Self::with_jwks_min_refresh_interval)).
    ///
    /// [`build`](Self::build) waits for the first fetch, at most the fetch timeout plus a
    /// second, blocking the calling thread (fine at start-up; from async code that must not
    /// block, call it in `spawn_blocking` as `examples/jwks.rs` does). If it fails, the configuration still builds: tokens that only a fetched key could
    /// verify are rejected with [`KeysUnavailable`](crate::ApproovErrorKind::KeysUnavailable)
    /// until a fetch succeeds. A failed, oversized (over 1 MiB), unparsable or empty fetch
    /// never replaces the last good keys; a warning says why. Symmetric (`oct`) keys are
    /// refused from a URL. Other keys of the configuration (secrets, PEM, JWKS) stay in force
    /// alongside the fetched ones.
    ///
    /// The URL must be `https`, except for loopback hosts (see
    /// [`with_jwks_allow_http`](Self::with_jwks_allow_http)); it is checked by `build`.
    #[cfg(feature = "jwks-url")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks-url")))]
    pub fn with_jwks_url(mut self, url: &str) -> Self {
        let options = crate::keys::remote::RemoteOptions::new(url, BUILDER);
        self.jwks_url = Some(match self.jwks_url.take() {
            Some(old) => crate::keys::remote::RemoteOptions {
                url: options.url,
                ..old
            },
            None => options,
        });
        self
    }

    #[cfg(feature = "jwks-url")]
    fn jwks_options(&mut self) -> &mut crate::keys::remote::RemoteOptions {
        self.jwks_url
            .get_or_insert_with(|| crate::keys::remote::RemoteOptions::new("", BUILDER))
    }

    /// How often the JWKS URL is fetched again when the response has no `Cache-Control:
    /// max-age`. Defaults to [`DEFAULT_JWKS_REFRESH_INTERVAL`](crate::DEFAULT_JWKS_REFRESH_INTERVAL),
    /// 10 minutes.
    #[cfg(feature = "jwks-url")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks-url")))]
    pub fn with_jwks_refresh_interval(mut self, interval: Duration) -> Self {
        self.jwks_options().refresh_interval = interval;
        self
    }

    /// The shortest time between two early fetches of the JWKS URL caused by unknown `kid`s,
    /// also the wait before retrying a failed fetch and the floor of a `Cache-Control: max-age`.
    /// Defaults to [`DEFAULT_JWKS_MIN_REFRESH_INTERVAL`](crate::DEFAULT_JWKS_MIN_REFRESH_INTERVAL),
    /// 30 seconds, so that a flood of tokens with made-up `kid`s cannot turn into a flood of
    /// fetches.
    #[cfg(feature = "jwks-url")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks-url")))]
    pub fn with_jwks_min_refresh_interval(mut self, interval: Duration) -> Self {
        self.jwks_options().min_refresh_interval = interval;
        self
    }

    /// How long one fetch of the JWKS URL may take, from connecting to the end of the body.
    /// Defaults to [`DEFAULT_JWKS_FETCH_TIMEOUT`](crate::DEFAULT_JWKS_FETCH_TIMEOUT), 5 seconds.
    #[cfg(feature = "jwks-url")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks-url")))]
    pub fn with_jwks_fetch_timeout(mut self, timeout: Duration) -> Self {
        self.jwks_options().timeout = timeout;
        self
    }

    /// Accepts a plain `http` JWKS URL whatever its host. Defaults to `false`: plain http is
    /// accepted only for loopback hosts, since anyone on the path could otherwise hand the API
    /// their own keys.
    #[cfg(feature = "jwks-url")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks-url")))]
    pub fn with_jwks_allow_http(mut self, allow: bool) -> Self {
        self.jwks_options().allow_http = allow;
        self
    }

    fn with_key(mut self, key: VerifyingKey) -> Result<Self, ConfigError> {
        self.keys.push(key);
        Ok(self)
    }

    /// The header that carries the token. Defaults to `Approov-Token`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] if `name` is not a valid header name.
    pub fn with_token_header(mut self, name: &str) -> Result<Self, ConfigError> {
        self.token_header = parse_header_name(name, BUILDER)?;
        Ok(self)
    }

    /// A prefix stripped from the token header value when present, such as `Bearer` (matched
    /// without regard to case, surrounding spaces ignored). Defaults to none.
    pub fn with_token_prefix(mut self, prefix: &str) -> Self {
        let prefix = prefix.trim();
        self.token_prefix = (!prefix.is_empty()).then(|| prefix.to_owned());
        self
    }

    /// Clock skew allowed on `exp` and `nbf`. Defaults to zero: Approov tokens live for
    /// minutes and Approov asks servers to keep their clock synced with NTP instead. (The
    /// `jsonwebtoken` crate's default of 60 s is deliberately not inherited.)
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Requires `iss` to be one of these values. Defaults to not checking `iss`, since Approov
    /// adds it only with `approov policy -setIssuer on`.
    pub fn with_issuer<I, T>(mut self, issuers: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.issuers = Some(issuers.into_iter().map(Into::into).collect());
        self
    }

    /// Requires `aud` to hold one of these values. Defaults to not checking `aud`: a token
    /// carrying an `aud` claim is accepted when no audience is configured.
    pub fn with_audience<I, T>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.audiences = Some(audiences.into_iter().map(Into::into).collect());
        self
    }

    /// Turns token binding on: the token's `pay` claim must be the hash of these headers'
    /// values (see [`pay_claim_for`](crate::pay_claim_for)). Defaults to off. To bind on some
    /// routes only, see [`ApproovLayer::with_token_binding`](crate::ApproovLayer::with_token_binding).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] if a name is not a valid header name.
    pub fn with_token_binding<I, T>(mut self, headers: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        self.binding_headers = headers
            .into_iter()
            .map(|h| parse_header_name(h.as_ref(), BUILDER))
            .collect::<Result<_, _>>()?;
        Ok(self)
    }

    /// Accepts tokens without a `pay` claim while binding is on. Approov's failover tokens carry
    /// no `pay`. Defaults to `false`: a token without `pay` is rejected, since otherwise a
    /// stolen token with no binding would pass everywhere.
    pub fn with_allow_missing_pay(mut self, allow: bool) -> Self {
        self.allow_missing_pay = allow;
        self
    }

    /// Enforce or only monitor. Defaults to [`Mode::Enforce`].
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// How many verified tokens to remember; `0` turns the cache off. Defaults to 10 000.
    pub fn with_token_cache_size(mut self, entries: usize) -> Self {
        self.token_cache_size = entries;
        self
    }

    /// Longer token header values are rejected before any decoding. Defaults to 8 KiB; real
    /// Approov tokens are well under 1 KiB.
    pub fn with_max_token_length(mut self, bytes: usize) -> Self {
        self.max_token_length = bytes;
        self
    }

    /// Removes the token header from a request that passed, before the inner service sees it,
    /// as some API gateways do before proxying upstream: the verified claims travel in the
    /// request extensions instead. Defaults to `false`: the header is passed on unchanged.
    pub fn with_strip_token_header(mut self, strip: bool) -> Self {
        self.strip_token_header = strip;
        self
    }

    /// Checks Approov installation message signatures (RFC 9421) in this mode, keeping the
    /// other signing settings. Defaults to [`MessageSigning::Off`].
    pub fn with_message_signing(mut self, mode: MessageSigning) -> Self {
        self.signing.mode = mode;
        self
    }

    /// All message signing settings at once (mode, clock skew, maximum age, public origin,
    /// forwarded headers, body limit). Defaults to [`SigningConfig::default`]: off.
    pub fn with_signing_config(mut self, signing: SigningConfig) -> Self {
        self.signing = signing;
        self
    }

    /// The origin clients reach this service at, e.g. `https://api.example.com`, for the
    /// message signature's `@target-uri` behind a proxy; see
    /// [`SigningConfig::with_public_origin`]. Defaults to the request's own URI and `Host`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] unless `origin` is `http(s)://host[:port]`.
    pub fn with_public_origin(mut self, origin: &str) -> Result<Self, ConfigError> {
        self.signing = self.signing.with_public_origin(origin)?;
        Ok(self)
    }

    /// Checks the configuration and prepares everything the request path needs.
    ///
    /// # Errors
    ///
    /// [`ConfigError::NoKeySource`] when no key was given; [`ConfigError::NoCryptoProvider`]
    /// when the crate was built without a crypto backend.
    pub fn build(self) -> Result<ApproovConfig, ConfigError> {
        self.prepare(true).map(|(config, _)| config)
    }

    /// As [`build`](Self::build), but with a JWKS URL it awaits the first fetch instead of
    /// blocking the calling thread: call it from async code (e.g. `#[tokio::main]`) without
    /// `spawn_blocking`. The fetch itself runs on the refresher's own thread, so this works
    /// with any executor. As with `build`, a first fetch that fails is logged and not an
    /// error: [`ApproovLayer::keys_ready`](crate::ApproovLayer::keys_ready) tells when the
    /// keys have arrived.
    ///
    /// # Errors
    ///
    /// As [`build`](Self::build).
    pub async fn build_async(self) -> Result<ApproovConfig, ConfigError> {
        let (config, first) = self.prepare(false)?;
        #[cfg(feature = "jwks-url")]
        if let Some(first) = first {
            first.await;
        }
        #[cfg(not(feature = "jwks-url"))]
        let _: Option<std::convert::Infallible> = first;
        Ok(config)
    }

    /// `build`'s work. With a JWKS URL and `block`, waits for the first fetch here; without
    /// `block`, returns it to be awaited.
    fn prepare(self, block: bool) -> Result<(ApproovConfig, Option<FirstFetch>), ConfigError> {
        ensure_crypto_provider()?;
        #[cfg(feature = "jwks-url")]
        let jwks_url = self.jwks_url.filter(|o| !o.url.is_empty());
        #[cfg(not(feature = "jwks-url"))]
        let jwks_url: Option<std::convert::Infallible> = None;
        if self.keys.is_empty() && jwks_url.is_none() {
            return Err(ConfigError::NoKeySource);
        }
        if self.keys.collision().is_some() {
            return Err(ConfigError::Invalid {
                variable: "kid",
                expected: "a different kid for each key of an algorithm (two keys share one, or \
                           both have none: give rotated secrets a kid, `kid:secret`)",
            });
        }
        let (keys, first) = match jwks_url {
            #[cfg(feature = "jwks-url")]
            Some(options) if block => (crate::keys::remote::start(options, self.keys)?, None),
            #[cfg(feature = "jwks-url")]
            Some(options) => {
                let (keys, fetch) = crate::keys::remote::spawn(options, self.keys)?;
                (keys, Some(fetch))
            }
            _ => (KeyStore::fixed(self.keys), None),
        };
        #[cfg(not(feature = "jwks-url"))]
        let _ = block;
        let verifier = Verifier {
            keys,
            leeway: self.leeway.as_secs_f64(),
            issuers: self.issuers.map(Vec::into_boxed_slice),
            audiences: self.audiences.map(Vec::into_boxed_slice),
            cache: TokenCache::new(self.token_cache_size),
        };
        let config = ApproovConfig {
            shared: Arc::new(Shared {
                verifier: Arc::new(verifier),
                token_header: self.token_header,
                token_prefix: self.token_prefix.map(String::into_boxed_str),
                max_token_length: self.max_token_length,
                strip_token_header: self.strip_token_header,
                binding: Binding::new(self.binding_headers, self.allow_missing_pay),
                allow_missing_pay: self.allow_missing_pay,
                mode: ModeHandle::new(self.mode),
                cache_size: self.token_cache_size,
                signing: SigningVerifier::new(self.signing),
            }),
        };
        Ok((config, first))
    }

    /// A builder filled from the process environment, after loading a `.env` file if one is
    /// found (real environment variables win over the file). Adjust it further, then
    /// [`build`](Self::build).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first variable that is unusable.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut file: HashMap<String, String> = dotenvy::dotenv_iter()
            .map(|iter| iter.filter_map(Result::ok).collect())
            .unwrap_or_default();
        let builder = Self::from_env_with(|name| match std::env::var(name) {
            Ok(value) => Some(Ok(value)),
            Err(std::env::VarError::NotPresent) => file.get(name).cloned().map(Ok),
            Err(std::env::VarError::NotUnicode(_)) => Some(Err(())),
        });
        // The file may hold the secret: wipe our copy of its values.
        file.values_mut().for_each(zeroize::Zeroize::zeroize);
        builder
    }

    /// A builder filled from variables looked up by `lookup`, which returns `None` for an unset
    /// variable and `Some(Err(()))` for one that is set but not UTF-8. [`from_env`](Self::from_env)
    /// is this over the process environment; tests and other configuration systems can pass
    /// their own.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first variable that is unusable.
    pub fn from_env_with<F>(lookup: F) -> Result<Self, ConfigError>
    where
        F: Fn(&str) -> Option<Result<String, ()>>,
    {
        let var = |name: &'static str| -> Result<Option<String>, ConfigError> {
            match lookup(name) {
                None => Ok(None),
                Some(Err(())) => Err(ConfigError::Invalid {
                    variable: name,
                    expected: "UTF-8 text",
                }),
                Some(Ok(v)) => Ok(Some(v)),
            }
        };
        let mut b = Self::default();

        for (name, decode) in [
            (
                "APPROOV_BASE64_SECRET",
                Secret::from_base64 as fn(&str, &'static str) -> _,
            ),
            ("APPROOV_BASE64URL_SECRET", Secret::from_base64url),
        ] {
            if let Some(list) = var(name)? {
                // The text copy of the secret is wiped when dropped, like the decoded bytes.
                let list = zeroize::Zeroizing::new(list);
                if list.trim().is_empty() {
                    return Err(ConfigError::Empty { variable: name });
                }
                // A comma-separated list, each entry `secret` or `kid:secret` (base64 has no
                // `:`), for rotation.
                for entry in list.split(',') {
                    let (kid, secret) = match entry.split_once(':') {
                        Some((kid, _)) if kid.trim().is_empty() => {
                            return Err(ConfigError::Invalid {
                                variable: name,
                                expected: "`secret` or `kid:secret` entries, with a non-empty kid",
                            });
                        }
                        Some((kid, secret)) => (Some(kid.trim().to_owned()), secret),
                        None => (None, entry),
                    };
                    b.keys.push(decode(secret, name)?.into_key(kid, name)?);
                }
            }
        }
        if let Some(v) = var("APPROOV_PUBLIC_KEY_PEM")? {
            const VAR: &str = "APPROOV_PUBLIC_KEY_PEM";
            let pem = text_or_file(&v, "-----BEGIN", VAR)?;
            b.keys.push(crate::keys::key_from_pem(&pem, None, VAR)?);
        }
        if let Some(v) = var("APPROOV_JWKS")? {
            const VAR: &str = "APPROOV_JWKS";
            let json = text_or_file(&v, "{", VAR)?;
            b.keys
                .extend(crate::keys::keys_from_jwks(&json, true, VAR)?);
        }
        if let Some(v) = var("APPROOV_JWKS_URL")? {
            const VAR: &str = "APPROOV_JWKS_URL";
            if v.trim().is_empty() {
                return Err(ConfigError::Empty { variable: VAR });
            }
            #[cfg(feature = "jwks-url")]
            {
                b.jwks_url = Some(crate::keys::remote::RemoteOptions::new(&v, VAR));
            }
            #[cfg(not(feature = "jwks-url"))]
            return Err(ConfigError::Jwks {
                variable: VAR,
                reason: "this build of tower-approov lacks the `jwks-url` feature",
            });
        }
        if let Some(v) = var("APPROOV_TOKEN_HEADER")? {
            b.token_header = parse_header_name(&v, "APPROOV_TOKEN_HEADER")?;
        }
        if let Some(v) = var("APPROOV_TOKEN_PREFIX")? {
            b = b.with_token_prefix(&v);
        }
        if let Some(v) = var("APPROOV_TOKEN_BINDING_HEADER")? {
            // Set but empty is an error, not "binding off": unset the variable for that.
            b.binding_headers = parse_list(&v, "APPROOV_TOKEN_BINDING_HEADER")?
                .iter()
                .map(|h| parse_header_name(h, "APPROOV_TOKEN_BINDING_HEADER"))
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = var("APPROOV_ALLOW_MISSING_PAY")? {
            b.allow_missing_pay = parse_bool(&v, "APPROOV_ALLOW_MISSING_PAY")?;
        }
        if let Some(v) = var("APPROOV_LEEWAY_SECONDS")? {
            let secs = v.trim().parse::<u64>().map_err(|_| ConfigError::Invalid {
                variable: "APPROOV_LEEWAY_SECONDS",
                expected: "a whole number of seconds, e.g. 0 or 5",
            })?;
            b.leeway = Duration::from_secs(secs);
        }
        if let Some(v) = var("APPROOV_ISSUER")? {
            b.issuers = Some(parse_list(&v, "APPROOV_ISSUER")?);
        }
        if let Some(v) = var("APPROOV_AUDIENCE")? {
            b.audiences = Some(parse_list(&v, "APPROOV_AUDIENCE")?);
        }
        if let Some(v) = var("APPROOV_MODE")? {
            b.mode = match v.trim().to_ascii_lowercase().as_str() {
                "enforce" => Mode::Enforce,
                "monitor" => Mode::Monitor,
                _ => {
                    return Err(ConfigError::Invalid {
                        variable: "APPROOV_MODE",
                        expected: "`enforce` or `monitor`",
                    });
                }
            };
        }
        if let Some(v) = var("APPROOV_TOKEN_CACHE_SIZE")? {
            b.token_cache_size = parse_usize(&v, "APPROOV_TOKEN_CACHE_SIZE")?;
        }
        if let Some(v) = var("APPROOV_STRIP_TOKEN_HEADER")? {
            b.strip_token_header = parse_bool(&v, "APPROOV_STRIP_TOKEN_HEADER")?;
        }
        if let Some(v) = var("APPROOV_MAX_TOKEN_LENGTH")? {
            b.max_token_length = parse_usize(&v, "APPROOV_MAX_TOKEN_LENGTH")?;
        }
        crate::signing::apply_env(&mut b.signing, &var)?;
        Ok(b)
    }
}

/// The value itself when it starts with `marker` (PEM or JSON text), else the content of the
/// file it names.
fn text_or_file(value: &str, marker: &str, variable: &'static str) -> Result<Vec<u8>, ConfigError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ConfigError::Empty { variable });
    }
    if value.starts_with(marker) {
        return Ok(value.as_bytes().to_vec());
    }
    std::fs::read(value).map_err(|source| ConfigError::Io { variable, source })
}

fn parse_header_name(name: &str, variable: &'static str) -> Result<HeaderName, ConfigError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ConfigError::Empty { variable });
    }
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| ConfigError::Invalid {
        variable,
        expected: "an HTTP header name such as `Approov-Token`",
    })
}

pub(crate) fn parse_bool(value: &str, variable: &'static str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError::Invalid {
            variable,
            expected: "true/false, 1/0 or yes/no",
        }),
    }
}

fn parse_usize(value: &str, variable: &'static str) -> Result<usize, ConfigError> {
    value.trim().parse().map_err(|_| ConfigError::Invalid {
        variable,
        expected: "a whole number",
    })
}

fn parse_list(value: &str, variable: &'static str) -> Result<Vec<String>, ConfigError> {
    let list: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect();
    if list.is_empty() {
        return Err(ConfigError::Empty { variable });
    }
    Ok(list)
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
