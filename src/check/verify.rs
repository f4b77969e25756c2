//! Token to claims: the pure check, no HTTP types.
//!
//! The order is chosen so that garbage is cheap: length, structure, header and `alg`, then the
//! claims (`exp` first), and only then the signature, the one step that costs real CPU. A
//! token that passed is remembered in the verified-token cache, so the next request with the
//! same token skips straight to the time check.

use std::borrow::Cow;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::de::{Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::check::cache::TokenCache;
use crate::check::claims::{ApproovClaims, KNOWN, Spans};
use crate::check::error::ApproovErrorKind;
use crate::check::keys::{KeyStore, parse_alg};

/// Seconds since the Unix epoch, as a float like Approov's `exp`.
pub(crate) fn now() -> f64 {
    seconds_since_epoch(SystemTime::now())
}

/// Milliseconds since the Unix epoch, for the replay store's expiry times (0 before 1970).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Negative for a time before 1970, which [`Verifier::cached`] and
/// [`Verifier::verify_and_remember`] refuse ([`ApproovErrorKind::ClockBeforeEpoch`]): read as
/// 0, as it once was, any positive `exp` would pass.
fn seconds_since_epoch(time: SystemTime) -> f64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => since.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64().max(f64::MIN_POSITIVE),
    }
}

/// A clock reading that cannot judge an expiry: before 1970, or not a number.
fn clock_before_epoch(now: f64) -> bool {
    now.is_nan() || now < 0.0
}

/// 2026-01-01T00:00:00Z, in seconds since the Unix epoch: a date before this release, so a
/// clock that reads less has not been set. A machine without a real-time clock boots at 1970
/// and counts up from there; read as is, that clock would accept every token, expired ones
/// included, since every real `exp` lies decades later.
pub(crate) const CLOCK_FLOOR: f64 = 1_767_225_600.0;

/// Why no token can be judged at `now`, if none can: a reading before 1970 or not a number
/// ([`ApproovErrorKind::ClockBeforeEpoch`]), or before [`CLOCK_FLOOR`]
/// ([`ApproovErrorKind::ClockNotSet`]).
fn unusable_clock(now: f64) -> Option<ApproovErrorKind> {
    if clock_before_epoch(now) {
        Some(ApproovErrorKind::ClockBeforeEpoch)
    } else if now < CLOCK_FLOOR {
        Some(ApproovErrorKind::ClockNotSet)
    } else {
        None
    }
}

#[cfg(test)]
mod clock_tests {
    use std::time::{Duration, UNIX_EPOCH};

    use crate::ApproovConfig;
    use crate::check::error::ApproovErrorKind;

    #[test]
    fn a_clock_before_1970_refuses_every_token_with_its_own_reason() {
        let before_1970 = UNIX_EPOCH - Duration::from_secs(3600);
        let now = super::seconds_since_epoch(before_1970);
        assert!(now < 0.0);
        let config = ApproovConfig::builder()
            .with_secret(b"0123456789abcdef0123456789abcdef", None)
            .unwrap()
            .build()
            .unwrap();
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &serde_json::json!({ "exp": 4_000_000_000.0_f64 }),
            &jsonwebtoken::EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef").unwrap(),
        )
        .unwrap();
        let verifier = &config.shared.verifier;
        assert_eq!(
            verifier.verify(&token, now).unwrap_err(),
            ApproovErrorKind::ClockBeforeEpoch
        );
        // Cached by a verification with a sane clock, it is still refused once the clock
        // reads before 1970.
        assert!(verifier.verify(&token, super::now()).is_ok());
        assert_eq!(
            verifier.verify(&token, now).unwrap_err(),
            ApproovErrorKind::ClockBeforeEpoch
        );
    }

    #[test]
    fn a_clock_reset_to_1970_plus_its_uptime_refuses_every_token_cached_ones_included() {
        const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
        let config = ApproovConfig::builder()
            .with_secret(SECRET, None)
            .unwrap()
            .build()
            .unwrap();
        let mint = |exp: f64| {
            jsonwebtoken::encode(
                &jsonwebtoken::Header::default(),
                &serde_json::json!({ "exp": exp }),
                &jsonwebtoken::EncodingKey::from_secret(SECRET).unwrap(),
            )
            .unwrap()
        };
        let verifier = &config.shared.verifier;
        // A machine without a real-time clock, three days after it booted at 1970.
        let booted_at_1970 = 3.0 * 86_400.0;
        // Expired in 2001, and so decades "in the future" by that clock: it would pass.
        let expired = mint(1_000_000_000.0);
        assert_eq!(
            verifier.verify(&expired, booted_at_1970).unwrap_err(),
            ApproovErrorKind::ClockNotSet
        );
        // A good token, cached by a verification with a set clock, is refused too.
        let good = mint(super::now() + 600.0);
        assert!(verifier.verify(&good, super::now()).is_ok());
        assert_eq!(verifier.cache.as_ref().unwrap().len(), 1, "cached");
        assert_eq!(
            verifier.verify(&good, booted_at_1970).unwrap_err(),
            ApproovErrorKind::ClockNotSet
        );
        // The floor itself: refused just below it, judged normally from it on.
        let floor = super::CLOCK_FLOOR;
        let at_floor = mint(floor + 100.0);
        assert_eq!(
            verifier.verify(&at_floor, floor - 0.001).unwrap_err(),
            ApproovErrorKind::ClockNotSet
        );
        assert!(verifier.verify(&at_floor, floor).is_ok());
        assert_eq!(
            verifier.verify(&at_floor, floor + 100.0).unwrap_err(),
            ApproovErrorKind::Expired
        );
        // 2026-01-01T00:00:00Z, checked against the calendar rather than restated.
        let days_1970_to_2026: u64 = (1970..2026)
            .map(|y| {
                if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) {
                    366
                } else {
                    365
                }
            })
            .sum();
        assert_eq!(floor, (days_1970_to_2026 * 86_400) as f64);
    }
}

