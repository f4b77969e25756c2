//! The replay store in process memory: one instance's signatures, for a single process.
//!
//! A fixed number of shards, each a map from signature key to the time it may be forgotten,
//! and a queue in insertion order to forget them in time. Bounded: when a shard is full, its
//! oldest entry is forgotten early, counted and warned about, since a replay of that signature
//! would then pass. Memory is allocated as signatures come, never in proportion to the
//! capacity up front.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use super::{Remembered, Seen};

/// Shards, so that concurrent requests rarely wait on one another.
const SHARDS: usize = 16;

#[derive(Default)]
struct Shard {
    /// Signature key -> the time (ms since the epoch) after which it can no longer be replayed.
    until: HashMap<[u8; 32], u64>,
    /// The same entries, oldest first.
    order: VecDeque<([u8; 32], u64)>,
}

impl Shard {
    /// Forgets the entries whose time has passed, oldest first. An entry later in the queue may
    /// have passed already (signatures expire at different times): it goes when it reaches the
    /// front, or is found expired by a lookup.
    fn sweep(&mut self, now_ms: u64) {
        while let Some(&(key, until)) = self.order.front() {
            if until > now_ms {
                break;
            }
            self.order.pop_front();
            if self.until.get(&key) == Some(&until) {
                self.until.remove(&key);
            }
        }
    }
}

/// Signatures seen by this process.
pub(crate) struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    /// Entries forgotten before their time because the store was full.
    forgotten_early: AtomicU64,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("capacity", &(self.per_shard * SHARDS))
            .field(
                "forgotten_early",
                &self.forgotten_early.load(Ordering::Relaxed),
            )
            .finish()
    }
}

impl MemoryStore {
    /// A store of at most `capacity` signatures (rounded down to a whole number per shard, at
    /// least one each).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: (capacity / SHARDS).max(1),
            forgotten_early: AtomicU64::new(0),
        }
    }

    /// Records each signature of a request at `now_ms`: [`Remembered::Replayed`] if one of them
    /// was seen before and can still be accepted, else [`Remembered::Fresh`], and every one of
    /// them is remembered until its time.
    pub(crate) fn remember(&self, seen: &[Seen], now_ms: u64) -> Remembered {
        let mut replayed = false;
        for signature in seen {
            let shard = &self.shards[usize::from(signature.key[0]) % SHARDS];
            // A shard holds plain data that a panic cannot leave half-changed.
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            shard.sweep(now_ms);
            match shard.until.get(&signature.key) {
                Some(&until) if until > now_ms => {
                    replayed = true;
                    continue;
                }
                _ => {}
            }
            // Full: the oldest entry goes before its time. (A queue entry whose key was
            // remembered again later is stale: it frees nothing.)
            while shard.until.len() >= self.per_shard {
                let Some((key, until)) = shard.order.pop_front() else {
                    break;
                };
                if shard.until.get(&key) == Some(&until) {
                    shard.until.remove(&key);
                    let total = self.forgotten_early.fetch_add(1, Ordering::Relaxed) + 1;
                    super::warn_forgotten_early(total);
                }
            }
            shard.until.insert(signature.key, signature.until_ms);
            shard.order.push_back((signature.key, signature.until_ms));
        }
        if replayed {
            Remembered::Replayed
        } else {
            Remembered::Fresh
        }
    }

    /// How many signatures were forgotten before their time because the store was full.
    #[cfg(test)]
    pub(crate) fn forgotten_early(&self) -> u64 {
        self.forgotten_early.load(Ordering::Relaxed)
    }

    /// How many signatures are held now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).until.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(n: u8, until_ms: u64) -> Seen {
        let mut key = [n; 32];
        key[1] = n.wrapping_mul(7);
        Seen { key, until_ms }
    }

    #[test]
    fn a_signature_is_replayed_until_its_time_and_fresh_after() {
        let store = MemoryStore::new(1000);
        assert_eq!(store.remember(&[seen(1, 2_000)], 1_000), Remembered::Fresh);
        assert_eq!(
            store.remember(&[seen(1, 2_000)], 1_999),
            Remembered::Replayed
        );
        // At its time it can no longer be accepted, so it need not be remembered.
        assert_eq!(store.remember(&[seen(1, 2_000)], 2_000), Remembered::Fresh);
    }

    #[test]
    fn a_signature_past_its_time_is_fresh_even_while_an_older_entry_keeps_it_from_the_sweep() {
        let store = MemoryStore::new(1000);
        // Same shard (the first key byte), the long-lived one first in the queue: the sweep
        // stops there, so the short-lived one stays in the map past its time, and the lookup
        // itself must tell that its time has passed.
        let long = Seen {
            key: [3; 32],
            until_ms: 100_000,
        };
        let mut short = long.clone();
        short.key[1] = 9;
        short.until_ms = 2_000;
        assert_eq!(
            store.remember(&[long, short.clone()], 1_000),
            Remembered::Fresh
        );
        assert_eq!(store.remember(&[short], 2_000), Remembered::Fresh);
    }

    #[test]
    fn a_memory_store_debug_shows_its_capacity_and_what_it_forgot_early() {
        assert_eq!(
            format!("{:?}", MemoryStore::new(1_000_000)),
            "MemoryStore { capacity: 1000000, forgotten_early: 0 }"
        );
    }

    #[test]
    fn a_request_is_replayed_when_any_of_its_signatures_was_seen() {
        let store = MemoryStore::new(1000);
        assert_eq!(store.remember(&[seen(1, 9_000)], 0), Remembered::Fresh);
        assert_eq!(
            store.remember(&[seen(2, 9_000), seen(1, 9_000)], 10),
            Remembered::Replayed
        );
        // The new one was remembered all the same.
        assert_eq!(store.remember(&[seen(2, 9_000)], 20), Remembered::Replayed);
    }

    #[test]
    fn expired_entries_are_swept_so_a_steady_stream_stays_within_the_bound() {
        let store = MemoryStore::new(16 * 4);
        for n in 0..10_000u64 {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&n.to_be_bytes());
            key[0] = (n % 16) as u8;
            // Each lives 10 ms; one arrives per ms.
            store.remember(
                &[Seen {
                    key,
                    until_ms: n + 10,
                }],
                n,
            );
        }
        assert!(store.len() <= 64, "{}", store.len());
        assert_eq!(store.forgotten_early(), 0);
    }

    #[test]
    fn a_full_store_forgets_its_oldest_signature_early_and_counts_it() {
        let store = MemoryStore::new(16);
        // One shard holds one entry: two keys of the same shard.
        let (a, b) = (seen(16, 9_000), seen(32, 9_000));
        assert_eq!(a.key[0] % 16, b.key[0] % 16);
        assert_eq!(store.remember(&[a], 0), Remembered::Fresh);
        assert_eq!(store.remember(&[b], 1), Remembered::Fresh);
        assert_eq!(store.forgotten_early(), 1);
        // `a` was forgotten early: its replay passes, which is what the count warns about.
        assert_eq!(store.remember(&[seen(16, 9_000)], 2), Remembered::Fresh);
    }
}
