//! Replay protection of signed requests: every verified signature is remembered for as long as
//! it could still be accepted, and a request whose signature was seen before is refused
//! (`signature_replayed`).
//!
//! No SDK sends a nonce, so the signature itself is the request's identity. It is keyed so
//! that the second valid form of an ECDSA signature (`s` replaced by `n - s`) is the same
//! signature, and so that one installation's signature never collides with another's (the key
//! that signed is part of it). A signature is remembered only once every other check of the
//! request passed, so that a refused request burns nothing.
//!
//! The store is in process memory ([`memory`]), or, for a fleet, in Redis or Valkey
//! (feature `redis`): the store every instance already shares, never one of our own.

pub(crate) mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;

use std::fmt;
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use crate::check::claims::ApproovClaims;
use crate::check::error::ConfigError;
use crate::check::log::RateLimit;
use crate::check::signing::{Label, Verified};

/// The default capacity of the in-memory store: a million signatures, about 130 MB allocated
/// (150 MB resident) when full, measured by `cargo bench --bench replay`; it holds every
/// signature of 22 000 signed requests per second for their 45 s (the SDKs' 15 s `expires`
/// plus the default 30 s skew).
pub const DEFAULT_REPLAY_MEMORY_ENTRIES: usize = 1_000_000;
/// The largest capacity of the in-memory store accepted.
pub(crate) const MAX_REPLAY_MEMORY_ENTRIES: usize = 50_000_000;
/// The default prefix of the Redis keys.
pub const DEFAULT_REPLAY_KEY_PREFIX: &str = "approov:replay:";
/// The default timeout of one Redis call (connecting included): 250 ms, far above a round trip
/// within a data centre and short enough not to stall requests when the store hangs.
pub const DEFAULT_REPLAY_REDIS_TIMEOUT: Duration = Duration::from_millis(250);
/// The longest Redis timeout accepted.
pub(crate) const MAX_REPLAY_REDIS_TIMEOUT: Duration = Duration::from_secs(10);

/// What happens to a signed request when the replay store cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StoreFailure {
    /// Refuse the request (`replay_store_unavailable`). The default: fail closed.
    #[default]
    Reject,
    /// Let it through unremembered, with a rate-limited warning and a count: for APIs that
    /// prefer availability to replay protection while the store is down.
    Allow,
}

/// Replay protection's settings. Off unless given to
/// [`ApproovConfigBuilder::with_replay_protection`](crate::ApproovConfigBuilder::with_replay_protection)
/// or turned on by `APPROOV_REPLAY_PROTECTION=on`: a client that sends the same bytes again
/// after a lost response (an automatic retry) is refused, so it is an opt-in.
///
/// ```
/// use tower_approov::{ReplayConfig, StoreFailure};
///
/// // One process: the signatures it saw, in memory.
/// let one = ReplayConfig::memory();
/// // A fleet: every instance shares the store.
/// let fleet = ReplayConfig::redis("redis://replay.internal:6379/0")
///     .with_store_failure(StoreFailure::Reject);
/// ```
#[derive(Clone)]
#[must_use]
pub struct ReplayConfig {
    pub(crate) redis_url: Option<String>,
    pub(crate) failure: StoreFailure,
    pub(crate) memory_entries: usize,
    pub(crate) key_prefix: String,
    pub(crate) timeout: Duration,
}

