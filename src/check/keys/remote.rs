//! Keys from a JWKS URL (feature `jwks-url`): fetched at start, refreshed in the background.
//!
//! # Design
//!
//! Each configuration with a JWKS URL owns one dedicated thread (`approov-jwks`) that fetches
//! with `ureq`, a blocking client, over rustls. A plain thread works the same whether or not
//! the application runs a tokio runtime (or which flavour), never takes a runtime worker away
//! from requests, and needs no async client in the library. It costs one mostly sleeping
//! thread per configuration, which is normally one per process.
//!
//! The thread waits on a channel with a timeout: the timeout is the next periodic refresh, a
//! message is a request for an early fetch (an unknown `kid`), and a disconnected channel means
//! that the last [`KeyStore`] (so the last config, layer and service) was dropped: the thread
//! then ends, after at most the fetch in flight.
//!
//! A fetch builds a whole new [`KeySet`] (the fixed keys of the configuration plus the fetched
//! ones) and swaps it in with `ArcSwap`: requests never wait on a lock held during a fetch.
//! A fetch that fails, returns garbage, an oversized body or no usable key changes nothing: the
//! last good keys stay in force and a warning gives the reason.
//!
//! When a refresh removes a key, tokens it signed may still sit in the verified-token cache.
//! The refresh publishes the new set with a bump of the revocation epoch on either side of the
//! swap (see [`Published`]): cache entries tagged with an older epoch are refused from the
//! moment the new set is visible, so a removed key stops verifying cached tokens at once, at
//! the price of re-verifying the other cached tokens once.

use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::{KeySet, KeyStore, Published, parse_jwks};
use crate::check::error::ConfigError;

/// How often the JWKS is fetched again when its response has no `Cache-Control: max-age`,
/// unless configured otherwise: 10 minutes.
pub const DEFAULT_JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// The shortest time between two early fetches caused by unknown `kid`s (and between retries
/// after a failed fetch), unless configured otherwise: 30 seconds. It also is the floor for a
/// `Cache-Control: max-age`. A flood of tokens with made-up `kid`s thus costs at most one
/// fetch per interval.
pub const DEFAULT_JWKS_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// How long one fetch (connect, TLS, request, whole body) may take, unless configured
/// otherwise: 5 seconds.
pub const DEFAULT_JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the keys of the last good fetch stay in force while no fetch succeeds, unless
/// configured otherwise: 24 hours. Then they are dropped: tokens that need them are refused
/// with `keys_unavailable`, and `keys_ready()` turns false, until a fetch succeeds.
///
/// Why a day: Approov tokens live for minutes and a JWKS changes only when the account's key
/// set does, so keys a few hours old are as good as fresh, and a day rides out an outage of
/// the JWKS host (or of the way to it) overnight without refusing a request. But a key removed
/// from the JWKS, after a leak say, must stop verifying even on an instance that can no
/// longer fetch the JWKS to learn of it, or whoever can block that fetch keeps the key alive
/// for ever. A server that answers keeps its keys fresh: they are fetched again at least
/// twice per maximum staleness, whatever the refresh interval or `max-age`.
pub(crate) const DEFAULT_JWKS_MAX_STALENESS: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest refresh interval accepted: 24 hours (the keys are fetched at least twice per
/// maximum staleness anyway).
pub(crate) const MAX_JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);
/// The longest minimum refresh interval accepted: one hour, the ceiling of a `max-age`. It is
/// also the wait before retrying a failed fetch, so more would leave the keys unavailable for
/// that long after a single failure.
pub(crate) const MAX_JWKS_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(60 * 60);
/// The longest fetch timeout accepted: one minute. `build` waits for the first fetch, so this
/// also bounds how long a start-up can block.
pub(crate) const MAX_JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest maximum staleness accepted: 7 days.
pub(crate) const MAX_JWKS_MAX_STALENESS: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The largest JWKS body accepted: 1 MiB. A real JWKS is a few KiB.
pub const JWKS_MAX_BODY_BYTES: u64 = 1024 * 1024;