/// Everything the check needs, prepared once at start-up.
pub(crate) struct Verifier {
    pub(crate) keys: KeyStore,
    pub(crate) leeway: f64,
    pub(crate) issuers: Option<Box<[String]>>,
    pub(crate) audiences: Option<Box<[String]>>,
    pub(crate) cache: Option<TokenCache>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys)
            .field("leeway", &self.leeway)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("cache", &self.cache)
            .finish()
    }
}

/// The members of the JOSE header that the check looks at.
#[derive(Deserialize)]
struct JoseHeader<'a> {
    #[serde(borrow, default)]
    alg: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    #[serde(default)]
    enc: Option<IgnoredAny>,
    #[serde(default)]
    crit: Option<IgnoredAny>,
}

impl Verifier {
    /// Verifies a token (already taken out of its header, prefix stripped) at time `now`,
    /// cached under its own text.
    #[cfg(test)]
    pub(crate) fn verify(&self, token: &str, now: f64) -> Result<ApproovClaims, ApproovErrorKind> {
        match self.cached(token.as_bytes(), now) {
            Some(hit) => hit,
            None => self.verify_and_remember(token.as_bytes(), token, now),
        }
    }

    /// The cached answer for a token header's exact bytes at time `now`: `None` on a miss or
    /// without a cache. A hit is still refused once its `exp` (plus leeway) has passed.
    pub(crate) fn cached(
        &self,
        key: &[u8],
        now: f64,
    ) -> Option<Result<ApproovClaims, ApproovErrorKind>> {
        // Before 1970, not a number, or before the floor: no expiry can be judged, cached
        // tokens included.
        if let Some(kind) = unusable_clock(now) {
            return Some(Err(kind));
        }
        let cache = self.cache.as_ref()?;
        // An entry counts only if verified under the epoch in force now: once a refresh that
        // removed a key is visible, entries verified before it are misses (see
        // `keys::Published`). One atomic load.
        let epoch = self.keys.revocation_epoch();
        // Housekeeping only: those entries are dead, make room.
        if self.keys.take_revocation(epoch) {
            cache.clear();
        }
        let claims = cache.get(key, epoch)?;
        Some(if now < claims.exp() + self.leeway {
            Ok(claims)
        } else {
            cache.remove(key);
            Err(ApproovErrorKind::Expired)
        })
    }

    /// Verifies `token` (a cache miss) and remembers it under `key`, the exact bytes of the
    /// header it came in.
    pub(crate) fn verify_and_remember(
        &self,
        key: &[u8],
        token: &str,
        now: f64,
    ) -> Result<ApproovClaims, ApproovErrorKind> {
        if let Some(kind) = unusable_clock(now) {
            return Err(kind);
        }
        // Read before the keys are: the tag of the entry (see `remember`).
        let epoch = self.keys.revocation_epoch();
        let (claims, alg) = self.verify_uncached(token, now)?;
        self.remember(key, &claims, alg, epoch);
        Ok(claims)
    }

