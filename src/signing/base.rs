//! The signature base (RFC 9421 section 2.5), rebuilt from the server's own view of the request.

use std::borrow::Cow;

use http::HeaderName;
use http::uri::Authority;
use sfv::{BareItem, InnerList, ItemSerializer, ListSerializer};

use super::config::{SigningConfig, normalize_authority};
use super::{CONTENT_DIGEST, RequestView};
use crate::error::ApproovErrorKind;

/// A rebuilt signature base, and whether it covers `content-digest`.
#[derive(Debug)]
pub(crate) struct Built {
    pub(crate) base: Vec<u8>,
    pub(crate) covers_content_digest: bool,
}

/// Builds the signature base for the covered components of `input`.
///
/// Supported: the derived components `@method`, `@target-uri`, `@authority`, `@scheme`,
/// `@path`, `@query`, `@request-target`, and any header field, all without component
/// parameters (the SDKs use none). A component the base cannot be built for is a
/// [`SignatureMalformed`](ApproovErrorKind::SignatureMalformed); a covered header the request
/// does not have is a [`MessageSignatureInvalid`](ApproovErrorKind::MessageSignatureInvalid),
/// as it would be if it had been stripped in flight.
pub(crate) fn signature_base(
    input: &InnerList,
    request: &RequestView<'_>,
    config: &SigningConfig,
) -> Result<Built, ApproovErrorKind> {
    let mut base = Vec::with_capacity(512);
    let mut origin: Option<(Cow<'_, str>, String)> = None;
    let mut seen: Vec<&str> = Vec::with_capacity(input.items.len());
    let mut covers_content_digest = false;

    for item in &input.items {
        let BareItem::String(name) = &item.bare_item else {
            return Err(ApproovErrorKind::SignatureMalformed);
        };
        let name = name.as_str();
        // Component names are lower case; each may appear once; no component parameters.
        if !item.params.is_empty()
            || name.bytes().any(|b| b.is_ascii_uppercase())
            || seen.contains(&name)
        {
            return Err(ApproovErrorKind::SignatureMalformed);
        }
        seen.push(name);

        let mut id = String::with_capacity(name.len() + 2);
        let _ = ItemSerializer::with_buffer(&mut id).bare_item(&item.bare_item);
        base.extend_from_slice(id.as_bytes());
        base.extend_from_slice(b": ");

        if let Some(derived) = name.strip_prefix('@') {
            let uri = request.uri;
            let path = match uri.path() {
                "" => "/",
                path => path,
            };
            match derived {
                "method" => base.extend_from_slice(request.method.as_str().as_bytes()),
                "target-uri" | "authority" | "scheme" => {
                    if origin.is_none() {
                        origin = Some(resolve_origin(request, config)?);
                    }
                    let Some((scheme, authority)) = &origin else {
                        return Err(ApproovErrorKind::MessageSignatureInvalid);
                    };
                    match derived {
                        "scheme" => base.extend_from_slice(scheme.as_bytes()),
                        "authority" => base.extend_from_slice(authority.as_bytes()),
                        _ => {
                            base.extend_from_slice(scheme.as_bytes());
                            base.extend_from_slice(b"://");
                            base.extend_from_slice(authority.as_bytes());
                            push_path_and_query(&mut base, path, uri.query());
                        }
                    }
                }
                "path" => base.extend_from_slice(path.as_bytes()),
                "query" => {
                    base.push(b'?');
                    base.extend_from_slice(uri.query().unwrap_or_default().as_bytes());
                }
                "request-target" => push_path_and_query(&mut base, path, uri.query()),
                // `@signature-params` may not be covered; `@status` is for responses;
                // `@query-param` needs a parameter; anything else is unknown.
                _ => return Err(ApproovErrorKind::SignatureMalformed),
            }
        } else {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ApproovErrorKind::SignatureMalformed)?;
            if header == CONTENT_DIGEST {
                covers_content_digest = true;
            }
            let mut values = request.headers.get_all(&header).iter();
            let Some(first) = values.next() else {
                return Err(ApproovErrorKind::MessageSignatureInvalid);
            };
            // Every field line, trimmed, joined with `, ` (RFC 9421 section 2.1).
            base.extend_from_slice(first.as_bytes().trim_ascii());
            for value in values {
                base.extend_from_slice(b", ");
                base.extend_from_slice(value.as_bytes().trim_ascii());
            }
        }
        base.push(b'\n');
    }

    // A signature that leaves out the method, the URL or the token could be replayed on
    // another request, or with another token: the SDKs always cover all three.
    let token = request.token_header.as_str();
    if !["@method", "@target-uri", token]
        .iter()
        .all(|required| seen.contains(required))
    {
        return Err(ApproovErrorKind::MessageSignatureInvalid);
    }

    let mut params = String::with_capacity(128);
    params.push_str("\"@signature-params\": ");
    {
        let mut list = ListSerializer::with_buffer(&mut params);
        let mut inner = list.inner_list();
        inner.items(&input.items);
        let _ = inner.finish().parameters(&input.params);
        let _ = list.finish();
    }
    base.extend_from_slice(params.as_bytes());

    Ok(Built {
        base,
        covers_content_digest,
    })
}

fn push_path_and_query(base: &mut Vec<u8>, path: &str, query: Option<&str>) {
    base.extend_from_slice(path.as_bytes());
    if let Some(query) = query {
        base.push(b'?');
        base.extend_from_slice(query.as_bytes());
    }
}

/// The scheme and authority the client used: the configured public origin, else the trusted
/// forwarding headers, else the request itself (its absolute URI, else `Host` with `http`).
fn resolve_origin<'a>(
    request: &RequestView<'a>,
    config: &'a SigningConfig,
) -> Result<(Cow<'a, str>, String), ApproovErrorKind> {
    if let Some(origin) = &config.public_origin {
        return Ok((Cow::Borrowed(&*origin.scheme), origin.authority.to_string()));
    }
    let (mut scheme, mut host) = (None, None);
    if config.trust_forwarded {
        (scheme, host) = forwarded(request);
    }
    let scheme: Cow<'a, str> = match scheme {
        Some(scheme) => Cow::Owned(scheme.to_ascii_lowercase()),
        None => Cow::Borrowed(request.uri.scheme_str().unwrap_or("http")),
    };
    let authority = match host {
        Some(host) => host.parse::<Authority>().ok(),
        None => match request.uri.authority() {
            Some(authority) => Some(authority.clone()),
            None => request
                .headers
                .get(http::header::HOST)
                .and_then(|h| Authority::try_from(h.as_bytes()).ok()),
        },
    }
    .ok_or(ApproovErrorKind::MessageSignatureInvalid)?;
    let authority = normalize_authority(&scheme, &authority);
    Ok((scheme, authority))
}

/// `proto` and `host` from the first element of `Forwarded`, else from the first values of
/// `X-Forwarded-Proto` and `X-Forwarded-Host`.
fn forwarded<'a>(request: &RequestView<'a>) -> (Option<&'a str>, Option<&'a str>) {
    let headers = request.headers;
    if let Some(first) = headers
        .get(http::header::FORWARDED)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
    {
        let (mut proto, mut host) = (None, None);
        for pair in first.split(';') {
            if let Some((key, value)) = pair.split_once('=') {
                let value = value.trim().trim_matches('"');
                match key.trim().to_ascii_lowercase().as_str() {
                    "proto" => proto = Some(value),
                    "host" => host = Some(value),
                    _ => {}
                }
            }
        }
        if proto.is_some() || host.is_some() {
            return (proto, host);
        }
    }
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    (first("x-forwarded-proto"), first("x-forwarded-host"))
}