/// The longest `Cache-Control: max-age` honoured: one hour, so that a key removed from the
/// JWKS stops verifying within the hour even if the server asks for longer caching.
const MAX_AGE_CEILING: Duration = Duration::from_secs(60 * 60);

/// How the JWKS URL is fetched; filled by the builder.
#[derive(Clone)]
pub(crate) struct RemoteOptions {
    pub(crate) url: String,
    pub(crate) variable: &'static str,
    pub(crate) refresh_interval: Duration,
    pub(crate) min_refresh_interval: Duration,
    pub(crate) timeout: Duration,
    /// How long fetched keys stay in force without a successful fetch.
    pub(crate) max_staleness: Duration,
    pub(crate) allow_http: bool,
    /// The proxy to fetch through, if configured. Proxies named in the environment
    /// (`HTTP_PROXY`, `ALL_PROXY`, ...) are never used: a JWKS fetch is a trust decision, and
    /// a proxy the operator did not choose for it must not see or answer it.
    pub(crate) proxy: Option<String>,
    /// Where `proxy` came from, for its `ConfigError`.
    pub(crate) proxy_variable: &'static str,
    /// Extra root certificates (DER), trusted besides the webpki roots.
    pub(crate) extra_roots: Vec<Vec<u8>>,
}

impl RemoteOptions {
    pub(crate) fn new(url: &str, variable: &'static str) -> Self {
        Self {
            url: url.trim().to_owned(),
            variable,
            refresh_interval: DEFAULT_JWKS_REFRESH_INTERVAL,
            min_refresh_interval: DEFAULT_JWKS_MIN_REFRESH_INTERVAL,
            timeout: DEFAULT_JWKS_FETCH_TIMEOUT,
            max_staleness: DEFAULT_JWKS_MAX_STALENESS,
            allow_http: false,
            proxy: None,
            proxy_variable: variable,
            extra_roots: Vec::new(),
        }
    }
}

/// Reads the certificates of a PEM bundle (a corporate CA, say) into DER, for
/// [`RemoteOptions::extra_roots`].
pub(crate) fn parse_root_certificates(
    pem: &[u8],
    variable: &'static str,
) -> Result<Vec<Vec<u8>>, ConfigError> {
    let mut roots = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(cert)) => roots.push(cert.der().to_vec()),
            // A private key or another PEM section has nothing to do in a CA bundle.
            Ok(_) => {
                return Err(ConfigError::Invalid {
                    variable,
                    expected: "PEM certificates (`-----BEGIN CERTIFICATE-----`) only",
                });
            }
            Err(_) => {
                return Err(ConfigError::Invalid {
                    variable,
                    expected: "a PEM file of CA certificates",
                });
            }
        }
    }
    if roots.is_empty() {
        return Err(ConfigError::Invalid {
            variable,
            expected: "a PEM file holding at least one CA certificate",
        });
    }
    Ok(roots)
}

/// The request path's side of the refresher.
pub(crate) struct Remote {
    state: Arc<State>,
    /// Dropping the last sender stops the refresher thread.
    trigger: SyncSender<()>,
    host: Box<str>,
}

/// What the request path and the refresher thread share.
struct State {
    /// When the last early fetch was asked for, in milliseconds since `origin`; `NEVER` if none.
    last_request_ms: AtomicU64,
    origin: Instant,
    min_refresh_interval: Duration,
}

const NEVER: u64 = u64::MAX;

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("host", &self.host)
            .field("min_refresh_interval", &self.state.min_refresh_interval)
            .finish_non_exhaustive()
    }
}

