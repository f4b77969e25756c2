//! Every size and duration setting has a documented maximum (issue 23): one past it is a
//! `ConfigError::Invalid` naming the builder method or the variable, with this exact text, and
//! the maximum itself builds. Before, `with_jwks_fetch_timeout(Duration::MAX)` panicked in
//! `build()` and `APPROOV_TOKEN_CACHE_SIZE=1000000000` reserved 8 GiB at start
//! (`tests/config_memory.rs` checks the memory).
#![cfg(any(feature = "aws_lc_rs", feature = "rust_crypto"))]

use std::collections::HashMap;
use std::time::Duration;

use tower_approov::{
    ApproovConfig, ApproovConfigBuilder, ConfigError, MessageSigning, SigningConfig,
};

const SECRET: &[u8] = b"bounds-test-secret-0123456789abcdef0123456789abcdef0123456789ab";
const SECRET_B64: &str = "Ym91bmRzLXRlc3Qtc2VjcmV0";

fn builder() -> ApproovConfigBuilder {
    ApproovConfig::builder().with_secret(SECRET, None).unwrap()
}

fn signing(config: SigningConfig) -> Result<ApproovConfig, ConfigError> {
    builder().with_signing_config(config).build()
}

fn from_vars(vars: &[(&str, &str)]) -> Result<ApproovConfig, ConfigError> {
    let vars: HashMap<String, String> = [("APPROOV_BASE64_SECRET", SECRET_B64)]
        .iter()
        .chain(vars)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ApproovConfigBuilder::from_env_with(|name| vars.get(name).cloned().map(Ok))?.build()
}

/// The exact text of the error, which must be `ConfigError::Invalid`.
fn invalid(result: Result<ApproovConfig, ConfigError>) -> String {
    match result {
        Err(error @ ConfigError::Invalid { .. }) => error.to_string(),
        Err(other) => panic!("expected ConfigError::Invalid, got {other:?}"),
        Ok(_) => panic!("expected ConfigError::Invalid, got a configuration"),
    }
}

#[test]
fn a_token_cache_over_one_million_entries_is_refused_from_the_builder_and_the_environment() {
    let text = "ApproovConfigBuilder::with_token_cache_size was given an invalid value: pass at \
                most 1000000 entries (one million), or 0 to turn the cache off";
    assert_eq!(
        invalid(builder().with_token_cache_size(1_000_001).build()),
        text
    );
    assert_eq!(
        invalid(builder().with_token_cache_size(usize::MAX).build()),
        text
    );
    builder().with_token_cache_size(1_000_000).build().unwrap();
    assert_eq!(
        invalid(from_vars(&[("APPROOV_TOKEN_CACHE_SIZE", "1000000000")])),
        "APPROOV_TOKEN_CACHE_SIZE has an invalid value: set it to at most 1000000 entries (one \
         million), or 0 to turn the cache off"
    );
    from_vars(&[("APPROOV_TOKEN_CACHE_SIZE", "1000000")]).unwrap();
}

#[test]
fn a_maximum_token_length_over_64_kib_is_refused_from_the_builder_and_the_environment() {
    assert_eq!(
        invalid(builder().with_max_token_length(65_537).build()),
        "ApproovConfigBuilder::with_max_token_length was given an invalid value: pass at most \
         65536 bytes (64 KiB; real Approov tokens are under 1 KiB)"
    );
    builder().with_max_token_length(65_536).build().unwrap();
    assert_eq!(
        invalid(from_vars(&[("APPROOV_MAX_TOKEN_LENGTH", "65537")])),
        "APPROOV_MAX_TOKEN_LENGTH has an invalid value: set it to at most 65536 bytes (64 KiB; \
         real Approov tokens are under 1 KiB)"
    );
    from_vars(&[("APPROOV_MAX_TOKEN_LENGTH", "65536")]).unwrap();
}

#[test]
fn a_signature_maximum_age_over_one_hour_is_refused_from_the_builder_and_the_environment() {
    let config = |age| SigningConfig::new(MessageSigning::Require).with_max_age(Some(age));
    assert_eq!(
        invalid(signing(config(Duration::from_secs(3601)))),
        "SigningConfig::with_max_age was given an invalid value: pass a maximum age of at most \
         one hour, or `None` to leave only `expires`"
    );
    assert!(signing(config(Duration::MAX)).is_err());
    signing(config(Duration::from_secs(3600))).unwrap();
    assert_eq!(
        invalid(from_vars(&[("APPROOV_SIGNATURE_MAX_AGE_SECONDS", "3601")])),
        "APPROOV_SIGNATURE_MAX_AGE_SECONDS has an invalid value: set it to at most 3600 seconds \
         (one hour), or 0 to leave only `expires`"
    );
    from_vars(&[("APPROOV_SIGNATURE_MAX_AGE_SECONDS", "3600")]).unwrap();
}

