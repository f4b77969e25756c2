//! The HTTP auth doors: forward auth on `/check` (nginx `auth_request`, Traefik `forwardAuth`,
//! Caddy `forward_auth`, HAProxy's Lua action in `gateways/haproxy/approov.lua`) and Envoy's
//! HTTP ext_authz on `/ext-authz/<original path>`. Each translates the auth request into the
//! request the client sent, hands it to the check, and writes the answer: `200` with the claim
//! headers, or `401 {}`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use http_body::Body as _;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use tower_approov::{
    ApproovRequest, BodyCheck, BodyRead, HeaderSource, JsonRejection, RequestBody, Verdict,
};

use crate::Shared;
use crate::answer::{Answer, answer};

/// The prefix of Envoy's HTTP ext_authz requests (its `path_prefix`).
pub(crate) const EXT_AUTHZ_PREFIX: &str = "/ext-authz";

/// The header Envoy reads from a `200` to remove headers from the upstream request.
const ENVOY_HEADERS_TO_REMOVE: HeaderName =
    HeaderName::from_static("x-envoy-auth-headers-to-remove");
/// Set by Envoy when it sent only the first `max_request_bytes` of the body.
const ENVOY_PARTIAL_BODY: HeaderName = HeaderName::from_static("x-envoy-auth-partial-body");

/// The original request, as the auth request describes it.
struct Original<'a> {
    method: &'a str,
    target: &'a str,
    host: &'a [u8],
    scheme: Option<&'a str>,
    /// The original `Content-Length`, when the gateway sends it apart
    /// (`X-Original-Content-Length`) because its auth request has no body, and so no length
    /// of its own: nginx `auth_request`, Caddy `forward_auth` and HAProxy's Lua action drop it.
    /// A signature covers `content-length` whenever the request has one.
    content_length: Option<&'a str>,
}

/// Why an auth request cannot be translated: the gateway is not configured as the README
/// shows. Answered `500`, which every gateway turns into a refusal, and logged.
#[derive(Debug)]
struct Misconfigured(&'static str);

/// `/check`: the original method, target, host and scheme from the headers the gateway sets.
pub(crate) async fn forward_auth(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let original = match forward_auth_original(&parts) {
        Ok(original) => original,
        Err(error) => return misconfigured(&error),
    };
    decide(&shared, &parts, original, body).await
}

/// `/ext-authz/<path>`: Envoy sends the original method, and the original target behind its
/// path prefix, with the original headers (`Host` the original authority).
pub(crate) async fn ext_authz(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map_or("", |p| p.as_str())
        .strip_prefix(EXT_AUTHZ_PREFIX)
        .unwrap_or_default();
    let Some(host) = last_value(&parts.headers, &HOST) else {
        return misconfigured(&Misconfigured("Envoy sent no Host"));
    };
    let original = Original {
        method: parts.method.as_str(),
        target: if target.is_empty() { "/" } else { target },
        host: host.as_bytes(),
        scheme: last_value(&parts.headers, &X_FORWARDED_PROTO),
        content_length: None,
    };
    decide(&shared, &parts, original, body).await
}

const X_ORIGINAL_METHOD: HeaderName = HeaderName::from_static("x-original-method");
const X_ORIGINAL_URI: HeaderName = HeaderName::from_static("x-original-uri");
const X_FORWARDED_METHOD: HeaderName = HeaderName::from_static("x-forwarded-method");
const X_FORWARDED_URI: HeaderName = HeaderName::from_static("x-forwarded-uri");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_ORIGINAL_CONTENT_LENGTH: HeaderName = HeaderName::from_static("x-original-content-length");

/// The original request of a forward-auth call. nginx and HAProxy (configured as the README
/// shows) send `X-Original-Method` and `X-Original-URI`; Traefik and Caddy
/// `X-Forwarded-Method` and `X-Forwarded-Uri`. A gateway passes the client's own headers on
/// too, so a client could add the family its gateway does not set: when both families are
/// there and disagree, the request is not translated. The host and scheme are the last
/// `X-Forwarded-Host` and `X-Forwarded-Proto` (the gateway's own), else the auth request's
/// `Host`. The original length is `X-Original-Content-Length` (nginx, Caddy and HAProxy, as the
/// README configures them): a length, and the forwarded body's own when the gateway forwards
/// one.
fn forward_auth_original(parts: &Parts) -> Result<Original<'_>, Misconfigured> {
    let headers = &parts.headers;
    let either = |original: &HeaderName, forwarded: &HeaderName, what| match (
        single_value(headers, original)?,
        single_value(headers, forwarded)?,
    ) {
        (Some(a), Some(b)) if a != b => Err(Misconfigured(what)),
        (Some(a), _) | (None, Some(a)) => Ok(Some(a)),
        (None, None) => Ok(None),
    };
    let method = either(
        &X_ORIGINAL_METHOD,
        &X_FORWARDED_METHOD,
        "X-Original-Method and X-Forwarded-Method disagree",
    )?
    .unwrap_or(parts.method.as_str());
    let target = either(
        &X_ORIGINAL_URI,
        &X_FORWARDED_URI,
        "X-Original-URI and X-Forwarded-Uri disagree",
    )?
    .ok_or(Misconfigured(
        "the gateway sent neither X-Original-URI nor X-Forwarded-Uri",
    ))?;
    let host = last_value(headers, &X_FORWARDED_HOST)
        .or_else(|| last_value(headers, &HOST))
        .ok_or(Misconfigured(
            "the gateway sent neither X-Forwarded-Host nor Host",
        ))?;
    let content_length =
        single_value(headers, &X_ORIGINAL_CONTENT_LENGTH)?.filter(|length| !length.is_empty());
    if let Some(length) = content_length {
        if !length.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Misconfigured("X-Original-Content-Length is not a length"));
        }
        let own = single_value(headers, &CONTENT_LENGTH)?;
        if own.is_some_and(|own| own != "0" && own != length) {
            return Err(Misconfigured(
                "X-Original-Content-Length and the forwarded body's length disagree",
            ));
        }
    }
    Ok(Original {
        method,
        target,
        host: host.as_bytes(),
        scheme: last_value(headers, &X_FORWARDED_PROTO),
        content_length,
    })
}

