//! [`MessageSigning`] and [`SigningConfig`]: what the message signature check does.

use std::time::Duration;

use http::Uri;
use http::uri::{Authority, Scheme};

use super::account::{self, AccountKeys, Reading};
use crate::check::error::ConfigError;

/// The default clock skew allowed on a signature's `created` and `expires`.
pub const DEFAULT_SIGNATURE_CLOCK_SKEW: Duration = Duration::from_secs(30);
/// The default maximum age of a signature, from its `created`.
pub const DEFAULT_SIGNATURE_MAX_AGE: Duration = Duration::from_secs(300);
/// The default limit on a body read to check its `Content-Digest`: 2 MiB, axum's own default
/// body limit, so that the check refuses nothing axum would have accepted.
pub const DEFAULT_SIGNATURE_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// The default time a body whose digest the signature covers may take to arrive: 10 seconds.
pub const DEFAULT_SIGNATURE_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest body read timeout accepted: one hour.
pub(crate) const MAX_BODY_READ_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// Whether requests must carry an Approov installation message signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MessageSigning {
    /// Signature headers are ignored. The default.
    #[default]
    Off,
    /// The rollout step: the signatures a request carries are checked when the token says how
    /// (an `install` signature when it has an `ipk` claim, an `account` signature when it has
    /// `mskid` and an account key is configured). Unsigned requests, and tokens with neither
    /// (Approov's failover tokens), pass. So in this mode an unsigned request carrying a
    /// stolen token passes too: move to [`Require`](Self::Require) once the apps sign.
    Verify,
    /// As the Approov reference servers do: a token with `ipk` (or with `mskid`, when an
    /// account key is configured) comes from an installation that signs, so its request must
    /// carry a signature that can be checked, and every such signature must verify
    /// (stripping the signature headers gets a stolen token nowhere). A token with neither
    /// comes from Approov's failover system and cannot be checked: it passes unless
    /// [`SigningConfig::with_allow_missing_ipk`] is `false`.
    Require,
}

/// The one family of forwarding headers a proxy in front overwrites, trusted for the scheme
/// and host of `@target-uri`.
///
/// Only one family is trusted: a proxy that rewrites `X-Forwarded-*` passes on whatever
/// `Forwarded` header the client wrote, and the other way round. Of several values (a chain
/// of proxies, or a client's own value followed by the proxy's), the last one is used: the
/// one the nearest proxy added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForwardedHeaders {
    /// `Forwarded` (RFC 7239): its `proto` and `host` parameters.
    Forwarded,
    /// `X-Forwarded-Proto` and `X-Forwarded-Host`.
    XForwarded,
    /// `X-Forwarded-Proto` only, the host coming from the request itself: for proxies that
    /// overwrite the scheme but pass the client's `X-Forwarded-Host` on (AWS ALB, for one).
    XForwardedProto,
}

/// The settings of the message signature check. Every setting has a documented default.
///
/// ```
/// use std::time::Duration;
/// use tower_approov::{MessageSigning, SigningConfig};
///
/// # fn main() -> Result<(), tower_approov::ConfigError> {
/// let signing = SigningConfig::new(MessageSigning::Require)
///     .with_public_origin("https://api.example.com")?
///     .with_max_age(Some(Duration::from_secs(60)));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SigningConfig {
    pub(crate) mode: MessageSigning,
    pub(crate) clock_skew: Duration,
    pub(crate) max_age: Option<Duration>,
    pub(crate) public_origin: Option<Origin>,
    pub(crate) trust_forwarded: Option<ForwardedHeaders>,
    pub(crate) max_body_bytes: usize,
    pub(crate) body_read_timeout: Duration,
    pub(crate) allow_missing_ipk: bool,
    pub(crate) require_expires: bool,
    pub(crate) require_digest: bool,
    pub(crate) account: AccountKeys,
}

impl Default for SigningConfig {
    fn default() -> Self {
        Self::new(MessageSigning::Off)
    }
}

impl SigningConfig {
    /// A configuration in this mode with every other setting at its default.
    pub fn new(mode: MessageSigning) -> Self {
        Self {
            mode,
            clock_skew: DEFAULT_SIGNATURE_CLOCK_SKEW,
            max_age: Some(DEFAULT_SIGNATURE_MAX_AGE),
            public_origin: None,
            trust_forwarded: None,
            max_body_bytes: DEFAULT_SIGNATURE_MAX_BODY_BYTES,
            body_read_timeout: DEFAULT_SIGNATURE_BODY_READ_TIMEOUT,
            allow_missing_ipk: true,
            require_expires: false,
            require_digest: false,
            account: AccountKeys::default(),
        }
    }

