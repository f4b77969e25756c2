//! Approov message signatures: RFC 9421 HTTP Message Signatures over the request, made by the
//! app with two kinds of key, each under its own label in `Signature-Input` and `Signature`:
//!
//! - `install`: the installation's P-256 key, whose public half is the token's `ipk` claim
//!   (`ecdsa-p256-sha256`);
//! - `account`: the account message signing key, an HMAC-SHA256 key shared by the account's
//!   attested installations and the backend, named by the token's `mskid` claim (`account.rs`).
//!
//! A request may carry either or both, over the same signature base. Which must verify is
//! decided by [`SigningVerifier::check`]. The check runs in three steps, the first two
//! synchronously:
//!
//! 1. [`SigningVerifier::check`] parses `Signature-Input` and `Signature` (RFC 8941 structured
//!    fields), and for each member it can check, checks its parameters, rebuilds the signature
//!    base from the server's own view of the request and verifies the signature.
//! 2. When a verified signature covers `content-digest`, it also parses that header (RFC 9530)
//!    and returns a [`DigestCheck`].
//! 3. Only then is the body read, up to the configured limit, and compared with the digest
//!    (`digest.rs`). The signatures are checked before the body is read on purpose: a request
//!    whose headers do not verify never makes the server buffer its body.

mod account;
mod base;
mod config;
mod digest;
mod fields;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use http::HeaderName;
use jsonwebtoken::{Algorithm, DecodingKey};
use sfv::{BareItem, BareItemFromInput};

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
use fields::{Covered, Member, field_bytes, parse_members};

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
/// digests in the string form, `ipk` claims, and account keys given as standard base64.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The labels of Approov's message signatures, in the order they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Label {
    /// `install`: ECDSA P-256 with the installation key of the token's `ipk`.
    Install,
    /// `account`: HMAC-SHA256 with the account message signing key of the token's `mskid`.
    Account,
}

impl Label {
    const ALL: [Label; 2] = [Label::Install, Label::Account];
    /// The labels' names, in [`Label::ALL`]'s order.
    const NAMES: [&'static str; 2] = [Label::Install.name(), Label::Account.name()];

    /// The label in `Signature-Input` and `Signature`.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Install => "install",
            Self::Account => "account",
        }
    }

    /// The one `alg` of the label's signatures.
    fn algorithm(self) -> &'static str {
        match self {
            Self::Install => "ecdsa-p256-sha256",
            Self::Account => "hmac-sha256",
        }
    }
}

/// A signature that verified: what a replay store needs to record it once every other check
/// of the request has passed, and to forget it when it could no longer be accepted anyway.
///
/// The raw bytes alone do not identify a signature for a replay store: an ECDSA signature
/// `(r, s)` has a second valid form `(r, n - s)` (APPROOV.md section 3b), so a store keys an
/// `install` signature on a normalised form, or on the signature base.
pub(crate) struct VerifiedSignature {
    pub(crate) label: Label,
    /// The signature's bytes as received (64 bytes `r||s`, or the 32-byte HMAC).
    pub(crate) signature: Vec<u8>,
    /// The last instant (seconds since the epoch) at which this signature would still pass:
    /// its `expires`, or `created` plus the maximum age, whichever is first, plus the clock
    /// skew. Infinite for a signature without `expires` when no maximum age is set.
    pub(crate) acceptable_until: f64,
}

/// The label and the times, never the signature's bytes.
impl std::fmt::Debug for VerifiedSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedSignature")
            .field("label", &self.label)
            .field("len", &self.signature.len())
            .field("acceptable_until", &self.acceptable_until)
            .finish()
    }
}

/// The signatures that verified, by [`Label`] (`install`, then `account`).
pub(crate) type Verified = [Option<VerifiedSignature>; 2];

