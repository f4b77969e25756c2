//! [`ApproovConfigBuilder`]: every setting, with its default, checked by `build`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;

use super::{
    ApproovConfig, DEFAULT_MAX_TOKEN_LENGTH, DEFAULT_TOKEN_CACHE_SIZE, DEFAULT_TOKEN_HEADER,
    FirstFetch, MAX_CLOCK_SKEW, MAX_MAX_TOKEN_LENGTH, MAX_SIGNATURE_MAX_AGE,
    MAX_SIGNATURE_MAX_BODY_BYTES, MAX_TOKEN_CACHE_SIZE, MAX_TOKEN_LENGTH_EXPECTED, Mode,
    ModeHandle, SIGNATURE_MAX_BODY_BYTES_EXPECTED, Shared, TOKEN_CACHE_SIZE_EXPECTED, bounded,
    ensure_crypto_provider,
};
use crate::check::binding::Binding;
use crate::check::cache::TokenCache;
use crate::check::error::ConfigError;
use crate::check::keys::{KeySet, KeyStore, Secret, VerifyingKey};
use crate::check::parse::parse_header_name;
use crate::check::replay::{Replay, ReplayConfig};
use crate::check::signing::{MessageSigning, SigningConfig, SigningVerifier};

/// The setting named by errors about replay protection given to the builder.
const REPLAY_SETTING: &str = "ApproovConfigBuilder::with_replay_protection";
use crate::check::verify::Verifier;

/// A builder for [`ApproovConfig`]. Every setting has a documented default; the ones that
/// matter for security say why.
#[must_use]
pub struct ApproovConfigBuilder {
    pub(super) keys: KeySet,
    pub(super) token_header: HeaderName,
    pub(super) token_prefix: Option<String>,
    pub(super) leeway: Duration,
    pub(super) issuers: Option<Vec<String>>,
    pub(super) audiences: Option<Vec<String>>,
    pub(super) binding_headers: Vec<HeaderName>,
    pub(super) allow_missing_pay: bool,
    pub(super) mode: Mode,
    pub(super) token_cache_size: usize,
    pub(super) max_token_length: usize,
    pub(super) strip_token_header: bool,
    pub(super) signing: SigningConfig,
    pub(super) replay: Option<ReplayConfig>,
    /// The setting replay protection came from, for its errors.
    pub(super) replay_setting: &'static str,
    #[cfg(feature = "jwks-url")]
    pub(super) jwks_url: Option<crate::check::keys::remote::RemoteOptions>,
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
            replay: None,
            replay_setting: REPLAY_SETTING,
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

/// The setting named by errors about the JWKS URL given to the builder.
#[cfg(feature = "jwks-url")]
const JWKS_URL: &str = "ApproovConfigBuilder::with_jwks_url";

impl ApproovConfigBuilder {
    /// Adds the account's HS256 secret, as printed by `approov secret -get base64`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] or [`ConfigError::Invalid`] if the text is not standard base64.
    pub fn with_base64_secret(self, secret: &str) -> Result<Self, ConfigError> {
        const SETTING: &str = "ApproovConfigBuilder::with_base64_secret";
        let secret = Secret::from_base64(secret, SETTING)?;
        self.with_key(secret.into_key(None, SETTING)?)
    }

    /// Adds an HS256 secret as printed by `approov secret -get base64url` (padded or not).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] or [`ConfigError::Invalid`] if the text is not base64url.
    pub fn with_base64url_secret(self, secret: &str) -> Result<Self, ConfigError> {
        const SETTING: &str = "ApproovConfigBuilder::with_base64url_secret";
        let secret = Secret::from_base64url(secret, SETTING)?;
        self.with_key(secret.into_key(None, SETTING)?)
    }

