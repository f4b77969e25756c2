//! `Content-Digest` (RFC 9530): parsed from the headers, checked against the body once read.

use http::HeaderName;
use sfv::ListEntry;
use sha2::{Digest as _, Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::fields::parse_dictionary;
use super::{CONTENT_DIGEST, decode_binary};
use crate::check::error::ApproovErrorKind;
use crate::check::request::HeaderSource;

/// The digests a covered `Content-Digest` announces, and the most body to read to check them.
#[derive(Debug)]
pub(crate) struct DigestCheck {
    sha256: Option<Vec<u8>>,
    sha512: Option<Vec<u8>>,
    limit: usize,
}

impl DigestCheck {
    /// Parses `Content-Digest`. Every SDK sends a byte sequence (`sha-256=:b64:`); a string
    /// (`sha-256="b64"`), the form Android uses for its signature value, is accepted too since
    /// it costs nothing; algorithms other than `sha-256` and
    /// `sha-512` are ignored, but at least one of these two must be there.
    ///
    /// A `Content-Length` over the limit is refused here, before anything is read.
    pub(crate) fn from_headers<H: HeaderSource + ?Sized>(
        headers: &H,
        limit: usize,
    ) -> Result<Self, ApproovErrorKind> {
        let dictionary = parse_dictionary(headers, &CONTENT_DIGEST)?;
        let (mut sha256, mut sha512) = (None, None);
        for (algorithm, entry) in &dictionary {
            let ListEntry::Item(item) = entry else {
                return Err(ApproovErrorKind::SignatureMalformed);
            };
            match algorithm.as_str() {
                "sha-256" => sha256 = Some(decode_binary(&item.bare_item)?),
                "sha-512" => sha512 = Some(decode_binary(&item.bare_item)?),
                _ => {}
            }
        }
        if sha256.is_none() && sha512.is_none() {
            return Err(ApproovErrorKind::ContentDigestMismatch);
        }
        const CONTENT_LENGTH: HeaderName = http::header::CONTENT_LENGTH;
        let declared = headers
            .header_values(&CONTENT_LENGTH)
            .next()
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Err(ApproovErrorKind::BodyTooLarge);
        }
        Ok(Self {
            sha256,
            sha512,
            limit,
        })
    }

    /// Whether every announced digest matches `body`.
    pub(crate) fn matches(&self, body: &[u8]) -> bool {
        let sha256_ok = self
            .sha256
            .as_ref()
            .is_none_or(|d| bool::from(Sha256::digest(body).as_slice().ct_eq(d)));
        let sha512_ok = self
            .sha512
            .as_ref()
            .is_none_or(|d| bool::from(Sha512::digest(body).as_slice().ct_eq(d)));
        sha256_ok && sha512_ok
    }
}

impl DigestCheck {
    /// The most body to read: reading stops at the frame that crosses it.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }
}