/// What the signature check found.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// The members that verified, by [`Label`]: none for a request with nothing to check (an
    /// unsigned request, or a token whose signatures cannot be checked, where that passes).
    /// The replay protection of a later release records them once every other check passed.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) verified: Verified,
    /// A verified signature covers `content-digest`: the body must be read and checked.
    pub(crate) digest: Option<DigestCheck>,
}

/// The message signature check, prepared once from a [`SigningConfig`] that is not
/// [`MessageSigning::Off`].
#[derive(Debug, Clone)]
pub(crate) struct SigningVerifier {
    require: bool,
    config: SigningConfig,
    /// The header that carries the Approov token: a signature must cover it.
    token_header: HeaderName,
    /// At most one try of an account key's other reading per interval, shared by the clones.
    hint: Arc<account::HintGate>,
}

impl SigningVerifier {
    pub(crate) fn new(config: SigningConfig, token_header: HeaderName) -> Option<Self> {
        let require = match config.mode {
            MessageSigning::Off => {
                if !config.account.is_empty() {
                    tracing::warn!(
                        "an Approov account message signing key is configured but message \
                         signing is off (APPROOV_MESSAGE_SIGNING): account signatures are not \
                         checked"
                    );
                }
                return None;
            }
            MessageSigning::Verify => false,
            MessageSigning::Require => true,
        };
        Some(Self {
            require,
            config,
            token_header,
            hint: Arc::default(),
        })
    }

    /// How long a body whose digest is covered may take to arrive.
    pub(crate) fn body_read_timeout(&self) -> std::time::Duration {
        self.config.body_read_timeout
    }

    /// Whether the token has the claim that makes `label` checkable: `ipk` for `install`;
    /// `mskid` for `account`, when an account key is configured.
    fn checkable(&self, label: Label, claims: &ApproovClaims) -> bool {
        match label {
            Label::Install => claims.raw_claim("ipk").is_some(),
            Label::Account => {
                !self.config.account.is_empty() && claims.raw_claim("mskid").is_some()
            }
        }
    }

