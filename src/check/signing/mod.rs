//! Approov installation message signatures: RFC 9421 HTTP Message Signatures over the request,
//! made by the app's per-installation P-256 key, whose public half is the token's `ipk` claim.
//!
//! The check runs in three steps, the first two synchronously in `call`:
//!
//! 1. [`SigningVerifier::check`] parses `Signature-Input` and `Signature` (RFC 8941 structured
//!    fields), checks the `install` signature's parameters, rebuilds the signature base from the
//!    server's own view of the request and verifies the raw `r||s` ECDSA P-256 signature with
//!    the token's `ipk`.
//! 2. When the signature covers `content-digest`, it also parses that header (RFC 9530) and
//!    returns a [`DigestCheck`].
//! 3. Only then is the body read, up to the configured limit, and compared with the digest
//!    (`digest.rs`). The signature is checked before the body is read on purpose: a request
//!    whose headers do not verify never makes the server buffer its body.

mod base;
mod config;
mod digest;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use http::HeaderName;
use jsonwebtoken::{Algorithm, DecodingKey};
use sfv::{BareItem, Dictionary, ListEntry, Parser};

use crate::check::claims::ApproovClaims;
use crate::check::error::ApproovErrorKind;
use crate::check::request::{ApproovRequest, HeaderSource};

#[cfg(feature = "test-util")]
pub(crate) use config::normalize_authority;
pub use config::{
    DEFAULT_SIGNATURE_BODY_READ_TIMEOUT, DEFAULT_SIGNATURE_CLOCK_SKEW, DEFAULT_SIGNATURE_MAX_AGE,
    DEFAULT_SIGNATURE_MAX_BODY_BYTES, ForwardedHeaders, MessageSigning, SigningConfig,
};
pub(crate) use config::{MAX_BODY_READ_TIMEOUT, apply_env};
pub(crate) use digest::DigestCheck;

/// The label of Approov's installation signature.
const LABEL: &str = "install";
/// The only algorithm of installation signatures.
const ALGORITHM: &str = "ecdsa-p256-sha256";
/// The signature parameters a signature may carry (RFC 9421 section 2.3).
const ALLOWED_PARAMETERS: [&str; 6] = ["alg", "created", "expires", "keyid", "nonce", "tag"];

/// The DER prefix of a SubjectPublicKeyInfo holding an uncompressed P-256 point:
/// `SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (65 bytes) }`. Everything
/// in an `ipk` but the point is this fixed prefix, so matching it exactly is a complete and
/// strict parse.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Standard base64 with or without padding: the Android SDK's string-encoded signatures,
/// digests in the string form, and `ipk` claims.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What the signature check found.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Nothing to check (unsigned request or failover token in `verify` mode), or the
    /// signature verified and does not cover the body.
    Done,
    /// The signature verified and covers `content-digest`: the body must be read and checked.
    Digest(DigestCheck),
}

/// The message signature check, prepared once from a [`SigningConfig`] that is not
/// [`MessageSigning::Off`].
#[derive(Debug, Clone)]
pub(crate) struct SigningVerifier {
    require: bool,
    config: SigningConfig,
    /// The header that carries the Approov token: a signature must cover it.
    token_header: HeaderName,
}

impl SigningVerifier {
    pub(crate) fn new(config: SigningConfig, token_header: HeaderName) -> Option<Self> {
        let require = match config.mode {
            MessageSigning::Off => return None,
            MessageSigning::Verify => false,
            MessageSigning::Require => true,
        };
        Some(Self {
            require,
            config,
            token_header,
        })
    }

    /// How long a body whose digest is covered may take to arrive.
    pub(crate) fn body_read_timeout(&self) -> std::time::Duration {
        self.config.body_read_timeout
    }

