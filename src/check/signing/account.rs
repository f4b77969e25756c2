//! The account message signing keys: the HMAC-SHA256 keys of `account` signatures, each known by
//! its id (the token's `mskid`), from `APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_*` or the builder.
//!
//! Which bytes key the HMAC is not settled in public (APPROOV.md section 3b): Approov's own test
//! SDK keys it with the *text* of a base64url string, Approov's Node quickstart accepts the key
//! decoded (`..._BASE64URL`, `..._BASE64`) or as its text (`..._RAW`). Each variable reads the
//! key exactly as its name says. Each key also remembers the other reading its text allows, only
//! to tell the operator, at most once per [`HINT_INTERVAL`], when signatures that fail with the
//! configured reading would verify with the other one. Such requests are still refused.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use super::BASE64;
use crate::check::error::ConfigError;

/// The most account keys: the key in force and the ones being rotated in or out
/// (`approov secret -messageSigningKey change`), with room to spare.
pub(crate) const MAX_ACCOUNT_KEYS: usize = 8;
/// The longest key id (`mskid`, `APPROOV_ACCOUNT_MESSAGE_SIGNING_KEY_ID`). Approov's are a few
/// characters.
pub(crate) const MAX_KEY_ID_LEN: usize = 64;
/// The longest account key, in bytes. Approov's keys are under a hundred; HMAC takes any length,
/// but a key of kilobytes is a file pasted by mistake.
pub(crate) const MAX_ACCOUNT_KEY_BYTES: usize = 1024;
/// The length of an HMAC-SHA256 tag: an `account` signature is exactly this long.
pub(crate) const TAG_LEN: usize = 32;
/// The shortest time between two tries of a key's other reading (see the module docs).
pub(crate) const HINT_INTERVAL_SECONDS: u64 = 10;

/// The variables of the account message signing key, in the order they are read.
pub(crate) const BASE64URL_VAR: &str = "APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_BASE64URL";
pub(crate) const BASE64_VAR: &str = "APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_BASE64";
pub(crate) const RAW_VAR: &str = "APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_RAW";
pub(crate) const KEY_ID_VAR: &str = "APPROOV_ACCOUNT_MESSAGE_SIGNING_KEY_ID";

/// How a key's text was read into the bytes that key the HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// Decoded from base64url, padded or not (`..._BASE64URL`).
    Base64Url,
    /// Decoded from standard base64, padded or not (`..._BASE64`).
    Base64,
    /// The text's own bytes (`..._RAW`).
    Raw,
    /// Bytes given as bytes (`SigningConfig::with_account_key`): no text to read otherwise.
    Bytes,
}

impl Reading {
    /// The variable that reads a key this way, for the operator's hint.
    pub(crate) fn variable(self) -> &'static str {
        match self {
            Self::Base64Url => BASE64URL_VAR,
            Self::Base64 => BASE64_VAR,
            Self::Raw => RAW_VAR,
            Self::Bytes => "SigningConfig::with_account_key",
        }
    }
}

/// An HMAC-SHA256 key, prepared once. With `aws_lc_rs`, aws-lc's key, whose inner and outer
/// pad states are computed at start-up and wiped on drop; with `rust_crypto` only,
/// `jsonwebtoken`'s HMAC key (which, like the token secrets' on that backend, keeps a copy of
/// the key that is not wiped).
#[derive(Clone)]
struct HmacKey {
    #[cfg(feature = "aws_lc_rs")]
    key: aws_lc_rs::hmac::Key,
    #[cfg(not(feature = "aws_lc_rs"))]
    key: jsonwebtoken::EncodingKey,
}

