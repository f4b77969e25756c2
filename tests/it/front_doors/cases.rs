//! The table: each case is the configuration (`APPROOV_*` variables, besides the test secret),
//! the request's bytes as a phone or a client would write them, and the expected answer. The
//! signature bases are written out by hand from APPROOV.md, as in `sdk_signing`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tower_approov::ApproovErrorKind as Kind;
use tower_approov::test_util::InstallationKey;

use crate::common::{OTHER_SECRET, b64url, mint_with_header, mint_with_secret};
use crate::sdk_support::{SECRET, now, request_bytes, sdk_params, signature_headers};

/// One row of the table.
pub struct Case {
    /// What the case shows, as a sentence.
    pub name: &'static str,
    /// The configuration, as `ApproovLayer::from_env()` would read it (plus the test secret).
    pub vars: Vec<(&'static str, String)>,
    /// A request sent to the same server before the one under test, and the answer it must
    /// get: for what a server remembers between requests (replay protection).
    pub first: Option<First>,
    /// The request, byte for byte (`Connection: close` included).
    pub request: Vec<u8>,
    pub expect: Expect,
}

/// The request a [`Case`] sends first, on a connection of its own, and its expected answer.
pub struct First {
    pub request: Vec<u8>,
    pub expect: Expect,
}

/// What the answer must be.
pub enum Expect {
    /// 200 from the handler, which received claims with this `did`, this body, and the token
    /// header unless it was stripped.
    Passed {
        body: String,
        did: &'static str,
        token_header: bool,
    },
    /// The default rejection (401, `application/json`, `{}`) with this reason; the handler
    /// never ran.
    Rejected(Kind),
    /// Monitor mode: 200 from the handler, which received no claims, this error instead, and
    /// this body.
    Monitored { reason: Kind, body: String },
}

const DID: &str = "device-1";
const REQUIRE: (&str, &str) = ("APPROOV_MESSAGE_SIGNING", "require");
const MONITOR: (&str, &str) = ("APPROOV_MODE", "monitor");
/// Replay protection on, its store in memory unless [`replay_in_redis`] adds a Redis URL.
pub const REPLAY_ON: (&str, &str) = ("APPROOV_REPLAY_PROTECTION", "on");
const BASIC: &str = r#""@method" "@target-uri" "approov-token""#;

fn vars(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(n, v)| (*n, (*v).to_owned())).collect()
}

fn passed(body: &str) -> Expect {
    Expect::Passed {
        body: body.to_owned(),
        did: DID,
        token_header: true,
    }
}

/// An Approov-shaped HS256 token with these claims besides `exp` ten minutes ahead and `did`.
fn token_with_claims(extra: Value) -> String {
    let mut claims = json!({"exp": now() + 600.5, "did": DID, "ip": "127.0.0.1"});
    for (name, value) in extra.as_object().into_iter().flatten() {
        claims[name] = value.clone();
    }
    mint_with_secret(&claims, SECRET)
}

fn token() -> String {
    token_with_claims(json!({}))
}

