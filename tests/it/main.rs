//! The integration tests, one module per behaviour area, in one binary so that they link
//! once. Tests that depend on process-wide state (the global tracing subscriber, the global
//! metrics recorder, the environment, the current directory, the warning limiters, resident
//! memory) are kept in binaries of their own beside this one: `log_hygiene`,
//! `keys_unavailable_log`, `mitm_detected_log`, `prometheus`, `dotenv_errors`,
//! `jwks_env_proxy`, `config_memory`.
//!
//! A module whose tests need a feature is compiled only with it, so `cargo test` with any
//! feature set runs what applies.

// Shared helpers (also used by the binaries beside this one).
#[path = "../common/mod.rs"]
mod common;
#[cfg(all(feature = "jwks-url", feature = "axum"))]
#[path = "../jwks_support/mod.rs"]
mod jwks_support;
#[path = "../keys_support/mod.rs"]
mod keys_support;
#[path = "../loopback/mod.rs"]
mod loopback;
#[cfg(all(feature = "axum", feature = "test-util"))]
#[path = "../sdk_support/mod.rs"]
mod sdk_support;
#[path = "../security_support/mod.rs"]
mod security_support;

mod binding;
mod bounds;
mod builder_errors;
mod config_env;
mod config_messages;
#[cfg(all(feature = "axum", feature = "test-util"))]
mod core_check;
mod debug_redaction;
#[cfg(all(feature = "axum", feature = "test-util"))]
mod fail_closed;
#[cfg(all(feature = "test-util", feature = "tonic"))]
mod grpc;
mod hostile_input;
mod http;
#[cfg(feature = "test-util")]
mod hyper;
mod jwks_key_changes;
mod jwks_tls;
mod jwks_url;
mod keys;
#[cfg(all(feature = "test-util", feature = "axum"))]
mod lazy_claims;
#[cfg(feature = "test-util")]
mod local_service;
#[path = "../log_capture/mod.rs"]
mod log_capture;
mod logging;
#[cfg(all(feature = "metrics", feature = "test-util", feature = "axum"))]
mod metrics;
#[cfg(feature = "test-util")]
mod mint;
mod mode_switch;
#[cfg(feature = "axum")]
mod production;
mod proptest_tokens;
#[cfg(all(feature = "axum", feature = "test-util"))]
mod rate_limit;
#[cfg(all(feature = "axum", feature = "jwks-url", feature = "aws_lc_rs"))]
mod readiness;
#[cfg(all(feature = "axum", feature = "test-util"))]
mod rejection;
#[cfg(all(feature = "axum", feature = "test-util"))]
mod request_bounds;
mod router;
#[cfg(all(feature = "axum", feature = "test-util"))]
mod sdk_signing;
#[cfg(all(feature = "axum", feature = "test-util"))]
mod sdk_token_header;
#[cfg(all(feature = "axum", feature = "test-util"))]
mod security_decisions;
#[cfg(all(feature = "axum", feature = "test-util"))]
mod service_conventions;
#[cfg(all(feature = "axum", feature = "test-util"))]
mod signing;
#[cfg(all(feature = "test-util", feature = "axum"))]
mod test_util;
mod token;
#[cfg(feature = "test-util")]
mod token_cache;