impl HmacKey {
    /// The key of these bytes; `None` if the backend cannot take them (it takes any bytes).
    fn new(bytes: &[u8]) -> Option<Self> {
        Some(Self {
            #[cfg(feature = "aws_lc_rs")]
            key: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, bytes),
            #[cfg(not(feature = "aws_lc_rs"))]
            key: jsonwebtoken::EncodingKey::from_secret(bytes).ok()?,
        })
    }

    /// Whether `tag` is the HMAC-SHA256 of `message` under this key. The tags are compared in
    /// constant time, so that the time a forgery takes to fail says nothing of how many of its
    /// bytes were right.
    fn verifies(&self, message: &[u8], tag: &[u8; TAG_LEN]) -> bool {
        #[cfg(feature = "aws_lc_rs")]
        {
            let expected = aws_lc_rs::hmac::sign(&self.key, message);
            bool::from(expected.as_ref().ct_eq(tag))
        }
        #[cfg(not(feature = "aws_lc_rs"))]
        {
            let Ok(text) =
                jsonwebtoken::crypto::sign(message, &self.key, jsonwebtoken::Algorithm::HS256)
            else {
                return false;
            };
            let mut expected = Zeroizing::new([0u8; TAG_LEN]);
            matches!(
                URL_SAFE_NO_PAD.decode_slice(&text, &mut *expected),
                Ok(TAG_LEN)
            ) && bool::from(expected.ct_eq(tag))
        }
    }
}

/// One account message signing key.
#[derive(Clone)]
pub(crate) struct AccountKey {
    /// The `mskid` of a `mskid:key` entry; `None` for a key given alone, whose id is then
    /// [`AccountKeys::key_id`], if any.
    id: Option<Box<str>>,
    reading: Reading,
    hmac: HmacKey,
    /// The key read the other way its text allows (the text itself for a decoded key, the
    /// decoded text for a raw one), only for the operator's hint: never to accept a request.
    other: Option<(Reading, HmacKey)>,
}

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountKey")
            .field("mskid", &self.id)
            .field("reading", &self.reading)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl AccountKey {
    /// A key of these bytes, bounded in length.
    fn new(
        bytes: &[u8],
        id: Option<Box<str>>,
        reading: Reading,
        other: Option<(Reading, HmacKey)>,
        variable: &'static str,
    ) -> Result<Self, ConfigError> {
        if bytes.is_empty() {
            return Err(ConfigError::Empty { variable });
        }
        if bytes.len() > MAX_ACCOUNT_KEY_BYTES {
            return Err(ConfigError::Invalid {
                variable,
                expected: "keys of at most 1024 bytes (Approov's are under a hundred)",
            });
        }
        if bytes.len() < 32 {
            tracing::warn!(
                variable,
                length = bytes.len(),
                "an Approov account message signing key is shorter than 32 bytes: check that the \
                 whole key was copied"
            );
        }
        let hmac = HmacKey::new(bytes).ok_or(ConfigError::Key {
            variable,
            reason: "the key cannot be used as an HMAC-SHA256 key",
        })?;
        Ok(Self {
            id,
            reading,
            hmac,
            other,
        })
    }

    /// A key from its text, read as `reading` says.
    fn from_text(
        text: &str,
        reading: Reading,
        id: Option<Box<str>>,
        variable: &'static str,
    ) -> Result<Self, ConfigError> {
        let invalid = |expected| ConfigError::Invalid { variable, expected };
        let bytes = match reading {
            Reading::Base64Url => decode_base64url(text).ok_or(invalid(
                "base64url keys (`key` or `mskid:key`, comma-separated), as printed by `approov \
                 secret -messageSigningKey get-base64url`",
            ))?,
            Reading::Base64 | Reading::Bytes => decode_base64(text).ok_or(invalid(
                "standard base64 keys (`key` or `mskid:key`, comma-separated)",
            ))?,
            Reading::Raw => Zeroizing::new(text.as_bytes().to_vec()),
        };
        let other = match reading {
            Reading::Base64Url | Reading::Base64 | Reading::Bytes => {
                HmacKey::new(text.as_bytes()).map(|key| (Reading::Raw, key))
            }
            Reading::Raw => decode_base64url(text)
                .map(|b| (Reading::Base64Url, b))
                .or_else(|| decode_base64(text).map(|b| (Reading::Base64, b)))
                .filter(|(_, b)| !b.is_empty())
                .and_then(|(reading, b)| Some((reading, HmacKey::new(&b)?))),
        };
        Self::new(&bytes, id, reading, other, variable)
    }

    /// Whether `tag` is this key's HMAC of `base`, compared in constant time.
    pub(crate) fn verifies(&self, base: &[u8], tag: &[u8; TAG_LEN]) -> bool {
        self.hmac.verifies(base, tag)
    }

    /// How the key was read from its text.
    pub(crate) fn reading(&self) -> Reading {
        self.reading
    }

    /// Whether `tag` is the HMAC of `base` under the key's other reading, and which reading
    /// that is: for the operator's hint only.
    pub(crate) fn other_verifies(&self, base: &[u8], tag: &[u8; TAG_LEN]) -> Option<Reading> {
        let (reading, key) = self.other.as_ref()?;
        key.verifies(base, tag).then_some(*reading)
    }

    /// Whether the key has another reading to try for the hint.
    pub(crate) fn has_other_reading(&self) -> bool {
        self.other.is_some()
    }
}

