//! The signature base (RFC 9421 section 2.5), rebuilt from the server's own view of the request.
//!
//! The SDKs sign the URL string their HTTP client holds, and some of those strings differ from
//! what RFC 9421 derives from the request the server receives (APPROOV.md section 3). Such a
//! request verifies over one of three [`Form`]s of the URL components: the RFC one first, then
//! each other form only when it gives a different base. So a request costs at most
//! [`MAX_VERIFICATIONS`] signature verifications, whatever it holds.

use std::borrow::Cow;
use std::io::Write as _;

use http::HeaderName;
use http::uri::Authority;
use sfv::{BareItemFromInput, ItemSerializer};

use super::CONTENT_DIGEST;
use super::config::{ForwardedHeaders, SigningConfig, normalize_authority};
use super::fields::Covered;
use crate::check::error::ApproovErrorKind;
use crate::check::request::{ApproovRequest, HeaderSource};

/// A request as the signature base sees it: the request, the signing settings and the header
/// that carries the token.
pub(crate) struct View<'r, 'a, H: ?Sized> {
    pub(crate) request: &'r ApproovRequest<'a, H>,
    pub(crate) config: &'r SigningConfig,
    pub(crate) token_header: &'r HeaderName,
}

/// How the URL components (`@target-uri`, `@authority`, `@path`, `@query`) are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// RFC 9421 section 2.2: the scheme and authority normalised (lower case, no default
    /// port), an empty path as `/`, `@query` with its leading `?`.
    Rfc,
    /// The URL as written, as iOS (URLSession, HttpsURLConnection) and Flutter sign it: the
    /// root without its `/` (`https://host`, `https://host?q=1`, which the wire carries as
    /// `/` and `/?q=1`), `@query` without `?`, `@authority` as the host alone, `@path`
    /// percent-decoded.
    Verbatim,
    /// OkHttp's `HttpUrl.uri()`: `[` and `]` in the path and `\`, `^`, `` ` ``, `{`, `|`, `}`
    /// in the query percent-encoded (the wire carries them raw), `@query` without `?`,
    /// `@authority` as the host alone.
    OkHttp,
}

/// The most signature verifications one request can cost: one per form. A request whose
/// signature needs anything else (say, the root without `/` *and* OkHttp's encoding) is
/// refused rather than tried a fourth way.
pub(crate) const MAX_VERIFICATIONS: usize = 3;

/// Every form, in the order they are tried: one verification each at most.
pub(crate) const FORMS: [Form; MAX_VERIFICATIONS] = [Form::Rfc, Form::Verbatim, Form::OkHttp];

/// A rebuilt signature base, and whether it covers `content-digest`.
#[derive(Debug)]
pub(crate) struct Built {
    pub(crate) base: Vec<u8>,
    pub(crate) covers_content_digest: bool,
}

/// Builds the base in each form in turn and calls `verify` on it, skipping a base already
/// tried, until `verify` says yes. Returns the base that verified, or `None` after at most
/// [`MAX_VERIFICATIONS`] calls.
///
/// # Errors
///
/// As [`signature_base`], from the RFC form (the other forms fail in the same cases).
pub(crate) fn verify_forms<H: HeaderSource + ?Sized>(
    input: &Covered<'_>,
    view: &View<'_, '_, H>,
    mut verify: impl FnMut(&[u8]) -> bool,
) -> Result<Option<Built>, ApproovErrorKind> {
    // Empty until a form fails: an ordinary request allocates nothing here.
    let mut tried: Vec<Vec<u8>> = Vec::new();
    for form in FORMS {
        let built = signature_base(input, view, form)?;
        if tried.contains(&built.base) {
            continue;
        }
        if verify(&built.base) {
            return Ok(Some(built));
        }
        tried.push(built.base);
    }
    Ok(None)
}

/// Whether `input` covers `@method`, `@target-uri` and the token header. A signature that
/// leaves out the method, the URL or the token could be replayed on another request, or with
/// another token: the SDKs always cover all three, and a signature that does not is refused
/// before any base is built.
pub(crate) fn covers_request(input: &Covered<'_>, token_header: &HeaderName) -> bool {
    ["@method", "@target-uri", token_header.as_str()]
        .iter()
        .all(|required| {
            input.items.iter().any(
                |(item, _)| matches!(item, BareItemFromInput::String(s) if s.as_str() == *required),
            )
        })
}