    /// Checks the request's message signatures at time `now` (seconds since the epoch).
    ///
    /// A member is *checkable* when its key is at hand: `install` when the token has `ipk`,
    /// `account` when it has `mskid` and an account key is configured.
    ///
    /// - A token with no checkable claim (a failover token: neither `ipk` nor `mskid`) cannot
    ///   be checked: it passes, signed or not, unless `require` refuses missing `ipk`s
    ///   (`ipk_missing`), as the Approov reference server does.
    /// - Otherwise every checkable member the request carries must verify; members that are
    ///   not checkable, and other labels, are ignored. A checkable label in only one of the
    ///   two headers is `signature_label_missing`.
    /// - A request that carries no checkable member passes in `verify` mode; in `require`
    ///   mode it is `signature_missing` when it has no signature headers at all, and
    ///   `signature_label_missing` when its signatures are all of labels that cannot be
    ///   checked (the app signs, but not in a way this configuration can verify).
    pub(crate) fn check<H: HeaderSource + ?Sized>(
        &self,
        claims: &ApproovClaims,
        request: &ApproovRequest<'_, H>,
        now: f64,
    ) -> Result<Outcome, ApproovErrorKind> {
        let checkable = Label::ALL.map(|label| self.checkable(label, claims));
        if !checkable.contains(&true) {
            // A failover token: nothing to check it against. The reference lets it through,
            // signed or not.
            if self.require && !self.config.allow_missing_ipk {
                return Err(ApproovErrorKind::InstallationKeyMissing);
            }
            return Ok(Outcome::default());
        }
        let headers = request.headers;
        // Each header read once: `None` when the request has no line of it.
        let input_field = field_bytes(headers, &SIGNATURE_INPUT)?;
        let signature_field = field_bytes(headers, &SIGNATURE)?;
        if input_field.is_none() && signature_field.is_none() {
            return if self.require {
                Err(ApproovErrorKind::SignatureMissing)
            } else {
                Ok(Outcome::default())
            };
        }
        let mut inputs = parse_members(input_field.as_deref(), Label::NAMES)?.into_members();
        let mut signatures =
            parse_members(signature_field.as_deref(), Label::NAMES)?.into_members();
        let view = base::View {
            request,
            config: &self.config,
            token_header: &self.token_header,
        };
        let mut outcome = Outcome::default();
        let mut covers_content_digest = false;
        for (i, label) in Label::ALL.into_iter().enumerate() {
            if !checkable[i] {
                continue;
            }
            let (input, signature) = match (inputs[i].take(), signatures[i].take()) {
                (None, None) => continue,
                (Some(input), Some(signature)) => (input, signature),
                // Half a signature is not an unsigned request.
                _ => return Err(ApproovErrorKind::SignatureLabelMissing),
            };
            let Member::List(input) = input else {
                return Err(ApproovErrorKind::SignatureMalformed);
            };
            // iOS, Flutter and older Android SDKs send a byte sequence (`:b64:`), Android since
            // late 2025 a string (`"b64"`), and OkHttp 3.5.x to 3.5.7 its account signature too.
            let signature = match signature {
                Member::Item(item) => into_binary(item)?,
                Member::List(_) => return Err(ApproovErrorKind::SignatureMalformed),
            };
            let (acceptable_until, built) = match label {
                Label::Install => self.verify_install(claims, &input, &signature, &view, now)?,
                Label::Account => self.verify_account(claims, &input, &signature, &view, now)?,
            };
            covers_content_digest |= built.covers_content_digest;
            outcome.verified[i] = Some(VerifiedSignature {
                label,
                signature,
                acceptable_until,
            });
        }
        if outcome.verified.iter().all(Option::is_none) {
            // Signed, but with nothing this configuration can check.
            return if self.require {
                Err(ApproovErrorKind::SignatureLabelMissing)
            } else {
                Ok(outcome)
            };
        }

        if !covers_content_digest {
            // Without `content-digest` the signatures say nothing about the body.
            if self.config.require_digest && request.body.is_present() {
                return Err(ApproovErrorKind::ContentDigestMismatch);
            }
            return Ok(outcome);
        }
        outcome.digest = Some(DigestCheck::from_headers(
            headers,
            self.config.max_body_bytes,
        )?);
        Ok(outcome)
    }

    /// The `install` member: the `ipk` key, the parameters, then the ECDSA signature over each
    /// form of the base in turn. Returns when it stops being acceptable, and the base.
    fn verify_install<H: HeaderSource + ?Sized>(
        &self,
        claims: &ApproovClaims,
        input: &Covered<'_>,
        signature: &[u8],
        view: &base::View<'_, '_, H>,
        now: f64,
    ) -> Result<(f64, base::Built), ApproovErrorKind> {
        let ipk = claims
            .ipk()
            .ok_or(ApproovErrorKind::InstallationKeyMalformed)?;
        let acceptable_until = self.check_parameters(input, Label::Install, now)?;
        // Parsed once per cached token, kept with its claims.
        let key = claims.installation_key(|| decode_ipk(ipk))?;
        if !base::covers_request(input, view.token_header) {
            return Err(ApproovErrorKind::MessageSignatureInvalid);
        }
        if signature.len() != 64 {
            // Still build the base, so that a malformed `Signature-Input` says so.
            base::signature_base(input, view, base::Form::Rfc)?;
            return Err(ApproovErrorKind::MessageSignatureInvalid);
        }
        // `jsonwebtoken`'s ES256 verifier takes the raw 64-byte `r||s` form (the JWS form),
        // which is exactly what the SDKs send; going through it keeps the crypto backend the
        // one the application chose (`aws_lc_rs` or `rust_crypto`).
        let signature = URL_SAFE_NO_PAD.encode(signature);
        let verified = base::verify_forms(input, view, |base| {
            matches!(
                jsonwebtoken::crypto::verify(&signature, base, key, Algorithm::ES256),
                Ok(true)
            )
        })?;
        let built = verified.ok_or(ApproovErrorKind::MessageSignatureInvalid)?;
        Ok((acceptable_until, built))
    }

