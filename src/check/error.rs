//! Why a request was rejected (per request) and why a configuration was refused (at start-up).

use std::fmt;

/// The answer to a refused request, the same from every front door: `401 Unauthorized`,
/// `content-type: application/json`, body `{}`, as every Approov quickstart answers.
///
/// The body deliberately says nothing: the reason goes to the server's logs only. It is the
/// default rejection of the tower layer and of the actix-web middleware, and the verifier's
/// denial; each front door writes these constants in its framework's types and decides nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonRejection;

impl JsonRejection {
    /// `401 Unauthorized`.
    pub const STATUS: u16 = 401;
    /// The `content-type` of the answer.
    pub const CONTENT_TYPE: &'static str = "application/json";
    /// The body of the answer: nothing about why.
    pub const BODY: &'static str = "{}";
}

/// Why an Approov check failed.
///
/// Each kind has a stable [`reason code`](ApproovErrorKind::reason_code) that is written to the
/// logs and to metrics. The client never sees it: every failure answers the same `401 {}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApproovErrorKind {
    /// When the request has no token header.
    MissingToken,
    /// When the token header is present but empty, blank, or holds only the prefix.
    EmptyToken,
    /// When the token header appears more than once.
    DuplicateToken,
    /// When the token header value is longer than the configured maximum. It is not decoded.
    TokenTooLong,
    /// When the token header value is not visible ASCII (for example non-UTF-8 bytes).
    InvalidTokenEncoding,
    /// When the token is not three base64url segments separated by dots, or the configured
    /// prefix is not followed by whitespace (`Bearer<token>` for the prefix `Bearer`).
    MalformedToken,
    /// When the JOSE header is not a JSON object, or has a `crit` member.
    MalformedHeader,
    /// When the claims segment is not a JSON object, or a registered claim has the wrong type.
    MalformedClaims,
    /// When the header's `alg` is missing, `none`, not one the configured keys accept, or the
    /// header describes an encrypted token (`enc`).
    AlgorithmNotAllowed,
    /// When the token names a `kid` that no configured key has.
    UnknownKeyId,
    /// When the token has no `kid` and not exactly one configured key accepts its algorithm.
    NoMatchingKey,
    /// When keys come from a JWKS URL and no fetch has succeeded yet, or the fetched keys were
    /// dropped because no fetch succeeded for longer than the maximum staleness
    /// (`with_jwks_max_staleness`, `APPROOV_JWKS_MAX_STALENESS_SECONDS`).
    /// Logged at `warn` at most once per 10 s, with the count since the last warning.
    KeysUnavailable,
    /// When the signature does not verify with the selected key.
    InvalidSignature,
    /// When the `exp` claim is missing.
    MissingExpiry,
    /// When the `exp` claim is not a number (a string, `null`, ...).
    InvalidExpiry,
    /// When the token has expired, after the leeway.
    Expired,
    /// When the `nbf` claim is in the future, after the leeway.
    NotYetValid,
    /// When an issuer is configured and the `iss` claim is missing or different.
    InvalidIssuer,
    /// When an audience is configured and the `aud` claim is missing or matches none.
    InvalidAudience,
    /// When token binding is on and a binding header is missing.
    BindingHeaderMissing,
    /// When token binding is on and a binding header appears more than once.
    BindingHeaderRepeated,
    /// When token binding is on and the token has no `pay` claim (a failover token), and
    /// such tokens are not allowed.
    PayClaimMissing,
    /// When the `pay` claim is not a string.
    PayClaimMalformed,
    /// When the `pay` claim does not match the hash of the binding headers.
    PayClaimMismatch,
    /// When message signing is required, the token has a claim whose signature can be checked
    /// (`ipk`, or `mskid` with an account message signing key configured) and the request has
    /// no `Signature-Input` or `Signature` header.
    SignatureMissing,
    /// When a label that must be checked (`install` for a token with `ipk`, `account` for a
    /// token with `mskid` when an account key is configured) is in one of `Signature-Input` and
    /// `Signature` but not in the other; or, when message signing is required, when the
    /// signature headers hold no member that can be checked (only other labels).
    SignatureLabelMissing,
    /// When `Signature-Input`, `Signature` or `Content-Digest` is not a valid structured field.
    SignatureMalformed,
    /// When a signature's `alg` parameter is missing or is not its label's: `ecdsa-p256-sha256`
    /// for `install`, `hmac-sha256` for `account`.
    SignatureAlgorithmUnsupported,
    /// When the signature parameters include one outside `alg`, `created`, `expires`,
    /// `keyid`, `nonce`, `tag`.
    SignatureParameterNotAllowed,
    /// When `created` is missing, in the future beyond the skew, older than the maximum age, or
    /// `expires` has passed, is before `created`, or is missing while required.
    SignatureExpired,
    /// When the body does not match the covered `Content-Digest`, or, with
    /// `APPROOV_SIGNATURE_REQUIRE_DIGEST`, a signed request with a body does not cover it.
    ContentDigestMismatch,
    /// When a body that must be digested is larger than the configured limit.
    BodyTooLarge,
    /// When message signing is required, missing `ipk`s are not allowed
    /// (`APPROOV_ALLOW_MISSING_IPK=false`) and the token has no `ipk` claim.
    InstallationKeyMissing,
    /// When the token's `ipk` claim is not a base64 DER P-256 public key.
    InstallationKeyMalformed,
    /// When the `install` message signature does not verify with the installation key, or does
    /// not cover the method, the URL, the token header or a header it lists.
    MessageSignatureInvalid,
    /// When the server's clock reads a time before 1970 (or not a number): no expiry can be
    /// judged, so every token is refused until the clock is fixed.
    ClockBeforeEpoch,
    /// When the server's clock reads a time before 2026-01-01T00:00:00Z, a date before this
    /// release: a clock that low has not been set (a machine without a real-time clock boots
    /// at 1970 and counts up from there), and every token, expired ones included, would pass
    /// its `exp` check. Every token is refused, cached ones included, until the clock is set.
    /// Not the client's fault; logged at `warn` at most once per 10 s, with the count since the
    /// last warning.
    ClockNotSet,
    /// When the token header holds `NO_NETWORK` (after the prefix) in place of a token: the
    /// Approov SDK could not reach the Approov cloud.
    NoNetwork,
    /// When the token header holds `POOR_NETWORK` (after the prefix) in place of a token: the
    /// Approov SDK's network was too poor to fetch a token.
    PoorNetwork,
    /// When the token header holds `MITM_DETECTED` (after the prefix) in place of a token: the
    /// Approov SDK detected a man in the middle on the device's connection. Logged at `warn` at
    /// most once per 10 s, with the count since the last warning (anyone can send the string,
    /// as often as they like), and at `debug` in between.
    MitmDetected,
    /// When the message signature covers `content-digest` but the front door cannot see the
    /// body (a forward-auth call from nginx `auth_request`, say), so the body cannot be
    /// checked.
    BodyUnavailable,
    /// When a signature must be checked against the request's origin and the request's own
    /// authority (HTTP/2 `:authority`, or an absolute-form target) and its `Host` header
    /// disagree, or `Host` is repeated: the handler may read one while the signature was
    /// checked against the other.
    AuthorityMismatch,
    /// When the `account` message signature (HMAC-SHA256) does not verify with the account
    /// message signing key that the token's `mskid` selects, or does not cover the method, the
    /// URL, the token header or a header it lists. When every account signature fails so, the
    /// key is probably read the wrong way: see the README's "Account signatures".
    AccountSignatureInvalid,
    /// When the request carries an `account` message signature and no configured account
    /// message signing key has the token's `mskid` (`APPROOV_ACCOUNT_MESSAGE_SIGNING_KEY_ID`,
    /// or the ids of a `mskid:key` list), or the `mskid` claim is not a string.
    AccountKeyIdMismatch,
    /// When replay protection is on and a signature of the request was seen before, within
    /// the time it could still be accepted: the same signed bytes sent again (an attacker's
    /// replay, or a client's retry of a request whose answer it lost).
    SignatureReplayed,
    /// When replay protection is on, the store (Redis) did not answer in time, and the policy
    /// is to refuse (`APPROOV_REPLAY_STORE_FAILURE=reject`, the default). Logged at `warn`, at
    /// most once per interval, with the count.
    ReplayStoreUnavailable,
}

