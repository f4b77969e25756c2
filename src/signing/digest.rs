//! `Content-Digest` (RFC 9530): parsed from the headers, checked against the body once read.

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::{Collected, LengthLimitError};
use sfv::ListEntry;
use sha2::{Digest as _, Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::{CONTENT_DIGEST, decode_binary, parse_dictionary};
use crate::error::ApproovErrorKind;

/// The error of a body read through [`http_body_util::Limited`].
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
    pub(crate) fn from_headers(
        headers: &HeaderMap,
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
        let declared = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
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
    fn matches(&self, body: &[u8]) -> bool {
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

/// A body read into memory, with its trailers.
pub(crate) type ReadBody = (Bytes, Option<HeaderMap>);

impl DigestCheck {
    /// The most body to read: reading stops at the frame that crosses it.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Compares a body read up to [`limit`](Self::limit) with the digests.
    ///
    /// Returns the outcome, and the body when it was read whole (so that monitor mode can
    /// still pass it on after a mismatch). A body over the limit is a
    /// [`BodyTooLarge`](ApproovErrorKind::BodyTooLarge). A body that fails to arrive (the
    /// client went away) cannot be checked, and is a
    /// [`ContentDigestMismatch`](ApproovErrorKind::ContentDigestMismatch).
    pub(crate) fn check_read(
        &self,
        read: Result<Collected<Bytes>, BoxError>,
    ) -> (Result<(), ApproovErrorKind>, Option<ReadBody>) {
        let collected = match read {
            Ok(collected) => collected,
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                return (Err(ApproovErrorKind::BodyTooLarge), None);
            }
            Err(_) => return (Err(ApproovErrorKind::ContentDigestMismatch), None),
        };
        let trailers = collected.trailers().cloned();
        let data = collected.to_bytes();
        let outcome = if self.matches(&data) {
            Ok(())
        } else {
            Err(ApproovErrorKind::ContentDigestMismatch)
        };
        (outcome, Some((data, trailers)))
    }
}
