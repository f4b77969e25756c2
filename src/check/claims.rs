//! The verified claims of an Approov token.

use std::fmt;
use std::sync::{Arc, OnceLock};

use jsonwebtoken::DecodingKey;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::check::error::ApproovErrorKind;

/// The claims with an accessor, in the order of [`Spans`].
pub(crate) const KNOWN: [&str; 9] = [
    "did", "ip", "pay", "ipk", "arc", "iss", "sub", "iat", "mskid",
];
const DID: usize = 0;
const IP: usize = 1;
const PAY: usize = 2;
const IPK: usize = 3;
const ARC: usize = 4;
const ISS: usize = 5;
const SUB: usize = 6;
const IAT: usize = 7;
const MSKID: usize = 8;

/// Where the raw JSON value of each [`KNOWN`] claim sits in the payload text (byte range),
/// the last one when a name is repeated, as in a JSON map.
pub(crate) type Spans = [Option<(usize, usize)>; KNOWN.len()];

/// The claims of a token that passed every check.
///
/// The layer puts one in the request extensions; with the `axum` feature it is also an
/// extractor. Cloning is cheap (an [`Arc`]), and every claim is kept, known or not: use
/// [`get`](ApproovClaims::get) for the ones without an accessor, or
/// [`deserialize`](ApproovClaims::deserialize) for a struct of your own.
///
/// The claims are kept as the JSON text that was signed. The accessors read their claim
/// straight from it; the JSON map behind [`get`](ApproovClaims::get) and
/// [`as_map`](ApproovClaims::as_map) is built the first time one of them is called, once per
/// cached token, so a handler that never asks for it never pays for it.
#[derive(Clone)]
pub struct ApproovClaims(Arc<Inner>);

struct Inner {
    exp: f64,
    /// The payload JSON, as signed. Checked at verification to parse as a JSON object, so the
    /// map built from it below cannot fail.
    json: Box<str>,
    spans: Spans,
    map: OnceLock<Map<String, Value>>,
    /// The `pay` claim decoded, for token binding: once per cached token, not per request.
    pay: OnceLock<Result<[u8; 32], ApproovErrorKind>>,
    /// The installation key of `ipk`, for message signing: parsed once per cached token.
    ipk: OnceLock<Result<DecodingKey, ApproovErrorKind>>,
}

impl ApproovClaims {
    /// Claims from a verified payload: its text and where its known claims are.
    pub(crate) fn from_json(exp: f64, json: Box<str>, spans: Spans) -> Self {
        Self(Arc::new(Inner {
            exp,
            json,
            spans,
            map: OnceLock::new(),
            pay: OnceLock::new(),
            ipk: OnceLock::new(),
        }))
    }

    /// Claims from a map (tests), with the spans of their known claims as the verifier finds
    /// them, so that the accessors read them.
    #[cfg(test)]
    pub(crate) fn new(exp: f64, claims: Map<String, Value>) -> Self {
        let json = Value::Object(claims).to_string().into_boxed_str();
        let mut spans = Spans::default();
        if let Ok(raw) = serde_json::from_str::<
            std::collections::HashMap<String, &serde_json::value::RawValue>,
        >(&json)
        {
            for (i, name) in KNOWN.iter().enumerate() {
                if let Some(value) = raw.get(*name) {
                    let start = value.get().as_ptr() as usize - json.as_ptr() as usize;
                    spans[i] = Some((start, start + value.get().len()));
                }
            }
        }
        Self::from_json(exp, json, spans)
    }

    /// The expiry, in seconds since the Unix epoch. Approov often sends it as a float.
    #[must_use]
    pub fn exp(&self) -> f64 {
        self.0.exp
    }

    /// The device id (`did`), base64 text as Approov sends it.
    #[must_use]
    pub fn did(&self) -> Option<&str> {
        self.str(DID)
    }

    /// The client IP address that the Approov cloud saw (`ip`).
    #[must_use]
    pub fn ip(&self) -> Option<&str> {
        self.str(IP)
    }

    /// The token binding hash (`pay`): base64 of SHA-256 over the bound header values.
    #[must_use]
    pub fn pay(&self) -> Option<&str> {
        self.str(PAY)
    }

    /// The installation public key (`ipk`): base64 DER of a P-256 public key.
    #[must_use]
    pub fn ipk(&self) -> Option<&str> {
        self.str(IPK)
    }

    /// The id of the account message signing key (`mskid`), in tokens of accounts that use
    /// account message signing: the key that signs the request's `account` signature.
    #[must_use]
    pub fn mskid(&self) -> Option<&str> {
        self.str(MSKID)
    }

    /// The annotation results (`arc`), if the account adds them.
    #[must_use]
    pub fn arc(&self) -> Option<&str> {
        self.str(ARC)
    }

    /// The issuer (`iss`), present when `approov policy -setIssuer on`.
    #[must_use]
    pub fn iss(&self) -> Option<&str> {
        self.str(ISS)
    }

    /// The subject (`sub`), if present.
    #[must_use]
    pub fn sub(&self) -> Option<&str> {
        self.str(SUB)
    }

