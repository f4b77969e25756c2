// The README is the crate docs, read as is on GitHub and crates.io: its examples are complete
// programs with no hidden lines. Some of them need features beyond the default ones
// (`test-util`, `tonic`, `actix`), which a code block cannot say, so the README's examples run as
// doctests in a build with all the features they use (`cargo test --all-features`), through
// `ReadmeDoctests` below, and not in a build without them.
#![cfg_attr(not(doctest), doc = include_str!("../README.md"))]
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The layout is the architecture (see ARCHITECTURE.md): `check` is the core, which knows no
// framework; `tower`, `axum` (extractors), `tonic` and `actix` are front doors that translate a
// request in and a verdict out, and import the core, never each other's internals.
#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub mod actix;
#[cfg(feature = "axum")]
mod axum;
mod check;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub mod tonic;
mod tower;

#[cfg(feature = "axum")]
pub use axum::ApproovClaimsRejection;
pub use check::binding::pay_claim_for;
pub use check::claims::ApproovClaims;
pub use check::config::{
    ApproovConfig, ApproovConfigBuilder, DEFAULT_MAX_TOKEN_LENGTH, DEFAULT_TOKEN_CACHE_SIZE,
    DEFAULT_TOKEN_HEADER, MAX_CLOCK_SKEW, Mode, ModeHandle,
};
pub use check::error::{ApproovError, ApproovErrorKind, ConfigError, JsonRejection};
#[cfg(feature = "jwks-url")]
pub use check::keys::remote::{
    DEFAULT_JWKS_FETCH_TIMEOUT, DEFAULT_JWKS_MIN_REFRESH_INTERVAL, DEFAULT_JWKS_REFRESH_INTERVAL,
    JWKS_MAX_BODY_BYTES,
};
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub use check::metrics;
pub use check::replay::{
    DEFAULT_REPLAY_KEY_PREFIX, DEFAULT_REPLAY_MEMORY_ENTRIES, DEFAULT_REPLAY_REDIS_TIMEOUT,
    ReplayConfig, StoreFailure,
};
pub use check::signing::{
    DEFAULT_SIGNATURE_BODY_READ_TIMEOUT, DEFAULT_SIGNATURE_CLOCK_SKEW, DEFAULT_SIGNATURE_MAX_AGE,
    DEFAULT_SIGNATURE_MAX_BODY_BYTES, ForwardedHeaders, MessageSigning, SigningConfig,
};
pub use check::{
    ApproovRequest, BodyCheck, BodyRead, HeaderSource, Recording, ReplayCheck, RequestBody, Verdict,
};
pub use tower::body::ApproovBody;
pub use tower::future::ResponseFuture;
pub use tower::layer::ApproovLayer;
pub use tower::response::{RejectionResponse, RequestHead};
pub use tower::service::ApproovService;

/// The README's examples, as doctests (see the top of this file).
#[cfg(all(
    doctest,
    feature = "axum",
    feature = "test-util",
    feature = "tonic",
    feature = "actix"
))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