fn decode_base64url(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()
        .map(Zeroizing::new)
}

fn decode_base64(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    BASE64.decode(text).ok().map(Zeroizing::new)
}

/// Every account message signing key, and the id of the one given without its own.
#[derive(Clone, Default)]
pub(crate) struct AccountKeys {
    keys: Vec<AccountKey>,
    /// `APPROOV_ACCOUNT_MESSAGE_SIGNING_KEY_ID`: the `mskid` of the key given without one.
    key_id: Option<Box<str>>,
}

/// The keys' ids and readings, never the keys.
impl fmt::Debug for AccountKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountKeys")
            .field("keys", &self.keys)
            .field("key_id", &self.key_id)
            .finish()
    }
}

impl AccountKeys {
    /// Whether no account key is configured: then no `account` signature can be checked.
    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Adds the keys of `text`: a comma-separated list of `key` or `mskid:key` entries, each
    /// key read as `reading` says. A value of several lines is the CLI's output pasted whole
    /// (`approov secret -messageSigningKey get-base64url` prints a banner, a prompt, the key id
    /// and the encoding before the key): its last non-empty line is the key.
    pub(crate) fn add_text(
        &mut self,
        text: &str,
        reading: Reading,
        variable: &'static str,
    ) -> Result<(), ConfigError> {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let last = lines.next_back().unwrap_or_default();
        if lines.next().is_some() {
            tracing::info!(
                variable,
                "the account message signing key has several lines (the CLI's output pasted \
                 whole?): its last line is taken as the key"
            );
        }
        if last.is_empty() {
            return Err(ConfigError::Empty { variable });
        }
        for entry in last.split(',') {
            let entry = entry.trim();
            if entry.is_empty() {
                return Err(ConfigError::Invalid {
                    variable,
                    expected: "a comma-separated list of `key` or `mskid:key` entries, none of \
                               them empty",
                });
            }
            let (id, key) = match entry.split_once(':') {
                Some((id, key)) => (Some(parse_key_id(id, variable)?), key.trim()),
                None => (None, entry),
            };
            self.push(AccountKey::from_text(key, reading, id, variable)?, variable)?;
        }
        Ok(())
    }

    /// Adds a key given as its bytes, under an optional `mskid`.
    pub(crate) fn add_bytes(
        &mut self,
        bytes: &[u8],
        mskid: Option<&str>,
        variable: &'static str,
    ) -> Result<(), ConfigError> {
        let id = mskid.map(|id| parse_key_id(id, variable)).transpose()?;
        self.push(
            AccountKey::new(bytes, id, Reading::Bytes, None, variable)?,
            variable,
        )
    }