    /// Adds an HS256 secret given as raw bytes, optionally under a key id (`kid`), e.g. to
    /// accept tokens signed with the old and the new secret while rotating.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] for an empty secret.
    pub fn with_secret(self, secret: &[u8], kid: Option<&str>) -> Result<Self, ConfigError> {
        const SETTING: &str = "ApproovConfigBuilder::with_secret";
        let secret = Secret::from_bytes(secret, SETTING)?;
        self.with_key(secret.into_key(kid.map(str::to_owned), SETTING)?)
    }

    /// Adds a public key in PEM form (RSA 2048 to 4096 bits, EC P-256 or P-384, Ed25519), as
    /// printed by `approov keyset -kid K -getPEM`, optionally under its key id (`kid`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Key`] if the PEM is not a supported public key.
    pub fn with_public_key_pem(self, pem: &[u8], kid: Option<&str>) -> Result<Self, ConfigError> {
        const SETTING: &str = "ApproovConfigBuilder::with_public_key_pem";
        let key = crate::check::keys::key_from_pem(pem, kid.map(str::to_owned), SETTING)?;
        self.with_key(key)
    }

    /// Adds every usable key of a JWKS document (`{"keys": [...]}`). Each key verifies only the
    /// algorithms of its type, narrowed to its `alg` when the JWK has one.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Key`] if the document is not a JWKS or holds no usable key.
    pub fn with_jwks(mut self, json: &[u8]) -> Result<Self, ConfigError> {
        const SETTING: &str = "ApproovConfigBuilder::with_jwks";
        self.keys
            .extend(crate::check::keys::keys_from_jwks(json, true, SETTING)?);
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
        let options = crate::check::keys::remote::RemoteOptions::new(url, JWKS_URL);
        self.jwks_url = Some(match self.jwks_url.take() {
            Some(old) => crate::check::keys::remote::RemoteOptions {
                url: options.url,
                ..old
            },
            None => options,
        });
        self
    }

    #[cfg(feature = "jwks-url")]
    pub(super) fn jwks_options(&mut self) -> &mut crate::check::keys::remote::RemoteOptions {
        self.jwks_url
            .get_or_insert_with(|| crate::check::keys::remote::RemoteOptions::new("", JWKS_URL))
    }

    /// How often the JWKS URL is fetched again when the response has no `Cache-Control:
    /// max-age`. Defaults to [`DEFAULT_JWKS_REFRESH_INTERVAL`](crate::DEFAULT_JWKS_REFRESH_INTERVAL),
    /// 10 minutes. Zero (it would fetch in a tight loop) or more than 24 hours is a
    /// [`ConfigError`] from [`build`](Self::build).
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
    /// fetches. Zero (it would remove that limit) or more than one hour (a single failed fetch
    /// would leave the keys unavailable that long) is a [`ConfigError`] from
    /// [`build`](Self::build).
    #[cfg(feature = "jwks-url")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks-url")))]
    pub fn with_jwks_min_refresh_interval(mut self, interval: Duration) -> Self {
        self.jwks_options().min_refresh_interval = interval;
        self
    }

    /// How long one fetch of the JWKS URL may take, from connecting to the end of the body.
    /// Defaults to [`DEFAULT_JWKS_FETCH_TIMEOUT`](crate::DEFAULT_JWKS_FETCH_TIMEOUT), 5 seconds.
    /// Zero (every fetch would fail) or more than one minute ([`build`](Self::build) waits for
    /// the first fetch, up to this plus a second) is a [`ConfigError`] from `build`.
    #[cfg(feature = "jwks-url")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks-url")))]
    pub fn with_jwks_fetch_timeout(mut self, timeout: Duration) -> Self {
        self.jwks_options().timeout = timeout;
        self
    }