    /// The mode. Defaults to [`MessageSigning::Off`].
    pub fn with_mode(mut self, mode: MessageSigning) -> Self {
        self.mode = mode;
        self
    }

    /// Clock skew allowed between the device and the server on `created` (not in the future
    /// beyond it) and `expires` (not passed by more than it). Defaults to 30 s: unlike Approov
    /// tokens, which the Approov cloud stamps, signatures are stamped by the device's own
    /// clock, and the SDK's signatures expire 15 s after `created`.
    pub fn with_clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = skew;
        self
    }

    /// The oldest signature accepted, measured from `created` (plus the clock skew), whatever
    /// its `expires` says; `None` leaves only `expires`. Defaults to 5 minutes, which bounds
    /// signatures that carry no `expires`.
    pub fn with_max_age(mut self, max_age: Option<Duration>) -> Self {
        self.max_age = max_age;
        self
    }

    /// The origin clients use to reach this service, such as `https://api.example.com`, used
    /// for `@target-uri`, `@scheme` and `@authority` instead of what the request says. Set it
    /// when a proxy or load balancer sits in front: the app signed the URL it called, not the
    /// one the proxy forwards to. Defaults to none: the trusted forwarding headers if any, else
    /// the request's own scheme (HTTP/2, or an absolute URI) and authority (else `Host`), and
    /// `https` when the request has no scheme, as an HTTP/1.1 request in origin form has not:
    /// mobile apps call `https` (iOS ATS and Android's cleartext rules block plain `http`), so
    /// that is what they signed.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] unless `origin` is `http` or `https`, a host, and an optional
    /// port, with no path, query or user info.
    pub fn with_public_origin(mut self, origin: &str) -> Result<Self, ConfigError> {
        self.public_origin = Some(Origin::parse(origin, "SigningConfig::with_public_origin")?);
        Ok(self)
    }

    /// Which forwarding headers to take the scheme and host from when no public origin is set:
    /// `Forwarded` or `X-Forwarded-*`, never both, and the last value (the nearest proxy's).
    /// `None` trusts neither. Defaults to `None`: a client can write these headers itself, so
    /// trust only the family your proxy overwrites.
    pub fn with_trust_forwarded_headers(mut self, headers: Option<ForwardedHeaders>) -> Self {
        self.trust_forwarded = headers;
        self
    }

    /// In [`MessageSigning::Require`], whether a token that cannot be signature-checked (an
    /// Approov failover token: no `ipk`, and no `mskid` or no account key configured) passes
    /// unsigned. Defaults to `true`, as in the Approov reference: `false` rejects such tokens
    /// ([`InstallationKeyMissing`](crate::ApproovErrorKind::InstallationKeyMissing)), which
    /// means every request fails while Approov fails over.
    pub fn with_allow_missing_ipk(mut self, allow: bool) -> Self {
        self.allow_missing_ipk = allow;
        self
    }

    /// Whether a signature must carry `expires`. Defaults to `false`: the SDKs send it, but
    /// RFC 9421 makes it optional, and the maximum age bounds a signature without it.
    pub fn with_require_expires(mut self, require: bool) -> Self {
        self.require_expires = require;
        self
    }

    /// Whether a signed request with a body must cover `content-digest`. Defaults to `false`,
    /// because iOS digests bodies only when the app asks for it and OkHttp not for streamed
    /// bodies. Without it, a signature that does not cover `content-digest` says nothing
    /// about the body, and the body is not checked at all.
    pub fn with_require_digest(mut self, require: bool) -> Self {
        self.require_digest = require;
        self
    }

    /// The largest body read to check a covered `Content-Digest`; larger bodies are refused
    /// with [`BodyTooLarge`](crate::ApproovErrorKind::BodyTooLarge) without reading past the
    /// limit. Defaults to 2 MiB ([`DEFAULT_SIGNATURE_MAX_BODY_BYTES`]).
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// How long a body whose digest the signature covers may take to arrive, from the moment
    /// the layer starts reading it; a body still incomplete then is refused
    /// ([`ContentDigestMismatch`](crate::ApproovErrorKind::ContentDigestMismatch), as a body
    /// that failed to arrive), so that a client trickling bytes cannot hold the inner
    /// service's readiness and up to the body limit in memory. Defaults to 10 seconds
    /// ([`DEFAULT_SIGNATURE_BODY_READ_TIMEOUT`]), far more than a phone needs for 2 MiB.
    /// Zero, or more than an hour, is a [`ConfigError`] from
    /// [`build`](crate::ApproovConfigBuilder::build).
    pub fn with_body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Adds account message signing keys as printed by `approov secret -messageSigningKey
    /// get-base64url`, decoded from base64url (padded or not), as
    /// `APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_BASE64URL` reads them: one key, or a
    /// comma-separated list of `key` or `mskid:key` entries for a rotation. Text of several
    /// lines (the CLI's output pasted whole) gives its last line. Defaults to no key: `account`
    /// signatures are not checked (and are ignored). Which bytes key the HMAC is not settled in
    /// public: when every account signature fails with `account_signature_invalid`, see the
    /// README's "Account signatures" (a warning at most every 10 s says when the key's text
    /// itself, [`with_account_key_raw`](Self::with_account_key_raw), would verify them).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] or [`ConfigError::Invalid`] for text that is no such list, a key
    /// over 1024 bytes or more than 8 keys; two keys without an `mskid`, or two with the same
    /// one, are refused by [`build`](crate::ApproovConfigBuilder::build).
    pub fn with_account_key_base64url(mut self, keys: &str) -> Result<Self, ConfigError> {
        const SETTING: &str = "SigningConfig::with_account_key_base64url";
        self.account.add_text(keys, Reading::Base64Url, SETTING)?;
        Ok(self)
    }

    /// As [`with_account_key_base64url`](Self::with_account_key_base64url), each key decoded
    /// from standard base64 (padded or not), as `APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_BASE64`
    /// reads them.
    ///
    /// # Errors
    ///
    /// As [`with_account_key_base64url`](Self::with_account_key_base64url).
    pub fn with_account_key_base64(mut self, keys: &str) -> Result<Self, ConfigError> {
        const SETTING: &str = "SigningConfig::with_account_key_base64";
        self.account.add_text(keys, Reading::Base64, SETTING)?;
        Ok(self)
    }

    /// As [`with_account_key_base64url`](Self::with_account_key_base64url), each key's text
    /// itself keying the HMAC (its UTF-8 bytes, not decoded), as
    /// `APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_RAW` reads them, and as Approov's test SDK keys
    /// its HMAC with the text of a base64url key. A key containing `:` must be given with its
    /// `mskid:` first.
    ///
    /// # Errors
    ///
    /// As [`with_account_key_base64url`](Self::with_account_key_base64url).
    pub fn with_account_key_raw(mut self, keys: &str) -> Result<Self, ConfigError> {
        const SETTING: &str = "SigningConfig::with_account_key_raw";
        self.account.add_text(keys, Reading::Raw, SETTING)?;
        Ok(self)
    }

    /// Adds one account message signing key given as the bytes that key the HMAC, under its
    /// `mskid` if given (else under [`with_account_key_id`](Self::with_account_key_id), or
    /// for any `mskid` when that is unset too).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Empty`] for an empty key; [`ConfigError::Invalid`] for a key over 1024
    /// bytes, more than 8 keys, or an `mskid` that is not 1 to 64 visible ASCII characters
    /// without `,` or `:`.
    pub fn with_account_key(
        mut self,
        key: &[u8],
        mskid: Option<&str>,
    ) -> Result<Self, ConfigError> {
        self.account
            .add_bytes(key, mskid, "SigningConfig::with_account_key")?;
        Ok(self)
    }

    /// The `mskid` of the account key given without one, as
    /// `APPROOV_ACCOUNT_MESSAGE_SIGNING_KEY_ID` says: a token whose `mskid` differs is refused
    /// when its request carries an `account` signature
    /// ([`AccountKeyIdMismatch`](crate::ApproovErrorKind::AccountKeyIdMismatch)). Defaults to
    /// none: a single key given without an `mskid` then checks the account signatures of every
    /// token that has one. Set it (the CLI prints the id with the key) so that a token of
    /// another key, after a rotation, says so in the logs rather than failing its signature.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] unless `mskid` is 1 to 64 visible ASCII characters without
    /// `,` or `:`. [`build`](crate::ApproovConfigBuilder::build) refuses a key id when every
    /// key has its own.
    pub fn with_account_key_id(mut self, mskid: &str) -> Result<Self, ConfigError> {
        self.account
            .set_key_id(mskid, "SigningConfig::with_account_key_id")?;
        Ok(self)
    }

    /// The mode.
    #[must_use]
    pub fn mode(&self) -> MessageSigning {
        self.mode
    }
}

