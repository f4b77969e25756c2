//! The verified-token cache.
//!
//! Approov apps reuse one token for many requests, and verifying a signature costs from about
//! 2 us (HS256) to about 90 us (ES256). Tokens that passed verification are remembered by their
//! exact text, with their claims. A hit still compares `exp` with the clock, and the checks
//! that depend on the rest of the request (binding, message signature) run on every request.

use std::fmt;

use crate::claims::ApproovClaims;

/// A bounded, concurrent map from token text to verified claims.
pub(crate) struct TokenCache {
    inner: quick_cache::sync::Cache<Box<str>, ApproovClaims>,
    capacity: usize,
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
        (capacity > 0).then(|| Self {
            inner: quick_cache::sync::Cache::new(capacity),
            capacity,
        })
    }

    pub(crate) fn get(&self, token: &str) -> Option<ApproovClaims> {
        self.inner.get(token)
    }

    pub(crate) fn insert(&self, token: &str, claims: ApproovClaims) {
        self.inner.insert(token.into(), claims);
    }

    pub(crate) fn remove(&self, token: &str) {
        self.inner.remove(token);
    }

    /// Forgets every token, e.g. after a key was removed.
    pub(crate) fn clear(&self) {
        self.inner.clear();
    }
}