/// The Redis URL may hold a password: never shown.
impl fmt::Debug for ReplayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayConfig")
            .field(
                "store",
                &if self.redis_url.is_some() {
                    "redis"
                } else {
                    "memory"
                },
            )
            .field("failure", &self.failure)
            .field("memory_entries", &self.memory_entries)
            .field("key_prefix", &self.key_prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl ReplayConfig {
    /// Signatures remembered in this process's memory: enough for one instance, or for
    /// instances behind a load balancer that sends each client to the same one. Every other
    /// setting at its default.
    pub fn memory() -> Self {
        Self {
            redis_url: None,
            failure: StoreFailure::Reject,
            memory_entries: DEFAULT_REPLAY_MEMORY_ENTRIES,
            key_prefix: DEFAULT_REPLAY_KEY_PREFIX.to_owned(),
            timeout: DEFAULT_REPLAY_REDIS_TIMEOUT,
        }
    }

    /// Signatures remembered in Redis (or Valkey) at this URL (`redis://` or `rediss://` for
    /// TLS), shared by every instance (feature `redis`). The URL is checked by
    /// [`build`](crate::ApproovConfigBuilder::build).
    pub fn redis(url: &str) -> Self {
        Self {
            redis_url: Some(url.trim().to_owned()),
            ..Self::memory()
        }
    }

    /// What a signed request gets while the store cannot answer. Defaults to
    /// [`StoreFailure::Reject`].
    pub fn with_store_failure(mut self, failure: StoreFailure) -> Self {
        self.failure = failure;
        self
    }

    /// How many signatures the in-memory store holds at most. Defaults to
    /// [`DEFAULT_REPLAY_MEMORY_ENTRIES`]; when it is full, the oldest signature is forgotten
    /// early (a replay of it would pass), counted and warned about. Size it as the signed
    /// requests per second times the window (`expires` plus the skew, or the maximum age plus
    /// the skew), times the signatures per request (two with account signing).
    pub fn with_memory_entries(mut self, entries: usize) -> Self {
        self.memory_entries = entries;
        self
    }

    /// The prefix of every Redis key. Defaults to [`DEFAULT_REPLAY_KEY_PREFIX`].
    pub fn with_key_prefix(mut self, prefix: &str) -> Self {
        prefix.clone_into(&mut self.key_prefix);
        self
    }

    /// The timeout of each Redis call. Defaults to [`DEFAULT_REPLAY_REDIS_TIMEOUT`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub(crate) fn check(&self, variable: &'static str) -> Result<(), ConfigError> {
        let invalid = |expected| Err(ConfigError::Invalid { variable, expected });
        if self.memory_entries == 0 || self.memory_entries > MAX_REPLAY_MEMORY_ENTRIES {
            return invalid("a replay memory capacity from 1 to 50 000 000 signatures");
        }
        if self.timeout.is_zero() || self.timeout > MAX_REPLAY_REDIS_TIMEOUT {
            return invalid("a replay store timeout from 1 ms to 10 s");
        }
        if self.key_prefix.len() > 256 {
            return invalid("a replay key prefix of at most 256 bytes");
        }
        Ok(())
    }
}

/// One verified signature to remember: its key, and the time (milliseconds since the epoch)
/// after which it can no longer be accepted.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) key: [u8; 32],
    pub(crate) until_ms: u64,
}

impl fmt::Debug for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Seen")
            .field("until_ms", &self.until_ms)
            .finish_non_exhaustive()
    }
}

impl Seen {
    /// The key of a signature: SHA-256 over the label, the identity of the key that signed
    /// (the `ipk`'s DER, or the account key's id) and the signature in its one canonical form.
    pub(crate) fn new(label: &str, signer: &[u8], canonical: &[u8], until_ms: u64) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"tower-approov replay v1\0");
        for part in [label.as_bytes(), signer, canonical] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        Self {
            key: hash.finalize().into(),
            until_ms,
        }
    }
}

/// The order `n` of P-256, big-endian.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// The one form of an ECDSA P-256 signature `r||s` kept for replay keys: `s` replaced by
/// `n - s` when it is the larger of the two. Both forms verify, so both must be one key.
pub(crate) fn canonical_ecdsa(signature: &[u8; 64]) -> [u8; 64] {
    let mut out = *signature;
    let mut s = [0u8; 32];
    s.copy_from_slice(&signature[32..]);
    let n_minus_s = subtract(&P256_N, &s);
    // Big-endian arrays of one length compare as the numbers do.
    if n_minus_s < s {
        out[32..].copy_from_slice(&n_minus_s);
    }
    out
}

/// `a - b` for big-endian 256-bit numbers, `a >= b` (a valid `s` is below `n`).
fn subtract(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0u16;
    for i in (0..32).rev() {
        let (x, y) = (u16::from(a[i]), u16::from(b[i]) + borrow);
        let (digit, next) = if x >= y { (x - y, 0) } else { (x + 256 - y, 1) };
        // Below 256 in both branches.
        out[i] = digit as u8;
        borrow = next;
    }
    out
}