/// A public origin: scheme and authority, normalised (lower case, no default port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) scheme: Box<str>,
    pub(crate) authority: Box<str>,
}

impl Origin {
    fn parse(origin: &str, variable: &'static str) -> Result<Self, ConfigError> {
        let origin = origin.trim();
        if origin.is_empty() {
            return Err(ConfigError::Empty { variable });
        }
        let invalid = || ConfigError::Invalid {
            variable,
            expected: "an origin such as `https://api.example.com` or `http://localhost:8080`",
        };
        let uri: Uri = origin.parse().map_err(|_| invalid())?;
        let parts = uri.into_parts();
        let (Some(scheme), Some(authority)) = (parts.scheme, parts.authority) else {
            return Err(invalid());
        };
        let path_ok = parts
            .path_and_query
            .as_ref()
            .is_none_or(|p| (p.path() == "/" || p.path().is_empty()) && p.query().is_none());
        let scheme_ok = scheme == Scheme::HTTP || scheme == Scheme::HTTPS;
        if !path_ok || !scheme_ok || authority.as_str().contains('@') {
            return Err(invalid());
        }
        Ok(Self {
            authority: normalize_authority(scheme.as_str(), &authority).into(),
            scheme: scheme.as_str().to_ascii_lowercase().into(),
        })
    }
}

