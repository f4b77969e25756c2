//! A look into the verified-token cache.

use crate::ApproovConfig;

/// How many verified tokens the configuration's cache holds now, or `None` when the cache is
/// off (`APPROOV_TOKEN_CACHE_SIZE=0` or `with_token_cache_size(0)`).
///
/// For tests and benches that check the cache's bound; shared by every service of the layer
/// built from `config`.
#[must_use]
pub fn token_cache_len(config: &ApproovConfig) -> Option<usize> {
    config
        .shared
        .verifier
        .cache
        .as_ref()
        .map(crate::check::cache::TokenCache::len)
}