    /// Caches `claims`, verified with `alg` by keys loaded after the revocation `epoch` was
    /// read. If a refresh removed the key meanwhile, the epoch has moved on and the entry will
    /// never count: no need to look again here, and no window in which it could be served.
    /// Nothing is cached while a removal is under way (an odd epoch): such an entry could
    /// never count either.
    fn remember(&self, key: &[u8], claims: &ApproovClaims, alg: Algorithm, epoch: u64) {
        let Some(cache) = &self.cache else { return };
        if !KeyStore::settled(epoch) {
            return;
        }
        // HMAC costs about what an insert and an eviction do: see `TokenCache::admit`.
        let cheap = matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512);
        if cache.admit(key, cheap) {
            cache.insert(key, claims.clone(), epoch);
        }
    }

    fn verify_uncached(
        &self,
        token: &str,
        now: f64,
    ) -> Result<(ApproovClaims, Algorithm), ApproovErrorKind> {
        let (message, signature) = token
            .rsplit_once('.')
            .ok_or(ApproovErrorKind::MalformedToken)?;
        let (header_b64, payload_b64) = message
            .split_once('.')
            .ok_or(ApproovErrorKind::MalformedToken)?;
        if payload_b64.contains('.') || header_b64.is_empty() || payload_b64.is_empty() {
            return Err(ApproovErrorKind::MalformedToken);
        }

        // The header decides which key, if any, may verify the token. Decoded on the stack:
        // no allocation before the signature has passed.
        let mut header_buf = [0u8; HEADER_STACK];
        let mut header_heap = Vec::new();
        let header_json = decode_b64(header_b64, &mut header_buf, &mut header_heap)?;
        let header =
            parse_object::<JoseHeader<'_>>(header_json).ok_or(ApproovErrorKind::MalformedHeader)?;
        if header.crit.is_some() {
            // We understand no header extension, so a token that says we must is refused.
            return Err(ApproovErrorKind::MalformedHeader);
        }
        if header.enc.is_some() {
            return Err(ApproovErrorKind::AlgorithmNotAllowed);
        }
        // The algorithm is pinned by the configured keys, never chosen by the token: `none`,
        // unknown names, and any algorithm no configured key accepts are refused here.
        let alg = header
            .alg
            .as_deref()
            .and_then(parse_alg)
            .ok_or(ApproovErrorKind::AlgorithmNotAllowed)?;
        let keys = self.keys.load();
        let key = match keys.select(alg, header.kid.as_deref()) {
            Ok(key) => key,
            Err(kind @ (ApproovErrorKind::UnknownKeyId | ApproovErrorKind::KeysUnavailable)) => {
                self.keys.on_unknown_kid();
                return Err(kind);
            }
            Err(kind) => return Err(kind),
        };

        // Claims before the signature: an expired or misaddressed token costs no crypto. Only
        // the registered claims are read here, borrowed from the decoded payload, with where
        // the claims that have an accessor sit in it.
        let mut payload_buf = [0u8; PAYLOAD_STACK];
        let mut payload_heap = Vec::new();
        let payload = decode_b64(payload_b64, &mut payload_buf, &mut payload_heap)?;
        // The claims are kept as text; the map is built only if a handler asks for it. The
        // same pass checks that the text reads exactly as the map will, so that building it
        // cannot fail then. A payload that does not is read again without that check: it is
        // refused all the same, but only after its claims and its signature, so that its
        // reason stays what it was (an expired or forged token says so, not `malformed_claims`).
        let (registered, map_reads) = match parse_object::<Checked<'_>>(payload) {
            Some(Checked(registered)) => (registered, true),
            None => (
                parse_object::<Registered<'_>>(payload).ok_or(ApproovErrorKind::MalformedClaims)?,
                false,
            ),
        };
        let exp = self.check_claims(&registered, now)?;

        key.verify(alg, message.as_bytes(), signature)?;
        if !map_reads {
            return Err(ApproovErrorKind::MalformedClaims);
        }
        let json = std::str::from_utf8(payload).map_err(|_| ApproovErrorKind::MalformedClaims)?;
        let spans: Spans = registered.known.map(|raw| {
            raw.map(|raw| {
                // A slice of `payload`, so its offset in it.
                let start = raw.get().as_ptr() as usize - payload.as_ptr() as usize;
                (start, start + raw.get().len())
            })
        });
        Ok((ApproovClaims::from_json(exp, json.into(), spans), alg))
    }

    /// Checks the registered claims and returns `exp`.
    fn check_claims(&self, claims: &Registered<'_>, now: f64) -> Result<f64, ApproovErrorKind> {
        // `exp` must be a JSON number; Approov often sends a float. A string, `null` or
        // anything else is refused, as is a missing `exp`.
        let exp = match claims.exp {
            None => return Err(ApproovErrorKind::MissingExpiry),
            Some(raw) => number(raw)
                .filter(|e| e.is_finite())
                .ok_or(ApproovErrorKind::InvalidExpiry)?,
        };
        if now >= exp + self.leeway {
            return Err(ApproovErrorKind::Expired);
        }
        if let Some(raw) = claims.nbf {
            let nbf = number(raw).ok_or(ApproovErrorKind::MalformedClaims)?;
            if nbf > now + self.leeway {
                return Err(ApproovErrorKind::NotYetValid);
            }
        }
        if let Some(issuers) = &self.issuers {
            let ok =
                matches!(claims.iss.map(value), Some(Value::String(iss)) if issuers.contains(&iss));
            if !ok {
                return Err(ApproovErrorKind::InvalidIssuer);
            }
        }
        // An `aud` claim is only checked when an audience is configured: Approov adds one with
        // `approov policy -setAudience on`, and an API that never asked for it must not start
        // refusing tokens because of it.
        if let Some(audiences) = &self.audiences {
            let matches = |v: &Value| matches!(v, Value::String(a) if audiences.contains(a));
            let ok = match claims.aud.map(value) {
                Some(Value::Array(list)) => list.iter().any(matches),
                Some(v) => matches(&v),
                None => false,
            };
            if !ok {
                return Err(ApproovErrorKind::InvalidAudience);
            }
        }
        Ok(exp)
    }
}