fn case(
    name: &'static str,
    vars: Vec<(&'static str, String)>,
    line: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    expect: Expect,
) -> Case {
    Case {
        name,
        vars,
        first: None,
        request: request_bytes(line, headers, body),
        expect,
    }
}

/// A GET of `/v1/orders` on `api.example.com` with these token header lines.
fn get_with(
    name: &'static str,
    vars: Vec<(&'static str, String)>,
    headers: &[(&str, &str)],
    expect: Expect,
) -> Case {
    let mut all = vec![("Host", "api.example.com")];
    all.extend_from_slice(headers);
    case(name, vars, "GET /v1/orders HTTP/1.1", &all, b"", expect)
}

pub fn all() -> Vec<Case> {
    let mut cases = tokens();
    cases.extend(binding());
    cases.extend(sdk_signed());
    cases.extend(monitor_mode());
    cases.extend(replay());
    cases
}

fn tokens() -> Vec<Case> {
    let valid = token();
    let expired = token_with_claims(json!({"exp": now() - 60.0}));
    let forged = mint_with_secret(&json!({"exp": now() + 600.5, "did": DID}), OTHER_SECRET);
    let alg_none = format!(
        "{}.{}.",
        b64url(br#"{"alg":"none","typ":"JWT"}"#),
        b64url(
            json!({"exp": now() + 600.5, "did": DID})
                .to_string()
                .as_bytes()
        )
    );
    let alg_none_signed = mint_with_header(
        r#"{"alg":"none","typ":"JWT"}"#,
        &json!({"exp": now() + 600.5, "did": DID}),
    );
    let bearer = format!("Bearer {valid}");
    let in_authorization = vars(&[
        ("APPROOV_TOKEN_HEADER", "Authorization"),
        ("APPROOV_TOKEN_PREFIX", "Bearer"),
    ]);
    vec![
        get_with(
            "a valid token passes and its claims reach the handler",
            vec![],
            &[("Approov-Token", &valid)],
            passed(""),
        ),
        get_with(
            "an expired token is refused",
            vec![],
            &[("Approov-Token", &expired)],
            Expect::Rejected(Kind::Expired),
        ),
        get_with(
            "a token signed with another secret is refused",
            vec![],
            &[("Approov-Token", &forged)],
            Expect::Rejected(Kind::InvalidSignature),
        ),
        get_with(
            "an alg none token without a signature is refused",
            vec![],
            &[("Approov-Token", &alg_none)],
            Expect::Rejected(Kind::AlgorithmNotAllowed),
        ),
        get_with(
            "an alg none token with a genuine HS256 signature is refused",
            vec![],
            &[("Approov-Token", &alg_none_signed)],
            Expect::Rejected(Kind::AlgorithmNotAllowed),
        ),
        get_with(
            "a request without a token is refused",
            vec![],
            &[],
            Expect::Rejected(Kind::MissingToken),
        ),
        get_with(
            "two token header lines are refused, even both valid",
            vec![],
            &[("Approov-Token", &valid), ("approov-token", &valid)],
            Expect::Rejected(Kind::DuplicateToken),
        ),
        get_with(
            "an empty token header is refused",
            vec![],
            &[("Approov-Token", "")],
            Expect::Rejected(Kind::EmptyToken),
        ),
        get_with(
            "the SDK's MITM_DETECTED in place of a token is refused with its own reason",
            vec![],
            &[("Approov-Token", "MITM_DETECTED")],
            Expect::Rejected(Kind::MitmDetected),
        ),
        get_with(
            "a token in Authorization after the Bearer prefix passes",
            in_authorization.clone(),
            &[("Authorization", &bearer)],
            Expect::Passed {
                body: String::new(),
                did: DID,
                // The handler reports `Approov-Token`, which this request does not carry.
                token_header: false,
            },
        ),
        get_with(
            "a token glued to its Bearer prefix is refused",
            in_authorization,
            &[("Authorization", &format!("Bearer{valid}"))],
            Expect::Rejected(Kind::MalformedToken),
        ),
        // The header in which the verifier sends the `did` upstream, sent by the client: the
        // `did` is the token's whatever the request's headers say.
        get_with(
            "a device id header sent by the client is not the did the handler gets",
            vec![],
            &[
                ("Approov-Token", &valid),
                ("Approov-Device-Id", "forged-device"),
            ],
            passed(""),
        ),
        get_with(
            "with the token header stripped, the handler gets the claims and not the header",
            vars(&[("APPROOV_STRIP_TOKEN_HEADER", "true")]),
            &[("Approov-Token", &valid)],
            Expect::Passed {
                body: String::new(),
                did: DID,
                token_header: false,
            },
        ),
    ]
}

fn binding() -> Vec<Case> {
    let bound = vars(&[("APPROOV_TOKEN_BINDING_HEADER", "Authorization")]);
    let pay = tower_approov::pay_claim_for([b"Bearer user-1".as_slice()]);
    let token = token_with_claims(json!({ "pay": pay }));
    let unbound = token_with_claims(json!({}));
    vec![
        get_with(
            "a token bound to the Authorization sent with it passes",
            bound.clone(),
            &[
                ("Approov-Token", &token),
                ("Authorization", "Bearer user-1"),
            ],
            passed(""),
        ),
        get_with(
            "a token bound to another Authorization is refused",
            bound.clone(),
            &[
                ("Approov-Token", &token),
                ("Authorization", "Bearer user-2"),
            ],
            Expect::Rejected(Kind::PayClaimMismatch),
        ),
        get_with(
            "a bound token without its Authorization header is refused",
            bound.clone(),
            &[("Approov-Token", &token)],
            Expect::Rejected(Kind::BindingHeaderMissing),
        ),
        get_with(
            "a bound token with its Authorization header twice is refused",
            bound.clone(),
            &[
                ("Approov-Token", &token),
                ("Authorization", "Bearer user-1"),
                ("Authorization", "Bearer user-1"),
            ],
            Expect::Rejected(Kind::BindingHeaderRepeated),
        ),
        get_with(
            "a token without pay is refused while binding is on",
            bound,
            &[
                ("Approov-Token", &unbound),
                ("Authorization", "Bearer user-1"),
            ],
            Expect::Rejected(Kind::PayClaimMissing),
        ),
    ]
}

/// The base an SDK signs for a GET covering `@method`, `@target-uri` and `approov-token`.
fn basic_base(target_uri: &str, token: &str, params: &str) -> String {
    format!(
        "\"@method\": GET\n\
         \"@target-uri\": {target_uri}\n\
         \"approov-token\": {token}\n\
         \"@signature-params\": {params}"
    )
}

/// The `Signature-Input` and `Signature` of an SDK's signature by `key` over the basic base of
/// `signed_for`: a new signature at each call (ECDSA draws a new nonce).
fn basic_signature(key: &InstallationKey, token: &str, signed_for: &str) -> (String, String) {
    let params = sdk_params(BASIC);
    let base = basic_base(signed_for, token, &params);
    signature_headers(key, &params, &base, false)
}

/// `line` with `headers`, the token and a signature by `key` over the basic base of
/// `signed_for`, to a server that requires signatures.
fn basic_signed(
    name: &'static str,
    key: &InstallationKey,
    token: &str,
    line: &str,
    headers: &[(&str, &str)],
    signed_for: &str,
    expect: Expect,
) -> Case {
    let (input, signature) = basic_signature(key, token, signed_for);
    let mut all = headers.to_vec();
    all.extend([
        ("Approov-Token", token),
        ("Signature-Input", input.as_str()),
        ("Signature", signature.as_str()),
    ]);
    case(name, vars(&[REQUIRE]), line, &all, b"", expect)
}

fn sdk_signed() -> Vec<Case> {
    let key = InstallationKey::generate().unwrap();
    let token = token_with_claims(json!({ "ipk": key.ipk().unwrap() }));
    let require = || vars(&[REQUIRE]);
    let host = [("Host", "api.example.com")];
    let invalid = || Expect::Rejected(Kind::MessageSignatureInvalid);
    let mut cases = vec![
        basic_signed(
            "a GET signed as the SDKs sign it passes",
            &key,
            &token,
            "GET /v1/orders?page=2 HTTP/1.1",
            &host,
            "https://api.example.com/v1/orders?page=2",
            passed(""),
        ),
        basic_signed(
            "a signed GET sent for another query is refused",
            &key,
            &token,
            "GET /v1/orders?page=3 HTTP/1.1",
            &host,
            "https://api.example.com/v1/orders?page=2",
            invalid(),
        ),
        get_with(
            "an unsigned request whose token has ipk is refused",
            require(),
            &[("Approov-Token", &token)],
            Expect::Rejected(Kind::SignatureMissing),
        ),
        // A client's own forwarding headers choose nothing unless the configuration trusts
        // them: a front door that read `connection_info()` would take these.
        basic_signed(
            "a client's own X-Forwarded-Host and X-Forwarded-Proto are not believed",
            &key,
            &token,
            "GET /v1/orders HTTP/1.1",
            &[
                ("Host", "api.example.com"),
                ("X-Forwarded-Host", "evil.example"),
                ("X-Forwarded-Proto", "http"),
                ("Forwarded", "proto=http;host=evil.example"),
            ],
            "http://evil.example/v1/orders",
            invalid(),
        ),
        basic_signed(
            "with forwarding headers sent but untrusted, the Host header is what was signed",
            &key,
            &token,
            "GET /v1/orders HTTP/1.1",
            &[
                ("Host", "api.example.com"),
                ("X-Forwarded-Host", "evil.example"),
                ("X-Forwarded-Proto", "http"),
            ],
            "https://api.example.com/v1/orders",
            passed(""),
        ),
        // An absolute-form target gives the scheme and authority from the transport.
        basic_signed(
            "an absolute-form http target is checked against the http URL it names",
            &key,
            &token,
            "GET http://api.example.com/v1/orders HTTP/1.1",
            &host,
            "http://api.example.com/v1/orders",
            passed(""),
        ),
        basic_signed(
            "an absolute-form http target does not pass for the https URL",
            &key,
            &token,
            "GET http://api.example.com/v1/orders HTTP/1.1",
            &host,
            "https://api.example.com/v1/orders",
            invalid(),
        ),
        basic_signed(
            "an absolute-form target whose authority is not the Host header is refused",
            &key,
            &token,
            "GET https://api.example.com/v1/orders HTTP/1.1",
            &[("Host", "other.example")],
            "https://api.example.com/v1/orders",
            Expect::Rejected(Kind::AuthorityMismatch),
        ),
    ];
    cases.extend(digest_required(&key, &token));
    cases.extend(ios_root(&key, &token));
    cases.extend(android_string(&key, &token));
    cases.extend(signed_posts(&key, &token));
    cases
}

/// With `APPROOV_SIGNATURE_REQUIRE_DIGEST`, a signature that does not cover `content-digest`
/// passes only on a request without a body: what each front door tells the check of the body
/// decides it (`Content-Length: 0` is no body).
fn digest_required(key: &InstallationKey, token: &str) -> Vec<Case> {
    let strict = || vars(&[REQUIRE, ("APPROOV_SIGNATURE_REQUIRE_DIGEST", "true")]);
    let params = sdk_params(BASIC);
    let base = |method: &str| {
        format!(
            "\"@method\": {method}\n\
             \"@target-uri\": https://api.example.com/v1/orders\n\
             \"approov-token\": {token}\n\
             \"@signature-params\": {params}"
        )
    };
    let post = signature_headers(key, &params, &base("POST"), false);
    let get = signature_headers(key, &params, &base("GET"), false);
    let headers = |(input, signature): &(String, String), length: Option<&'static str>| {
        let mut headers = vec![
            ("Host", "api.example.com".to_owned()),
            ("Approov-Token", token.to_owned()),
            ("Signature-Input", input.clone()),
            ("Signature", signature.clone()),
        ];
        headers.extend(length.map(|l| ("Content-Length", l.to_owned())));
        headers
    };
    let request = |line: &str, headers: Vec<(&str, String)>, body: &[u8]| {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        request_bytes(line, &headers, body)
    };
    vec![
        Case {
            name: "with digests required, a signed GET without a body needs none",
            vars: strict(),
            first: None,
            request: request("GET /v1/orders HTTP/1.1", headers(&get, None), b""),
            expect: passed(""),
        },
        Case {
            name: "with digests required, a signed POST with Content-Length 0 needs none",
            vars: strict(),
            first: None,
            request: request("POST /v1/orders HTTP/1.1", headers(&post, Some("0")), b""),
            expect: passed(""),
        },
        Case {
            name: "with digests required, a signed POST with a body not covered is refused",
            vars: strict(),
            first: None,
            request: request("POST /v1/orders HTTP/1.1", headers(&post, None), b"hello"),
            expect: Expect::Rejected(Kind::ContentDigestMismatch),
        },
    ]
}

/// URLSession signs `https://api.example.com?page=1` as written; the wire says `/?page=1`.
fn ios_root(key: &InstallationKey, token: &str) -> Vec<Case> {
    let components = r#""@method" "@target-uri" "approov-token" "approov-traceid""#;
    let params = sdk_params(components);
    let base = format!(
        "\"@method\": GET\n\
         \"@target-uri\": https://api.example.com?page=1\n\
         \"approov-token\": {token}\n\
         \"approov-traceid\": 7f3a9c01\n\
         \"@signature-params\": {params}"
    );
    let (input, signature) = signature_headers(key, &params, &base, false);
    let headers = [
        ("Host", "api.example.com"),
        ("Approov-Token", token),
        ("Approov-TraceID", "7f3a9c01"),
        ("Signature-Input", input.as_str()),
        ("Signature", signature.as_str()),
    ];
    vec![
        case(
            "an iOS call to the root signed without its slash passes",
            vars(&[REQUIRE]),
            "GET /?page=1 HTTP/1.1",
            &headers,
            b"",
            passed(""),
        ),
        case(
            "an iOS call to the root sent for another query is refused",
            vars(&[REQUIRE]),
            "GET /?page=2 HTTP/1.1",
            &headers,
            b"",
            Expect::Rejected(Kind::MessageSignatureInvalid),
        ),
    ]
}

/// OkHttp signs `HttpUrl.uri().toString()`, re-encoded, and sends the signature as a string;
/// the wire carries the characters raw.
fn android_string(key: &InstallationKey, token: &str) -> Vec<Case> {
    let params = sdk_params(r#""@method" "@target-uri" "approov-token" "approov-traceid""#);
    let base = format!(
        "\"@method\": GET\n\
         \"@target-uri\": https://api.example.com/v1/items%5B0%5D?f=a%7Cb&t=%7Bx%7D\n\
         \"approov-token\": {token}\n\
         \"approov-traceid\": 4c2e\n\
         \"@signature-params\": {params}"
    );
    let (input, signature) = signature_headers(key, &params, &base, true);
    assert!(signature.starts_with("install=\""));
    let headers = [
        ("Host", "api.example.com"),
        ("Approov-Token", token),
        ("Approov-TraceID", "4c2e"),
        ("Signature-Input", input.as_str()),
        ("Signature", signature.as_str()),
    ];
    vec![
        case(
            "an Android request signed re-encoded, its signature a string, passes",
            vars(&[REQUIRE]),
            "GET /v1/items[0]?f=a|b&t={x} HTTP/1.1",
            &headers,
            b"",
            passed(""),
        ),
        case(
            "an Android request sent for another path is refused",
            vars(&[REQUIRE]),
            "GET /v1/items[1]?f=a|b&t={x} HTTP/1.1",
            &headers,
            b"",
            Expect::Rejected(Kind::MessageSignatureInvalid),
        ),
    ]
}

/// A POST signed with `content-digest` of `body`, as OkHttp signs a body of known length.
fn signed_post(key: &InstallationKey, token: &str, body: &str) -> (String, String, String) {
    let digest = format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)));
    let params = sdk_params(
        r#""@method" "@target-uri" "approov-token" "content-length" "content-type" "content-digest""#,
    );
    let base = format!(
        "\"@method\": POST\n\
         \"@target-uri\": https://api.example.com/v1/transfers\n\
         \"approov-token\": {token}\n\
         \"content-length\": {}\n\
         \"content-type\": application/json\n\
         \"content-digest\": {digest}\n\
         \"@signature-params\": {params}",
        body.len()
    );
    let (input, signature) = signature_headers(key, &params, &base, false);
    (digest, input, signature)
}

