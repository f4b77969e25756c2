//! Helpers to test APIs protected by the layer without the Approov CLI (feature `test-util`).
//!
//! Never enable this feature in production builds: it mints tokens.

mod signer;
pub use signer::{AccountKey, InstallationKey, RequestSigner, SignatureEncoding, SignerError};
mod token;
pub use token::{DEFAULT_TOKEN_LIFETIME, MintError, TokenBuilder};
mod cache;
pub use cache::token_cache_len;