/// Lower case, default port removed (RFC 9421 section 2.2.3).
pub(crate) fn normalize_authority(scheme: &str, authority: &Authority) -> String {
    let host = authority.host().to_ascii_lowercase();
    match authority.port_u16() {
        Some(80) if scheme.eq_ignore_ascii_case("http") => host,
        Some(443) if scheme.eq_ignore_ascii_case("https") => host,
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

/// Applies the `APPROOV_*` message signing variables to `config`.
pub(crate) fn apply_env(
    config: &mut SigningConfig,
    var: &dyn Fn(&'static str) -> Result<Option<String>, ConfigError>,
) -> Result<(), ConfigError> {
    const MODE: &str = "APPROOV_MESSAGE_SIGNING";
    if let Some(v) = var(MODE)? {
        config.mode = match v.trim().to_ascii_lowercase().as_str() {
            "off" => MessageSigning::Off,
            "verify" => MessageSigning::Verify,
            "require" => MessageSigning::Require,
            _ => {
                return Err(ConfigError::Invalid {
                    variable: MODE,
                    expected: "`off`, `verify` or `require`",
                });
            }
        };
    }
    if let Some(v) = var("APPROOV_PUBLIC_ORIGIN")? {
        config.public_origin = Some(Origin::parse(&v, "APPROOV_PUBLIC_ORIGIN")?);
    }
    const FORWARDED: &str = "APPROOV_TRUST_FORWARDED_HEADERS";
    if let Some(v) = var(FORWARDED)? {
        config.trust_forwarded = match v.trim().to_ascii_lowercase().as_str() {
            "forwarded" => Some(ForwardedHeaders::Forwarded),
            "x-forwarded" => Some(ForwardedHeaders::XForwarded),
            "x-forwarded-proto" => Some(ForwardedHeaders::XForwardedProto),
            // The old boolean: `false` still means "trust none". `true` used to trust both
            // families, which let a client's own `Forwarded` choose `@authority` behind a
            // proxy that only rewrites `X-Forwarded-*`: the family must now be named.
            "false" | "0" | "no" | "off" | "none" => None,
            _ => {
                return Err(ConfigError::Invalid {
                    variable: FORWARDED,
                    expected: "`forwarded` or `x-forwarded`, the one header family your proxy \
                               overwrites, or `x-forwarded-proto` when it overwrites only the \
                               scheme (`true` no longer works: name the family), or `false`",
                });
            }
        };
    }
    let flag = |name: &'static str, value: &mut bool| -> Result<(), ConfigError> {
        if let Some(v) = var(name)? {
            *value = crate::check::parse::parse_bool(&v, name)?;
        }
        Ok(())
    };
    flag("APPROOV_ALLOW_MISSING_IPK", &mut config.allow_missing_ipk)?;
    flag(
        "APPROOV_SIGNATURE_REQUIRE_EXPIRES",
        &mut config.require_expires,
    )?;
    flag(
        "APPROOV_SIGNATURE_REQUIRE_DIGEST",
        &mut config.require_digest,
    )?;
    let seconds = |v: &str, variable: &'static str| {
        v.trim()
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| ConfigError::Invalid {
                variable,
                expected: "a whole number of seconds",
            })
    };
    if let Some(v) = var("APPROOV_SIGNATURE_CLOCK_SKEW_SECONDS")? {
        config.clock_skew = seconds(&v, "APPROOV_SIGNATURE_CLOCK_SKEW_SECONDS")?;
    }
    if let Some(v) = var("APPROOV_SIGNATURE_MAX_AGE_SECONDS")? {
        // `0` turns the maximum age off, leaving `expires`.
        let age = seconds(&v, "APPROOV_SIGNATURE_MAX_AGE_SECONDS")?;
        config.max_age = (!age.is_zero()).then_some(age);
    }
    const BODY_READ_TIMEOUT: &str = "APPROOV_SIGNATURE_BODY_READ_TIMEOUT_SECONDS";
    if let Some(v) = var(BODY_READ_TIMEOUT)? {
        config.body_read_timeout = seconds(&v, BODY_READ_TIMEOUT)
            .ok()
            .filter(|t| !t.is_zero() && *t <= MAX_BODY_READ_TIMEOUT)
            .ok_or(ConfigError::Invalid {
                variable: BODY_READ_TIMEOUT,
                expected: "a whole number of seconds from 1 to 3600",
            })?;
    }
    if let Some(v) = var("APPROOV_SIGNATURE_MAX_BODY_BYTES")? {
        config.max_body_bytes = v.trim().parse().map_err(|_| ConfigError::Invalid {
            variable: "APPROOV_SIGNATURE_MAX_BODY_BYTES",
            expected: "a whole number of bytes",
        })?;
    }
    apply_account_env(config, var)
}

