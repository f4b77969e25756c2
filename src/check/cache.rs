//! The verified-token cache.
//!
//! Approov apps reuse one token for many requests, and verifying a signature costs from about
//! 1 us (HS256) to about 50 us (ES256). Tokens that passed verification are remembered by the
//! exact bytes of their header, with their claims. A hit still compares `exp` with the clock,
//! and the checks that depend on the rest of the request (binding, message signature) run on
//! every request.
//!
//! Each entry is tagged with the key store's revocation epoch read before its token was
//! verified, and a hit counts only while that epoch is still current (see
//! [`Published`](crate::check::keys::Published)): once a refresh that removed a key is visible, no
//! entry verified before it is served, whether or not the cache has been emptied yet.

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use quick_cache::sync::{Cache, DefaultLifecycle};
use quick_cache::{DefaultHashBuilder, OptionsBuilder, UnitWeighter};

use crate::check::claims::ApproovClaims;

/// A shard should hold at least this many entries; fewer shards are used for small caches.
const MIN_SHARD_ENTRIES: usize = 32;

/// Verified claims, and the revocation epoch they were verified under.
#[derive(Clone)]
struct Entry {
    claims: ApproovClaims,
    epoch: u64,
}

/// A bounded, concurrent map from token header bytes to verified claims.
///
/// `quick_cache` splits its capacity over shards (locks) and rounds each shard's share up, so
/// `Cache::new(n)` may hold a few more than `n` entries. The bound here is exact: the shard
/// count is chosen so that the capacity is a whole number of equal shards, rounded down.
pub(crate) struct TokenCache {
    inner: Cache<Box<[u8]>, Entry>,
    capacity: usize,
    /// Tokens inserted since the cache was created or cleared, up to `capacity`, less those
    /// removed: until it reaches `capacity` the cache has room and every verified token goes
    /// in. (Evictions leave it at `capacity`: the cache stays full.)
    filled: AtomicUsize,
    /// The admission filter of a full cache: a hash per slot of tokens verified once and not
    /// admitted. A token is admitted when it comes again (its hash is found in its slot).
    /// Allocated when the cache first fills up, not before: 8 bytes a slot for as many slots
    /// as the capacity (a power of two above it) would otherwise be reserved at start-up, for
    /// a cache that may never fill.
    seen: OnceLock<Box<[AtomicU64]>>,
    hasher: DefaultHashBuilder,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("capacity", &self.capacity)
            .field("len", &self.inner.len())
            .finish()
    }
}

impl TokenCache {
    /// A cache of at most `capacity` tokens; `None` when `capacity` is 0.
    pub(crate) fn new(capacity: usize) -> Option<Self> {
        if capacity == 0 {
            return None;
        }
        // As many shards as quick_cache would pick (4 per core, a power of two), halved until
        // each holds at least MIN_SHARD_ENTRIES.
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let mut shards = cores.saturating_mul(4).next_power_of_two();
        while shards > 1 && capacity / shards < MIN_SHARD_ENTRIES {
            shards /= 2;
        }
        let per_shard = capacity / shards;
        let total = per_shard * shards;
        // quick_cache (0.6.24) sizes its tables as entries arrive; `estimated_items_capacity`
        // only sizes its bookkeeping of evicted keys. `tests/config_memory.rs` checks that
        // building the largest cache allowed reserves next to nothing.
        let inner = OptionsBuilder::new()
            .shards(shards)
            .estimated_items_capacity(total)
            .weight_capacity(total as u64)
            .build()
            .map_or_else(
                // Only fails for a missing setting, which is set just above.
                |_| Cache::new(total),
                |options| {
                    Cache::with_options(
                        options,
                        UnitWeighter,
                        DefaultHashBuilder::default(),
                        DefaultLifecycle::default(),
                    )
                },
            );
        Some(Self {
            inner,
            capacity: total,
            filled: AtomicUsize::new(0),
            seen: OnceLock::new(),
            hasher: DefaultHashBuilder::default(),
        })
    }

    /// The claims cached for `token`, if they were verified under the revocation `epoch` in
    /// force now; an entry from an older epoch is a miss.
    pub(crate) fn get(&self, token: &[u8], epoch: u64) -> Option<ApproovClaims> {
        self.inner
            .get(token)
            .filter(|entry| entry.epoch == epoch)
            .map(|entry| entry.claims)
    }

