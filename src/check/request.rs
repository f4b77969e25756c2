//! A request as a front door hands it to the check: [`ApproovRequest`], its headers through
//! [`HeaderSource`], and what is known of its body ([`RequestBody`]). The parts of the check
//! (binding, signing) read requests through these types alone.

use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue};

/// Where the check reads a request's headers from: an [`http::HeaderMap`], actix-web's header
/// map, Envoy's header list, or a slice of `(name, value)` pairs.
///
/// Only lookups by name are needed, so a front door hands its own header type over without
/// copying it.
pub trait HeaderSource {
    /// Every value of the header `name` (lower case), as received, in the order received.
    fn header_values<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]>;
}

impl HeaderSource for HeaderMap {
    fn header_values<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> {
        self.get_all(name).iter().map(HeaderValue::as_bytes)
    }
}

/// `(name, value)` pairs, names matched without regard to case: for front doors whose headers
/// come as a list (AWS Lambda events, Envoy's raw headers), and for tests.
impl<K: AsRef<str>, V: AsRef<[u8]>> HeaderSource for [(K, V)] {
    fn header_values<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> {
        self.iter()
            .filter(move |(key, _)| key.as_ref().eq_ignore_ascii_case(name.as_str()))
            .map(|(_, value)| value.as_ref())
    }
}

impl<T: HeaderSource + ?Sized> HeaderSource for &T {
    fn header_values<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> {
        (**self).header_values(name)
    }
}

/// What a front door knows of a request's body.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestBody<'a> {
    /// No body, or one known to be empty (`Content-Length: 0`, a stream already ended).
    Empty,
    /// A body the front door can read when asked to: [`Verdict::ReadBody`](crate::Verdict::ReadBody).
    Unread,
    /// The whole body, already read (Envoy's `with_request_body`, a buffered Lambda event).
    Read(&'a [u8]),
    /// A body the front door cannot see (nginx `auth_request`, a forward-auth call): a message
    /// signature that covers `content-digest` cannot be checked, and is refused
    /// ([`BodyUnavailable`](crate::ApproovErrorKind::BodyUnavailable)).
    Unavailable,
}

impl RequestBody<'_> {
    /// Whether there is a body (one not known to be empty).
    pub(crate) fn is_present(self) -> bool {
        match self {
            Self::Empty => false,
            Self::Read(bytes) => !bytes.is_empty(),
            Self::Unread | Self::Unavailable => true,
        }
    }
}

impl fmt::Debug for RequestBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("Empty"),
            Self::Unread => f.write_str("Unread"),
            // Never the bytes: they may hold credentials or personal data.
            Self::Read(bytes) => f.debug_struct("Read").field("len", &bytes.len()).finish(),
            Self::Unavailable => f.write_str("Unavailable"),
        }
    }
}

/// A request as a front door hands it to [`ApproovConfig::check`](crate::ApproovConfig::check).
///
/// ```
/// use tower_approov::{ApproovConfig, ApproovRequest, Verdict};
///
/// # fn main() -> Result<(), tower_approov::ConfigError> {
/// let config = ApproovConfig::builder().with_secret(&[7; 64], None)?.build()?;
/// let headers = [("Host", "api.example.com"), ("Approov-Token", "not-a-token")];
/// let request = ApproovRequest::new("GET", "/v1/orders?page=2", &headers[..]);
/// match config.check(&request) {
///     Verdict::Accept(claims) => println!("device {:?}", claims.did()),
///     Verdict::Reject(error) => assert_eq!(error.kind().reason_code(), "malformed_token"),
///     other => unreachable!("{other:?}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Copy)]
pub struct ApproovRequest<'a, H: ?Sized> {
    pub(crate) method: &'a str,
    /// The path as received: empty for a target with none (authority form).
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) scheme: Option<&'a str>,
    pub(crate) authority: Option<&'a str>,
    pub(crate) headers: &'a H,
    pub(crate) body: RequestBody<'a>,
}