impl Remote {
    /// Asks for an early fetch, at most once per minimum refresh interval. Concurrent callers
    /// race on one compare-and-swap: one wins, the others return. Never blocks.
    pub(crate) fn request_refresh(&self) {
        let now = millis_since(self.state.origin);
        let last = self.state.last_request_ms.load(Ordering::Acquire);
        let min = u64::try_from(self.state.min_refresh_interval.as_millis()).unwrap_or(u64::MAX);
        if last != NEVER && now.saturating_sub(last) < min {
            return;
        }
        if self
            .state
            .last_request_ms
            .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            // A full channel means a fetch is already asked for: nothing to add.
            match self.trigger.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) => {}
                Err(TrySendError::Disconnected(())) => {
                    tracing::warn!(
                        "the Approov JWKS refresher has stopped; keys are no longer refreshed"
                    );
                }
            }
        }
    }
}

fn millis_since(origin: Instant) -> u64 {
    u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
}

/// Checks the URL, starts the refresher thread and waits for its first fetch (at most the
/// fetch timeout, plus a second). `fixed` are the configuration's other keys, kept in every
/// set the refresher builds.
pub(crate) fn start(options: RemoteOptions, fixed: KeySet) -> Result<KeyStore, ConfigError> {
    let wait_first = options.timeout + Duration::from_secs(1);
    let (store, first) = spawn(options, fixed)?;
    // So that the first requests find the keys. Whatever happened, the refresher logged it.
    first.wait(wait_first);
    Ok(store)
}

/// The end of the refresher's first fetch, whatever its outcome: waited for by
/// [`start`] on the calling thread, or awaited (as a future) by `build_async`, which so never
/// blocks a runtime thread. The fetch is bounded by the fetch timeout (ureq's global timeout),
/// and a refresher thread that panics signals the end too, so neither waits for ever.
#[derive(Clone, Default)]
pub(crate) struct FirstFetch(Arc<(Mutex<FirstState>, Condvar)>);

#[derive(Default)]
struct FirstState {
    done: bool,
    waker: Option<Waker>,
}