/// Header and payload up to these decoded sizes are decoded on the stack; larger ones (rare:
/// real Approov tokens are well under 1 KiB) on the heap.
const HEADER_STACK: usize = 256;
const PAYLOAD_STACK: usize = 1024;

/// Decodes base64url (no padding) into `stack` when it fits, else into `heap`.
fn decode_b64<'b>(
    b64: &str,
    stack: &'b mut [u8],
    heap: &'b mut Vec<u8>,
) -> Result<&'b [u8], ApproovErrorKind> {
    if base64::decoded_len_estimate(b64.len()) <= stack.len() {
        let len = URL_SAFE_NO_PAD
            .decode_slice(b64, stack)
            .map_err(|_| ApproovErrorKind::MalformedToken)?;
        Ok(&stack[..len])
    } else {
        *heap = URL_SAFE_NO_PAD
            .decode(b64)
            .map_err(|_| ApproovErrorKind::MalformedToken)?;
        Ok(heap)
    }
}

/// What the check reads from the payload before the signature: the registered claims as raw
/// JSON borrowed from it (`null` kept apart from absence: `Some("null")`), and the raw value
/// of every claim with an accessor. A repeated registered claim fails the parse, so the claims
/// read later cannot disagree with what was checked here; any other repeated name keeps its
/// last value, as a JSON map does.
#[derive(Default)]
struct Registered<'a> {
    exp: Option<&'a RawValue>,
    nbf: Option<&'a RawValue>,
    iss: Option<&'a RawValue>,
    aud: Option<&'a RawValue>,
    known: [Option<&'a RawValue>; KNOWN.len()],
}

impl<'de> Deserialize<'de> for Registered<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RegisteredVisitor { checked: false })
    }
}

/// The registered claims, read from a payload that also reads exactly as
/// `serde_json::Map<String, Value>` reads it: every value read as `Valid`, the top-level keys
/// as plain strings (a `Map` gives no key a special meaning).
struct Checked<'a>(Registered<'a>);

impl<'de> Deserialize<'de> for Checked<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RegisteredVisitor { checked: true })
            .map(Checked)
    }
}

struct RegisteredVisitor {
    /// Every value is read as `Valid`, not merely skipped.
    checked: bool,
}

impl RegisteredVisitor {
    /// A claim's raw value, read as `Valid` too when `checked`.
    fn raw<'de, A: MapAccess<'de>>(&self, map: &mut A) -> Result<&'de RawValue, A::Error> {
        let raw: &RawValue = map.next_value()?;
        if self.checked {
            serde_json::from_str::<Valid>(raw.get()).map_err(A::Error::custom)?;
        }
        Ok(raw)
    }
}