#[test]
fn a_signature_body_limit_over_64_mib_is_refused_from_the_builder_and_the_environment() {
    let config = |bytes| SigningConfig::new(MessageSigning::Require).with_max_body_bytes(bytes);
    assert_eq!(
        invalid(signing(config(64 * 1024 * 1024 + 1))),
        "SigningConfig::with_max_body_bytes was given an invalid value: pass at most 67108864 \
         bytes (64 MiB)"
    );
    signing(config(64 * 1024 * 1024)).unwrap();
    assert_eq!(
        invalid(from_vars(&[(
            "APPROOV_SIGNATURE_MAX_BODY_BYTES",
            "67108865"
        )])),
        "APPROOV_SIGNATURE_MAX_BODY_BYTES has an invalid value: set it to at most 67108864 bytes \
         (64 MiB)"
    );
    from_vars(&[("APPROOV_SIGNATURE_MAX_BODY_BYTES", "67108864")]).unwrap();
}

#[test]
fn a_leeway_or_signature_clock_skew_over_one_hour_keeps_its_exact_message() {
    assert_eq!(
        invalid(builder().with_leeway(Duration::MAX).build()),
        "ApproovConfigBuilder::with_leeway was given an invalid value: pass a leeway of at most \
         one hour (a few seconds, if any)"
    );
    assert_eq!(
        invalid(signing(
            SigningConfig::new(MessageSigning::Require).with_clock_skew(Duration::MAX)
        )),
        "SigningConfig::with_clock_skew was given an invalid value: pass a clock skew of at most \
         one hour"
    );
    assert_eq!(
        invalid(from_vars(&[("APPROOV_LEEWAY_SECONDS", "3601")])),
        "APPROOV_LEEWAY_SECONDS has an invalid value: set it to at most 3600 seconds (one hour); \
         keep it at a few seconds, if any"
    );
    assert_eq!(
        invalid(from_vars(&[(
            "APPROOV_SIGNATURE_CLOCK_SKEW_SECONDS",
            "3601"
        )])),
        "APPROOV_SIGNATURE_CLOCK_SKEW_SECONDS has an invalid value: set it to at most 3600 \
         seconds (one hour)"
    );
}

#[cfg(feature = "jwks-url")]
mod jwks {
    use super::*;

    /// Checked before any fetch: nothing listens there (port 9, discard), so a configuration
    /// within the bounds builds at once with its fetch failed.
    fn remote() -> ApproovConfigBuilder {
        ApproovConfig::builder().with_jwks_url("http://127.0.0.1:9/jwks.json")
    }

    const HOUR: Duration = Duration::from_secs(3600);
    const DAY: Duration = Duration::from_secs(24 * 3600);
    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_jwks_fetch_timeout_of_duration_max_is_a_config_error_not_a_panic() {
        let text = "ApproovConfigBuilder::with_jwks_fetch_timeout was given an invalid value: pass \
                    a non-zero timeout of at most one minute";
        for timeout in [Duration::MAX, Duration::from_secs(61), Duration::ZERO] {
            assert_eq!(
                invalid(remote().with_jwks_fetch_timeout(timeout).build()),
                text,
                "{timeout:?}"
            );
        }
        remote()
            .with_jwks_fetch_timeout(Duration::from_secs(60))
            .build()
            .unwrap();
    }

    #[test]
    fn a_jwks_refresh_interval_of_zero_or_over_a_day_is_a_config_error() {
        let text = "ApproovConfigBuilder::with_jwks_refresh_interval was given an invalid value: \
                    pass a non-zero interval (zero would fetch in a tight loop) of at most 24 hours";
        for interval in [Duration::ZERO, DAY + SECOND, Duration::MAX] {
            assert_eq!(
                invalid(remote().with_jwks_refresh_interval(interval).build()),
                text,
                "{interval:?}"
            );
        }
        remote().with_jwks_refresh_interval(DAY).build().unwrap();
    }

    #[test]
    fn a_jwks_minimum_refresh_interval_of_zero_or_over_an_hour_is_a_config_error() {
        let text = "ApproovConfigBuilder::with_jwks_min_refresh_interval was given an invalid \
                    value: pass a non-zero interval (zero removes the limit on early fetches) of at \
                    most one hour";
        for interval in [Duration::ZERO, HOUR + SECOND, Duration::MAX] {
            assert_eq!(
                invalid(remote().with_jwks_min_refresh_interval(interval).build()),
                text,
                "{interval:?}"
            );
        }
        remote()
            .with_jwks_min_refresh_interval(HOUR)
            .build()
            .unwrap();
    }

    #[test]
    fn a_jwks_maximum_staleness_of_zero_or_over_7_days_is_refused_from_the_builder_and_the_environment()
     {
        let text = "ApproovConfigBuilder::with_jwks_max_staleness was given an invalid value: pass \
                    a non-zero staleness of at most 7 days";
        for staleness in [Duration::ZERO, 7 * DAY + SECOND, Duration::MAX] {
            assert_eq!(
                invalid(remote().with_jwks_max_staleness(staleness).build()),
                text,
                "{staleness:?}"
            );
        }
        remote().with_jwks_max_staleness(7 * DAY).build().unwrap();
        let text = "APPROOV_JWKS_MAX_STALENESS_SECONDS has an invalid value: set it to a whole \
                    number of seconds from 1 to 604800 (7 days)";
        for value in ["0", "604801", "1d", "-1", "18446744073709551616"] {
            assert_eq!(
                invalid(from_vars(&[("APPROOV_JWKS_MAX_STALENESS_SECONDS", value)])),
                text,
                "{value}"
            );
        }
        from_vars(&[("APPROOV_JWKS_MAX_STALENESS_SECONDS", "604800")]).unwrap();
    }
}