/// The one value of a header, if it is there. Repeated, or not text, it cannot be told from a
/// client's own copy beside the gateway's.
fn single_value<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'a str>, Misconfigured> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => value
            .to_str()
            .map(|v| Some(v.trim()))
            .map_err(|_| Misconfigured("an original-request header is not text")),
        (Some(_), Some(_)) => Err(Misconfigured("an original-request header is repeated")),
    }
}

/// The last element of the last line of a header: the one the nearest proxy (the gateway)
/// wrote.
fn last_value<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers
        .get_all(name)
        .iter()
        .next_back()?
        .to_str()
        .ok()?
        .rsplit(',')
        .next()
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The auth request's headers as the client sent them: `Host` is the original host, whatever
/// the auth request's own `Host` says, and `Content-Length` the original length when the
/// gateway sent it apart.
struct AuthHeaders<'a> {
    headers: &'a HeaderMap,
    host: &'a [u8],
    content_length: Option<&'a [u8]>,
}

impl HeaderSource for AuthHeaders<'_> {
    fn header_values<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> {
        let replaced = if *name == HOST {
            Some(Some(self.host))
        } else if *name == CONTENT_LENGTH && self.content_length.is_some() {
            Some(self.content_length)
        } else {
            None
        };
        let others = self
            .headers
            .get_all(name)
            .iter()
            .filter(move |_| replaced.is_none());
        replaced
            .flatten()
            .into_iter()
            .chain(others.map(HeaderValue::as_bytes))
    }
}