/// The account message signing key variables: one of the three readings of the key (two are a
/// [`ConfigError::Conflict`]), and the expected key id.
fn apply_account_env(
    config: &mut SigningConfig,
    var: &dyn Fn(&'static str) -> Result<Option<String>, ConfigError>,
) -> Result<(), ConfigError> {
    let mut keys_variable = None;
    for (variable, reading) in [
        (account::BASE64URL_VAR, Reading::Base64Url),
        (account::BASE64_VAR, Reading::Base64),
        (account::RAW_VAR, Reading::Raw),
    ] {
        let Some(text) = var(variable)? else { continue };
        // The text copy of the key is wiped when dropped, like the key's bytes.
        let text = zeroize::Zeroizing::new(text);
        if let Some(first) = keys_variable {
            return Err(ConfigError::Conflict {
                variable: first,
                other: variable,
            });
        }
        keys_variable = Some(variable);
        config.account.add_text(&text, reading, variable)?;
    }
    if let Some(id) = var(account::KEY_ID_VAR)? {
        config.account.set_key_id(&id, account::KEY_ID_VAR)?;
    }
    config.account.validate(
        keys_variable.unwrap_or(account::BASE64URL_VAR),
        account::KEY_ID_VAR,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_origin_is_normalised_to_lower_case_without_its_default_port() {
        let origin = Origin::parse("HTTPS://API.Example.com:443/", "test").unwrap();
        assert_eq!(&*origin.scheme, "https");
        assert_eq!(&*origin.authority, "api.example.com");
        let origin = Origin::parse("http://localhost:8080", "test").unwrap();
        assert_eq!(&*origin.authority, "localhost:8080");
    }

    #[test]
    fn a_public_origin_with_a_path_query_user_or_other_scheme_is_refused() {
        for origin in [
            "https://api.example.com/v1",
            "https://api.example.com/?a=1",
            "https://user@api.example.com",
            "ftp://api.example.com",
            "api.example.com",
        ] {
            assert!(
                matches!(
                    Origin::parse(origin, "test"),
                    Err(ConfigError::Invalid { .. })
                ),
                "{origin}"
            );
        }
    }
}
