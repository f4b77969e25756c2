//! Building a configuration allocates nothing in proportion to the size of its verified-token
//! cache (issue 23): `APPROOV_TOKEN_CACHE_SIZE=1000000000` made the process reserve 8 GiB at
//! start. One test in this binary: it reads the process's resident memory, which tests running
//! beside it would change.
#![cfg(all(
    target_os = "linux",
    any(feature = "aws_lc_rs", feature = "rust_crypto")
))]

use tower_approov::ApproovConfig;

const SECRET: &[u8] = b"config-memory-test-secret-0123456789abcdef0123456789abcdef012345";

/// The largest cache the configuration accepts (a million entries; a million and one is a
/// `ConfigError`, see `tests/it/bounds.rs`).
const LARGEST_CACHE: usize = 1_000_000;

/// Resident memory in KiB, from `/proc/self/status`.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn config(cache: usize) -> ApproovConfig {
    ApproovConfig::builder()
        .with_secret(SECRET, None)
        .unwrap()
        .with_token_cache_size(cache)
        .build()
        .unwrap()
}

#[test]
fn building_with_the_largest_cache_allowed_keeps_resident_memory_small() {
    // Everything built once per process (the crypto provider, the tracing callsites) is built
    // by a small configuration first.
    drop(config(16));
    let before = rss_kib();
    let configs: Vec<ApproovConfig> = (0..4).map(|_| config(LARGEST_CACHE)).collect();
    let after = rss_kib();
    let grown = after.saturating_sub(before);
    eprintln!(
        "VmRSS before {before} KiB, after four configurations of {LARGEST_CACHE} entries {after} KiB (+{grown} KiB)"
    );
    // A filter of 8 bytes per entry allocated up front would be 8 MiB per configuration.
    assert!(
        grown < 2 * 1024,
        "four configurations with a cache of {LARGEST_CACHE} entries grew the resident memory by {grown} KiB"
    );
    drop(configs);
}