    /// Whether a token just verified should go in, when verifying it again would cost about
    /// as much as inserting it (`cheap`, HMAC).
    ///
    /// While the cache has room, every token does. Once it is full, an insert also evicts, and
    /// under a stream of tokens each seen once (fresh tokens, a flood of valid ones) that
    /// insert and eviction cost as much as the verification they would save, for nothing. So
    /// a full cache admits a token the second time it is verified: an app reusing its token
    /// pays one more HMAC, then hits. Verifications that cost real CPU (ECDSA, RSA) are always
    /// admitted.
    pub(crate) fn admit(&self, token: &[u8], cheap: bool) -> bool {
        if !cheap || self.filled.load(Ordering::Relaxed) < self.capacity {
            return true;
        }
        let seen = self.seen.get_or_init(|| {
            (0..self.capacity.next_power_of_two())
                .map(|_| AtomicU64::new(0))
                .collect()
        });
        // 0 marks an empty slot.
        let hash = self.hasher.hash_one(token) | 1;
        let slot = &seen[(hash as usize) & (seen.len() - 1)];
        if slot.load(Ordering::Relaxed) == hash {
            slot.store(0, Ordering::Relaxed);
            true
        } else {
            slot.store(hash, Ordering::Relaxed);
            false
        }
    }

    /// Remembers `claims` for `token`, verified under the revocation `epoch` read before the
    /// verification began.
    pub(crate) fn insert(&self, token: &[u8], claims: ApproovClaims, epoch: u64) {
        if self.filled.load(Ordering::Relaxed) < self.capacity {
            self.filled.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.insert(token.into(), Entry { claims, epoch });
    }

    pub(crate) fn remove(&self, token: &[u8]) {
        // An expired token taken out leaves room: new tokens go in at once again.
        if self.inner.remove(token).is_some() {
            let _ = self
                .filled
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
    }

    /// Forgets every token, e.g. after a key was removed.
    pub(crate) fn clear(&self) {
        self.inner.clear();
        self.filled.store(0, Ordering::Relaxed);
    }

    /// How many tokens are cached now.
    #[cfg_attr(not(any(test, feature = "test-util")), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> ApproovClaims {
        ApproovClaims::new(f64::MAX, serde_json::Map::new())
    }

    #[test]
    fn a_zero_capacity_means_no_cache() {
        assert!(TokenCache::new(0).is_none());
    }

    #[test]
    fn the_cache_never_holds_more_than_its_capacity_even_when_shards_do_not_divide_it() {
        for capacity in [1, 31, 33, 100, 1_001, 10_007] {
            let cache = TokenCache::new(capacity).unwrap();
            for n in 0..capacity * 4 {
                cache.insert(format!("token-{n}").as_bytes(), claims(), 0);
                assert!(cache.len() <= capacity, "{} > {capacity}", cache.len());
            }
            // Filled up to (nearly) its capacity, not trivially empty.
            assert!(
                cache.len() * 10 >= capacity * 9,
                "{} of {capacity}",
                cache.len()
            );
        }
    }

    #[test]
    fn an_entry_is_a_hit_only_under_the_revocation_epoch_it_was_verified_under() {
        let cache = TokenCache::new(32).unwrap();
        cache.insert(b"token", claims(), 2);
        assert!(cache.get(b"token", 2).is_some());
        assert!(cache.get(b"token", 3).is_none(), "a removal under way");
        assert!(cache.get(b"token", 4).is_none(), "a removal done");
        assert_eq!(
            cache.len(),
            1,
            "a miss by epoch leaves the entry to housekeeping"
        );
    }

    #[test]
    fn a_full_cache_admits_a_cheap_token_the_second_time_it_is_verified() {
        let cache = TokenCache::new(32).unwrap();
        // Room left: admitted at once.
        assert!(cache.admit(b"first", true));
        for n in 0..cache.capacity {
            cache.insert(format!("token-{n}").as_bytes(), claims(), 0);
        }
        assert!(!cache.admit(b"seen-once", true), "a cheap token seen once");
        assert!(cache.admit(b"seen-once", true), "the same token again");
        assert!(
            cache.admit(b"expensive", false),
            "an expensive token at once"
        );
        // Inserts past the capacity evict: the cache stays full, not over-full.
        cache.insert(b"one-more", claims(), 0);
        assert!(!cache.admit(b"still-full", true));
        // A token removed (expired) leaves room again.
        cache.remove(b"one-more");
        assert!(cache.admit(b"after-remove", true));
        cache.insert(b"after-remove", claims(), 0);
        assert!(!cache.admit(b"full-again", true));
        // After a clear the cache has room again.
        cache.clear();
        assert!(cache.admit(b"after-clear", true));
    }
}