    /// The `account` member: the key of the token's `mskid`, the parameters, then the HMAC
    /// over each form of the base in turn (at most [`base::MAX_VERIFICATIONS`], as for
    /// `install`), compared in constant time.
    fn verify_account<H: HeaderSource + ?Sized>(
        &self,
        claims: &ApproovClaims,
        input: &Covered<'_>,
        signature: &[u8],
        view: &base::View<'_, '_, H>,
        now: f64,
    ) -> Result<(f64, base::Built), ApproovErrorKind> {
        let key = self
            .config
            .account
            .select(claims.mskid())
            .ok_or(ApproovErrorKind::AccountKeyIdMismatch)?;
        let acceptable_until = self.check_parameters(input, Label::Account, now)?;
        if !base::covers_request(input, view.token_header) {
            return Err(ApproovErrorKind::AccountSignatureInvalid);
        }
        // A covered header the request lacks is this signature's failure, not `install`'s.
        let own = |kind| match kind {
            ApproovErrorKind::MessageSignatureInvalid => ApproovErrorKind::AccountSignatureInvalid,
            kind => kind,
        };
        let Ok(tag) = <[u8; account::TAG_LEN]>::try_from(signature) else {
            base::signature_base(input, view, base::Form::Rfc).map_err(own)?;
            return Err(ApproovErrorKind::AccountSignatureInvalid);
        };
        let verified =
            base::verify_forms(input, view, |base| key.verifies(base, &tag)).map_err(own)?;
        match verified {
            Some(built) => Ok((acceptable_until, built)),
            None => {
                self.hint(key, input, view, &tag, now);
                Err(ApproovErrorKind::AccountSignatureInvalid)
            }
        }
    }

    /// After an account signature failed: at most once per interval, whether it verifies with
    /// the key read the other way its text allows (decoded rather than raw, or the other way
    /// round). If so, the key is configured in the wrong variable: say so at `warn`, naming
    /// the variables, never the key. The request is refused all the same. Returns the reading
    /// that verified, for tests.
    fn hint<H: HeaderSource + ?Sized>(
        &self,
        key: &account::AccountKey,
        input: &Covered<'_>,
        view: &base::View<'_, '_, H>,
        tag: &[u8; account::TAG_LEN],
        now: f64,
    ) -> Option<account::Reading> {
        if !key.has_other_reading() || !self.hint.due(now) {
            return None;
        }
        let mut found = None;
        let _ = base::verify_forms(input, view, |base| {
            found = key.other_verifies(base, tag);
            found.is_some()
        });
        if let Some(reading) = found {
            tracing::warn!(
                configured = key.reading().variable(),
                verifies_with = reading.variable(),
                "Approov account signatures do not verify with the account message signing key \
                 as configured, but would with the same key read as {}: move the key there \
                 (such requests are refused until then)",
                reading.variable()
            );
        }
        found
    }

