//! The verified claims of an Approov token.

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

/// The claims of a token that passed every check.
///
/// The layer puts one in the request extensions; with the `axum` feature it is also an
/// extractor. Cloning is cheap (an [`Arc`]), and every claim is kept, known or not: use
/// [`get`](ApproovClaims::get) for the ones without an accessor.
#[derive(Clone)]
pub struct ApproovClaims(Arc<Inner>);

struct Inner {
    exp: f64,
    claims: Map<String, Value>,
}

impl ApproovClaims {
    pub(crate) fn new(exp: f64, claims: Map<String, Value>) -> Self {
        Self(Arc::new(Inner { exp, claims }))
    }

    /// The expiry, in seconds since the Unix epoch. Approov often sends it as a float.
    #[must_use]
    pub fn exp(&self) -> f64 {
        self.0.exp
    }

    /// The device id (`did`), base64 text as Approov sends it.
    #[must_use]
    pub fn did(&self) -> Option<&str> {
        self.str("did")
    }

    /// The client IP address that the Approov cloud saw (`ip`).
    #[must_use]
    pub fn ip(&self) -> Option<&str> {
        self.str("ip")
    }

    /// The token binding hash (`pay`): base64 of SHA-256 over the bound header values.
    #[must_use]
    pub fn pay(&self) -> Option<&str> {
        self.str("pay")
    }

    /// The installation public key (`ipk`): base64 DER of a P-256 public key.
    #[must_use]
    pub fn ipk(&self) -> Option<&str> {
        self.str("ipk")
    }

    /// The annotation results (`arc`), if the account adds them.
    #[must_use]
    pub fn arc(&self) -> Option<&str> {
        self.str("arc")
    }

    /// The issuer (`iss`), present when `approov policy -setIssuer on`.
    #[must_use]
    pub fn iss(&self) -> Option<&str> {
        self.str("iss")
    }

    /// The subject (`sub`), if present.
    #[must_use]
    pub fn sub(&self) -> Option<&str> {
        self.str("sub")
    }

    /// The issue time (`iat`), in seconds since the Unix epoch, if present and numeric.
    #[must_use]
    pub fn iat(&self) -> Option<f64> {
        self.get("iat").and_then(Value::as_f64)
    }

    /// Any claim, as a JSON value.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.claims.get(name)
    }

    /// All claims, as a JSON object.
    #[must_use]
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0.claims
    }

    fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }
}

/// Prints the claim names and the expiry; claim values stay out of logs.
impl fmt::Debug for ApproovClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApproovClaims")
            .field("exp", &self.0.exp)
            .field("claims", &self.0.claims.keys().collect::<Vec<_>>())
            .finish()
    }
}