impl ApproovErrorKind {
    /// Every kind, in declaration order. Handy for dashboards and exhaustive tests.
    pub const ALL: &'static [ApproovErrorKind] = &[
        Self::MissingToken,
        Self::EmptyToken,
        Self::DuplicateToken,
        Self::TokenTooLong,
        Self::InvalidTokenEncoding,
        Self::MalformedToken,
        Self::MalformedHeader,
        Self::MalformedClaims,
        Self::AlgorithmNotAllowed,
        Self::UnknownKeyId,
        Self::NoMatchingKey,
        Self::KeysUnavailable,
        Self::InvalidSignature,
        Self::MissingExpiry,
        Self::InvalidExpiry,
        Self::Expired,
        Self::NotYetValid,
        Self::InvalidIssuer,
        Self::InvalidAudience,
        Self::BindingHeaderMissing,
        Self::BindingHeaderRepeated,
        Self::PayClaimMissing,
        Self::PayClaimMalformed,
        Self::PayClaimMismatch,
        Self::SignatureMissing,
        Self::SignatureLabelMissing,
        Self::SignatureMalformed,
        Self::SignatureAlgorithmUnsupported,
        Self::SignatureParameterNotAllowed,
        Self::SignatureExpired,
        Self::ContentDigestMismatch,
        Self::BodyTooLarge,
        Self::InstallationKeyMissing,
        Self::InstallationKeyMalformed,
        Self::MessageSignatureInvalid,
        Self::ClockBeforeEpoch,
        Self::ClockNotSet,
        Self::NoNetwork,
        Self::PoorNetwork,
        Self::MitmDetected,
        Self::BodyUnavailable,
        Self::AuthorityMismatch,
        Self::AccountSignatureInvalid,
        Self::AccountKeyIdMismatch,
        Self::SignatureReplayed,
        Self::ReplayStoreUnavailable,
    ];

    /// The stable, machine-readable reason code written to logs and metrics.
    ///
    /// These strings are part of the public contract: they do not change between releases.
    #[must_use]
    pub const fn reason_code(self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::EmptyToken => "empty_token",
            Self::DuplicateToken => "duplicate_token",
            Self::TokenTooLong => "token_too_long",
            Self::InvalidTokenEncoding => "invalid_token_encoding",
            Self::MalformedToken => "malformed_token",
            Self::MalformedHeader => "malformed_header",
            Self::MalformedClaims => "malformed_claims",
            Self::AlgorithmNotAllowed => "algorithm_not_allowed",
            Self::UnknownKeyId => "unknown_kid",
            Self::NoMatchingKey => "no_matching_key",
            Self::KeysUnavailable => "keys_unavailable",
            Self::InvalidSignature => "invalid_signature",
            Self::MissingExpiry => "missing_exp",
            Self::InvalidExpiry => "invalid_exp",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::InvalidIssuer => "invalid_issuer",
            Self::InvalidAudience => "invalid_audience",
            Self::BindingHeaderMissing => "binding_header_missing",
            Self::BindingHeaderRepeated => "binding_header_repeated",
            Self::PayClaimMissing => "pay_missing",
            Self::PayClaimMalformed => "pay_malformed",
            Self::PayClaimMismatch => "pay_mismatch",
            Self::SignatureMissing => "signature_missing",
            Self::SignatureLabelMissing => "signature_label_missing",
            Self::SignatureMalformed => "signature_malformed",
            Self::SignatureAlgorithmUnsupported => "signature_alg_unsupported",
            Self::SignatureParameterNotAllowed => "signature_param_not_allowed",
            Self::SignatureExpired => "signature_expired",
            Self::ContentDigestMismatch => "content_digest_mismatch",
            Self::BodyTooLarge => "body_too_large",
            Self::InstallationKeyMissing => "ipk_missing",
            Self::InstallationKeyMalformed => "ipk_malformed",
            Self::MessageSignatureInvalid => "message_signature_invalid",
            Self::ClockBeforeEpoch => "clock_before_epoch",
            Self::ClockNotSet => "clock_not_set",
            Self::NoNetwork => "no_network",
            Self::PoorNetwork => "poor_network",
            Self::MitmDetected => "mitm_detected",
            Self::BodyUnavailable => "body_unavailable",
            Self::AuthorityMismatch => "authority_mismatch",
            Self::AccountSignatureInvalid => "account_signature_invalid",
            Self::AccountKeyIdMismatch => "account_key_id_mismatch",
            Self::SignatureReplayed => "signature_replayed",
            Self::ReplayStoreUnavailable => "replay_store_unavailable",
        }
    }

    /// Whether the failure is the client's doing (logged at `debug`) rather than a sign of a
    /// server-side problem, such as keys that could not be fetched, or of an attack, such as a
    /// man in the middle the SDK detected (both logged at `warn`).
    #[must_use]
    pub const fn is_client_fault(self) -> bool {
        !matches!(
            self,
            Self::KeysUnavailable
                | Self::ClockBeforeEpoch
                | Self::ClockNotSet
                | Self::MitmDetected
                | Self::ReplayStoreUnavailable
        )
    }
}