/// Builds the signature base for the covered components of `input`, in `form`, as RFC 9421
/// section 2.5 says (the components the SDKs need covered are checked apart, by
/// [`covers_request`]).
///
/// Supported: the derived components `@method`, `@target-uri`, `@authority`, `@scheme`,
/// `@path`, `@query`, `@request-target`, and any header field, all without component
/// parameters (the SDKs use none). A component listed twice gives its line twice: the SDKs
/// list `authorization` twice when the token travels in it (RFC 9421 forbids this, real apps
/// do it, and a repeated line adds nothing an attacker could use); a third time is refused, so
/// that the base stays at most twice the size of the covered parts of the request. A component
/// the base cannot be built for, or listed more than twice, is a
/// [`SignatureMalformed`](ApproovErrorKind::SignatureMalformed); a covered
/// header the request does not have is a
/// [`MessageSignatureInvalid`](ApproovErrorKind::MessageSignatureInvalid), as it would be if it
/// had been stripped in flight.
pub(crate) fn signature_base<H: HeaderSource + ?Sized>(
    input: &Covered<'_>,
    view: &View<'_, '_, H>,
    form: Form,
) -> Result<Built, ApproovErrorKind> {
    let request = view.request;
    // Room for what the SDKs cover, a token of a few hundred bytes among it, without growing.
    let mut base = Vec::with_capacity(1024);
    let mut origin: Option<(Cow<'_, str>, String)> = None;
    let mut seen: Vec<&str> = Vec::with_capacity(input.items.len());
    let mut covers_content_digest = false;

    for (item, has_params) in &input.items {
        let BareItemFromInput::String(name) = item else {
            return Err(ApproovErrorKind::SignatureMalformed);
        };
        let name = name.as_str();
        // Component names are lower case; no component parameters; a name at most twice (the
        // SDKs' duplicate `authorization`). More repeats would let a short `Signature-Input`
        // make a huge base, three times over.
        if *has_params
            || name.bytes().any(|b| b.is_ascii_uppercase())
            || seen.iter().filter(|s| **s == name).count() >= 2
        {
            return Err(ApproovErrorKind::SignatureMalformed);
        }
        seen.push(name);

        // The component identifier: the name serialized as an RFC 8941 string.
        push_sf_string(&mut base, name);
        base.extend_from_slice(b": ");

        if let Some(derived) = name.strip_prefix('@') {
            let path = match request.path {
                "" => "/",
                path => path,
            };
            let query = request.query;
            match derived {
                "method" => base.extend_from_slice(request.method.as_bytes()),
                "target-uri" | "authority" | "scheme" => {
                    if origin.is_none() {
                        origin = Some(resolve_origin(view)?);
                    }
                    let Some((scheme, authority)) = &origin else {
                        return Err(ApproovErrorKind::MessageSignatureInvalid);
                    };
                    match derived {
                        "scheme" => base.extend_from_slice(scheme.as_bytes()),
                        "authority" if form == Form::Rfc => {
                            base.extend_from_slice(authority.as_bytes());
                        }
                        "authority" => base.extend_from_slice(host_only(authority).as_bytes()),
                        _ => {
                            base.extend_from_slice(scheme.as_bytes());
                            base.extend_from_slice(b"://");
                            base.extend_from_slice(authority.as_bytes());
                            match form {
                                Form::Rfc => push_path_and_query(&mut base, path, query),
                                Form::Verbatim => {
                                    let path = if path == "/" { "" } else { path };
                                    push_path_and_query(&mut base, path, query);
                                }
                                Form::OkHttp => {
                                    push_encoded(&mut base, path, b"[]");
                                    if let Some(query) = query {
                                        base.push(b'?');
                                        push_encoded(&mut base, query, OKHTTP_QUERY);
                                    }
                                }
                            }
                        }
                    }
                }
                "path" => match form {
                    Form::Rfc => base.extend_from_slice(path.as_bytes()),
                    Form::Verbatim => push_decoded(&mut base, path),
                    Form::OkHttp => push_encoded(&mut base, path, b"[]"),
                },
                "query" => {
                    let query = query.unwrap_or_default();
                    match form {
                        Form::Rfc => {
                            base.push(b'?');
                            base.extend_from_slice(query.as_bytes());
                        }
                        Form::Verbatim => base.extend_from_slice(query.as_bytes()),
                        Form::OkHttp => push_encoded(&mut base, query, OKHTTP_QUERY),
                    }
                }
                "request-target" => push_path_and_query(&mut base, path, query),
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
            let mut values = request.headers.header_values(&header);
            let Some(first) = values.next() else {
                return Err(ApproovErrorKind::MessageSignatureInvalid);
            };
            // Every field line, trimmed, joined with `, ` (RFC 9421 section 2.1).
            base.extend_from_slice(first.trim_ascii());
            for value in values {
                base.extend_from_slice(b", ");
                base.extend_from_slice(value.trim_ascii());
            }
        }
        base.push(b'\n');
    }

    base.extend_from_slice(b"\"@signature-params\": ");
    push_inner_list(&mut base, input);

    Ok(Built {
        base,
        covers_content_digest,
    })
}

/// Appends the RFC 8941 serialization of the covered components with their parameters: the
/// value of `@signature-params`. Strings and integers, all the SDKs' parameters hold, are
/// written here; any other bare item by `sfv`'s serializer.
fn push_inner_list(base: &mut Vec<u8>, list: &Covered<'_>) {
    base.push(b'(');
    for (i, (item, _)) in list.items.iter().enumerate() {
        if i > 0 {
            base.push(b' ');
        }
        // A component with parameters never gets this far.
        push_bare_item(base, item);
    }
    base.push(b')');
    for (key, value) in &list.params {
        base.push(b';');
        base.extend_from_slice(key.as_str().as_bytes());
        // A parameter that is `true` is written as its key alone.
        if !matches!(value, BareItemFromInput::Boolean(true)) {
            base.push(b'=');
            push_bare_item(base, value);
        }
    }
}

fn push_bare_item(base: &mut Vec<u8>, item: &BareItemFromInput<'_>) {
    match item {
        BareItemFromInput::String(text) => push_sf_string(base, text.as_str()),
        BareItemFromInput::Integer(n) => {
            let _ = write!(base, "{}", i64::from(*n));
        }
        other => {
            let mut text = String::new();
            let _ = ItemSerializer::with_buffer(&mut text).bare_item(other);
            base.extend_from_slice(text.as_bytes());
        }
    }
}

/// An RFC 8941 string: quoted, with `"` and `\` escaped.
fn push_sf_string(base: &mut Vec<u8>, text: &str) {
    base.push(b'"');
    for &b in text.as_bytes() {
        if b == b'"' || b == b'\\' {
            base.push(b'\\');
        }
        base.push(b);
    }
    base.push(b'"');
}

/// The query characters OkHttp percent-encodes for `java.net.URI` (APPROOV.md section 3).
const OKHTTP_QUERY: &[u8] = b"\\^`{|}";

fn push_path_and_query(base: &mut Vec<u8>, path: &str, query: Option<&str>) {
    base.extend_from_slice(path.as_bytes());
    if let Some(query) = query {
        base.push(b'?');
        base.extend_from_slice(query.as_bytes());
    }
}

/// `text` with each byte of `set` percent-encoded (upper-case hex, as `java.net.URI` writes).
fn push_encoded(base: &mut Vec<u8>, text: &str, set: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in text.as_bytes() {
        if set.contains(&b) {
            base.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        } else {
            base.push(b);
        }
    }
}

/// `text` percent-decoded; a `%` not followed by two hex digits stays as it is.
fn push_decoded(base: &mut Vec<u8>, text: &str) {
    let hex = |b: u8| char::from(b).to_digit(16);
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            // Both digits are below 16: the byte cannot overflow.
            base.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            base.push(b);
            i += 1;
        }
    }
}