impl<'a, H: HeaderSource + ?Sized> ApproovRequest<'a, H> {
    /// A request with this method (`GET`), request target as received (origin form
    /// `/v1/orders?page=2`, or absolute form `https://api.example.com/v1/orders`, whose scheme
    /// and authority are then taken as the transport's) and headers, and no body.
    #[must_use]
    pub fn new(method: &'a str, target: &'a str, headers: &'a H) -> Self {
        let (scheme, authority, path_and_query) = split_target(target);
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        Self {
            method,
            path,
            query,
            scheme,
            authority,
            headers,
            body: RequestBody::Empty,
        }
    }

    /// The scheme the transport knows (HTTP/2 `:scheme`, TLS or not), if the target did not
    /// say. Without one, a signed request is taken as `https`: see
    /// [`SigningConfig::with_public_origin`](crate::SigningConfig::with_public_origin).
    #[must_use]
    pub fn with_scheme(mut self, scheme: &'a str) -> Self {
        self.scheme = Some(scheme);
        self
    }

    /// The authority the transport knows (HTTP/2 `:authority`), if the target did not say.
    /// Without one, the `Host` header is used.
    #[must_use]
    pub fn with_authority(mut self, authority: &'a str) -> Self {
        self.authority = Some(authority);
        self
    }

    /// What the front door knows of the body. Defaults to [`RequestBody::Empty`].
    #[must_use]
    pub fn with_body(mut self, body: RequestBody<'a>) -> Self {
        self.body = body;
        self
    }
}

/// Splits an absolute-form target into its scheme, authority and the rest; an origin-form
/// (or asterisk-form) target has neither scheme nor authority.
fn split_target(target: &str) -> (Option<&str>, Option<&str>, &str) {
    if let Some((scheme, rest)) = target.split_once("://")
        && !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_and_query) = rest.split_at(end);
        return (Some(scheme), Some(authority), path_and_query);
    }
    (None, None, target)
}

/// Shows the method and the path only: the query and the headers may hold credentials (the
/// token among them).
impl<H: ?Sized> fmt::Debug for ApproovRequest<'_, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApproovRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query.map(|_| "[redacted]"))
            .field("scheme", &self.scheme)
            .field("authority", &self.authority)
            .field("body", &self.body)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absolute_target_gives_its_scheme_and_authority_and_an_origin_form_one_neither() {
        let headers: [(&str, &str); 0] = [];
        let request =
            ApproovRequest::new("GET", "https://API.example.com:8443/a/b?q=1", &headers[..]);
        assert_eq!(
            (
                request.scheme,
                request.authority,
                request.path,
                request.query
            ),
            (
                Some("https"),
                Some("API.example.com:8443"),
                "/a/b",
                Some("q=1")
            )
        );
        let request = ApproovRequest::new("GET", "https://api.example.com?q=1", &headers[..]);
        assert_eq!((request.path, request.query), ("", Some("q=1")));
        let request = ApproovRequest::new("GET", "/a?b=c://d", &headers[..]);
        assert_eq!(
            (
                request.scheme,
                request.authority,
                request.path,
                request.query
            ),
            (None, None, "/a", Some("b=c://d"))
        );
        let request = ApproovRequest::new("OPTIONS", "*", &headers[..]);
        assert_eq!(
            (request.scheme, request.path, request.query),
            (None, "*", None)
        );
    }

    #[test]
    fn a_request_debug_shows_neither_its_query_nor_its_headers() {
        let headers = [("approov-token", "secret.token.value"), ("cookie", "s=1")];
        let request = ApproovRequest::new("POST", "/login?password=hunter2", &headers[..])
            .with_body(RequestBody::Read(b"password=hunter2"));
        assert_eq!(
            format!("{request:?}"),
            "ApproovRequest { method: \"POST\", path: \"/login\", query: Some(\"[redacted]\"), \
             scheme: None, authority: None, body: Read { len: 16 }, .. }"
        );
    }

    #[test]
    fn header_pairs_are_matched_without_regard_to_case_and_keep_their_order() {
        let headers = [("Signature", "a"), ("host", "h"), ("SIGNATURE", "b")];
        let name = HeaderName::from_static("signature");
        let values: Vec<&[u8]> = headers[..].header_values(&name).collect();
        assert_eq!(values, [b"a".as_slice(), b"b".as_slice()]);
    }
}