    fn push(&mut self, key: AccountKey, variable: &'static str) -> Result<(), ConfigError> {
        if self.keys.len() >= MAX_ACCOUNT_KEYS {
            return Err(ConfigError::Invalid {
                variable,
                expected: "at most 8 account message signing keys",
            });
        }
        self.keys.push(key);
        Ok(())
    }

    /// Sets the expected `mskid` of the key given without one.
    pub(crate) fn set_key_id(
        &mut self,
        id: &str,
        variable: &'static str,
    ) -> Result<(), ConfigError> {
        if id.trim().is_empty() {
            return Err(ConfigError::Empty { variable });
        }
        self.key_id = Some(parse_key_id(id, variable)?);
        Ok(())
    }

    /// Refuses what would make the key of a token ambiguous or unreachable: more than one key
    /// without an id, two keys with one id, a key id with no key left to name (`keys_variable`
    /// and `key_id_variable` name the settings in the errors).
    pub(crate) fn validate(
        &self,
        keys_variable: &'static str,
        key_id_variable: &'static str,
    ) -> Result<(), ConfigError> {
        let unnamed = self.keys.iter().filter(|k| k.id.is_none()).count();
        if unnamed > 1 {
            return Err(ConfigError::Invalid {
                variable: keys_variable,
                expected: "one key, or `mskid:key` entries (at most one key without its mskid): \
                           with several keys, the token's mskid must say which one signed",
            });
        }
        if self.key_id.is_some() && unnamed == 0 {
            return Err(ConfigError::Invalid {
                variable: key_id_variable,
                expected: "the mskid of the key given without one; unset it when every key is \
                           given as `mskid:key`",
            });
        }
        let ids: Vec<&str> = self.keys.iter().filter_map(|k| self.id_of(k)).collect();
        if ids.iter().enumerate().any(|(i, id)| ids[..i].contains(id)) {
            return Err(ConfigError::Invalid {
                variable: keys_variable,
                expected: "a different mskid for each key",
            });
        }
        Ok(())
    }

    fn id_of<'k>(&'k self, key: &'k AccountKey) -> Option<&'k str> {
        key.id.as_deref().or(self.key_id.as_deref())
    }

    /// The key of a token whose `mskid` claim is `mskid` (`None` when the claim is not a
    /// string): the key with that id, else the one key given without an id when no key id is
    /// configured for it (it then signs for any `mskid`). `None` when no key fits.
    pub(crate) fn select(&self, mskid: Option<&str>) -> Option<&AccountKey> {
        let mskid = mskid?;
        self.keys
            .iter()
            .find(|k| self.id_of(k) == Some(mskid))
            .or_else(|| {
                self.keys
                    .iter()
                    .find(|k| k.id.is_none() && self.key_id.is_none())
            })
    }
}

/// A key id: 1 to [`MAX_KEY_ID_LEN`] visible ASCII characters, without `,` or `:`.
fn parse_key_id(id: &str, variable: &'static str) -> Result<Box<str>, ConfigError> {
    let id = id.trim();
    if id.is_empty()
        || id.len() > MAX_KEY_ID_LEN
        || !id
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b',' && b != b':')
    {
        return Err(ConfigError::Invalid {
            variable,
            expected: "key ids (mskid) of 1 to 64 visible ASCII characters, without `,` or `:`",
        });
    }
    Ok(id.into())
}

/// At most one try of a key's other reading per [`HINT_INTERVAL_SECONDS`], whatever the number
/// of failing requests: the hint costs a flood of forgeries nothing.
#[derive(Debug, Default)]
pub(crate) struct HintGate {
    /// The second (since the epoch) of the last try; 0 for none yet.
    last: AtomicU64,
}

