//! HS256 secrets: decoded from the forms `approov secret -get` prints, wiped on drop.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
#[cfg(not(feature = "aws_lc_rs"))]
use jsonwebtoken::DecodingKey;
use zeroize::Zeroizing;

use super::{AlgSet, Material, VerifyingKey};
use crate::check::error::ConfigError;

/// An HS256 secret, before it becomes a [`DecodingKey`]. Wiped from memory on drop.
pub(crate) struct Secret(Zeroizing<Vec<u8>>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Secret {
    /// Decodes a secret as printed by `approov secret -get base64`.
    pub(crate) fn from_base64(text: &str, variable: &'static str) -> Result<Self, ConfigError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ConfigError::Empty { variable });
        }
        STANDARD
            .decode(text)
            .map(|b| Secret(Zeroizing::new(b)))
            .map_err(|_| ConfigError::Invalid {
                variable,
                expected: "standard base64, as printed by `approov secret -get base64`",
            })
    }

    /// Decodes a secret as printed by `approov secret -get base64url`, with or without padding.
    pub(crate) fn from_base64url(text: &str, variable: &'static str) -> Result<Self, ConfigError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ConfigError::Empty { variable });
        }
        URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map(|b| Secret(Zeroizing::new(b)))
            .map_err(|_| ConfigError::Invalid {
                variable,
                expected: "base64url, as printed by `approov secret -get base64url`",
            })
    }

    pub(crate) fn from_bytes(bytes: &[u8], variable: &'static str) -> Result<Self, ConfigError> {
        if bytes.is_empty() {
            return Err(ConfigError::Empty { variable });
        }
        Ok(Secret(Zeroizing::new(bytes.to_vec())))
    }

    /// The verifying key for this secret: HS256 only, the one algorithm Approov signs with.
    pub(crate) fn into_key(
        self,
        kid: Option<String>,
        variable: &'static str,
    ) -> Result<VerifyingKey, ConfigError> {
        if self.0.is_empty() {
            return Err(ConfigError::Empty { variable });
        }
        if self.0.len() < 32 {
            tracing::warn!(
                variable,
                length = self.0.len(),
                "the Approov secret is shorter than 32 bytes; Approov account secrets are 64 bytes: check that the whole secret was copied"
            );
        }
        #[cfg(feature = "aws_lc_rs")]
        let material = Material::Hmac(Box::new(aws_lc_rs::hmac::Key::new(
            aws_lc_rs::hmac::HMAC_SHA256,
            &self.0,
        )));
        #[cfg(not(feature = "aws_lc_rs"))]
        let material =
            Material::Jwt(
                DecodingKey::from_secret(&self.0).map_err(|_| ConfigError::Key {
                    variable,
                    reason: "the secret cannot be used as an HMAC key",
                })?,
            );
        Ok(VerifyingKey {
            kid: kid.map(String::into_boxed_str),
            algorithms: AlgSet::HS256,
            material,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::from_base64("c2VjcmV0", "X").unwrap();
        assert_eq!(format!("{s:?}"), "[redacted]");
    }

    #[test]
    fn base64url_secret_accepts_either_padding() {
        let a = Secret::from_base64url("c2VjcmV0MQ", "X").unwrap();
        let b = Secret::from_base64url("c2VjcmV0MQ==", "X").unwrap();
        assert_eq!(*a.0, *b.0);
    }
}