    /// Checks the request's `install` signature at time `now` (seconds since the epoch).
    ///
    /// Which requests must be signed follows the Approov reference server in `require` mode:
    /// a token with `ipk` must come with a valid signature; a token without `ipk` (failover)
    /// passes unless missing `ipk`s are refused. In `verify` mode only what is signed is
    /// checked.
    pub(crate) fn check<H: HeaderSource + ?Sized>(
        &self,
        claims: &ApproovClaims,
        request: &ApproovRequest<'_, H>,
        now: f64,
    ) -> Result<Outcome, ApproovErrorKind> {
        let headers = request.headers;
        let signed = headers.header_values(&SIGNATURE_INPUT).next().is_some()
            || headers.header_values(&SIGNATURE).next().is_some();
        let ipk = match (claims.raw_claim("ipk"), claims.ipk()) {
            // A failover token has no `ipk`: it cannot be checked, and the reference lets it
            // through signed or not.
            (None, _) if !self.require || self.config.allow_missing_ipk => {
                return Ok(Outcome::Done);
            }
            (None, _) => return Err(ApproovErrorKind::InstallationKeyMissing),
            (Some(_), _) if !signed && self.require => {
                return Err(ApproovErrorKind::SignatureMissing);
            }
            (Some(_), _) if !signed => return Ok(Outcome::Done),
            (Some(_), Some(ipk)) => ipk,
            (Some(_), None) => return Err(ApproovErrorKind::InstallationKeyMalformed),
        };

        let inputs = parse_dictionary(headers, &SIGNATURE_INPUT)?;
        let signatures = parse_dictionary(headers, &SIGNATURE)?;
        let (Some(input), Some(signature)) = (inputs.get(LABEL), signatures.get(LABEL)) else {
            return Err(ApproovErrorKind::SignatureLabelMissing);
        };
        let ListEntry::InnerList(input) = input else {
            return Err(ApproovErrorKind::SignatureMalformed);
        };
        // iOS, Flutter and older Android SDKs send a byte sequence (`:b64:`), Android since
        // late 2025 a string (`"b64"`).
        let signature = match signature {
            ListEntry::Item(item) => decode_binary(&item.bare_item)?,
            ListEntry::InnerList(_) => return Err(ApproovErrorKind::SignatureMalformed),
        };

        self.check_parameters(&input.params, now)?;
        // Parsed once per cached token, kept with its claims.
        let key = claims.installation_key(|| decode_ipk(ipk))?;

        // `jsonwebtoken`'s ES256 verifier takes the raw 64-byte `r||s` form (the JWS form),
        // which is exactly what the SDKs send; going through it keeps the crypto backend the
        // one the application chose (`aws_lc_rs` or `rust_crypto`).
        let view = base::View {
            request,
            config: &self.config,
            token_header: &self.token_header,
        };
        if signature.len() != 64 {
            // Still build the base, so that a malformed `Signature-Input` says so.
            base::signature_base(input, &view, base::Form::Rfc)?;
            return Err(ApproovErrorKind::MessageSignatureInvalid);
        }
        let signature = URL_SAFE_NO_PAD.encode(&signature);
        let verified = base::verify_forms(input, &view, |base| {
            matches!(
                jsonwebtoken::crypto::verify(&signature, base, key, Algorithm::ES256),
                Ok(true)
            )
        })?;
        let Some(built) = verified else {
            return Err(ApproovErrorKind::MessageSignatureInvalid);
        };

        if !built.covers_content_digest {
            // Without `content-digest` the signature says nothing about the body.
            if self.config.require_digest && request.body.is_present() {
                return Err(ApproovErrorKind::ContentDigestMismatch);
            }
            return Ok(Outcome::Done);
        }
        let check = DigestCheck::from_headers(headers, self.config.max_body_bytes)?;
        Ok(Outcome::Digest(check))
    }

    /// `alg`, the allowed parameter names, then the times, in that order.
    fn check_parameters(&self, params: &sfv::Parameters, now: f64) -> Result<(), ApproovErrorKind> {
        match params.get("alg") {
            Some(BareItem::String(alg)) if alg.as_str() == ALGORITHM => {}
            _ => return Err(ApproovErrorKind::SignatureAlgorithmUnsupported),
        }
        if params
            .keys()
            .any(|k| !ALLOWED_PARAMETERS.contains(&k.as_str()))
        {
            return Err(ApproovErrorKind::SignatureParameterNotAllowed);
        }
        let time = |name: &str| -> Result<Option<f64>, ApproovErrorKind> {
            match params.get(name) {
                None => Ok(None),
                Some(BareItem::Integer(t)) => Ok(Some(i64::from(*t) as f64)),
                Some(_) => Err(ApproovErrorKind::SignatureMalformed),
            }
        };
        let skew = self.config.clock_skew.as_secs_f64();
        let created = time("created")?.ok_or(ApproovErrorKind::SignatureExpired)?;
        if created > now + skew {
            return Err(ApproovErrorKind::SignatureExpired);
        }
        match time("expires")? {
            // A signature that expires before it was made is not one a signer meant.
            Some(expires) if expires < created || now > expires + skew => {
                return Err(ApproovErrorKind::SignatureExpired);
            }
            None if self.config.require_expires => {
                return Err(ApproovErrorKind::SignatureExpired);
            }
            _ => {}
        }
        if let Some(max_age) = self.config.max_age
            && now - created > max_age.as_secs_f64() + skew
        {
            return Err(ApproovErrorKind::SignatureExpired);
        }
        Ok(())
    }
}

const SIGNATURE_INPUT: HeaderName = HeaderName::from_static("signature-input");
const SIGNATURE: HeaderName = HeaderName::from_static("signature");
const CONTENT_DIGEST: HeaderName = HeaderName::from_static("content-digest");

/// The most bytes a signature header (`Signature-Input`, `Signature`, `Content-Digest`, all its
/// lines together) may hold. The SDKs send a few hundred; a larger field is refused before it
/// is parsed, so that one request costs at most the verifications the base forms allow.
pub(crate) const MAX_FIELD_BYTES: usize = 4096;