    /// `alg` (the label's own), the allowed parameter names, then the times, in that order.
    /// Returns the last instant the signature is acceptable: its `expires` or `created` plus
    /// the maximum age, whichever is first, plus the clock skew.
    fn check_parameters(
        &self,
        input: &Covered<'_>,
        label: Label,
        now: f64,
    ) -> Result<f64, ApproovErrorKind> {
        match input.param("alg") {
            Some(BareItemFromInput::String(alg)) if alg.as_str() == label.algorithm() => {}
            _ => return Err(ApproovErrorKind::SignatureAlgorithmUnsupported),
        }
        if input
            .params
            .iter()
            .any(|(k, _)| !ALLOWED_PARAMETERS.contains(&k.as_str()))
        {
            return Err(ApproovErrorKind::SignatureParameterNotAllowed);
        }
        let time = |name: &str| -> Result<Option<f64>, ApproovErrorKind> {
            match input.param(name) {
                None => Ok(None),
                Some(BareItemFromInput::Integer(t)) => Ok(Some(i64::from(*t) as f64)),
                Some(_) => Err(ApproovErrorKind::SignatureMalformed),
            }
        };
        let skew = self.config.clock_skew.as_secs_f64();
        let created = time("created")?.ok_or(ApproovErrorKind::SignatureExpired)?;
        if created > now + skew {
            return Err(ApproovErrorKind::SignatureExpired);
        }
        let expires = time("expires")?;
        match expires {
            // A signature that expires before it was made is not one a signer meant.
            Some(expires) if expires < created || now > expires + skew => {
                return Err(ApproovErrorKind::SignatureExpired);
            }
            None if self.config.require_expires => {
                return Err(ApproovErrorKind::SignatureExpired);
            }
            _ => {}
        }
        let aged_out = self
            .config
            .max_age
            .map(|max_age| created + max_age.as_secs_f64());
        if aged_out.is_some_and(|end| now > end + skew) {
            return Err(ApproovErrorKind::SignatureExpired);
        }
        let last = match (expires, aged_out) {
            (Some(a), Some(b)) => a.min(b),
            (Some(t), None) | (None, Some(t)) => t,
            (None, None) => f64::INFINITY,
        };
        Ok(last + skew)
    }
}

static SIGNATURE_INPUT: HeaderName = HeaderName::from_static("signature-input");
static SIGNATURE: HeaderName = HeaderName::from_static("signature");
const CONTENT_DIGEST: HeaderName = HeaderName::from_static("content-digest");