impl<'de> Visitor<'de> for RegisteredVisitor {
    type Value = Registered<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Registered<'de>, A::Error> {
        let mut claims = Registered::default();
        while let Some(Key(name)) = map.next_key::<Key<'de>>()? {
            let registered = match &*name {
                "exp" => Some(&mut claims.exp),
                "nbf" => Some(&mut claims.nbf),
                "iss" => Some(&mut claims.iss),
                "aud" => Some(&mut claims.aud),
                _ => None,
            };
            if let Some(slot) = registered {
                if slot.is_some() {
                    return Err(A::Error::custom("a registered claim is repeated"));
                }
                *slot = Some(self.raw(&mut map)?);
            } else if let Some(i) = KNOWN.iter().position(|k| *k == name) {
                claims.known[i] = Some(self.raw(&mut map)?);
            } else if self.checked {
                map.next_value::<Valid>()?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        // `iss` is both registered and an accessor.
        if let Some(i) = KNOWN.iter().position(|k| *k == "iss") {
            claims.known[i] = claims.iss;
        }
        Ok(claims)
    }
}

/// A map key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Any JSON, read exactly as `serde_json::Value` reads it but kept nowhere: the claims map
/// built later from the same text, when a handler asks for it, cannot fail. Without building
/// the map, this is what verifying it costs.
struct Valid;

impl<'de> Deserialize<'de> for Valid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValidVisitor)
    }
}

struct ValidVisitor;

/// The key `serde_json::Value` gives a special meaning when it comes first in an object
/// (`raw_value` is on): its value must be a string holding JSON.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