/// Parses every line of a dictionary header as one field (RFC 9110: lines joined with `, `),
/// refusing a field over [`MAX_FIELD_BYTES`] before reading it.
fn parse_dictionary<H: HeaderSource + ?Sized>(
    headers: &H,
    name: &HeaderName,
) -> Result<Dictionary, ApproovErrorKind> {
    let mut joined = Vec::new();
    for (i, value) in headers.header_values(name).enumerate() {
        if i > 0 {
            joined.extend_from_slice(b", ");
        }
        if joined.len() + value.len() > MAX_FIELD_BYTES {
            return Err(ApproovErrorKind::SignatureMalformed);
        }
        joined.extend_from_slice(value);
    }
    Parser::new(&joined)
        .parse::<Dictionary>()
        .map_err(|_| ApproovErrorKind::SignatureMalformed)
}

/// The bytes of a byte sequence, or of a string holding standard base64.
fn decode_binary(item: &BareItem) -> Result<Vec<u8>, ApproovErrorKind> {
    match item {
        BareItem::ByteSequence(bytes) => Ok(bytes.clone()),
        BareItem::String(text) => BASE64
            .decode(text.as_str())
            .map_err(|_| ApproovErrorKind::SignatureMalformed),
        _ => Err(ApproovErrorKind::SignatureMalformed),
    }
}

/// The verifying key from an `ipk` claim: base64 DER SubjectPublicKeyInfo of a P-256 key.
fn decode_ipk(ipk: &str) -> Result<DecodingKey, ApproovErrorKind> {
    let der = BASE64
        .decode(ipk.trim())
        .map_err(|_| ApproovErrorKind::InstallationKeyMalformed)?;
    match der.strip_prefix(P256_SPKI_PREFIX.as_slice()) {
        // The uncompressed point, which both crypto backends take as an EC "DER" key.
        Some(point) if point.len() == 65 && point.first() == Some(&0x04) => {
            Ok(DecodingKey::from_ec_der(point))
        }
        _ => Err(ApproovErrorKind::InstallationKeyMalformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl ecparam -name prime256v1 -genkey | openssl ec -pubout -outform DER | base64`
    const IPK: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1e1Oi6Y/FiU5ZnChVu+8dsJJlixN3kAcZj7U9ZTAlVNNsdJu3BNOdQc+tXgtXkrzPh5bFxqHTckvUQZ5iwE3rQ==";

    /// The parameters of an `install` signature whose `Signature-Input` is `install=(...)`
    /// followed by `params`.
    fn parameters(params: &str) -> sfv::Parameters {
        let header = format!(r#"install=("@method");alg="ecdsa-p256-sha256"{params}"#);
        let dictionary = Parser::new(header.as_bytes())
            .parse::<Dictionary>()
            .unwrap();
        match dictionary.get(LABEL) {
            Some(ListEntry::InnerList(list)) => list.params.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_signature_is_good_up_to_the_instant_its_window_closes_and_not_after() {
        // Every time is a whole number of seconds, so these sums are exact in an f64 and the
        // boundaries are reached exactly.
        let verifier = SigningVerifier::new(
            SigningConfig::new(MessageSigning::Require)
                .with_clock_skew(std::time::Duration::from_secs(30))
                .with_max_age(Some(std::time::Duration::from_secs(300))),
            HeaderName::from_static("approov-token"),
        )
        .unwrap();
        let at = |params: &str, now: f64| verifier.check_parameters(&parameters(params), now);
        let created = 1_700_000_000.0;
        let expired = Err(ApproovErrorKind::SignatureExpired);
        let with_expiry = ";created=1700000000;expires=1700000060";
        // `expires` plus the skew is the last good instant.
        assert_eq!(at(with_expiry, created + 60.0 + 30.0), Ok(()));
        assert_eq!(at(with_expiry, created + 60.0 + 30.5), expired);
        // Without `expires`: `created` plus the maximum age plus the skew.
        assert_eq!(at(";created=1700000000", created + 300.0 + 30.0), Ok(()));
        assert_eq!(at(";created=1700000000", created + 300.0 + 30.5), expired);
        // Made in the future: good up to the skew ahead of the clock.
        assert_eq!(at(";created=1700000000", created - 30.0), Ok(()));
        assert_eq!(at(";created=1700000000", created - 30.5), expired);
    }

    #[test]
    fn an_ipk_spki_of_an_uncompressed_p256_key_from_openssl_is_accepted() {
        assert!(decode_ipk(IPK).is_ok());
    }

    #[test]
    fn an_ipk_that_is_not_p256_spki_is_malformed() {
        let der = BASE64.decode(IPK).unwrap();
        let truncated = BASE64.encode(&der[..90]);
        // The curve OID changed by one bit.
        let mut other_curve = der.clone();
        other_curve[20] ^= 1;
        for ipk in [truncated, BASE64.encode(other_curve), "%%%".to_owned()] {
            assert_eq!(
                decode_ipk(&ipk).err(),
                Some(ApproovErrorKind::InstallationKeyMalformed)
            );
        }
    }
}