impl FirstFetch {
    fn state(&self) -> MutexGuard<'_, FirstState> {
        // The lock guards two plain fields: a panic elsewhere cannot leave them inconsistent.
        self.0.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn finish(&self) {
        let waker = {
            let mut state = self.state();
            state.done = true;
            state.waker.take()
        };
        self.0.1.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Blocks the calling thread until the first fetch ended, or `timeout`.
    fn wait(&self, timeout: Duration) {
        let state = self.state();
        let _ = self
            .0
            .1
            .wait_timeout_while(state, timeout, |state| !state.done);
    }
}

impl Future for FirstFetch {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.state();
        if state.done {
            return Poll::Ready(());
        }
        state.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Signals the end of the first fetch when dropped: after it, or while unwinding.
struct FirstDone(FirstFetch);

impl Drop for FirstDone {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// [`start`] without the wait: the store, and the first fetch to wait for.
pub(crate) fn spawn(
    options: RemoteOptions,
    mut fixed: KeySet,
) -> Result<(KeyStore, FirstFetch), ConfigError> {
    let variable = options.variable;
    let (agent, host) = agent(&options)?;

    fixed.set_refreshable(true);
    let mut pending = fixed.clone();
    pending.set_pending(true);
    let published = Arc::new(Published::new(pending));
    let state = Arc::new(State {
        last_request_ms: AtomicU64::new(NEVER),
        origin: Instant::now(),
        min_refresh_interval: options.min_refresh_interval,
    });
    let (trigger, requests) = sync_channel(1);
    let first = FirstFetch::default();
    let first_done = FirstDone(first.clone());
    let refresher = Refresher::new(agent, options, fixed, Arc::clone(&published));
    std::thread::Builder::new()
        .name("approov-jwks".to_owned())
        .spawn(move || refresher.run(&requests, first_done))
        .map_err(|source| ConfigError::Io { variable, source })?;

    let store = KeyStore {
        published,
        remote: Some(Arc::new(Remote {
            state,
            trigger,
            host: host.into_boxed_str(),
        })),
    };
    Ok((store, first))
}

/// The HTTP client of the refresher, after checking the URL and the proxy; and the URL's host.
fn agent(options: &RemoteOptions) -> Result<(ureq::Agent, String), ConfigError> {
    let (https, host) = check_url(&options.url, options.allow_http, options.variable)?;
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(options.timeout))
        .http_status_as_error(false)
        .user_agent(concat!("tower-approov/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls_config(&options.extra_roots))
        .proxy(proxy_for(options, &host)?)
        // No redirect is followed, not even to another https URL: the JWKS decides which
        // tokens pass, and an open redirect at its origin would otherwise hand that decision
        // to whichever host it points to. The 3xx answer comes back as is and is refused
        // (`FetchError::Redirect`). Operators give the final URL instead.
        .max_redirects(0)
        .https_only(https)
        .build()
        .into();
    Ok((agent, host))
}

/// rustls with the aws-lc-rs provider (the one the crate's crypto backend builds; ureq's own
/// default would add `ring`), trusting the webpki roots plus the configured extra roots.
fn tls_config(extra_roots: &[Vec<u8>]) -> ureq::tls::TlsConfig {
    let roots = if extra_roots.is_empty() {
        ureq::tls::RootCerts::WebPki
    } else {
        webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|c| ureq::tls::Certificate::from_der(c).to_owned())
            .chain(
                extra_roots
                    .iter()
                    .map(|der| ureq::tls::Certificate::from_der(der).to_owned()),
            )
            .into()
    };
    ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .root_certs(roots)
        .build()
}

/// The proxy for a fetch: only the configured one, and none for a loopback host, whose
/// traffic must not leave the machine (a proxy would see it in clear text, and could answer
/// with keys of its own).
fn proxy_for(options: &RemoteOptions, host: &str) -> Result<Option<ureq::Proxy>, ConfigError> {
    match &options.proxy {
        Some(_) if is_loopback(host) => Ok(None),
        Some(url) => ureq::Proxy::new(url)
            .map(Some)
            .map_err(|_| ConfigError::Invalid {
                variable: options.proxy_variable,
                expected: "a proxy URL such as http://proxy.internal:3128",
            }),
        None => Ok(None),
    }
}

/// Returns whether the URL is https, and its host.
fn check_url(
    url: &str,
    allow_http: bool,
    variable: &'static str,
) -> Result<(bool, String), ConfigError> {
    let uri: http::Uri = url.parse().map_err(|_| ConfigError::Jwks {
        variable,
        reason: "not an absolute URL such as https://example.com/.well-known/jwks.json",
    })?;
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or(ConfigError::Jwks {
            variable,
            reason: "the URL has no host",
        })?;
    match uri.scheme_str() {
        Some("https") => Ok((true, host.to_owned())),
        Some("http") if allow_http || is_loopback(host) => Ok((false, host.to_owned())),
        Some("http") => Err(ConfigError::Jwks {
            variable,
            reason: "plain http is only accepted for loopback hosts (localhost, 127.0.0.1, [::1]): \
                     use https, or allow http explicitly with `with_jwks_allow_http(true)`",
        }),
        _ => Err(ConfigError::Jwks {
            variable,
            reason: "the URL must start with https://",
        }),
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The refresher thread's state.
struct Refresher {
    agent: ureq::Agent,
    options: RemoteOptions,
    fixed: KeySet,
    published: Arc<Published>,
    /// The keys of the last successful fetch, while they are in force.
    last_good: Option<KeySet>,
    /// When the keys in force were fetched (a monotonic clock, never wall time); `None` while
    /// none are: never fetched, or dropped as too old.
    fetched_at: Option<Instant>,
    /// When the last warning that the keys are getting old was logged.
    stale_warned_at: Option<Instant>,
}

/// Why a fetch was not used. Logged; never holds key material.
enum FetchError {
    Transport(ureq::Error),
    Status(u16),
    /// A 3xx answer: redirects are never followed.
    Redirect(u16),
    TooLarge,
    Unusable(&'static str),
}

impl FetchError {
    fn reason(&self) -> &'static str {
        match self {
            Self::Transport(ureq::Error::Timeout(_)) => "the fetch timed out",
            Self::Redirect(_) | Self::Transport(ureq::Error::TooManyRedirects) => {
                "the server answered with a redirect, which is not followed"
            }
            Self::Transport(_) => "the fetch failed",
            Self::Status(_) => "the server answered with a non-success status",
            Self::TooLarge => "the body is larger than 1 MiB",
            Self::Unusable(reason) => reason,
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ureq::Error as E;
        match self {
            // Only errors whose text cannot hold a URL are printed. Several variants quote one
            // (`BadUri`, `RequireHttpsOnly` with a redirect's target, `ConnectProxyFailed`,
            // `Http`, ...), and a URL may carry credentials (`user:password@`, a token in the
            // query), so everything else is logged by reason and variant only.
            Self::Transport(E::Timeout(timeout)) => write!(f, "{}: {timeout}", self.reason()),
            // A TLS failure arrives wrapped in an I/O error: its rustls error says why (an
            // unknown issuer, a name mismatch) without quoting the URL. Other I/O errors are
            // shown by kind only, as their text is not ours to vouch for.
            Self::Transport(E::Io(e)) => {
                match e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
                    Some(tls) => write!(f, "{}: TLS: {tls}", self.reason()),
                    None => write!(f, "{}: i/o error: {}", self.reason(), e.kind()),
                }
            }
            Self::Transport(E::Rustls(e)) => write!(f, "{}: TLS: {e}", self.reason()),
            Self::Transport(E::Tls(e)) => write!(f, "{}: TLS: {e}", self.reason()),
            Self::Transport(E::HostNotFound) => write!(f, "{}: host not found", self.reason()),
            Self::Transport(E::ConnectionFailed) => {
                write!(f, "{}: connection failed", self.reason())
            }
            Self::Transport(E::TooManyRedirects) => f.write_str(self.reason()),
            Self::Transport(E::RequireHttpsOnly(_)) => {
                write!(f, "{}: a redirect left https", self.reason())
            }
            Self::Transport(E::ConnectProxyFailed(_)) => {
                write!(f, "{}: the proxy refused the connection", self.reason())
            }
            Self::Transport(_) => write!(
                f,
                "{} (details withheld: they may quote the URL)",
                self.reason()
            ),
            // The status only: a redirect's `Location` may carry credentials.
            Self::Status(status) | Self::Redirect(status) => {
                write!(f, "{}: {status}", self.reason())
            }
            _ => f.write_str(self.reason()),
        }
    }
}

impl Refresher {
    fn new(
        agent: ureq::Agent,
        options: RemoteOptions,
        fixed: KeySet,
        published: Arc<Published>,
    ) -> Self {
        Self {
            agent,
            options,
            fixed,
            published,
            last_good: None,
            fetched_at: None,
            stale_warned_at: None,
        }
    }

    fn run(mut self, requests: &Receiver<()>, first_done: FirstDone) {
        let mut next_fetch = self.refresh_then_next();
        drop(first_done);
        loop {
            let now = Instant::now();
            self.age(now);
            // Wake for the next fetch, or earlier for the keys' next staleness event.
            let wake = self
                .next_age_event()
                .map_or(next_fetch, |at| at.min(next_fetch));
            match requests.recv_timeout(wake.saturating_duration_since(now)) {
                Ok(()) => next_fetch = self.refresh_then_next(),
                Err(RecvTimeoutError::Timeout) => {
                    if Instant::now() >= next_fetch {
                        next_fetch = self.refresh_then_next();
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    tracing::debug!(
                        host = self.host(),
                        "Approov JWKS refresher stopping: the configuration was dropped"
                    );
                    return;
                }
            }
        }
    }

    /// Fetches, and returns when to fetch next: the wait counts from the end of this fetch.
    fn refresh_then_next(&mut self) -> Instant {
        let wait = self.refresh();
        after(Instant::now(), wait)
    }

    /// How often, once half the maximum staleness has passed without a successful fetch, the
    /// warning that the keys are getting old is repeated: eight times less often than the
    /// keys may live, so a few warnings (at 12, 15, 18 and 21 hours by default), not one per
    /// failed fetch.
    fn stale_warning_interval(&self) -> Duration {
        self.options.max_staleness / 8
    }

    /// Warns once half the maximum staleness has passed since the keys in force were
    /// fetched (rate-limited), and drops them once all of it has: tokens that need them are
    /// then refused with `keys_unavailable`, `keys_ready()` is false, and cached tokens they
    /// verified no longer count, until a fetch succeeds.
    fn age(&mut self, now: Instant) {
        let Some(fetched_at) = self.fetched_at else {
            return;
        };
        let age = now.saturating_duration_since(fetched_at);
        let max = self.options.max_staleness;
        if age >= max {
            let mut set = self.fixed.clone();
            set.set_pending(true);
            self.published.publish(set, true);
            self.last_good = None;
            self.fetched_at = None;
            self.stale_warned_at = None;
            tracing::warn!(
                host = self.host(),
                age = ?age,
                max_staleness = ?max,
                "Approov JWKS keys dropped: no fetch has succeeded for longer than the maximum \
                 staleness; tokens that need them are refused (keys_unavailable) and \
                 keys_ready() is false until a fetch succeeds"
            );
        } else if age >= max / 2
            && self
                .stale_warned_at
                .is_none_or(|at| now.saturating_duration_since(at) >= self.stale_warning_interval())
        {
            self.stale_warned_at = Some(now);
            tracing::warn!(
                host = self.host(),
                age = ?age,
                dropped_in = ?max.saturating_sub(age),
                max_staleness = ?max,
                "Approov JWKS keys getting old: no fetch has succeeded for over half the maximum \
                 staleness; they will be dropped (tokens that need them refused) unless a fetch \
                 succeeds first"
            );
        }
    }

    /// When [`age`](Self::age) has something to do next, if the keys in force were fetched.
    fn next_age_event(&self) -> Option<Instant> {
        let fetched_at = self.fetched_at?;
        let max = self.options.max_staleness;
        let warn_at = match self.stale_warned_at {
            None => after(fetched_at, max / 2),
            Some(at) => after(at, self.stale_warning_interval()),
        };
        Some(warn_at.min(after(fetched_at, max)))
    }

    /// The URL's host and port, for logs: never its user info (`user:password@`), path or
    /// query, any of which may hold a credential.
    fn host(&self) -> &str {
        self.options.url.split_once("://").map_or("", |(_, rest)| {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            authority.rsplit('@').next().unwrap_or("")
        })
    }

    /// Fetches once, swaps the keys in on success, and returns how long to wait before the
    /// next periodic fetch.
    fn refresh(&mut self) -> Duration {
        match self.fetch() {
            Ok((fetched, max_age)) => {
                // A fetched key that a token could not tell from a configured one (same kid,
                // or both kid-less, and a shared algorithm) follows the rule for two
                // configured keys, which refuses the pair: here the fetched key is dropped,
                // so the configured key alone verifies, as the warning says. Kept, it would
                // make every token without a kid for that algorithm `no_matching_key`.
                let mut keys = KeySet::default();
                for key in fetched.into_keys() {
                    if self.fixed.keys().iter().any(|k| k.collides_with(&key)) {
                        tracing::warn!(
                            host = self.host(),
                            kid = key.kid().unwrap_or(""),
                            "a fetched JWK has the kid (or, like it, no kid) and an algorithm of a \
                             configured key; it is ignored and the configured key verifies"
                        );
                    } else {
                        keys.push(key);
                    }
                }
                if keys.is_empty() {
                    return self.not_used(&FetchError::Unusable(
                        "every fetched key collides with a configured key",
                    ));
                }
                let removed = self.last_good.as_ref().is_some_and(|old| {
                    old.keys()
                        .iter()
                        .any(|k| !keys.keys().iter().any(|n| n.same_as(k)))
                });
                let mut set = self.fixed.clone();
                set.extend(keys.clone());
                self.published.publish(set, removed);
                tracing::debug!(
                    host = self.host(),
                    keys = keys.len(),
                    removed,
                    "Approov JWKS fetched"
                );
                self.last_good = Some(keys);
                self.fetched_at = Some(Instant::now());
                self.stale_warned_at = None;
                next_refresh(&self.options, max_age)
            }
            Err(error) => self.not_used(&error),
        }
    }

    /// Logs why a fetch was not used, and returns the wait before the next try.
    fn not_used(&self, error: &FetchError) -> Duration {
        tracing::warn!(
            host = self.host(),
            reason = error.reason(),
            %error,
            keeping_last_good_keys = self.last_good.is_some(),
            "Approov JWKS fetch not used; the keys in force are unchanged"
        );
        self.options.min_refresh_interval
    }

    fn fetch(&self) -> Result<(KeySet, Option<Duration>), FetchError> {
        let mut response = self
            .agent
            .get(&self.options.url)
            .header("accept", "application/jwk-set+json, application/json")
            .call()
            .map_err(FetchError::Transport)?;
        let status = response.status();
        if status.is_redirection() {
            return Err(FetchError::Redirect(status.as_u16()));
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let max_age = response
            .headers()
            .get(http::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_max_age);
        let body = response
            .body_mut()
            .with_config()
            .limit(JWKS_MAX_BODY_BYTES)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => FetchError::TooLarge,
                e => FetchError::Transport(e),
            })?;
        // Symmetric keys are refused from a URL: a secret must never travel in a public document.
        let keys = parse_jwks(&body, false, self.options.variable).map_err(FetchError::Unusable)?;
        Ok((keys, max_age))
    }
}

/// The wait before the next periodic fetch after a successful one: the response's `max-age`
/// between the minimum refresh interval and [`MAX_AGE_CEILING`], else the refresh interval;
/// and never more than half the maximum staleness, so that keys a server keeps serving never
/// age out.
fn next_refresh(options: &RemoteOptions, max_age: Option<Duration>) -> Duration {
    let min = options.min_refresh_interval;
    let wait = max_age.map_or(options.refresh_interval, |age| {
        age.clamp(min, MAX_AGE_CEILING.max(min))
    });
    wait.min(options.max_staleness / 2)
}

/// `at + wait`. The configuration bounds every wait (to days), far from an `Instant`'s limit;
/// should it ever be reached, `at` itself is returned rather than a panic.
fn after(at: Instant, wait: Duration) -> Instant {
    at.checked_add(wait).unwrap_or(at)
}

/// The `max-age` of a `Cache-Control` value, unless `no-store` or `no-cache` says not to cache.
fn parse_max_age(value: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let (name, arg) = directive.split_once('=').unwrap_or((directive, ""));
        let name = name.trim();
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return None;
        }
        if name.eq_ignore_ascii_case("max-age") {
            max_age = arg.trim().trim_matches('"').parse::<u64>().ok();
        }
    }
    max_age.map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_fetch_future_resolves_even_if_the_refresher_thread_panics() {
        let first = FirstFetch::default();
        let done = FirstDone(first.clone());
        let thread = std::thread::spawn(move || {
            let _done = done;
            panic!("a refresher that fails before its first fetch ends");
        });
        first.clone().await;
        assert!(thread.join().is_err());
        // And a blocking waiter returns at once, well before its timeout.
        first.wait(Duration::from_secs(3600));
    }

    /// A JWKS URL on loopback answering every request with one P-256 key (RFC 7517, A.1) and
    /// this `Cache-Control`, if any.
    fn serve_jwks(cache_control: Option<&'static str>) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let mut stream = stream.unwrap();
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
                    head.push(byte[0]);
                }
                let body = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"1","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}"#;
                let cache_control = cache_control
                    .map(|v| format!("cache-control: {v}\r\n"))
                    .unwrap_or_default();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{cache_control}\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        format!("http://{addr}/jwks.json")
    }