fn post_case(
    name: &'static str,
    vars: Vec<(&'static str, String)>,
    token: &str,
    signed: &(String, String, String),
    body: &[u8],
    expect: Expect,
) -> Case {
    Case {
        name,
        vars,
        first: None,
        request: post_request(token, signed, body),
        expect,
    }
}

/// The POST of [`signed_post`]'s headers, with `body`.
fn post_request(
    token: &str,
    (digest, input, signature): &(String, String, String),
    body: &[u8],
) -> Vec<u8> {
    let headers = [
        ("Host", "api.example.com"),
        ("Approov-Token", token),
        ("Content-Type", "application/json"),
        ("Content-Digest", digest.as_str()),
        ("Signature-Input", input.as_str()),
        ("Signature", signature.as_str()),
    ];
    request_bytes("POST /v1/transfers HTTP/1.1", &headers, body)
}

fn signed_posts(key: &InstallationKey, token: &str) -> Vec<Case> {
    let body = r#"{"amount":10}"#;
    let signed = signed_post(key, token, body);
    vec![
        post_case(
            "a signed POST whose body matches its content-digest passes with its body intact",
            vars(&[REQUIRE]),
            token,
            &signed,
            body.as_bytes(),
            passed(body),
        ),
        post_case(
            "a signed POST whose body was changed is refused",
            vars(&[REQUIRE]),
            token,
            &signed,
            br#"{"amount":99}"#,
            Expect::Rejected(Kind::ContentDigestMismatch),
        ),
        post_case(
            "a signed POST whose body is over the limit is refused",
            vars(&[REQUIRE, ("APPROOV_SIGNATURE_MAX_BODY_BYTES", "8")]),
            token,
            &signed,
            body.as_bytes(),
            Expect::Rejected(Kind::BodyTooLarge),
        ),
        chunked_post(
            "a signed body sent in chunks is read whole, checked and handed on",
            vars(&[REQUIRE]),
            key,
            token,
            body,
            passed(body),
        ),
        post_case(
            "in monitor mode a changed signed body goes on, with the error in place of claims",
            vars(&[REQUIRE, MONITOR]),
            token,
            &signed,
            br#"{"amount":99}"#,
            Expect::Monitored {
                reason: Kind::ContentDigestMismatch,
                body: r#"{"amount":99}"#.to_owned(),
            },
        ),
        // Refused on its `Content-Length` before any byte is read: the body goes on untouched.
        post_case(
            "in monitor mode a signed body declared over the limit goes on unread, with the error",
            vars(&[REQUIRE, MONITOR, ("APPROOV_SIGNATURE_MAX_BODY_BYTES", "8")]),
            token,
            &signed,
            body.as_bytes(),
            Expect::Monitored {
                reason: Kind::BodyTooLarge,
                body: body.to_owned(),
            },
        ),
        // Read up to the limit, then refused: what was read is only part of the body.
        chunked_post(
            "in monitor mode a chunked signed body found over the limit is refused",
            vars(&[REQUIRE, MONITOR, ("APPROOV_SIGNATURE_MAX_BODY_BYTES", "8")]),
            key,
            token,
            body,
            Expect::Rejected(Kind::BodyTooLarge),
        ),
        chunked_post(
            "a chunked signed body found over the limit is refused",
            vars(&[REQUIRE, ("APPROOV_SIGNATURE_MAX_BODY_BYTES", "8")]),
            key,
            token,
            body,
            Expect::Rejected(Kind::BodyTooLarge),
        ),
    ]
}

/// `body` POSTed in three chunks (no `Content-Length`, so none is covered), signed with its
/// `content-digest`.
fn chunked_post(
    name: &'static str,
    vars: Vec<(&'static str, String)>,
    key: &InstallationKey,
    token: &str,
    body: &str,
    expect: Expect,
) -> Case {
    let digest = format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)));
    let params =
        sdk_params(r#""@method" "@target-uri" "approov-token" "content-type" "content-digest""#);
    let base = format!(
        "\"@method\": POST\n\
         \"@target-uri\": https://api.example.com/v1/transfers\n\
         \"approov-token\": {token}\n\
         \"content-type\": application/json\n\
         \"content-digest\": {digest}\n\
         \"@signature-params\": {params}"
    );
    let (input, signature) = signature_headers(key, &params, &base, false);
    let mut request = format!(
        "POST /v1/transfers HTTP/1.1\r\n\
         Host: api.example.com\r\n\
         Approov-Token: {token}\r\n\
         Content-Type: application/json\r\n\
         Content-Digest: {digest}\r\n\
         Signature-Input: {input}\r\n\
         Signature: {signature}\r\n\
         Transfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n"
    )
    .into_bytes();
    let third = body.len() / 3;
    for chunk in [&body[..third], &body[third..2 * third], &body[2 * third..]] {
        request.extend_from_slice(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes());
    }
    request.extend_from_slice(b"0\r\n\r\n");
    Case {
        name,
        vars,
        first: None,
        request,
        expect,
    }
}