/// The host of a normalised authority, without its port (IPv6 literals keep their brackets).
fn host_only(authority: &str) -> &str {
    match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => host,
        _ => authority,
    }
}

/// The scheme and authority the client used, from the first of: the configured public origin;
/// the one trusted family of forwarding headers; the request's own scheme and authority (an
/// HTTP/2 request, or an absolute URI), else its `Host` header, and `https` when the request
/// has no scheme. An HTTP/1.1 request in origin form has none, and mobile apps call `https`
/// (iOS ATS and Android's cleartext rules block plain `http`), so that is what they signed.
///
/// A request whose own authority and `Host` header disagree (or with several `Host` headers)
/// is refused ([`AuthorityMismatch`](ApproovErrorKind::AuthorityMismatch)): the handler may
/// read one while the signature was checked against the other.
fn resolve_origin<'r, H: HeaderSource + ?Sized>(
    view: &View<'r, '_, H>,
) -> Result<(Cow<'r, str>, String), ApproovErrorKind> {
    let request = view.request;
    if let Some(origin) = &view.config.public_origin {
        return Ok((Cow::Borrowed(&*origin.scheme), origin.authority.to_string()));
    }
    let (forwarded_scheme, host) = match view.config.trust_forwarded {
        Some(family) => forwarded(request.headers, family),
        None => (None, None),
    };
    let scheme = match forwarded_scheme.or(request.scheme) {
        Some(scheme) if scheme.bytes().any(|b| b.is_ascii_uppercase()) => {
            Cow::Owned(scheme.to_ascii_lowercase())
        }
        Some(scheme) => Cow::Borrowed(scheme),
        None => Cow::Borrowed("https"),
    };
    let parse = |text: &[u8]| Authority::try_from(text).ok();
    let authority = match host {
        Some(host) => parse(host.as_bytes()),
        None => {
            const HOST: HeaderName = http::header::HOST;
            let mut hosts = request.headers.header_values(&HOST);
            let (host, more) = (hosts.next(), hosts.next());
            if more.is_some() {
                return Err(ApproovErrorKind::AuthorityMismatch);
            }
            match (request.authority, host) {
                (Some(own), Some(host)) => {
                    let (own, host) = (parse(own.as_bytes()), parse(host));
                    let same = match (&own, &host) {
                        (Some(own), Some(host)) => {
                            normalize_authority(&scheme, own) == normalize_authority(&scheme, host)
                        }
                        _ => false,
                    };
                    if !same {
                        return Err(ApproovErrorKind::AuthorityMismatch);
                    }
                    own
                }
                (Some(own), None) => parse(own.as_bytes()),
                (None, host) => host.and_then(parse),
            }
        }
    }
    .ok_or(ApproovErrorKind::MessageSignatureInvalid)?;
    let authority = normalize_authority(&scheme, &authority);
    Ok((scheme, authority))
}