impl<'de> Visitor<'de> for ValidVisitor {
    type Value = Valid;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Valid, E> {
        Ok(Valid)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Valid, E> {
        Ok(Valid)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Valid, E> {
        Ok(Valid)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Valid, E> {
        Ok(Valid)
    }
    fn visit_str<E>(self, _: &str) -> Result<Valid, E> {
        Ok(Valid)
    }
    fn visit_unit<E>(self) -> Result<Valid, E> {
        Ok(Valid)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Valid, A::Error> {
        while seq.next_element::<Valid>()?.is_some() {}
        Ok(Valid)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Valid, A::Error> {
        let mut first = true;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if first && key == RAW_VALUE_TOKEN {
                let text = map.next_value::<Cow<'de, str>>()?;
                serde_json::from_str::<Valid>(&text).map_err(A::Error::custom)?;
                return Ok(Valid);
            }
            first = false;
            map.next_value::<Valid>()?;
        }
        Ok(Valid)
    }
}

/// A JSON number as `f64`; `None` for anything else.
fn number(raw: &RawValue) -> Option<f64> {
    serde_json::from_str::<serde_json::Number>(raw.get())
        .ok()?
        .as_f64()
}

fn value(raw: &RawValue) -> Value {
    serde_json::from_str(raw.get()).unwrap_or(Value::Null)
}

/// Parses a JSON object. Arrays are refused even where serde would map them onto a struct.
fn parse_object<'a, T: Deserialize<'a>>(json: &'a [u8]) -> Option<T> {
    if json.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    serde_json::from_slice(json).ok()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;
    use crate::ApproovConfig;

    const SECRET: &[u8] = b"verify-unit-test-secret";

    fn config(leeway: u64) -> ApproovConfig {
        ApproovConfig::builder()
            .with_secret(SECRET, None)
            .unwrap()
            .with_leeway(Duration::from_secs(leeway))
            .build()
            .unwrap()
    }

    fn mint(exp: f64) -> String {
        jsonwebtoken::encode(
            &Header::default(),
            &json!({ "exp": exp, "did": "d" }),
            &EncodingKey::from_secret(SECRET).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn a_cache_hit_is_served_until_exp_plus_leeway_and_refused_from_then_on() {
        let config = config(5);
        let verifier = &config.shared.verifier;
        let cache = verifier.cache.as_ref().unwrap();
        let start = now();
        // Exactly representable, so that the `exp` read back is the one minted.
        let exp = start.trunc() + 100.25;
        let token = mint(exp);

        assert_eq!(verifier.verify(&token, start).unwrap().exp(), exp);
        assert_eq!(cache.len(), 1);
        // Past `exp` but within the leeway: still served, from the cache.
        assert!(verifier.verify(&token, exp + 4.9).is_ok());
        assert_eq!(cache.len(), 1);
        // At `exp + leeway`: refused, and the entry is dropped.
        assert_eq!(
            verifier.verify(&token, exp + 5.0).unwrap_err(),
            ApproovErrorKind::Expired
        );
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_full_cache_takes_a_new_hmac_token_on_its_second_verification_and_hits_from_then_on() {
        let config = ApproovConfig::builder()
            .with_secret(SECRET, None)
            .unwrap()
            .with_token_cache_size(32)
            .build()
            .unwrap();
        let verifier = &config.shared.verifier;
        let cache = verifier.cache.as_ref().unwrap();
        let exp = now() + 600.0;
        let mint_n = |n: u32| {
            jsonwebtoken::encode(
                &Header::default(),
                &json!({ "exp": exp, "did": n }),
                &EncodingKey::from_secret(SECRET).unwrap(),
            )
            .unwrap()
        };
        // While there is room, a token goes in at once.
        for n in 0..32 {
            let token = mint_n(n);
            verifier.verify(&token, now()).unwrap();
            assert!(cache.get(token.as_bytes(), 0).is_some(), "token {n} cached");
        }
        let token = mint_n(1000);
        assert!(verifier.verify(&token, now()).is_ok());
        assert!(
            cache.get(token.as_bytes(), 0).is_none(),
            "seen once: not cached"
        );
        assert!(verifier.verify(&token, now()).is_ok());
        assert!(
            cache.get(token.as_bytes(), 0).is_some(),
            "seen twice: cached"
        );
    }

    #[test]
    fn a_token_is_good_from_nbf_less_the_leeway_on_and_not_a_moment_before() {
        let config = config(5);
        let verifier = &config.shared.verifier;
        // Whole seconds plus a quarter: exact in an f64, so the boundary is reached exactly.
        let nbf = now().trunc() + 100.25;
        let token = mint_raw(&format!(r#"{{"exp":{},"nbf":{nbf}}}"#, nbf + 600.0));
        assert_eq!(
            verifier.verify(&token, nbf - 5.5).unwrap_err(),
            ApproovErrorKind::NotYetValid
        );
        assert!(verifier.verify(&token, nbf - 5.0).is_ok());
    }

    #[test]
    fn an_expired_token_is_refused_before_its_signature_is_checked() {
        let config = config(0);
        let verifier = &config.shared.verifier;
        // A forged signature on an expired token: the expiry is what is reported.
        let mut token = mint(now() - 10.0);
        token.truncate(token.rfind('.').unwrap() + 1);
        token.push_str("AAAA");
        assert_eq!(
            verifier.verify(&token, now()).unwrap_err(),
            ApproovErrorKind::Expired
        );
    }

    const SECRET_A: &[u8] = b"key-removal-test-secret-a-0123456789abcdef";
    const SECRET_B: &[u8] = b"key-removal-test-secret-b-0123456789abcdef";

    fn hs256_key(secret: &[u8], kid: &str) -> crate::check::keys::VerifyingKey {
        crate::check::keys::Secret::from_bytes(secret, "test")
            .unwrap()
            .into_key(Some(kid.to_owned()), "test")
            .unwrap()
    }

    /// A configuration with keys `a` and `b` (HS256, kids `a` and `b`), and the set without `a`.
    fn two_keys() -> (ApproovConfig, crate::check::keys::KeySet) {
        let config = ApproovConfig::builder()
            .with_secret(SECRET_A, Some("a"))
            .unwrap()
            .with_secret(SECRET_B, Some("b"))
            .unwrap()
            .build()
            .unwrap();
        let mut without_a = crate::check::keys::KeySet::default();
        without_a.push(hs256_key(SECRET_B, "b"));
        (config, without_a)
    }

    /// A token signed with key `a`, for device `n`.
    fn token_a(n: usize) -> String {
        let header = Header {
            kid: Some("a".to_owned()),
            ..Header::default()
        };
        jsonwebtoken::encode(
            &header,
            &json!({ "exp": now() + 600.0, "did": n }),
            &EncodingKey::from_secret(SECRET_A).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn a_token_verified_before_its_key_was_removed_and_cached_after_is_never_served() {
        let (config, without_a) = two_keys();
        let verifier = &config.shared.verifier;
        let cache = verifier.cache.as_ref().unwrap();
        let token = token_a(0);
        // The window, driven step by step: a verification starts (reads the epoch, then the
        // keys, which still hold `a`) ...
        let epoch = verifier.keys.revocation_epoch();
        let (claims, alg) = verifier.verify_uncached(&token, now()).unwrap();
        // ... a refresh removes `a` and completes ...
        verifier.keys.publish(without_a, true);
        // ... and only then does the verification cache its result.
        verifier.remember(token.as_bytes(), &claims, alg, epoch);
        assert_eq!(cache.len(), 1, "the late entry is in the cache");
        // It is never served: the next request misses, and verifies with the keys in force.
        assert!(verifier.cached(token.as_bytes(), now()).is_none());
        assert_eq!(
            verifier.verify(&token, now()).unwrap_err(),
            ApproovErrorKind::UnknownKeyId
        );
    }

    #[test]
    fn a_cached_token_is_served_until_its_key_is_removed_and_a_key_added_empties_nothing() {
        let (config, without_a) = two_keys();
        let verifier = &config.shared.verifier;
        let cache = verifier.cache.as_ref().unwrap();
        let token = token_a(0);
        assert!(verifier.verify(&token, now()).is_ok());
        assert_eq!(cache.len(), 1);
        assert!(matches!(
            verifier.cached(token.as_bytes(), now()),
            Some(Ok(_))
        ));
        // A set that removes nothing (the same keys, published again) keeps the entry valid.
        let mut same = without_a.clone();
        same.push(hs256_key(SECRET_A, "a"));
        verifier.keys.publish(same, false);
        assert!(matches!(
            verifier.cached(token.as_bytes(), now()),
            Some(Ok(_))
        ));
        verifier.keys.publish(without_a, true);
        assert!(verifier.cached(token.as_bytes(), now()).is_none());
        // Housekeeping: the dead entry was dropped by that lookup.
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn no_cache_hit_passes_once_the_removal_of_its_key_is_visible_to_the_thread_asking() {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

        const THREADS: usize = 8;
        const TOKENS: usize = 64;
        const AFTER: usize = 2_000;
        let (config, without_a) = two_keys();
        let verifier = &config.shared.verifier;
        let tokens: Vec<String> = (0..TOKENS).map(token_a).collect();
        let hits_before = AtomicUsize::new(0);
        let passed_after = AtomicUsize::new(0);
        let go = AtomicBool::new(false);
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (tokens, hits_before, passed_after, go) =
                    (&tokens, &hits_before, &passed_after, &go);
                s.spawn(move || {
                    let mut after = 0;
                    let mut i = t;
                    while after < AFTER {
                        let token = tokens[i % TOKENS].as_bytes();
                        i += 1;
                        // What this thread sees of the keys, then the request.
                        let removed = verifier
                            .keys
                            .load()
                            .keys()
                            .iter()
                            .all(|k| k.kid() != Some("a"));
                        let answer = match verifier.cached(token, now()) {
                            Some(hit) => hit.is_ok().then_some("hit"),
                            // A miss is verified and cached, as a request would be: inserts
                            // race with the removal too.
                            None => verifier
                                .verify_and_remember(
                                    token,
                                    std::str::from_utf8(token).unwrap(),
                                    now(),
                                )
                                .is_ok()
                                .then_some("verified"),
                        };
                        if removed {
                            after += 1;
                            if answer.is_some() {
                                passed_after.fetch_add(1, Ordering::SeqCst);
                            }
                        } else if answer == Some("hit") {
                            hits_before.fetch_add(1, Ordering::SeqCst);
                            go.store(true, Ordering::SeqCst);
                        }
                    }
                });
            }
            // Remove `a` while the threads are hitting the cache.
            while !go.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            verifier.keys.publish(without_a, true);
        });
        assert!(
            hits_before.load(Ordering::SeqCst) > 0,
            "the cache served hits"
        );
        assert_eq!(passed_after.load(Ordering::SeqCst), 0);
    }

    /// A token with this exact payload JSON, correctly signed.
    fn mint_raw(payload: &str) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let message = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
        let key = EncodingKey::from_secret(SECRET).unwrap();
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)
                .unwrap();
        format!("{message}.{signature}")
    }

    fn verify_payload(payload: &str) -> Result<ApproovClaims, ApproovErrorKind> {
        let config = config(0);
        config.shared.verifier.verify(&mint_raw(payload), now())
    }

    #[test]
    fn the_registered_claims_are_read_as_before_the_claims_map_is_built() {
        // A float that prints and parses exactly (serde_json's float parsing is not exact to
        // the last bit for every value).
        let exp = (now() + 600.0).trunc() + 0.25;
        let ok = |p: String| verify_payload(&p).map(|c| c.exp());
        let err = |p: String| verify_payload(&p).unwrap_err();
        assert_eq!(ok(format!(r#"{{"exp":{exp},"did":"d"}}"#)), Ok(exp));
        assert_eq!(ok(format!(r#"{{"exp":{}}}"#, exp as u64)), Ok(exp.trunc()));
        assert_eq!(
            err(r#"{"did":"d"}"#.into()),
            ApproovErrorKind::MissingExpiry
        );
        assert_eq!(
            err(r#"{"exp":null}"#.into()),
            ApproovErrorKind::InvalidExpiry
        );
        assert_eq!(
            err(r#"{"exp":"1999999999"}"#.into()),
            ApproovErrorKind::InvalidExpiry
        );
        assert_eq!(err(r#"{"exp":""}"#.into()), ApproovErrorKind::InvalidExpiry);
        assert_eq!(
            err(format!(r#"{{"exp":{exp},"nbf":"0"}}"#)),
            ApproovErrorKind::MalformedClaims
        );
        assert_eq!(err(format!("[{exp}]")), ApproovErrorKind::MalformedClaims);
        // Unconfigured `iss` and `aud` are not looked at, whatever their type.
        assert_eq!(
            ok(format!(r#"{{"exp":{exp},"iss":7,"aud":["a",1]}}"#)),
            Ok(exp)
        );
    }

    #[test]
    fn the_one_pass_check_accepts_exactly_the_payloads_the_claims_map_reads() {
        // The oracle is serde_json itself: a payload passes the one-pass check exactly when
        // the registered claims read and a `Map<String, Value>` reads it too.
        let magic = "$serde_json::private::RawValue";
        let payloads = [
            r#"{"exp":1,"did":"d","x":{"y":[1,2.5,null,true,"s"]}}"#.to_owned(),
            r#"{"exp":1,"x":1e999}"#.into(),
            r#"{"exp":1e999}"#.into(),
            r#"{"exp":1,"did":1e999}"#.into(),
            r#"{"exp":1,"aud":["a",1e999]}"#.into(),
            r#"{"exp":1,"x":"\ud800"}"#.into(),
            r#"{"exp":1,"iss":"\ud800"}"#.into(),
            r#"{"exp":1,"pay":"\ud800"}"#.into(),
            format!(r#"{{"exp":1,"x":{{"{magic}":"[1]"}}}}"#),
            format!(r#"{{"exp":1,"x":{{"{magic}":"[1"}}}}"#),
            format!(r#"{{"exp":1,"x":{{"{magic}":7}}}}"#),
            format!(r#"{{"exp":1,"aud":{{"{magic}":7}}}}"#),
            format!(r#"{{"{magic}":"1","exp":1}}"#),
            r#"{"exp":1,"exp":2}"#.into(),
            r#"{"exp":1,"did":"a","did":"b"}"#.into(),
            r#"{"exp":1} x"#.into(),
            r#"[1]"#.into(),
        ];
        for payload in payloads {
            let bytes = payload.as_bytes();
            let map_reads = parse_object::<Registered<'_>>(bytes).is_some()
                && serde_json::from_slice::<serde_json::Map<String, Value>>(bytes).is_ok();
            assert_eq!(
                parse_object::<Checked<'_>>(bytes).is_some(),
                map_reads,
                "{payload}"
            );
        }
    }

    #[test]
    fn a_repeated_registered_claim_is_refused() {
        // Two `exp`s: which one would the issuer have meant? The check and the claims map must
        // never disagree, so neither is taken.
        let payload = format!(r#"{{"exp":{},"exp":{}}}"#, now() + 600.0, now() - 600.0);
        assert_eq!(
            verify_payload(&payload).unwrap_err(),
            ApproovErrorKind::MalformedClaims
        );
    }

    #[test]
    fn a_payload_larger_than_the_stack_buffer_is_still_verified() {
        let exp = now() + 600.0;
        let big = "x".repeat(4 * PAYLOAD_STACK);
        let claims = verify_payload(&format!(r#"{{"exp":{exp},"big":"{big}"}}"#)).unwrap();
        assert_eq!(
            claims.get("big").and_then(Value::as_str),
            Some(big.as_str())
        );
    }

    #[test]
    fn a_header_larger_than_the_stack_buffer_is_still_verified() {
        let config = config(0);
        let kid = "k".repeat(2 * HEADER_STACK);
        let header = Header {
            kid: Some(kid),
            ..Header::default()
        };
        let token = jsonwebtoken::encode(
            &header,
            &json!({ "exp": now() + 600.0 }),
            &EncodingKey::from_secret(SECRET).unwrap(),
        )
        .unwrap();
        assert!(config.shared.verifier.verify(&token, now()).is_ok());
    }
}
