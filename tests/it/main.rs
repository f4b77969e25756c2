//! The integration tests, one module per behaviour area, in one binary so that they link
//! once. Tests that change process-wide state or read it whole (a tracing subscriber of their
//! own, the global metrics recorder, the environment, the current directory, a warning
//! limiter's first warning, resident memory) are kept in binaries of their own beside this
//! one: `log_hygiene`, `keys_unavailable_log`, `mitm_detected_log`, `prometheus`,
//! `dotenv_errors`, `jwks_env_proxy`, `config_memory`.
//!
//! What the tests of this binary do share, and why none depends on it:
//! - One tracing subscriber (`log_capture`), installed once and never replaced, which hands
//!   each event to the capture of the thread that logged it: a test that reads its logs runs
//!   its server on its own current-thread runtime and sees only its own events. The JWKS
//!   tests' process-wide capture (`jwks_support`) sees every test's events; they look for
//!   lines naming their own server's address and for values no other test logs.
//! - The rate-limited warnings (`keys_unavailable`, `mitm_detected`, `clock_not_set`): several
//!   tests here are refused with those reasons, and the limiter decides whether each refusal
//!   is logged at `warn` or at `debug`. No test here reads that level; the binaries named
//!   above do, alone in their process.
//! - Loopback ports. Every server binds port 0 and keeps its listener; an address where
//!   nothing listens is held by `common::closed_port` (bound, never listening) for as long as
//!   the test needs it.
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
#[path = "../replay_support/mod.rs"]
mod replay_support;
#[cfg(all(feature = "axum", feature = "test-util"))]
#[path = "../sdk_support/mod.rs"]
mod sdk_support;
#[path = "../security_support/mod.rs"]
mod security_support;

#[cfg(all(feature = "actix", feature = "axum", feature = "test-util"))]
mod actix;
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
#[cfg(all(feature = "axum", feature = "test-util"))]
mod front_doors;
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
mod replay;
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

/// The promise of `common::closed_port` that tests elsewhere rely on, checked on this machine.
mod helpers {
    #[tokio::test]
    async fn a_closed_port_refuses_connections_and_cannot_be_listened_on_while_held() {
        let (_held, addr) = crate::common::closed_port();
        let refused = tokio::net::TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        // Neither listener the tests and the crate's servers bind can take the port meanwhile
        // (both ask for `SO_REUSEADDR`).
        let std_listener = std::net::TcpListener::bind(addr).unwrap_err();
        assert_eq!(std_listener.kind(), std::io::ErrorKind::AddrInUse);
        let tokio_listener = tokio::net::TcpListener::bind(addr).await.unwrap_err();
        assert_eq!(tokio_listener.kind(), std::io::ErrorKind::AddrInUse);
    }
}