    /// The issue time (`iat`), in seconds since the Unix epoch, if present and numeric.
    #[must_use]
    pub fn iat(&self) -> Option<f64> {
        serde_json::from_str::<serde_json::Number>(self.raw(IAT)?)
            .ok()?
            .as_f64()
    }

    /// Any claim, as a JSON value.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.as_map().get(name)
    }

    /// All claims, as a JSON object. Built on the first call, then kept with the claims.
    #[must_use]
    pub fn as_map(&self) -> &Map<String, Value> {
        // The text parsed as a JSON object when the token was verified, so this cannot fail;
        // an empty map rather than a panic if it ever did.
        self.0
            .map
            .get_or_init(|| serde_json::from_str(&self.0.json).unwrap_or_default())
    }

    /// The claims read into a type of your own, straight from the signed JSON text (the
    /// claims map is neither built nor cloned).
    ///
    /// ```
    /// # use tower_approov::ApproovClaims;
    /// #[derive(serde::Deserialize)]
    /// struct MyClaims {
    ///     did: String,
    ///     #[serde(default)]
    ///     arc: Option<String>,
    ///     exp: f64,
    /// }
    ///
    /// fn handler(claims: &ApproovClaims) -> Result<String, serde_json::Error> {
    ///     let mine: MyClaims = claims.deserialize()?;
    ///     Ok(format!("{} until {}", mine.did, mine.exp))
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// The `serde_json` error when the claims do not fit `T` (a missing field, a wrong type).
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.0.json)
    }

    /// The raw JSON of a known claim, if present.
    pub(crate) fn raw_claim(&self, name: &str) -> Option<&str> {
        self.raw(KNOWN.iter().position(|k| *k == name)?)
    }

    /// The `pay` digest, decoded by `decode` on the first call for this token.
    pub(crate) fn pay_digest(
        &self,
        decode: impl FnOnce(&Self) -> Result<[u8; 32], ApproovErrorKind>,
    ) -> Result<&[u8; 32], ApproovErrorKind> {
        self.0
            .pay
            .get_or_init(|| decode(self))
            .as_ref()
            .map_err(|k| *k)
    }

    /// The installation key of `ipk`, parsed by `decode` on the first call for this token.
    pub(crate) fn installation_key(
        &self,
        decode: impl FnOnce() -> Result<DecodingKey, ApproovErrorKind>,
    ) -> Result<&DecodingKey, ApproovErrorKind> {
        self.0.ipk.get_or_init(decode).as_ref().map_err(|k| *k)
    }

    fn raw(&self, index: usize) -> Option<&str> {
        let (start, end) = self.0.spans[index]?;
        self.0.json.get(start..end)
    }

    fn str(&self, index: usize) -> Option<&str> {
        let raw = self.raw(index)?;
        match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            // A JSON string without escapes is its own text between the quotes.
            Some(text) if !text.contains('\\') => Some(text),
            // Escapes: the map has it unescaped.
            Some(_) => self.get(KNOWN[index]).and_then(Value::as_str),
            None => None,
        }
    }
}

/// Prints the claim names and the expiry; claim values stay out of logs.
impl fmt::Debug for ApproovClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApproovClaims")
            .field("exp", &self.0.exp)
            .field("claims", &self.as_map().keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Claims as the verifier makes them: the payload's text, with the spans of its known
    /// claims.
    fn claims(json: &str) -> ApproovClaims {
        let raw: std::collections::HashMap<String, &serde_json::value::RawValue> =
            serde_json::from_str(json).unwrap();
        let mut spans = Spans::default();
        for (i, name) in KNOWN.iter().enumerate() {
            if let Some(value) = raw.get(*name) {
                // A slice of `json`, so its offset in it.
                let start = value.get().as_ptr() as usize - json.as_ptr() as usize;
                spans[i] = Some((start, start + value.get().len()));
            }
        }
        ApproovClaims::from_json(1.0, json.into(), spans)
    }

    #[test]
    fn each_string_accessor_reads_its_own_claim() {
        let c = claims(
            r#"{"did":"d","ip":"1.2.3.4","pay":"p","ipk":"k","mskid":"m","arc":"a","iss":"i","sub":"s","iat":12}"#,
        );
        assert_eq!(
            (c.did(), c.ip(), c.pay(), c.ipk(), c.mskid()),
            (Some("d"), Some("1.2.3.4"), Some("p"), Some("k"), Some("m"))
        );
        assert_eq!(
            (c.arc(), c.iss(), c.sub()),
            (Some("a"), Some("i"), Some("s"))
        );
        assert_eq!(c.iat(), Some(12.0));
        let none = claims(r#"{"other":"x"}"#);
        assert_eq!((none.arc(), none.iss(), none.sub()), (None, None, None));
    }

    #[test]
    fn a_string_claim_with_escapes_is_read_unescaped() {
        let c = claims(r#"{"sub":"a\"b\u0041"}"#);
        assert_eq!(c.sub(), Some("a\"bA"));
    }
}
