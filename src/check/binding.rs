//! Token binding: the `pay` claim.
//!
//! The app calls `setDataHashInToken(value)` with the value of a request header (usually
//! `Authorization`); the Approov cloud puts `pay = base64(SHA-256(value))` in the token. The
//! server recomputes the hash from the request it received and compares.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderName;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::check::claims::ApproovClaims;
use crate::check::error::ApproovErrorKind;
use crate::check::request::HeaderSource;

/// The expected `pay` claim for the given binding values: standard base64 (padded) of
/// SHA-256 over their concatenation.
///
/// With one header, pass its whole value as received (for `Authorization: Bearer x` that is
/// `Bearer x`; HTTP parsers drop the spaces around a header value, so a server never sees
/// those). With several, pass each value trimmed, in the configured order: this is exactly
/// what the layer does. The values are bytes: a header value that is not UTF-8 is hashed as
/// is.
///
/// ```
/// let pay = tower_approov::pay_claim_for([b"Bearer my-user-token".as_slice()]);
/// assert_eq!(pay.len(), 44);
/// ```
#[must_use]
pub fn pay_claim_for<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> String {
    STANDARD.encode(pay_digest(values))
}

fn pay_digest<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for value in values {
        hasher.update(value);
    }
    hasher.finalize().into()
}

/// The binding check, prepared once from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct Binding {
    headers: Box<[HeaderName]>,
    allow_missing_pay: bool,
}

impl Binding {
    pub(crate) fn new(headers: Vec<HeaderName>, allow_missing_pay: bool) -> Option<Self> {
        if headers.is_empty() {
            return None;
        }
        Some(Self {
            headers: headers.into_boxed_slice(),
            allow_missing_pay,
        })
    }

    pub(crate) fn headers(&self) -> &[HeaderName] {
        &self.headers
    }

    /// Checks the token's `pay` claim against the request's binding headers.
    pub(crate) fn check<H: HeaderSource + ?Sized>(
        &self,
        claims: &ApproovClaims,
        headers: &H,
    ) -> Result<(), ApproovErrorKind> {
        let claimed = match claims.pay_digest(decode_pay) {
            Ok(claimed) => claimed,
            Err(ApproovErrorKind::PayClaimMissing) if self.allow_missing_pay => return Ok(()),
            Err(kind) => return Err(kind),
        };

        // One header: its whole value, exactly as received. Several: each value trimmed, in
        // the configured order, with no separator. Hashed as read, with no buffer.
        let trim = self.headers.len() > 1;
        let mut hasher = Sha256::new();
        for name in &*self.headers {
            let value = single_value(headers, name)?;
            hasher.update(if trim { value.trim_ascii() } else { value });
        }
        let expected: [u8; 32] = hasher.finalize().into();

        if bool::from(expected.ct_eq(claimed)) {
            Ok(())
        } else {
            Err(ApproovErrorKind::PayClaimMismatch)
        }
    }
}

/// The `pay` claim's 32 bytes, decoded once per cached token (see `ApproovClaims::pay_digest`).
fn decode_pay(claims: &ApproovClaims) -> Result<[u8; 32], ApproovErrorKind> {
    if claims.raw_claim("pay").is_none() {
        return Err(ApproovErrorKind::PayClaimMissing);
    }
    // Present but not a string: malformed.
    let pay = claims.pay().ok_or(ApproovErrorKind::PayClaimMalformed)?;
    let mut claimed = [0u8; 32];
    match STANDARD.decode_slice(pay.as_bytes(), &mut claimed) {
        Ok(32) => Ok(claimed),
        _ => Err(ApproovErrorKind::PayClaimMalformed),
    }
}

fn single_value<'a, H: HeaderSource + ?Sized>(
    headers: &'a H,
    name: &'a HeaderName,
) -> Result<&'a [u8], ApproovErrorKind> {
    let mut values = headers.header_values(name);
    match (values.next(), values.next()) {
        (Some(value), None) => Ok(value),
        (None, _) => Err(ApproovErrorKind::BindingHeaderMissing),
        (Some(_), Some(_)) => Err(ApproovErrorKind::BindingHeaderRepeated),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pay_is_padded_standard_base64_of_sha256() {
        // printf 'Bearer abc' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            pay_claim_for([b"Bearer abc".as_slice()]),
            "w1Xc6WwWEogNEZQP/dkBTThsJT4MNlKmzQanIm970rY="
        );
    }
}
