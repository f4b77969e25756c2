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
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::cache::TokenCache;
use crate::claims::ApproovClaims;
use crate::error::ApproovErrorKind;
use crate::keys::{KeyStore, parse_alg};

/// Seconds since the Unix epoch, as a float like Approov's `exp`.
pub(crate) fn now() -> f64 {
    seconds_since_epoch(SystemTime::now())
}

/// Negative for a time before 1970, which [`Verifier::verify`] refuses
/// ([`ApproovErrorKind::ClockBeforeEpoch`]): read as 0, as it once was, any positive `exp`
/// would pass.
fn seconds_since_epoch(time: SystemTime) -> f64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => since.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64().max(f64::MIN_POSITIVE),
    }
}

#[cfg(test)]
mod clock_tests {
    use std::time::{Duration, UNIX_EPOCH};

    use crate::ApproovConfig;
    use crate::error::ApproovErrorKind;

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
    /// Verifies a token (already taken out of its header, prefix stripped) at time `now`.
    pub(crate) fn verify(&self, token: &str, now: f64) -> Result<ApproovClaims, ApproovErrorKind> {
        // Before 1970 (or not a number): no expiry can be judged, cached tokens included.
        if now.is_nan() || now < 0.0 {
            return Err(ApproovErrorKind::ClockBeforeEpoch);
        }
        if let Some(cache) = &self.cache {
            // A refresh of remote keys removed a key: cached tokens may have been signed by it.
            if self.keys.take_revocation() {
                cache.clear();
            }
            if let Some(claims) = cache.get(token) {
                return if now < claims.exp() + self.leeway {
                    Ok(claims)
                } else {
                    cache.remove(token);
                    Err(ApproovErrorKind::Expired)
                };
            }
        }
        let epoch = self.keys.revocation_epoch();
        let claims = self.verify_uncached(token, now)?;
        if let Some(cache) = &self.cache {
            cache.insert(token, claims.clone());
            // The key that verified it was removed meanwhile: don't let the cache answer for it.
            if self.keys.revocation_epoch() != epoch {
                cache.remove(token);
            }
        }
        Ok(claims)
    }

    fn verify_uncached(&self, token: &str, now: f64) -> Result<ApproovClaims, ApproovErrorKind> {
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
        // the registered claims are read here, borrowed from the decoded payload; the claims
        // map (the one allocation that stays) is built for tokens whose signature passed.
        let mut payload_buf = [0u8; PAYLOAD_STACK];
        let mut payload_heap = Vec::new();
        let payload = decode_b64(payload_b64, &mut payload_buf, &mut payload_heap)?;
        let registered =
            parse_object::<Registered<'_>>(payload).ok_or(ApproovErrorKind::MalformedClaims)?;
        let exp = self.check_claims(&registered, now)?;

        key.verify(alg, message.as_bytes(), signature)?;
        let claims =
            parse_object::<Map<String, Value>>(payload).ok_or(ApproovErrorKind::MalformedClaims)?;
        Ok(ApproovClaims::new(exp, claims))
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

/// The registered claims, as raw JSON borrowed from the payload. `null` is kept apart from
/// absence (`Some("null")`), and a repeated registered claim fails the parse, so the claims
/// map built later cannot disagree with what was checked here.
#[derive(Deserialize)]
struct Registered<'a> {
    #[serde(borrow, default, deserialize_with = "raw")]
    exp: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "raw")]
    nbf: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "raw")]
    iss: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "raw")]
    aud: Option<&'a RawValue>,
}

fn raw<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
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