/// A signature value as parsed: the bytes of a byte sequence (taken, not copied), or of a
/// string holding standard base64.
fn into_binary(item: BareItemFromInput<'_>) -> Result<Vec<u8>, ApproovErrorKind> {
    match item {
        BareItemFromInput::ByteSequence(bytes) => Ok(bytes),
        BareItemFromInput::String(text) => BASE64
            .decode(text.as_str())
            .map_err(|_| ApproovErrorKind::SignatureMalformed),
        _ => Err(ApproovErrorKind::SignatureMalformed),
    }
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

    /// `f` of a signature whose `Signature-Input` member is `("@method")` followed by
    /// `params`.
    fn with_raw<T>(params: &str, f: impl FnOnce(&Covered<'_>) -> T) -> T {
        let field = format!(r#"sig=("@method"){params}"#);
        f(&fields::tests::covered(&field, "sig"))
    }

    /// `f` of an `install` signature's parameters: its `alg`, then `params`.
    fn with_install<T>(params: &str, f: impl FnOnce(&Covered<'_>) -> T) -> T {
        with_raw(&format!(r#";alg="ecdsa-p256-sha256"{params}"#), f)
    }

    fn verifier(max_age: Option<u64>) -> SigningVerifier {
        SigningVerifier::new(
            SigningConfig::new(MessageSigning::Require)
                .with_clock_skew(std::time::Duration::from_secs(30))
                .with_max_age(max_age.map(std::time::Duration::from_secs)),
            HeaderName::from_static("approov-token"),
        )
        .unwrap()
    }

    #[test]
    fn a_signature_is_good_up_to_the_instant_its_window_closes_and_not_after() {
        // Every time is a whole number of seconds, so these sums are exact in an f64 and the
        // boundaries are reached exactly.
        let verifier = verifier(Some(300));
        let at = |params: &str, now: f64| {
            with_install(params, |c| {
                verifier.check_parameters(c, Label::Install, now)
            })
            .map(|_| ())
        };
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
    fn a_verified_signature_is_acceptable_until_its_expiry_or_its_maximum_age_plus_the_skew() {
        let created = 1_700_000_000.0;
        let until = |max_age: Option<u64>, params: &str| {
            with_install(params, |c| {
                verifier(max_age).check_parameters(c, Label::Install, created)
            })
        };
        let both = ";created=1700000000;expires=1700000015";
        assert_eq!(until(Some(300), both), Ok(created + 15.0 + 30.0));
        assert_eq!(until(Some(10), both), Ok(created + 10.0 + 30.0));
        assert_eq!(
            until(Some(300), ";created=1700000000"),
            Ok(created + 300.0 + 30.0)
        );
        assert_eq!(until(None, both), Ok(created + 15.0 + 30.0));
        assert_eq!(until(None, ";created=1700000000"), Ok(f64::INFINITY));
    }

    #[test]
    fn each_label_takes_its_own_algorithm_and_refuses_the_others() {
        let verifier = verifier(Some(300));
        let now = 1_700_000_000.0;
        let at = |label: Label, alg: &str| {
            with_raw(&format!(r#";alg="{alg}";created=1700000000"#), |c| {
                verifier.check_parameters(c, label, now).map(|_| ())
            })
        };
        let unsupported = Err(ApproovErrorKind::SignatureAlgorithmUnsupported);
        assert_eq!(at(Label::Install, "ecdsa-p256-sha256"), Ok(()));
        assert_eq!(at(Label::Account, "hmac-sha256"), Ok(()));
        assert_eq!(at(Label::Install, "hmac-sha256"), unsupported);
        assert_eq!(at(Label::Account, "ecdsa-p256-sha256"), unsupported);
        assert_eq!(at(Label::Account, "HMAC-SHA256"), unsupported);
        assert_eq!(
            with_raw(";created=1700000000", |c| verifier.check_parameters(
                c,
                Label::Account,
                now
            )),
            unsupported.map(|()| 0.0)
        );
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

    /// Account (and installation) signatures checked as a front door would: claims from a
    /// token verified by the crate, a request of `(name, value)` pairs, bases written out by
    /// hand and MACs from the test's own HMAC.
    mod members {
        use serde_json::json;

        use super::super::account::Reading;
        use super::super::account::tests::hmac_sha256;
        use super::*;
        use crate::ApproovConfig;

        const SECRET: &[u8] = b"signing-unit-test-secret-of-more-than-32-bytes";
        const NOW: f64 = 1_800_000_000.0;

        fn claims(config: &ApproovConfig, extra: serde_json::Value) -> (ApproovClaims, String) {
            let mut payload = json!({ "exp": NOW + 600.0, "did": "d" });
            for (k, v) in extra.as_object().unwrap() {
                payload[k] = v.clone();
            }
            let token = jsonwebtoken::encode(
                &jsonwebtoken::Header::default(),
                &payload,
                &jsonwebtoken::EncodingKey::from_secret(SECRET).unwrap(),
            )
            .unwrap();
            let claims = config.shared.verifier.verify(&token, NOW).unwrap();
            (claims, token)
        }

        fn config(signing: SigningConfig) -> ApproovConfig {
            ApproovConfig::builder()
                .with_secret(SECRET, None)
                .unwrap()
                .with_signing_config(signing)
                .build()
                .unwrap()
        }

        fn signing(config: &ApproovConfig) -> &SigningVerifier {
            config.shared.signing.as_ref().unwrap()
        }

        /// The base of a GET of `https://api.example.com/v1`, covering the method, the URL
        /// and the token, with the SDKs' parameters for `alg`.
        fn base(token: &str, alg: &str) -> (String, String) {
            let params = format!(
                r#"("@method" "@target-uri" "approov-token");alg="{alg}";created=1800000000;expires=1800000015"#
            );
            let base = format!(
                "\"@method\": GET\n\"@target-uri\": https://api.example.com/v1\n\
                 \"approov-token\": {token}\n\"@signature-params\": {params}"
            );
            (params, base)
        }

        #[cfg(any(feature = "aws_lc_rs", feature = "test-util"))]
        #[test]
        fn the_outcome_holds_each_verified_member_with_its_bytes_and_the_end_of_its_window() {
            use aws_lc_rs::encoding::AsDer as _;
            use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
            let installation = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
            let ipk = BASE64.encode(installation.public_key().as_der().unwrap().as_ref());
            let config = config(
                SigningConfig::new(MessageSigning::Require)
                    .with_account_key_raw("m1:account-key-text")
                    .unwrap(),
            );
            let (claims, token) = claims(&config, json!({ "ipk": ipk, "mskid": "m1" }));
            let (install_params, install_base) = base(&token, "ecdsa-p256-sha256");
            let (account_params, account_base) = base(&token, "hmac-sha256");
            let install_signature = installation
                .sign(
                    &aws_lc_rs::rand::SystemRandom::new(),
                    install_base.as_bytes(),
                )
                .unwrap()
                .as_ref()
                .to_vec();
            let mac = hmac_sha256(b"account-key-text", account_base.as_bytes());
            let input = format!("install={install_params}, account={account_params}");
            let signature = format!(
                "install=:{}:, account=:{}:",
                BASE64.encode(&install_signature),
                BASE64.encode(mac)
            );
            let headers = [
                ("host", "api.example.com"),
                ("approov-token", token.as_str()),
                ("signature-input", input.as_str()),
                ("signature", signature.as_str()),
            ];
            let request = ApproovRequest::new("GET", "/v1", &headers[..]);
            let outcome = signing(&config).check(&claims, &request, NOW).unwrap();
            let [Some(install), Some(account)] = &outcome.verified else {
                panic!("{outcome:?}");
            };
            // `expires` (created + 15) plus the default 30 s of skew comes before the
            // maximum age.
            assert_eq!(
                (
                    install.label,
                    install.signature.as_slice(),
                    install.acceptable_until
                ),
                (Label::Install, install_signature.as_slice(), NOW + 45.0)
            );
            assert_eq!(
                (
                    account.label,
                    account.signature.as_slice(),
                    account.acceptable_until
                ),
                (Label::Account, mac.as_slice(), NOW + 45.0)
            );
            assert!(outcome.digest.is_none());
            // Its Debug shows the lengths, never the bytes.
            assert_eq!(
                format!("{account:?}"),
                "VerifiedSignature { label: Account, len: 32, acceptable_until: 1800000045.0 }"
            );
        }

        #[test]
        fn an_account_signature_of_the_keys_text_names_the_variable_that_reads_it_so_at_most_once_per_interval()
         {
            // The key configured decoded (base64url), the app keying the HMAC with its text.
            let text = "dGV4dC1vZi10aGUta2V5LWJ1dC1ub3QtdGhlLWtleQ";
            let config = config(
                SigningConfig::new(MessageSigning::Require)
                    .with_account_key_base64url(text)
                    .unwrap(),
            );
            let (claims, token) = claims(&config, json!({ "mskid": "m1" }));
            let (params, base) = base(&token, "hmac-sha256");
            let input = format!("account={params}");
            let headers = [
                ("host", "api.example.com"),
                ("approov-token", token.as_str()),
                ("signature-input", input.as_str()),
            ];
            let request = ApproovRequest::new("GET", "/v1", &headers[..]);
            let verifier = signing(&config);
            let view = base::View {
                request: &request,
                config: &verifier.config,
                token_header: &verifier.token_header,
            };
            let input = fields::tests::covered(&input, "account");
            let input = &input;
            let key = verifier.config.account.select(claims.mskid()).unwrap();
            let by_text = hmac_sha256(text.as_bytes(), base.as_bytes());
            let hint = |tag: &[u8; 32], now| verifier.hint(key, input, &view, tag, now);
            assert_eq!(hint(&by_text, NOW), Some(Reading::Raw));
            // Within the interval the other reading is not even tried.
            assert_eq!(hint(&by_text, NOW + 5.0), None);
            // A forgery verifies with neither reading: nothing to say.
            assert_eq!(hint(&[7; 32], NOW + 20.0), None);
            assert_eq!(hint(&by_text, NOW + 30.0), Some(Reading::Raw));
        }
    }
}