impl HintGate {
    /// Whether a try is due at `now` (seconds since the epoch); if so, it is counted.
    pub(crate) fn due(&self, now: f64) -> bool {
        // The clock was checked to read after 2026 before any signature is looked at.
        let now = now as u64;
        let last = self.last.load(Ordering::Acquire);
        (last == 0 || now >= last.saturating_add(HINT_INTERVAL_SECONDS))
            && self
                .last
                .compare_exchange(last, now.max(1), Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use sha2::{Digest as _, Sha256};

    use super::*;

    /// HMAC-SHA256 (RFC 2104) written out over `sha2`, as an oracle independent of both crypto
    /// backends.
    pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; TAG_LEN] {
        let mut block = [0u8; 64];
        if key.len() > 64 {
            block[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let pad = |byte: u8| block.map(|b| b ^ byte);
        let inner = Sha256::new()
            .chain_update(pad(0x36))
            .chain_update(message)
            .finalize();
        Sha256::new()
            .chain_update(pad(0x5c))
            .chain_update(inner)
            .finalize()
            .into()
    }

    #[test]
    fn the_test_oracle_is_hmac_sha256_as_rfc_4231_test_case_2_gives_it() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    fn keys(text: &str, reading: Reading) -> Result<AccountKeys, ConfigError> {
        let mut keys = AccountKeys::default();
        keys.add_text(text, reading, RAW_VAR)?;
        keys.validate(RAW_VAR, KEY_ID_VAR)?;
        Ok(keys)
    }

    /// Whether the key `keys` selects for `mskid` is the one whose bytes are `bytes`.
    fn selects(keys: &AccountKeys, mskid: Option<&str>, bytes: &[u8]) -> Option<bool> {
        let base = b"\"@method\": GET";
        keys.select(mskid)
            .map(|key| key.verifies(base, &hmac_sha256(bytes, base)))
    }

    #[test]
    fn each_backend_verifies_an_hmac_of_the_oracle_and_refuses_one_with_a_bit_changed() {
        let key = HmacKey::new(b"an account key").unwrap();
        let mut mac = hmac_sha256(b"an account key", b"a base");
        assert!(key.verifies(b"a base", &mac));
        assert!(!key.verifies(b"a basf", &mac));
        mac[31] ^= 1;
        assert!(!key.verifies(b"a base", &mac));
    }

    #[test]
    fn account_keys_debug_shows_their_ids_and_readings_and_never_a_key() {
        let mut keys = keys("abc123:first-key-text,second-key-text", Reading::Raw).unwrap();
        keys.set_key_id("def456", KEY_ID_VAR).unwrap();
        assert_eq!(
            format!("{keys:?}"),
            "AccountKeys { keys: [AccountKey { mskid: Some(\"abc123\"), reading: Raw, key: \
             \"[redacted]\" }, AccountKey { mskid: None, reading: Raw, key: \"[redacted]\" }], \
             key_id: Some(\"def456\") }"
        );
    }

    #[test]
    fn a_token_selects_the_key_of_its_mskid_and_a_lone_unnamed_key_signs_for_any_mskid() {
        let listed = keys("k1:first,k2:second", Reading::Raw).unwrap();
        assert_eq!(selects(&listed, Some("k1"), b"first"), Some(true));
        assert_eq!(selects(&listed, Some("k2"), b"second"), Some(true));
        assert_eq!(selects(&listed, Some("k2"), b"first"), Some(false));
        assert_eq!(selects(&listed, Some("k3"), b"first"), None);
        assert_eq!(selects(&listed, None, b"first"), None);
        let lone = keys("only", Reading::Raw).unwrap();
        assert_eq!(selects(&lone, Some("anything"), b"only"), Some(true));
        let mut named = keys("only", Reading::Raw).unwrap();
        named.set_key_id("k9", KEY_ID_VAR).unwrap();
        assert_eq!(selects(&named, Some("k9"), b"only"), Some(true));
        assert_eq!(selects(&named, Some("k8"), b"only"), None);
    }

    #[test]
    fn each_variable_reads_the_key_as_its_name_says_and_remembers_the_other_reading() {
        // `YWJj` is base64url and base64 for `abc`.
        for (reading, bytes, other) in [
            (Reading::Base64Url, b"abc".as_slice(), Reading::Raw),
            (Reading::Base64, b"abc".as_slice(), Reading::Raw),
            (Reading::Raw, b"YWJj".as_slice(), Reading::Base64Url),
        ] {
            let keys = keys("YWJj", reading).unwrap();
            assert_eq!(selects(&keys, Some("m"), bytes), Some(true), "{reading:?}");
            let key = keys.select(Some("m")).unwrap();
            let other_bytes: &[u8] = if reading == Reading::Raw {
                b"abc"
            } else {
                b"YWJj"
            };
            assert_eq!(
                key.other_verifies(b"b", &hmac_sha256(other_bytes, b"b")),
                Some(other),
                "{reading:?}"
            );
        }
        // A raw text that is no base64 at all has no other reading.
        let raw = keys("not base64!", Reading::Raw).unwrap();
        assert!(!raw.select(Some("m")).unwrap().has_other_reading());
    }

    #[test]
    fn the_cli_output_pasted_whole_gives_its_last_line_as_the_key() {
        let pasted = "Approov CLI\nWARNING: keep this key secret\nkey ID: abc123\n\
                      encoding: base64url\n  abc123-the-key-line  \n\n";
        let keys = keys(pasted, Reading::Raw).unwrap();
        assert_eq!(
            selects(&keys, Some("abc123"), b"abc123-the-key-line"),
            Some(true)
        );
    }

    #[test]
    fn empty_ambiguous_or_unbounded_key_lists_are_refused() {
        let invalid =
            |text: &str| matches!(keys(text, Reading::Raw), Err(ConfigError::Invalid { .. }));
        let empty = |text: &str| matches!(keys(text, Reading::Raw), Err(ConfigError::Empty { .. }));
        assert!(empty(""));
        assert!(empty("  \n "));
        assert!(empty("k1:"));
        assert!(invalid("a,,b"));
        assert!(invalid("a,"));
        assert!(invalid(":key"));
        assert!(invalid("a b:key"));
        assert!(invalid(&format!("{}:key", "m".repeat(65))));
        // Two keys that no mskid tells apart, and one mskid for two keys.
        assert!(invalid("first,second"));
        assert!(invalid("k1:first,k1:second"));
        assert!(invalid(&"k".repeat(1025)));
        let nine: Vec<String> = (0..9).map(|i| format!("k{i}:key{i}")).collect();
        assert!(invalid(&nine.join(",")));
        assert!(keys(&nine[..8].join(","), Reading::Raw).is_ok());
        assert!(matches!(
            keys("%%%", Reading::Base64Url),
            Err(ConfigError::Invalid { .. })
        ));
        // A key id with every key named already names nothing.
        let mut keys = keys("k1:first", Reading::Raw).unwrap();
        keys.set_key_id("k2", KEY_ID_VAR).unwrap();
        assert!(matches!(
            keys.validate(RAW_VAR, KEY_ID_VAR),
            Err(ConfigError::Invalid {
                variable: KEY_ID_VAR,
                ..
            })
        ));
    }

    #[test]
    fn the_hint_is_tried_at_most_once_per_interval() {
        let gate = HintGate::default();
        let t = 1_800_000_000.0;
        assert!(gate.due(t));
        assert!(!gate.due(t + 9.9));
        assert!(gate.due(t + 10.0));
        assert!(!gate.due(t + 10.5));
    }

    #[test]
    fn a_key_id_of_64_characters_is_taken_and_one_of_65_is_refused() {
        let longest = "k".repeat(MAX_KEY_ID_LEN);
        assert_eq!(parse_key_id(&longest, "VAR").unwrap().as_ref(), longest);
        match parse_key_id(&format!("{longest}k"), "VAR") {
            Err(ConfigError::Invalid { variable, .. }) => assert_eq!(variable, "VAR"),
            other => panic!("{other:?}"),
        }
        for bad in ["", " ", "a,b", "a:b", "caf\u{e9}"] {
            assert!(parse_key_id(bad, "VAR").is_err(), "{bad:?}");
        }
    }
}