/// What the store says of a request's signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Remembered {
    /// None was seen before; all are remembered now.
    Fresh,
    /// One was seen before and can still be accepted.
    Replayed,
    /// The store did not answer (in time). Only a store across the network (feature `redis`)
    /// can fail to.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Unavailable,
}

/// Replay protection as configured: the store and what to do when it cannot answer.
pub(crate) struct Replay {
    pub(crate) store: Store,
    pub(crate) failure: StoreFailure,
}

impl fmt::Debug for Replay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replay")
            .field("store", &self.store)
            .field("failure", &self.failure)
            .finish()
    }
}

/// Where the signatures are remembered.
#[derive(Debug)]
pub(crate) enum Store {
    Memory(memory::MemoryStore),
    #[cfg(feature = "redis")]
    Redis(Box<redis::RedisStore>),
}

impl Replay {
    /// The store `config` describes, checked (`variable` names the setting in errors).
    pub(crate) fn new(config: &ReplayConfig, variable: &'static str) -> Result<Self, ConfigError> {
        config.check(variable)?;
        let store = match &config.redis_url {
            None => Store::Memory(memory::MemoryStore::new(config.memory_entries)),
            #[cfg(feature = "redis")]
            Some(url) => Store::Redis(Box::new(redis::RedisStore::new(
                url,
                &config.key_prefix,
                config.timeout,
                variable,
            )?)),
            #[cfg(not(feature = "redis"))]
            Some(_) => {
                return Err(ConfigError::Invalid {
                    variable,
                    expected: "no Redis URL: this build of tower-approov lacks the `redis` feature",
                });
            }
        };
        Ok(Self {
            store,
            failure: config.failure,
        })
    }

    /// Remembers at once, for a store in memory; `None` for one that needs a round trip.
    pub(crate) fn remember_now(&self, seen: &[Seen], now_ms: u64) -> Option<Remembered> {
        match &self.store {
            Store::Memory(memory) => Some(memory.remember(seen, now_ms)),
            #[cfg(feature = "redis")]
            Store::Redis(_) => None,
        }
    }

    /// Remembers, awaiting the store when it is remote.
    pub(crate) async fn remember(&self, seen: &[Seen], now_ms: u64) -> Remembered {
        match &self.store {
            Store::Memory(memory) => memory.remember(seen, now_ms),
            #[cfg(feature = "redis")]
            Store::Redis(redis) => redis.remember(seen).await,
        }
    }

    /// Asks the store whether it answers, and remembers the answer for [`ready`](Self::ready).
    pub(crate) async fn ping(&self) -> bool {
        match &self.store {
            Store::Memory(_) => true,
            #[cfg(feature = "redis")]
            Store::Redis(redis) => redis.ping().await,
        }
    }
}

/// The signatures of a request to remember: one per verified member, keyed with the key that
/// signed it (the `ipk` for `install`, the `mskid` for `account`). Empty when nothing was
/// verified (an unsigned request, a failover token).
pub(crate) fn seen(claims: &ApproovClaims, verified: &Verified) -> Vec<Seen> {
    let mut seen = Vec::new();
    for member in verified.iter().flatten() {
        // Whole milliseconds, rounded up, plus one: the key lives through the last instant
        // at which the signature passes. A signature without an end (no `expires`, no maximum
        // age) cannot be configured with replay protection on.
        let until = member.acceptable_until;
        if !until.is_finite() {
            continue;
        }
        let until_ms = (until * 1000.0).ceil().max(0.0) as u64 + 1;
        let (label, signer) = match member.label {
            Label::Install => ("install", claims.ipk().unwrap_or_default()),
            Label::Account => ("account", claims.mskid().unwrap_or_default()),
        };
        let signature = match <&[u8; 64]>::try_from(member.signature.as_slice()) {
            Ok(ecdsa) if member.label == Label::Install => canonical_ecdsa(ecdsa).to_vec(),
            _ => member.signature.clone(),
        };
        seen.push(Seen::new(label, signer.as_bytes(), &signature, until_ms));
    }
    seen
}