    /// How long the keys of the last successful JWKS fetch stay in force while no fetch
    /// succeeds. Once half of it has passed, a warning says so (a few times, not once per
    /// failed fetch); once all of it has, the fetched keys are dropped: tokens that need them
    /// are refused with [`KeysUnavailable`](crate::ApproovErrorKind::KeysUnavailable),
    /// cached ones included, and [`ApproovLayer::keys_ready`](crate::ApproovLayer::keys_ready)
    /// turns false, until a fetch succeeds, which restores everything. Keys a server keeps
    /// serving never age out: they are fetched again at least twice per maximum staleness,
    /// whatever the refresh interval or `Cache-Control: max-age` say. Measured with a
    /// monotonic clock, so a change of the wall clock neither ages nor refreshes them.
    ///
    /// Defaults to 24 hours. Approov tokens live for minutes and a JWKS changes only when the
    /// account's key set does: a day rides out an outage of the JWKS host overnight without
    /// refusing a request, while a key removed from the JWKS (after a leak, say) stops
    /// verifying within a day even on an instance that can no longer fetch the JWKS to learn of
    /// it, so whoever can block that fetch cannot keep the key alive for ever. Zero, or more
    /// than 7 days, is a [`ConfigError`] from [`build`](Self::build).
    #[cfg(feature = "jwks-url")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks-url")))]
    pub fn with_jwks_max_staleness(mut self, staleness: Duration) -> Self {
        self.jwks_options().max_staleness = staleness;
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

    /// Fetches the JWKS URL through this proxy (`http://host:port`, optionally with
    /// `user:password@`). Defaults to no proxy: proxies named in the environment
    /// (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`) are never used for the JWKS, since whoever
    /// runs a proxy can answer the fetch with keys of their own. A loopback JWKS URL never
    /// goes through a proxy, this one included. The URL is checked by [`build`](Self::build).
    #[cfg(feature = "jwks-url")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks-url")))]
    pub fn with_jwks_proxy(mut self, proxy: &str) -> Self {
        let options = self.jwks_options();
        options.proxy = Some(proxy.trim().to_owned());
        options.proxy_variable = "ApproovConfigBuilder::with_jwks_proxy";
        self
    }

    /// Trusts the CA certificates of this PEM bundle (a corporate CA, say) for the JWKS URL,
    /// besides the webpki roots. Defaults to the webpki (Mozilla) roots only.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] unless `pem` holds PEM certificates, and only those.
    #[cfg(feature = "jwks-url")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks-url")))]
    pub fn with_jwks_root_certificates(mut self, pem: &[u8]) -> Result<Self, ConfigError> {
        let roots = crate::check::keys::remote::parse_root_certificates(
            pem,
            "ApproovConfigBuilder::with_jwks_root_certificates",
        )?;
        self.jwks_options().extra_roots.extend(roots);
        Ok(self)
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
        self.token_header = parse_header_name(name, "ApproovConfigBuilder::with_token_header")?;
        Ok(self)
    }

    /// A prefix stripped from the token header value when present, such as `Bearer` (matched
    /// without regard to case, surrounding spaces ignored). Defaults to none.
    pub fn with_token_prefix(mut self, prefix: &str) -> Self {
        let prefix = prefix.trim();
        self.token_prefix = (!prefix.is_empty()).then(|| prefix.to_owned());
        self
    }

    /// Clock skew allowed on `exp` and `nbf`, at most [`MAX_CLOCK_SKEW`] (one hour; more is a
    /// [`ConfigError`] from [`build`](Self::build)). Defaults to zero: Approov tokens live for
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
    /// [`ConfigError::Invalid`] if a name is not a valid header name, [`ConfigError::Empty`] if
    /// a name is empty or `headers` is: an empty list is a mistake, not a way to turn binding
    /// off (leave this unset for that).
    pub fn with_token_binding<I, T>(mut self, headers: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        const SETTING: &str = "ApproovConfigBuilder::with_token_binding";
        let headers: Vec<HeaderName> = headers
            .into_iter()
            .map(|h| parse_header_name(h.as_ref(), SETTING))
            .collect::<Result<_, _>>()?;
        if headers.is_empty() {
            return Err(ConfigError::Empty { variable: SETTING });
        }
        self.binding_headers = headers;
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

    /// How many verified tokens to remember; `0` turns the cache off. Defaults to 10 000. More
    /// than one million is a [`ConfigError`] from [`build`](Self::build) (a full cache of a
    /// million real tokens is about a GiB). Nothing is allocated up front in proportion to it:
    /// the cache grows as tokens arrive.
    pub fn with_token_cache_size(mut self, entries: usize) -> Self {
        self.token_cache_size = entries;
        self
    }

    /// Longer token header values are rejected before any decoding. Defaults to 8 KiB; real
    /// Approov tokens are well under 1 KiB. More than 64 KiB is a [`ConfigError`] from
    /// [`build`](Self::build).
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
    /// [`build`](Self::build) refuses a clock skew over one hour, a maximum age over one hour
    /// and a body limit over 64 MiB with a [`ConfigError`] naming the `SigningConfig` method.
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
        const SETTING: &str = "ApproovConfigBuilder::with_public_origin";
        // The check is `SigningConfig`'s; the error names the method the value was given to.
        self.signing = renamed(self.signing.with_public_origin(origin), SETTING)?;
        Ok(self)
    }

    /// Adds account message signing keys, decoded from base64url: see
    /// [`SigningConfig::with_account_key_base64url`]. Message signing must be on
    /// ([`with_message_signing`](Self::with_message_signing)) for them to be used.
    ///
    /// # Errors
    ///
    /// As [`SigningConfig::with_account_key_base64url`], naming this method.
    pub fn with_account_key_base64url(mut self, keys: &str) -> Result<Self, ConfigError> {
        const SETTING: &str = "ApproovConfigBuilder::with_account_key_base64url";
        self.signing = renamed(self.signing.with_account_key_base64url(keys), SETTING)?;
        Ok(self)
    }

    /// Adds account message signing keys, decoded from standard base64: see
    /// [`SigningConfig::with_account_key_base64`].
    ///
    /// # Errors
    ///
    /// As [`SigningConfig::with_account_key_base64`], naming this method.
    pub fn with_account_key_base64(mut self, keys: &str) -> Result<Self, ConfigError> {
        const SETTING: &str = "ApproovConfigBuilder::with_account_key_base64";
        self.signing = renamed(self.signing.with_account_key_base64(keys), SETTING)?;
        Ok(self)
    }

    /// Adds account message signing keys whose text itself keys the HMAC: see
    /// [`SigningConfig::with_account_key_raw`].
    ///
    /// # Errors
    ///
    /// As [`SigningConfig::with_account_key_raw`], naming this method.
    pub fn with_account_key_raw(mut self, keys: &str) -> Result<Self, ConfigError> {
        const SETTING: &str = "ApproovConfigBuilder::with_account_key_raw";
        self.signing = renamed(self.signing.with_account_key_raw(keys), SETTING)?;
        Ok(self)
    }

    /// Adds one account message signing key given as its bytes, under its `mskid` if given:
    /// see [`SigningConfig::with_account_key`].
    ///
    /// # Errors
    ///
    /// As [`SigningConfig::with_account_key`], naming this method.
    pub fn with_account_key(
        mut self,
        key: &[u8],
        mskid: Option<&str>,
    ) -> Result<Self, ConfigError> {
        const SETTING: &str = "ApproovConfigBuilder::with_account_key";
        self.signing = renamed(self.signing.with_account_key(key, mskid), SETTING)?;
        Ok(self)
    }

    /// The `mskid` of the account key given without one: see
    /// [`SigningConfig::with_account_key_id`]. Defaults to none.
    ///
    /// # Errors
    ///
    /// As [`SigningConfig::with_account_key_id`], naming this method.
    pub fn with_account_key_id(mut self, mskid: &str) -> Result<Self, ConfigError> {
        const SETTING: &str = "ApproovConfigBuilder::with_account_key_id";
        self.signing = renamed(self.signing.with_account_key_id(mskid), SETTING)?;
        Ok(self)
    }

    /// Turns replay protection on: every verified message signature is remembered for as
    /// long as it could still be accepted, and a request whose signature was seen before is
    /// refused ([`SignatureReplayed`](crate::ApproovErrorKind::SignatureReplayed)). In this
    /// process's memory ([`ReplayConfig::memory`]) or in Redis, shared by every instance
    /// ([`ReplayConfig::redis`], feature `redis`). Defaults to off: a client that retries a
    /// request whose answer it lost sends the same signed bytes, and is refused.
    ///
    /// [`build`](Self::build) refuses it without message signing, or with signatures that
    /// never expire (no maximum age and `expires` not required): there would be nothing to
    /// remember, or no time to forget it.
    pub fn with_replay_protection(mut self, replay: ReplayConfig) -> Self {
        self.replay = Some(replay);
        self.replay_setting = REPLAY_SETTING;
        self
    }

    /// Checks the configuration and prepares everything the request path needs.
    ///
    /// # Errors
    ///
    /// [`ConfigError::NoKeySource`] when no key was given; [`ConfigError::NoCryptoProvider`]
    /// when the crate was built without a crypto backend; [`ConfigError::Invalid`], naming the
    /// setting, for a value out of its bounds: a leeway or signature clock skew over
    /// [`MAX_CLOCK_SKEW`], a token cache over one million entries, a maximum token length over
    /// 64 KiB, a signature maximum age over one hour or body limit over 64 MiB, a JWKS refresh
    /// interval, minimum refresh interval, fetch timeout or maximum staleness of zero or over
    /// 24 hours, one hour, one minute or 7 days respectively.
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

    /// Every size and duration setting within its bound (see `config/mod.rs`), the error
    /// naming the builder method. (Values from the environment were checked as they were
    /// read, naming the variable.)
    fn check_bounds(&self) -> Result<(), ConfigError> {
        bounded(
            self.token_cache_size <= MAX_TOKEN_CACHE_SIZE,
            "ApproovConfigBuilder::with_token_cache_size",
            TOKEN_CACHE_SIZE_EXPECTED,
        )?;
        bounded(
            self.max_token_length <= MAX_MAX_TOKEN_LENGTH,
            "ApproovConfigBuilder::with_max_token_length",
            MAX_TOKEN_LENGTH_EXPECTED,
        )?;
        bounded(
            self.signing
                .max_age
                .is_none_or(|age| age <= MAX_SIGNATURE_MAX_AGE),
            "SigningConfig::with_max_age",
            "a maximum age of at most one hour, or `None` to leave only `expires`",
        )?;
        bounded(
            self.signing.max_body_bytes <= MAX_SIGNATURE_MAX_BODY_BYTES,
            "SigningConfig::with_max_body_bytes",
            SIGNATURE_MAX_BODY_BYTES_EXPECTED,
        )?;
        // The keys from the environment were checked as they were read; keys added with the
        // builder are checked here, with them.
        self.signing.account.validate(
            "SigningConfig::with_account_key",
            "SigningConfig::with_account_key_id",
        )?;
        #[cfg(feature = "jwks-url")]
        if let Some(options) = &self.jwks_url {
            use crate::check::keys::remote::{
                MAX_JWKS_FETCH_TIMEOUT, MAX_JWKS_MAX_STALENESS, MAX_JWKS_MIN_REFRESH_INTERVAL,
                MAX_JWKS_REFRESH_INTERVAL,
            };
            let within = |d: Duration, max: Duration| !d.is_zero() && d <= max;
            bounded(
                within(options.refresh_interval, MAX_JWKS_REFRESH_INTERVAL),
                "ApproovConfigBuilder::with_jwks_refresh_interval",
                "a non-zero interval (zero would fetch in a tight loop) of at most 24 hours",
            )?;
            bounded(
                within(options.min_refresh_interval, MAX_JWKS_MIN_REFRESH_INTERVAL),
                "ApproovConfigBuilder::with_jwks_min_refresh_interval",
                "a non-zero interval (zero removes the limit on early fetches) of at most one hour",
            )?;
            bounded(
                within(options.timeout, MAX_JWKS_FETCH_TIMEOUT),
                "ApproovConfigBuilder::with_jwks_fetch_timeout",
                "a non-zero timeout of at most one minute",
            )?;
            bounded(
                within(options.max_staleness, MAX_JWKS_MAX_STALENESS),
                "ApproovConfigBuilder::with_jwks_max_staleness",
                "a non-zero staleness of at most 7 days",
            )?;
        }
        Ok(())
    }

    /// `build`'s work. With a JWKS URL and `block`, waits for the first fetch here; without
    /// `block`, returns it to be awaited.
    fn prepare(self, block: bool) -> Result<(ApproovConfig, Option<FirstFetch>), ConfigError> {
        ensure_crypto_provider()?;
        if self.leeway > MAX_CLOCK_SKEW {
            return Err(ConfigError::Invalid {
                variable: "ApproovConfigBuilder::with_leeway",
                expected: "a leeway of at most one hour (a few seconds, if any)",
            });
        }
        let timeout = self.signing.body_read_timeout;
        if timeout.is_zero() || timeout > crate::check::signing::MAX_BODY_READ_TIMEOUT {
            return Err(ConfigError::Invalid {
                variable: "SigningConfig::with_body_read_timeout",
                expected: "a timeout from one second to one hour",
            });
        }
        if self.signing.clock_skew > MAX_CLOCK_SKEW {
            return Err(ConfigError::Invalid {
                variable: "SigningConfig::with_clock_skew",
                expected: "a clock skew of at most one hour",
            });
        }
        self.check_bounds()?;
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
            Some(options) if block => {
                (crate::check::keys::remote::start(options, self.keys)?, None)
            }
            #[cfg(feature = "jwks-url")]
            Some(options) => {
                let (keys, fetch) = crate::check::keys::remote::spawn(options, self.keys)?;
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
        let replay = match &self.replay {
            None => None,
            Some(replay) => {
                let variable = self.replay_setting;
                if self.signing.mode == MessageSigning::Off {
                    return Err(ConfigError::Invalid {
                        variable,
                        expected: "replay protection with message signing on \
                                   (APPROOV_MESSAGE_SIGNING=verify or require): it remembers \
                                   signatures",
                    });
                }
                if self.signing.max_age.is_none() && !self.signing.require_expires {
                    return Err(ConfigError::Invalid {
                        variable,
                        expected: "replay protection with signatures that expire: keep \
                                   APPROOV_SIGNATURE_MAX_AGE_SECONDS above 0, or set \
                                   APPROOV_SIGNATURE_REQUIRE_EXPIRES=true",
                    });
                }
                Some(Arc::new(Replay::new(replay, variable)?))
            }
        };
        let token_header = self.token_header;
        let config = ApproovConfig {
            shared: Arc::new(Shared {
                verifier: Arc::new(verifier),
                token_header: token_header.clone(),
                token_prefix: self.token_prefix.map(String::into_boxed_str),
                max_token_length: self.max_token_length,
                strip_token_header: self.strip_token_header,
                binding: Binding::new(self.binding_headers, self.allow_missing_pay),
                allow_missing_pay: self.allow_missing_pay,
                mode: ModeHandle::new(self.mode),
                cache_size: self.token_cache_size,
                signing: SigningVerifier::new(self.signing, token_header),
                replay,
            }),
        };
        Ok((config, first))
    }
}

/// A `SigningConfig` setter's result, its error naming the builder method it was called
/// through.
fn renamed<T>(result: Result<T, ConfigError>, setting: &'static str) -> Result<T, ConfigError> {
    result.map_err(|error| match error {
        ConfigError::Empty { .. } => ConfigError::Empty { variable: setting },
        ConfigError::Invalid { expected, .. } => ConfigError::Invalid {
            variable: setting,
            expected,
        },
        other => other,
    })
}