    /// The wait `refresh()` returns after fetching from a server that answers with this
    /// `Cache-Control`, with the default intervals (or this maximum staleness).
    fn wait_after_fetch(
        cache_control: Option<&'static str>,
        staleness: Option<Duration>,
    ) -> Duration {
        crate::check::config::ensure_crypto_provider().unwrap();
        let mut options = RemoteOptions::new(&serve_jwks(cache_control), "TEST");
        if let Some(staleness) = staleness {
            options.max_staleness = staleness;
        }
        let (agent, _) = agent(&options).unwrap();
        let published = Arc::new(Published::new(KeySet::default()));
        let mut refresher =
            Refresher::new(agent, options, KeySet::default(), Arc::clone(&published));
        let wait = refresher.refresh();
        assert_eq!(published.load().len(), 1, "the fetch succeeded");
        wait
    }

    #[test]
    fn a_max_age_of_a_day_is_cut_to_exactly_the_one_hour_ceiling() {
        assert_eq!(MAX_AGE_CEILING, Duration::from_secs(3600));
        assert_eq!(
            wait_after_fetch(Some("public, max-age=86400"), None),
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn a_tiny_max_age_is_raised_to_exactly_the_minimum_refresh_interval() {
        assert_eq!(
            wait_after_fetch(Some("max-age=1"), None),
            DEFAULT_JWKS_MIN_REFRESH_INTERVAL
        );
        assert_eq!(
            wait_after_fetch(Some("max-age=0"), None),
            DEFAULT_JWKS_MIN_REFRESH_INTERVAL
        );
    }

    #[test]
    fn a_max_age_between_the_bounds_is_the_wait_and_without_one_the_refresh_interval_is() {
        assert_eq!(
            wait_after_fetch(Some("max-age=300"), None),
            Duration::from_secs(300)
        );
        assert_eq!(
            wait_after_fetch(Some("no-cache, max-age=300"), None),
            DEFAULT_JWKS_REFRESH_INTERVAL
        );
        assert_eq!(wait_after_fetch(None, None), DEFAULT_JWKS_REFRESH_INTERVAL);
    }

    #[test]
    fn keys_are_fetched_again_within_half_the_maximum_staleness_whatever_max_age_says() {
        let staleness = Duration::from_secs(600);
        assert_eq!(
            wait_after_fetch(Some("max-age=86400"), Some(staleness)),
            staleness / 2
        );
        assert_eq!(wait_after_fetch(None, Some(staleness)), staleness / 2);
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            parse_max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            parse_max_age("MAX-AGE=\"60\""),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_max_age("max-age=300, no-cache"), None);
        assert_eq!(parse_max_age("no-store"), None);
        assert_eq!(parse_max_age("max-age=soon"), None);
    }

    #[test]
    fn plain_http_is_accepted_only_for_loopback_hosts() {
        let ok = |url: &str| check_url(url, false, "X").is_ok();
        assert!(ok("https://example.com/jwks.json"));
        assert!(ok("http://127.0.0.1:8080/jwks.json"));
        assert!(ok("http://localhost/jwks.json"));
        assert!(ok("http://[::1]:9000/jwks.json"));
        assert!(!ok("http://example.com/jwks.json"));
        assert!(!ok("http://10.0.0.1/jwks.json"));
        assert!(!ok("ftp://example.com/jwks.json"));
        assert!(!ok("/jwks.json"));
        assert!(check_url("http://example.com/jwks.json", true, "X").is_ok());
    }
}