/// The check of the original request, and the answer.
async fn decide(shared: &Shared, parts: &Parts, original: Original<'_>, body: Body) -> Response {
    let headers = AuthHeaders {
        headers: &parts.headers,
        host: original.host,
        content_length: original.content_length.map(str::as_bytes),
    };
    let forwarded = !(body.is_end_stream() || body.size_hint().exact() == Some(0));
    let body_state = match (forwarded, original.content_length) {
        (true, _) => RequestBody::Unread,
        (false, Some("0")) => RequestBody::Empty,
        (false, Some(_)) => RequestBody::Unavailable,
        (false, None) if shared.settings.body_forwarded => RequestBody::Empty,
        (false, None) => RequestBody::Unavailable,
    };
    let host = std::str::from_utf8(original.host).unwrap_or_default();
    let mut request =
        ApproovRequest::new(original.method, original.target, &headers).with_body(body_state);
    // An original target in absolute form (a gateway that passes the request line's target as
    // it came) names its own scheme and authority: the check takes them, as every front door
    // gives them, and refuses a host that disagrees. The gateway's scheme and host stand for
    // them only when the target does not say.
    if !is_absolute_form(original.target) {
        if !host.is_empty() {
            request = request.with_authority(host);
        }
        if let Some(scheme) = original.scheme {
            request = request.with_scheme(scheme);
        }
    }
    let verdict = match shared.config.check(&request) {
        Verdict::ReadBody(check) => {
            let partial = parts
                .headers
                .get(ENVOY_PARTIAL_BODY)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
            read_body(body, check, partial).await
        }
        verdict => verdict,
    };
    // Replay protection with Redis: the store's answer.
    let verdict = match verdict {
        Verdict::Record(check) => check.record().await,
        verdict => verdict,
    };
    http_answer(answer(
        verdict,
        &shared.settings.claim_headers,
        &shared.token_header,
    ))
}

/// Whether `target` is in absolute form (`https://api.example.com/v1`): a scheme (letters,
/// digits, `+`, `-`, `.`) and `://`, as `ApproovRequest::new` reads it.
fn is_absolute_form(target: &str) -> bool {
    target.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    })
}

/// Reads the forwarded body, up to the check's limit and within its deadline, and hands it to
/// the check. A body Envoy cut at its `max_request_bytes` is over the limit: never checked as a
/// whole.
pub(crate) async fn read_body(body: Body, check: BodyCheck, partial: bool) -> Verdict {
    if partial {
        return check.finish(BodyRead::TooLarge);
    }
    let read = Limited::new(body, check.limit()).collect();
    match tokio::time::timeout(check.deadline(), read).await {
        Ok(Ok(collected)) => {
            let bytes = collected.to_bytes();
            check.finish(BodyRead::Complete(&bytes))
        }
        Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
            check.finish(BodyRead::TooLarge)
        }
        Ok(Err(_)) | Err(_) => check.finish(BodyRead::Failed),
    }
}

/// `200` with the headers to set upstream (and, for Envoy, `x-envoy-auth-headers-to-remove`),
/// or `401 {}`.
fn http_answer(answer: Answer) -> Response {
    match answer {
        Answer::Allow(upstream) => {
            let mut response = StatusCode::OK.into_response();
            let headers = response.headers_mut();
            for (name, value) in upstream.set {
                headers.insert(name, value);
            }
            let remove: Vec<&str> = upstream.remove.iter().map(HeaderName::as_str).collect();
            if let Ok(value) = HeaderValue::from_str(&remove.join(", ")) {
                headers.insert(ENVOY_HEADERS_TO_REMOVE, value);
            }
            response
        }
        Answer::Deny(error) => unauthorized(error),
    }
}

/// `401`, `content-type: application/json`, body `{}`: the answer to every refusal. The error
/// goes in the extensions, never in the body.
pub(crate) fn unauthorized(error: tower_approov::ApproovError) -> Response {
    let mut response = (StatusCode::UNAUTHORIZED, JsonRejection::BODY).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(JsonRejection::CONTENT_TYPE),
    );
    response.extensions_mut().insert(error);
    response
}

fn misconfigured(error: &Misconfigured) -> Response {
    tracing::warn!(
        problem = error.0,
        "auth request refused: the gateway's configuration does not match the README's"
    );
    (StatusCode::INTERNAL_SERVER_ERROR, "{}").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absolute_form_target_is_told_from_origin_and_asterisk_forms() {
        for absolute in [
            "http://api.example.com/v1",
            "https://api.example.com?page=1",
        ] {
            assert!(is_absolute_form(absolute), "{absolute}");
        }
        for not in ["/v1/orders", "/a?b=c://d", "*", "://api.example.com/", "/"] {
            assert!(!is_absolute_form(not), "{not}");
        }
    }
}