fn monitor_mode() -> Vec<Case> {
    let valid = token();
    let expired = token_with_claims(json!({"exp": now() - 60.0}));
    vec![
        get_with(
            "in monitor mode a valid token passes with its claims",
            vars(&[MONITOR]),
            &[("Approov-Token", &valid)],
            passed(""),
        ),
        get_with(
            "in monitor mode an expired token goes on without claims, the error in their place",
            vars(&[MONITOR]),
            &[("Approov-Token", &expired)],
            Expect::Monitored {
                reason: Kind::Expired,
                body: String::new(),
            },
        ),
        get_with(
            "in monitor mode a failed request goes on without the device id header the client sent",
            vars(&[MONITOR]),
            &[
                ("Approov-Token", &expired),
                ("Approov-Device-Id", "forged-device"),
            ],
            Expect::Monitored {
                reason: Kind::Expired,
                body: String::new(),
            },
        ),
        get_with(
            "in monitor mode a request without a token goes on without claims",
            vars(&[MONITOR]),
            &[],
            Expect::Monitored {
                reason: Kind::MissingToken,
                body: String::new(),
            },
        ),
    ]
}

/// Replay protection (`APPROOV_REPLAY_PROTECTION=on`, the store in memory): the same signed
/// bytes sent a second time, and a first sending refused for another reason, which leaves
/// nothing remembered. Each case signs its own request (a new ECDSA signature), so that cases
/// sharing one store ([`replay_in_redis`]) never meet each other's signatures.
fn replay() -> Vec<Case> {
    let key = InstallationKey::generate().unwrap();
    let token = token_with_claims(json!({ "ipk": key.ipk().unwrap() }));
    let on = || vars(&[REQUIRE, REPLAY_ON]);
    let signed_for = "https://api.example.com/v1/orders?page=2";
    let line = "GET /v1/orders?page=2 HTTP/1.1";
    let get = |line: &str, (input, signature): &(String, String)| {
        let headers = [
            ("Host", "api.example.com"),
            ("Approov-Token", token.as_str()),
            ("Signature-Input", input.as_str()),
            ("Signature", signature.as_str()),
        ];
        request_bytes(line, &headers, b"")
    };
    let sent_twice = |name, vars, expect| {
        let request = get(line, &basic_signature(&key, &token, signed_for));
        Case {
            name,
            vars,
            first: Some(First {
                request: request.clone(),
                expect: passed(""),
            }),
            request,
            expect,
        }
    };
    let misdirected = basic_signature(&key, &token, signed_for);
    let body = r#"{"amount":10}"#;
    let changed = br#"{"amount":99}"#;
    let post = signed_post(&key, &token, body);
    let post_once_changed = signed_post(&key, &token, body);
    vec![
        sent_twice(
            "without replay protection a signed GET sent twice passes both times",
            vars(&[REQUIRE]),
            passed(""),
        ),
        sent_twice(
            "a signed GET sent a second time is refused as replayed",
            on(),
            Expect::Rejected(Kind::SignatureReplayed),
        ),
        sent_twice(
            "in monitor mode a signed GET sent a second time goes on, the replay in place of claims",
            vars(&[REQUIRE, REPLAY_ON, MONITOR]),
            Expect::Monitored {
                reason: Kind::SignatureReplayed,
                body: String::new(),
            },
        ),
        // Its signature does not verify for the query it was sent with: nothing is remembered.
        Case {
            name: "a signed GET first sent for another query burns nothing: sent as signed, it passes",
            vars: on(),
            first: Some(First {
                request: get("GET /v1/orders?page=3 HTTP/1.1", &misdirected),
                expect: Expect::Rejected(Kind::MessageSignatureInvalid),
            }),
            request: get(line, &misdirected),
            expect: passed(""),
        },
        // Read, checked and remembered after its body: the door's body path, then the store.
        Case {
            name: "a signed POST sent a second time with its body is refused as replayed",
            vars: on(),
            first: Some(First {
                request: post_request(&token, &post, body.as_bytes()),
                expect: passed(body),
            }),
            request: post_request(&token, &post, body.as_bytes()),
            expect: Expect::Rejected(Kind::SignatureReplayed),
        },
        // Its signature verifies, its body does not match: refused, nothing remembered.
        Case {
            name: "a signed POST first sent with a changed body burns nothing: sent with its own, it passes",
            vars: on(),
            first: Some(First {
                request: post_request(&token, &post_once_changed, changed),
                expect: Expect::Rejected(Kind::ContentDigestMismatch),
            }),
            request: post_request(&token, &post_once_changed, body.as_bytes()),
            expect: passed(body),
        },
    ]
}

/// The replay cases run with replay protection on, their store the Redis server at `url`
/// (`APPROOV_REPLAY_REDIS_URL`): the front door awaits the store (`Verdict::Record`) where the
/// store in memory answers at once. Each case remembers one signature.
#[allow(dead_code)]
pub fn replay_in_redis(url: &str) -> Vec<Case> {
    replay()
        .into_iter()
        .filter(|case| case.vars.iter().any(|(n, v)| (*n, v.as_str()) == REPLAY_ON))
        .map(|mut case| {
            case.vars.push(("APPROOV_REPLAY_REDIS_URL", url.to_owned()));
            case
        })
        .collect()
}