static UNREMEMBERED: RateLimit = RateLimit::new(crate::check::log::WARN_INTERVAL);

/// A signed request let through without being remembered, the store not answering and the
/// policy being [`StoreFailure::Allow`]: counted, and warned about at most once per interval.
pub(crate) fn warn_unremembered() {
    crate::check::metrics::replay_unremembered();
    if let Some(count) = UNREMEMBERED.due() {
        tracing::warn!(
            count,
            "the Approov replay store did not answer in time: signed requests are let through \
             without replay protection ({count} since the last warning; \
             APPROOV_REPLAY_STORE_FAILURE=allow)"
        );
    }
}

static FORGOTTEN_EARLY: RateLimit = RateLimit::new(crate::check::log::WARN_INTERVAL);

/// A signature forgotten before its time because the in-memory store was full.
pub(crate) fn warn_forgotten_early(total: u64) {
    crate::check::metrics::replay_forgotten_early();
    if let Some(count) = FORGOTTEN_EARLY.due() {
        tracing::warn!(
            count,
            total,
            "the Approov replay store is full: signatures are forgotten before their time, so \
             their replays would pass ({count} since the last warning); raise \
             APPROOV_REPLAY_MEMORY_ENTRIES, or use a Redis store"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::signing::VerifiedSignature;

    #[test]
    fn both_valid_forms_of_an_ecdsa_signature_have_one_canonical_form() {
        let mut high = [0u8; 64];
        high[..32].copy_from_slice(&[7; 32]);
        // s = n - 1, the largest valid s: its other form is 1.
        let mut s = P256_N;
        s[31] -= 1;
        high[32..].copy_from_slice(&s);
        let mut low = high;
        low[32..].copy_from_slice(&[0; 32]);
        low[63] = 1;
        assert_eq!(canonical_ecdsa(&high), low);
        assert_eq!(canonical_ecdsa(&low), low);
        // (n - s) + s = n for an arbitrary s.
        let s: [u8; 32] = core::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5a);
        let other = subtract(&P256_N, &s);
        let mut a = [0u8; 64];
        a[32..].copy_from_slice(&s);
        let mut b = [0u8; 64];
        b[32..].copy_from_slice(&other);
        assert_eq!(canonical_ecdsa(&a), canonical_ecdsa(&b));
    }

    #[test]
    fn the_same_signature_by_another_signer_or_label_is_another_key() {
        let sig = [9u8; 64];
        let a = Seen::new("install", b"ipk-a", &sig, 1);
        assert_eq!(a.key, Seen::new("install", b"ipk-a", &sig, 2).key);
        assert_ne!(a.key, Seen::new("install", b"ipk-b", &sig, 1).key);
        assert_ne!(a.key, Seen::new("account", b"ipk-a", &sig, 1).key);
        // Lengths are part of the hash: moving a byte between parts changes the key.
        assert_ne!(
            Seen::new("install", b"ab", b"c", 1).key,
            Seen::new("install", b"a", b"bc", 1).key
        );
    }

    #[test]
    fn replay_settings_out_of_range_are_config_errors() {
        for config in [
            ReplayConfig::memory().with_memory_entries(0),
            ReplayConfig::memory().with_memory_entries(MAX_REPLAY_MEMORY_ENTRIES + 1),
            ReplayConfig::memory().with_timeout(Duration::ZERO),
            ReplayConfig::memory().with_timeout(Duration::from_secs(11)),
            ReplayConfig::memory().with_key_prefix(&"p".repeat(257)),
        ] {
            assert!(config.check("test").is_err(), "{config:?}");
        }
        assert!(ReplayConfig::memory().check("test").is_ok());
        // Each bound itself is accepted.
        for config in [
            ReplayConfig::memory().with_memory_entries(1),
            ReplayConfig::memory().with_memory_entries(MAX_REPLAY_MEMORY_ENTRIES),
            ReplayConfig::memory().with_timeout(Duration::from_millis(1)),
            ReplayConfig::memory().with_timeout(MAX_REPLAY_REDIS_TIMEOUT),
            ReplayConfig::memory().with_key_prefix(&"p".repeat(256)),
        ] {
            assert!(config.check("test").is_ok(), "{config:?}");
        }
    }

    #[test]
    fn a_seen_signature_debug_shows_its_expiry_and_never_its_key() {
        assert_eq!(
            format!("{:?}", Seen::new("install", b"ipk", &[1; 64], 42)),
            "Seen { until_ms: 42, .. }"
        );
    }

    #[test]
    fn a_replay_config_debug_never_shows_the_redis_url() {
        let config = ReplayConfig::redis("redis://:hunter2@replay.internal:6379");
        assert_eq!(
            format!("{config:?}"),
            "ReplayConfig { store: \"redis\", failure: Reject, memory_entries: 1000000, \
             key_prefix: \"approov:replay:\", timeout: 250ms }"
        );
    }

    /// Claims with an `ipk` and an `mskid`, as a token of an account with both features.
    fn both_claims() -> ApproovClaims {
        let mut claims = serde_json::Map::new();
        claims.insert("ipk".into(), "the-installation-key".into());
        claims.insert("mskid".into(), "abc123".into());
        ApproovClaims::new(2e9, claims)
    }

    #[test]
    fn each_verified_member_is_remembered_through_the_last_millisecond_it_passes_and_no_longer() {
        // `s` = n - 1: an install signature's high form, whose key is its low form's.
        let mut high = [7u8; 64];
        let mut s = P256_N;
        s[31] -= 1;
        high[32..].copy_from_slice(&s);
        // An account member of 64 bytes (no HMAC is; only `install` is ECDSA) is taken as is.
        let verified: Verified = [
            Some(VerifiedSignature {
                label: Label::Install,
                signature: high.to_vec(),
                acceptable_until: 1_790_000_045.0,
            }),
            Some(VerifiedSignature {
                label: Label::Account,
                signature: high.to_vec(),
                acceptable_until: 1_790_000_045.000_4,
            }),
        ];
        let seen = seen(&both_claims(), &verified);
        assert_eq!(seen.len(), 2);
        // The last instant at which it passes, in whole milliseconds rounded up, plus one: the
        // store forgets it only once `now_ms` reaches `until_ms`.
        assert_eq!(seen[0].until_ms, 1_790_000_045_001);
        assert_eq!(seen[1].until_ms, 1_790_000_045_002);
        assert_eq!(
            seen[0].key,
            Seen::new(
                "install",
                b"the-installation-key",
                &canonical_ecdsa(&high),
                0
            )
            .key
        );
        assert_eq!(seen[1].key, Seen::new("account", b"abc123", &high, 0).key);
        assert_ne!(
            seen[1].key,
            Seen::new("account", b"abc123", &canonical_ecdsa(&high), 0).key
        );
    }

    #[test]
    fn a_signature_that_never_expires_is_not_remembered() {
        let verified: Verified = [
            Some(VerifiedSignature {
                label: Label::Install,
                signature: vec![7; 64],
                acceptable_until: f64::INFINITY,
            }),
            None,
        ];
        assert!(seen(&both_claims(), &verified).is_empty());
    }

    #[tokio::test]
    async fn the_in_memory_store_always_answers() {
        let replay = Replay::new(&ReplayConfig::memory(), "test").unwrap();
        assert!(replay.ping().await);
    }

    #[cfg(feature = "metrics")]
    #[test]
    fn a_signature_forgotten_early_and_one_let_through_unremembered_are_each_counted() {
        use metrics_util::debugging::{DebugValue, DebuggingRecorder};
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            warn_forgotten_early(1);
            warn_forgotten_early(2);
            warn_unremembered();
        });
        let counts: std::collections::HashMap<String, DebugValue> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| (key.key().name().to_owned(), value))
            .collect();
        assert_eq!(
            counts.get(crate::check::metrics::REPLAY_FORGOTTEN_EARLY_TOTAL),
            Some(&DebugValue::Counter(2))
        );
        assert_eq!(
            counts.get(crate::check::metrics::REPLAY_UNREMEMBERED_TOTAL),
            Some(&DebugValue::Counter(1))
        );
    }
}
