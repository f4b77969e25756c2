//! What every door of the verifier answers for a verdict: the headers the upstream request
//! gets (the claims) and loses (the token, and any claim header the client sent itself), or a
//! refusal. The doors only write this answer in their own protocol.

use http::{HeaderName, HeaderValue};
use serde_json::Value;
use tower_approov::{ApproovClaims, ApproovError, ApproovErrorKind, Verdict};

use crate::settings::ClaimHeaders;

/// The upstream request's changes, when the request may go on.
#[derive(Debug, Default)]
pub(crate) struct Upstream {
    /// Headers to set, replacing any value the client sent.
    pub(crate) set: Vec<(HeaderName, HeaderValue)>,
    /// Headers to remove: the token header, and each claim header whose claim the token lacks
    /// (or every claim header, when the request goes on unverified in monitor mode).
    pub(crate) remove: Vec<HeaderName>,
}

/// A door's answer.
#[derive(Debug)]
pub(crate) enum Answer {
    /// Let the request go on, changed so.
    Allow(Upstream),
    /// Refuse it (`401 {}`), for this reason (already logged by the check).
    Deny(ApproovError),
}

/// The answer for a final verdict. A verdict that still asks for the body can only come from a
/// door that said it had none to read: it is refused, as a body it cannot check.
pub(crate) fn answer(verdict: Verdict, claims: &ClaimHeaders, token: &HeaderName) -> Answer {
    let mut upstream = Upstream {
        set: Vec::with_capacity(claims.0.len()),
        remove: vec![token.clone()],
    };
    match verdict {
        Verdict::Accept(verified) => {
            for (claim, header) in &claims.0 {
                match claim_value(&verified, claim) {
                    Some(value) => upstream.set.push((header.clone(), value)),
                    None => upstream.remove.push(header.clone()),
                }
            }
            Answer::Allow(upstream)
        }
        Verdict::Monitor(_) => {
            upstream
                .remove
                .extend(claims.0.iter().map(|(_, header)| header.clone()));
            Answer::Allow(upstream)
        }
        Verdict::Reject(error) => Answer::Deny(error),
        _ => {
            let kind = ApproovErrorKind::BodyUnavailable;
            tracing::warn!(
                reason = kind.reason_code(),
                "Approov check failed; request rejected (the body it needs was not read)"
            );
            Answer::Deny(kind.into())
        }
    }
}

/// A claim as a header value: a string as it is, a number or a boolean as JSON text; anything
/// else, or a string that is not a valid header value, is left out (its header removed).
fn claim_value(claims: &ApproovClaims, claim: &str) -> Option<HeaderValue> {
    // `did` has an accessor that reads the signed text without building the claims map.
    if claim == "did" {
        return claims.did().and_then(|did| HeaderValue::from_str(did).ok());
    }
    match claims.get(claim)? {
        Value::String(text) => HeaderValue::from_str(text).ok(),
        value @ (Value::Number(_) | Value::Bool(_)) => {
            HeaderValue::from_str(&value.to_string()).ok()
        }
        _ => None,
    }
}