impl fmt::Display for ApproovErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason_code())
    }
}

/// A failed Approov check.
///
/// Opaque on purpose: [`kind`](ApproovError::kind) tells why. It never holds the token, the
/// secret or any signature material. The service puts it in the extensions of the rejection
/// response (and, in monitor mode, of the request passed on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApproovError {
    kind: ApproovErrorKind,
}

impl ApproovError {
    pub(crate) const fn new(kind: ApproovErrorKind) -> Self {
        Self { kind }
    }

    /// Why the check failed.
    #[must_use]
    pub const fn kind(&self) -> ApproovErrorKind {
        self.kind
    }
}

impl From<ApproovErrorKind> for ApproovError {
    fn from(kind: ApproovErrorKind) -> Self {
        Self::new(kind)
    }
}

impl fmt::Display for ApproovError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "approov check failed: {}", self.kind.reason_code())
    }
}

impl std::error::Error for ApproovError {}

/// A configuration that cannot be used, found at start-up.
///
/// Every message names the setting (the environment variable when it came from one), says what
/// is wrong and how to fix it, and never includes the value, which may be a secret.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// When no key source is configured at all.
    NoKeySource,
    /// When a variable is set but empty.
    Empty {
        /// The variable or setting.
        variable: &'static str,
    },
    /// When a variable holds a value that cannot be parsed.
    Invalid {
        /// The variable or setting.
        variable: &'static str,
        /// What was expected, e.g. "standard base64".
        expected: &'static str,
    },
    /// When a key file named by a variable cannot be read.
    Io {
        /// The variable or setting.
        variable: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// When key material cannot be decoded (a bad PEM, an unusable JWK, ...).
    Key {
        /// The variable or setting.
        variable: &'static str,
        /// What is wrong with the key, without the key itself.
        reason: &'static str,
    },
    /// When the JWKS URL could not be set up.
    Jwks {
        /// The variable or setting.
        variable: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// When no `jsonwebtoken` crypto provider is available (neither the `aws_lc_rs` nor the
    /// `rust_crypto` feature is on).
    NoCryptoProvider,
    /// When the `.env` file cannot be read, or a line of it does not parse (an unterminated
    /// quote, say, which would swallow the lines after it).
    EnvFile {
        /// The file.
        path: std::path::PathBuf,
        /// The line that does not parse, counting from 1; `None` when the file cannot be read
        /// as text at all.
        line: Option<usize>,
    },
    /// When two settings that exclude each other are both given: two of the three encodings of
    /// the account message signing key (`APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_BASE64URL`,
    /// `..._BASE64`, `..._RAW`), which would leave unsaid which one is meant.
    Conflict {
        /// The setting found first.
        variable: &'static str,
        /// The other one.
        other: &'static str,
    },
    /// When the environment names a key source and the settings file (`.env`, or the file
    /// `APPROOV_ENV_FILE` names) names a different one. Keys are taken from one place only, so
    /// that a settings file nobody meant to load cannot add keys to those the environment
    /// gives. The key sources are `APPROOV_BASE64_SECRET`, `APPROOV_BASE64URL_SECRET`,
    /// `APPROOV_PUBLIC_KEY_PEM`, `APPROOV_JWKS`, `APPROOV_JWKS_URL`, what decides the
    /// fetched keys, `APPROOV_JWKS_CA_FILE` and `APPROOV_JWKS_PROXY`, and the account message
    /// signing key, `APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_BASE64URL`, `..._BASE64`,
    /// `..._RAW` and `APPROOV_ACCOUNT_MESSAGE_SIGNING_KEY_ID`.
    KeySourcesInTwoPlaces {
        /// A key source set in the environment.
        environment: &'static str,
        /// Another key source, named by the file.
        file: &'static str,
        /// The file.
        path: std::path::PathBuf,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoKeySource => f.write_str(
                "no Approov key is configured: set APPROOV_BASE64_SECRET to the output of \
                 `approov secret -get base64` (or set APPROOV_BASE64URL_SECRET, \
                 APPROOV_PUBLIC_KEY_PEM, APPROOV_JWKS or APPROOV_JWKS_URL), or put it in a .env \
                 file; with the builder, add a key before `build()`",
            ),
            // A setting from the builder is not a variable: it cannot be "unset".
            Self::Empty { variable } if !is_env_var(variable) => write!(
                f,
                "{variable} was given an empty value: pass a non-empty one"
            ),
            Self::Empty { variable } => write!(
                f,
                "{variable} is set but empty: give it a value, or unset it to use the default"
            ),
            // The value itself is never shown: it may be a secret.
            Self::Invalid { variable, expected } if !is_env_var(variable) => {
                write!(f, "{variable} was given an invalid value: pass {expected}")
            }
            Self::Invalid { variable, expected } => {
                write!(f, "{variable} has an invalid value: set it to {expected}")
            }
            Self::Io { variable, source } => match *variable {
                "APPROOV_PUBLIC_KEY_PEM" => write!(
                    f,
                    "{variable} is neither PEM text (starting with `-----BEGIN`) nor the path of a \
                     readable file ({}): check the path and its permissions, or give the whole \
                     PEM, BEGIN and END lines included",
                    source.kind()
                ),
                "APPROOV_JWKS" => write!(
                    f,
                    "{variable} is neither JWKS JSON text (starting with `{{`) nor the path of a \
                     readable file ({}): check the path and its permissions, or give the JSON \
                     itself",
                    source.kind()
                ),
                _ => write!(
                    f,
                    "{variable} names a file that cannot be read ({}): check the path and its \
                     permissions",
                    source.kind()
                ),
            },
            Self::Key { variable, reason } => {
                write!(f, "{variable} holds an unusable key: {reason}")
            }
            Self::Jwks { variable, reason } => write!(f, "{variable} cannot be used: {reason}"),
            Self::NoCryptoProvider => f.write_str(
                "no crypto provider: enable the `aws_lc_rs` (default) or `rust_crypto` feature of \
                 tower-approov",
            ),
            // The line's text is never shown: it may hold a secret.
            Self::EnvFile {
                path,
                line: Some(line),
            } => write!(
                f,
                "{}: line {line} does not parse (an unterminated quote?): fix it, or remove it",
                path.display()
            ),
            Self::EnvFile { path, line: None } => write!(
                f,
                "{} cannot be read as UTF-8 text: fix or remove the file",
                path.display()
            ),
            Self::Conflict { variable, other } => write!(
                f,
                "{variable} and {other} are both set: they are two readings of the same key, so \
                 keep only the one that says how your key is written"
            ),
            // Names only, never values.
            Self::KeySourcesInTwoPlaces {
                environment,
                file,
                path,
            } => write!(
                f,
                "{environment} is set in the environment and {file} in {}: keep the keys in one \
                 place (every key variable, APPROOV_JWKS_CA_FILE and APPROOV_JWKS_PROXY in the \
                 environment, or all in the file), so that a settings file cannot add keys to \
                 those of the environment",
                path.display()
            ),
        }
    }
}

/// Whether a `ConfigError`'s `variable` names an environment variable (rather than a builder).
fn is_env_var(variable: &str) -> bool {
    variable.starts_with("APPROOV_")
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