/// `proto` and `host` as the nearest proxy set them: from the last element of `Forwarded`, or
/// the last values of `X-Forwarded-Proto` and `X-Forwarded-Host` (or of `X-Forwarded-Proto`
/// alone), all lines of a header taken together. Earlier values may come from the client
/// itself.
fn forwarded<H: HeaderSource + ?Sized>(
    headers: &H,
    family: ForwardedHeaders,
) -> (Option<&str>, Option<&str>) {
    static FORWARDED: HeaderName = http::header::FORWARDED;
    static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
    static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
    let last = |name: &'static HeaderName| {
        headers
            .header_values(name)
            .last()
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    match family {
        ForwardedHeaders::Forwarded => {
            let (mut proto, mut host) = (None, None);
            for pair in last(&FORWARDED).unwrap_or_default().split(';') {
                if let Some((key, value)) = pair.split_once('=') {
                    let value = value.trim().trim_matches('"');
                    match key.trim().to_ascii_lowercase().as_str() {
                        "proto" => proto = Some(value).filter(|v| !v.is_empty()),
                        "host" => host = Some(value).filter(|v| !v.is_empty()),
                        _ => {}
                    }
                }
            }
            (proto, host)
        }
        ForwardedHeaders::XForwarded => (last(&X_FORWARDED_PROTO), last(&X_FORWARDED_HOST)),
        ForwardedHeaders::XForwardedProto => (last(&X_FORWARDED_PROTO), None),
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue};

    use super::*;
    use crate::check::signing::MessageSigning;

    static TOKEN: HeaderName = HeaderName::from_static("approov-token");

    /// A `Signature-Input` field of one `install` member covering `components`.
    fn field(components: &str) -> String {
        format!("install=({components});created=1;alg=\"ecdsa-p256-sha256\"")
    }

    fn input(field: &str) -> Covered<'_> {
        crate::check::signing::fields::tests::covered(field, "install")
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    /// The bases `verify_forms` tries for `target` (origin form, `Host: api.example.com`)
    /// when no signature verifies.
    fn tried(components: &str, target: &str, config: &SigningConfig) -> Vec<String> {
        let headers = headers(&[("host", "api.example.com"), ("approov-token", "t")]);
        let request = ApproovRequest::new("GET", target, &headers);
        let view = view(&request, config, &TOKEN);
        let mut bases = Vec::new();
        let field = field(components);
        let found = verify_forms(&input(&field), &view, |base| {
            bases.push(String::from_utf8(base.to_vec()).unwrap());
            false
        })
        .unwrap();
        assert!(found.is_none());
        bases
    }

    fn view<'r, 'a>(
        request: &'r ApproovRequest<'a, HeaderMap>,
        config: &'r SigningConfig,
        token_header: &'r HeaderName,
    ) -> View<'r, 'a, HeaderMap> {
        View {
            request,
            config,
            token_header,
        }
    }

    fn first_lines(bases: &[String]) -> Vec<&str> {
        bases.iter().map(|b| &b[..b.find('\n').unwrap()]).collect()
    }

    const BASIC: &str = r#""@target-uri" "@method" "approov-token""#;

    #[test]
    fn an_ordinary_url_costs_one_verification_because_every_form_gives_the_same_base() {
        let config = SigningConfig::new(MessageSigning::Require);
        let bases = tried(BASIC, "/v1/orders?page=2", &config);
        assert_eq!(
            first_lines(&bases),
            ["\"@target-uri\": https://api.example.com/v1/orders?page=2"]
        );
    }

    #[test]
    fn the_root_with_a_query_is_also_tried_without_its_slash_as_ios_signs_it() {
        let config = SigningConfig::new(MessageSigning::Require);
        let bases = tried(BASIC, "/?page=1", &config);
        assert_eq!(
            first_lines(&bases),
            [
                "\"@target-uri\": https://api.example.com/?page=1",
                "\"@target-uri\": https://api.example.com?page=1",
            ]
        );
    }

    #[test]
    fn raw_brackets_and_pipes_are_also_tried_percent_encoded_as_okhttp_signs_them() {
        let config = SigningConfig::new(MessageSigning::Require);
        let bases = tried(BASIC, "/a[1]/b?f=x|y&g={z}", &config);
        assert_eq!(
            first_lines(&bases),
            [
                "\"@target-uri\": https://api.example.com/a[1]/b?f=x|y&g={z}",
                "\"@target-uri\": https://api.example.com/a%5B1%5D/b?f=x%7Cy&g=%7Bz%7D",
            ]
        );
    }

    #[test]
    fn the_worst_request_costs_three_verifications_and_never_more() {
        let config = SigningConfig::new(MessageSigning::Require);
        // Every URL component covered, the root, an encoded path byte, OkHttp characters and a
        // port: each form differs from the others, and still only three are tried.
        let all = r#""@target-uri" "@method" "@authority" "@path" "@query" "approov-token""#;
        let headers = headers(&[("host", "API.example.com:8443"), ("approov-token", "t")]);
        let request = ApproovRequest::new("GET", "/?q=^|%41", &headers);
        let view = view(&request, &config, &TOKEN);
        let mut calls = 0;
        let all = field(all);
        verify_forms(&input(&all), &view, |_| {
            calls += 1;
            false
        })
        .unwrap();
        assert_eq!(calls, MAX_VERIFICATIONS);
        assert_eq!(MAX_VERIFICATIONS, 3);
        assert_eq!(tried(BASIC, "/?q=^|", &config).len(), 3);
    }

    #[test]
    fn the_sdk_forms_write_query_without_its_question_mark_authority_as_the_host_and_path_decoded()
    {
        let config = SigningConfig::new(MessageSigning::Require);
        let components = r#""@method" "@target-uri" "@authority" "@path" "@query" "approov-token""#;
        let headers = headers(&[("host", "api.example.com:8443"), ("approov-token", "t")]);
        let request = ApproovRequest::new("GET", "/caf%C3%A9?q=1", &headers);
        let view = view(&request, &config, &TOKEN);
        let base = |form| {
            let built = signature_base(&input(&field(components)), &view, form).unwrap();
            String::from_utf8(built.base).unwrap()
        };
        assert!(base(Form::Rfc).contains(
            "\"@authority\": api.example.com:8443\n\"@path\": /caf%C3%A9\n\"@query\": ?q=1\n"
        ));
        assert!(
            base(Form::Verbatim)
                .contains("\"@authority\": api.example.com\n\"@path\": /café\n\"@query\": q=1\n")
        );
        assert!(
            base(Form::OkHttp).contains(
                "\"@authority\": api.example.com\n\"@path\": /caf%C3%A9\n\"@query\": q=1\n"
            )
        );
    }

    #[test]
    fn a_component_listed_twice_gives_its_line_twice() {
        let config = SigningConfig::new(MessageSigning::Require);
        let token = HeaderName::from_static("authorization");
        let headers = headers(&[("host", "api.example.com"), ("authorization", "Bearer t")]);
        let request = ApproovRequest::new("GET", "/v1", &headers);
        let view = view(&request, &config, &token);
        let components = r#""@method" "@target-uri" "authorization" "authorization""#;
        let built = signature_base(&input(&field(components)), &view, Form::Rfc).unwrap();
        assert_eq!(
            String::from_utf8(built.base).unwrap(),
            "\"@method\": GET\n\"@target-uri\": https://api.example.com/v1\n\
             \"authorization\": Bearer t\n\"authorization\": Bearer t\n\
             \"@signature-params\": (\"@method\" \"@target-uri\" \"authorization\" \
             \"authorization\");created=1;alg=\"ecdsa-p256-sha256\""
        );
    }

    #[test]
    fn a_component_listed_three_times_is_malformed() {
        let config = SigningConfig::new(MessageSigning::Require);
        let headers = headers(&[("host", "api.example.com"), ("approov-token", "t")]);
        let request = ApproovRequest::new("GET", "/v1", &headers);
        let view = view(&request, &config, &TOKEN);
        let components =
            r#""@method" "@target-uri" "approov-token" "approov-token" "approov-token""#;
        assert_eq!(
            signature_base(&input(&field(components)), &view, Form::Rfc).err(),
            Some(ApproovErrorKind::SignatureMalformed)
        );
    }

    fn origin(config: &SigningConfig, pairs: &[(&'static str, &str)]) -> (String, String) {
        let headers = headers(pairs);
        let request = ApproovRequest::new("GET", "/", &headers);
        let view = view(&request, config, &TOKEN);
        let (scheme, authority) = resolve_origin(&view).unwrap();
        (scheme.into_owned(), authority)
    }

    #[test]
    fn of_several_forwarded_values_the_nearest_proxys_last_one_is_used() {
        let config = SigningConfig::new(MessageSigning::Require)
            .with_trust_forwarded_headers(Some(ForwardedHeaders::Forwarded));
        let pairs = [
            ("host", "10.0.0.7:8080"),
            ("forwarded", "proto=http;host=evil.example"),
            ("forwarded", "for=1.2.3.4, proto=https;host=API.example.com"),
        ];
        assert_eq!(
            origin(&config, &pairs),
            ("https".to_owned(), "api.example.com".to_owned())
        );
        let config = SigningConfig::new(MessageSigning::Require)
            .with_trust_forwarded_headers(Some(ForwardedHeaders::XForwarded));
        let pairs = [
            ("host", "10.0.0.7:8080"),
            ("x-forwarded-proto", "http, https"),
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-host", "api.example.com"),
        ];
        assert_eq!(
            origin(&config, &pairs),
            ("https".to_owned(), "api.example.com".to_owned())
        );
    }

    #[test]
    fn behind_an_x_forwarded_proxy_a_clients_own_forwarded_header_is_ignored() {
        let config = SigningConfig::new(MessageSigning::Require)
            .with_trust_forwarded_headers(Some(ForwardedHeaders::XForwarded));
        let pairs = [
            ("host", "10.0.0.7:8080"),
            ("forwarded", "proto=https;host=evil.example"),
            ("x-forwarded-host", "api.example.com"),
        ];
        assert_eq!(
            origin(&config, &pairs),
            ("https".to_owned(), "api.example.com".to_owned())
        );
    }

    #[test]
    fn a_request_without_a_scheme_is_taken_as_https() {
        let config = SigningConfig::new(MessageSigning::Require);
        assert_eq!(
            origin(&config, &[("host", "API.example.com:443")]),
            ("https".to_owned(), "api.example.com".to_owned())
        );
    }

    /// RFC 9421 Appendix B: the request signature bases the RFC publishes, rebuilt byte for
    /// byte by the verifier's own builder from the RFC's example requests, and the published
    /// signatures verified over them with the published keys (B.1). Each base below is the
    /// RFC's text with its RFC 8792 line wrapping undone.
    ///
    /// Left out: B.2.2 covers `"@query-param";name="Pet"`, a component with a parameter, which
    /// the builder refuses (shown below); B.2.4 and the response half of B.4 sign responses;
    /// B.4's requests publish no signature base. The RSA-PSS signatures of B.2.1 and B.2.3 are
    /// not verified (their bases are compared with the RFC's text only): the crate verifies no
    /// RSA-PSS message signature.
    mod rfc9421_appendix_b {
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use jsonwebtoken::{Algorithm, DecodingKey};

        use super::*;
        use crate::check::signing::account::tests::hmac_sha256;
        use crate::check::signing::account::{AccountKeys, Reading};
        use crate::check::signing::{BASE64, decode_ipk};

        /// The `Content-Digest` of B.2's `test-request`.
        const CONTENT_DIGEST: &str = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

        /// The `Client-Cert` of B.3's request, as the TLS-terminating proxy added it.
        const CLIENT_CERT: &str = ":MIIBqDCCAU6gAwIBAgIBBzAKBggqhkjOPQQDAjA6MRswGQYDVQQKDBJMZXQncyBBdXRoZW50aWNhdGUxGzAZBgNVBAMMEkxBIEludGVybWVkaWF0ZSBDQTAeFw0yMDAxMTQyMjU1MzNaFw0yMTAxMjMyMjU1MzNaMA0xCzAJBgNVBAMMAkJDMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8YnXXfaUgmnMtOXU/IncWalRhebrXmckC8vdgJ1p5Be5F/3YC8OthxM4+k1M6aEAEFcGzkJiNy6J84y7uzo9M6NyMHAwCQYDVR0TBAIwADAfBgNVHSMEGDAWgBRm3WjLa38lbEYCuiCPct0ZaSED2DAOBgNVHQ8BAf8EBAMCBsAwEwYDVR0lBAwwCgYIKwYBBQUHAwIwHQYDVR0RAQH/BBMwEYEPYmRjQGV4YW1wbGUuY29tMAoGCCqGSM49BAMCA0gAMEUCIBHda/r1vaL6G3VliL4/Di6YK0Q6bMjeSkC3dFCOOB8TAiEAx/kHSB4urmiZ0NX5r5XarmPk0wmuydBVoU4hBVZ1yhk=:";

        /// B.2's `test-request`: `POST /foo?param=Value&Pet=dog` to `example.com`.
        fn test_request_headers() -> HeaderMap {
            headers(&[
                ("host", "example.com"),
                ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
                ("content-type", "application/json"),
                ("content-digest", CONTENT_DIGEST),
                ("content-length", "18"),
            ])
        }

        /// B.3's request as the service behind the proxy receives it.
        fn proxied_request_headers() -> HeaderMap {
            headers(&[
                ("host", "service.internal.example"),
                ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
                ("content-type", "application/json"),
                ("content-length", "18"),
                ("client-cert", CLIENT_CERT),
            ])
        }

        /// The base the verifier builds (RFC form) for the `Signature-Input` member `label` of
        /// `field`, over `POST /foo?param=Value&Pet=dog` with `headers`.
        fn built(
            headers: &HeaderMap,
            field: &str,
            label: &'static str,
        ) -> Result<String, ApproovErrorKind> {
            let config = SigningConfig::new(MessageSigning::Require);
            let request = ApproovRequest::new("POST", "/foo?param=Value&Pet=dog", headers);
            let view = view(&request, &config, &TOKEN);
            let input = crate::check::signing::fields::tests::covered(field, label);
            signature_base(&input, &view, Form::Rfc)
                .map(|built| String::from_utf8(built.base).unwrap())
        }

        fn signature(base64: &str) -> Vec<u8> {
            BASE64.decode(base64).unwrap()
        }

        #[test]
        fn b_2_1_the_minimal_signature_base_is_its_parameters_alone() {
            let field = r#"sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd""#;
            assert_eq!(
                built(&test_request_headers(), field, "sig-b21").unwrap(),
                r#""@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd""#
            );
        }

        #[test]
        fn b_2_2_a_query_parameter_component_is_refused_as_a_component_with_a_parameter() {
            let field = r#"sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example""#;
            assert_eq!(
                built(&test_request_headers(), field, "sig-b22"),
                Err(ApproovErrorKind::SignatureMalformed)
            );
        }

        #[test]
        fn b_2_3_the_full_coverage_base_is_rebuilt_byte_for_byte() {
            let field = r#"sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss""#;
            let expected = [
                r#""date": Tue, 20 Apr 2021 02:07:55 GMT"#,
                r#""@method": POST"#,
                r#""@path": /foo"#,
                r#""@query": ?param=Value&Pet=dog"#,
                r#""@authority": example.com"#,
                r#""content-type": application/json"#,
                &format!(r#""content-digest": {CONTENT_DIGEST}"#),
                r#""content-length": 18"#,
                r#""@signature-params": ("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss""#,
            ]
            .join("\n");
            assert_eq!(
                built(&test_request_headers(), field, "sig-b23").unwrap(),
                expected
            );
        }

        #[test]
        fn b_2_5_the_hmac_sha256_base_is_rebuilt_and_its_published_mac_verifies_with_test_shared_secret()
         {
            let field = r#"sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#;
            let expected = [
                r#""date": Tue, 20 Apr 2021 02:07:55 GMT"#,
                r#""@authority": example.com"#,
                r#""content-type": application/json"#,
                r#""@signature-params": ("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#,
            ]
            .join("\n");
            let base = built(&test_request_headers(), field, "sig-b25").unwrap();
            assert_eq!(base, expected);
            // B.1.5: 64 random bytes, given as standard base64; read as the account key
            // variable `..._BASE64` reads a key.
            const TEST_SHARED_SECRET: &str = "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==";
            let mut keys = AccountKeys::default();
            keys.add_text(TEST_SHARED_SECRET, Reading::Base64, "test")
                .unwrap();
            let key = keys.select(Some("test-shared-secret")).unwrap();
            let mac: [u8; 32] = signature("pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=")
                .try_into()
                .unwrap();
            assert!(key.verifies(base.as_bytes(), &mac));
            // The test's own HMAC agrees, and a base one byte off does not verify.
            assert_eq!(
                hmac_sha256(&BASE64.decode(TEST_SHARED_SECRET).unwrap(), base.as_bytes()),
                mac
            );
            assert!(!key.verifies(base.replace("example.com", "example.org").as_bytes(), &mac));
        }

        #[test]
        fn b_2_6_the_ed25519_base_is_rebuilt_and_its_published_signature_verifies_with_test_key_ed25519()
         {
            crate::check::config::ensure_crypto_provider().unwrap();
            let field = r#"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#;
            let expected = [
                r#""date": Tue, 20 Apr 2021 02:07:55 GMT"#,
                r#""@method": POST"#,
                r#""@path": /foo"#,
                r#""@authority": example.com"#,
                r#""content-type": application/json"#,
                r#""content-length": 18"#,
                r#""@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#,
            ]
            .join("\n");
            let base = built(&test_request_headers(), field, "sig-b26").unwrap();
            assert_eq!(base, expected);
            // B.1.4.
            let key = DecodingKey::from_ed_pem(
                b"-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----\n",
            )
            .unwrap();
            let published = URL_SAFE_NO_PAD.encode(signature(
                "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==",
            ));
            assert!(
                jsonwebtoken::crypto::verify(&published, base.as_bytes(), &key, Algorithm::EdDSA)
                    .unwrap()
            );
            assert!(
                !jsonwebtoken::crypto::verify(
                    &published,
                    base.replace("18", "19").as_bytes(),
                    &key,
                    Algorithm::EdDSA
                )
                .unwrap()
            );
        }

        #[test]
        fn b_3_the_proxys_p256_base_is_rebuilt_and_its_published_signature_verifies_with_test_key_ecc_p256()
         {
            crate::check::config::ensure_crypto_provider().unwrap();
            let field = r#"ttrp=("@path" "@query" "@method" "@authority" "client-cert");created=1618884473;keyid="test-key-ecc-p256""#;
            let expected = [
                r#""@path": /foo"#,
                r#""@query": ?param=Value&Pet=dog"#,
                r#""@method": POST"#,
                r#""@authority": service.internal.example"#,
                &format!(r#""client-cert": {CLIENT_CERT}"#),
                r#""@signature-params": ("@path" "@query" "@method" "@authority" "client-cert");created=1618884473;keyid="test-key-ecc-p256""#,
            ]
            .join("\n");
            let base = built(&proxied_request_headers(), field, "ttrp").unwrap();
            assert_eq!(base, expected);
            // B.1.3's public key, read as the crate reads an `ipk` claim (base64 DER SPKI), and
            // the signature as raw `r||s`, as the installation signatures are checked.
            let key = decode_ipk(
                "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lfw0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==",
            )
            .unwrap();
            let published = signature(
                "xVMHVpawaAC/0SbHrKRs9i8I3eOs5RtTMGCWXm/9nvZzoHsIg6Mce9315T6xoklyy0yzhD9ah4JHRwMLOgmizw==",
            );
            assert_eq!(published.len(), 64);
            let published = URL_SAFE_NO_PAD.encode(published);
            assert!(
                jsonwebtoken::crypto::verify(&published, base.as_bytes(), &key, Algorithm::ES256)
                    .unwrap()
            );
            assert!(
                !jsonwebtoken::crypto::verify(
                    &published,
                    base.replace("/foo", "/fop").as_bytes(),
                    &key,
                    Algorithm::ES256
                )
                .unwrap()
            );
        }
    }
}
