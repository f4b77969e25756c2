//! Message signatures as the real Approov SDKs make them (APPROOV.md section 3), each over real
//! HTTP/1.1 on loopback, written byte for byte by a raw client, to an app configured as
//! `ApproovLayer::from_env()` would configure it. Every signature base here is written out by
//! hand from APPROOV.md, not built by the crate's `RequestSigner`, and every accepted form is
//! shown refused once tampered with.

use crate::sdk_support;

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sdk_support::*;
use sha2::{Digest as _, Sha256};
use tower_approov::test_util::InstallationKey;
use tower_approov::{ApproovErrorKind as Kind, ApproovLayer, ConfigError};

const REQUIRE: (&str, &str) = ("APPROOV_MESSAGE_SIGNING", "require");

/// The base an SDK signs for a GET covering `@method`, `@target-uri` and `approov-token`.
fn basic_base(target_uri: &str, token: &str, params: &str) -> String {
    format!(
        "\"@method\": GET\n\
         \"@target-uri\": {target_uri}\n\
         \"approov-token\": {token}\n\
         \"@signature-params\": {params}"
    )
}

const BASIC: &str = r#""@method" "@target-uri" "approov-token""#;

/// `GET /v1/orders` with `headers`, `token`, and a signature by `key` over the basic base of
/// `target_uri`.
async fn signed_get(
    addr: std::net::SocketAddr,
    key: &InstallationKey,
    token: &str,
    headers: &[(&str, &str)],
    target_uri: &str,
) -> Answer {
    signed_request(
        addr,
        key,
        token,
        "GET /v1/orders HTTP/1.1",
        headers,
        target_uri,
    )
    .await
}

/// `request_line` with `headers`, `token`, and a signature by `key` over the basic base of
/// `target_uri`.
async fn signed_request(
    addr: std::net::SocketAddr,
    key: &InstallationKey,
    token: &str,
    request_line: &str,
    headers: &[(&str, &str)],
    target_uri: &str,
) -> Answer {
    let params = sdk_params(BASIC);
    let base = basic_base(target_uri, token, &params);
    let (input, signature) = signature_headers(key, &params, &base, false);
    let mut all = headers.to_vec();
    all.extend([
        ("Approov-Token", token),
        ("Signature-Input", input.as_str()),
        ("Signature", signature.as_str()),
    ]);
    raw(addr, request_line, &all, b"").await
}

/// `request_line` with `host`, the token, and a signature by `key` over the basic base of
/// `target_uri`.
async fn basic_get(
    addr: std::net::SocketAddr,
    key: &InstallationKey,
    request_line: &str,
    host: &str,
    target_uri: &str,
) -> Answer {
    let token = token(key);
    signed_request(
        addr,
        key,
        &token,
        request_line,
        &[("Host", host)],
        target_uri,
    )
    .await
}

// ---- each SDK's form -------------------------------------------------------------------------

#[tokio::test]
async fn an_ios_call_to_the_root_signed_without_its_slash_passes_and_a_tampered_one_is_refused() {
    let addr = serve(config(&[REQUIRE]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let token = token(&key);
    let components = r#""@method" "@target-uri" "approov-token" "approov-traceid""#;
    for (request_line, target_uri, tampered_line) in [
        // URLSession signs `https://api.example.com?page=1` as written; the wire says `/?page=1`.
        (
            "GET /?page=1 HTTP/1.1",
            "https://api.example.com?page=1",
            "GET /?page=2 HTTP/1.1",
        ),
        // And `https://api.example.com` alone; the wire says `/`.
        (
            "GET / HTTP/1.1",
            "https://api.example.com",
            "GET /?page=1 HTTP/1.1",
        ),
    ] {
        let params = sdk_params(components);
        let base = format!(
            "\"@method\": GET\n\
             \"@target-uri\": {target_uri}\n\
             \"approov-token\": {token}\n\
             \"approov-traceid\": 7f3a9c01\n\
             \"@signature-params\": {params}"
        );
        let (input, signature) = signature_headers(&key, &params, &base, false);
        let headers = [
            ("Host", "api.example.com"),
            ("Approov-Token", token.as_str()),
            ("Approov-TraceID", "7f3a9c01"),
            ("Signature-Input", input.as_str()),
            ("Signature", signature.as_str()),
        ];
        raw(addr, request_line, &headers, b"").await.assert_ok("");
        raw(addr, tampered_line, &headers, b"")
            .await
            .assert_rejected(Kind::MessageSignatureInvalid);
    }
}

#[tokio::test]
async fn an_okhttp_url_signed_re_encoded_passes_while_the_wire_carries_it_raw() {
    let addr = serve(config(&[REQUIRE]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let token = token(&key);
    let params = sdk_params(r#""@method" "@target-uri" "approov-token" "approov-traceid""#);
    // `HttpUrl.uri().toString()`: `[`, `]` in the path and `|`, `{`, `}`, `^`, `` ` ``, `\` in
    // the query percent-encoded for `java.net.URI`.
    let base = format!(
        "\"@method\": GET\n\
         \"@target-uri\": https://api.example.com/v1/items%5B0%5D?f=a%7Cb&t=%7Bx%7D&p=%5E%60%5C\n\
         \"approov-token\": {token}\n\
         \"approov-traceid\": 4c2e\n\
         \"@signature-params\": {params}"
    );
    // Android sends the signature as a string since late 2025.
    let (input, signature) = signature_headers(&key, &params, &base, true);
    assert!(signature.starts_with("install=\""));
    let headers = [
        ("Host", "api.example.com"),
        ("Approov-Token", token.as_str()),
        ("Approov-TraceID", "4c2e"),
        ("Signature-Input", input.as_str()),
        ("Signature", signature.as_str()),
    ];
    raw(
        addr,
        "GET /v1/items[0]?f=a|b&t={x}&p=^`\\ HTTP/1.1",
        &headers,
        b"",
    )
    .await
    .assert_ok("");
    raw(
        addr,
        "GET /v1/items[1]?f=a|b&t={x}&p=^`\\ HTTP/1.1",
        &headers,
        b"",
    )
    .await
    .assert_rejected(Kind::MessageSignatureInvalid);
}

#[tokio::test]
async fn a_token_in_authorization_covered_twice_as_the_sdk_lists_it_passes_with_the_line_repeated()
{
    let addr = serve(
        config(&[
            REQUIRE,
            ("APPROOV_TOKEN_HEADER", "Authorization"),
            ("APPROOV_TOKEN_PREFIX", "Bearer"),
        ])
        .unwrap(),
    )
    .await;
    let key = InstallationKey::generate().unwrap();
    let authorization = format!("Bearer {}", token(&key));
    let body = r#"{"amount":10}"#;
    let digest = STANDARD.encode(Sha256::digest(body));
    // OkHttp: the token header, the trace id, then the optional headers present, among them
    // `authorization` again, then `content-digest` for a body of known length.
    let params = sdk_params(
        r#""@method" "@target-uri" "authorization" "approov-traceid" "authorization" "content-length" "content-type" "content-digest""#,
    );
    let base = format!(
        "\"@method\": POST\n\
         \"@target-uri\": https://api.example.com/v1/transfers\n\
         \"authorization\": {authorization}\n\
         \"approov-traceid\": 91ab\n\
         \"authorization\": {authorization}\n\
         \"content-length\": 13\n\
         \"content-type\": application/json; charset=utf-8\n\
         \"content-digest\": sha-256=:{digest}:\n\
         \"@signature-params\": {params}"
    );
    let (input, signature) = signature_headers(&key, &params, &base, true);
    let content_digest = format!("sha-256=:{digest}:");
    let headers = [
        ("Host", "api.example.com"),
        ("Authorization", authorization.as_str()),
        ("Approov-TraceID", "91ab"),
        ("Content-Type", "application/json; charset=utf-8"),
        ("Content-Digest", content_digest.as_str()),
        ("Signature-Input", input.as_str()),
        ("Signature", signature.as_str()),
    ];
    assert_eq!(body.len(), 13);
    raw(
        addr,
        "POST /v1/transfers HTTP/1.1",
        &headers,
        body.as_bytes(),
    )
    .await
    .assert_ok(body);
    raw(
        addr,
        "POST /v1/transfers HTTP/1.1",
        &headers,
        br#"{"amount":99}"#,
    )
    .await
    .assert_rejected(Kind::ContentDigestMismatch);
}

#[tokio::test]
async fn a_flutter_get_with_the_digest_of_its_empty_body_passes_and_a_body_added_is_refused() {
    let addr = serve(config(&[REQUIRE]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let token = token(&key);
    // printf '' | openssl dgst -sha256 -binary | base64
    let empty = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    assert_eq!(STANDARD.encode(Sha256::digest(b"")), empty);
    // Flutter: no trace id, and a digest of every buffered body, the empty one included.
    let params = sdk_params(r#""@method" "@target-uri" "approov-token" "content-digest""#);
    let base = format!(
        "\"@method\": GET\n\
         \"@target-uri\": https://api.example.com/v1/orders?page=2\n\
         \"approov-token\": {token}\n\
         \"content-digest\": sha-256=:{empty}:\n\
         \"@signature-params\": {params}"
    );
    let (input, signature) = signature_headers(&key, &params, &base, false);
    let content_digest = format!("sha-256=:{empty}:");
    let headers = [
        ("Host", "api.example.com"),
        ("Approov-Token", token.as_str()),
        ("Content-Digest", content_digest.as_str()),
        ("Signature-Input", input.as_str()),
        ("Signature", signature.as_str()),
    ];
    raw(addr, "GET /v1/orders?page=2 HTTP/1.1", &headers, b"")
        .await
        .assert_ok("");
    raw(addr, "GET /v1/orders?page=2 HTTP/1.1", &headers, b"x")
        .await
        .assert_rejected(Kind::ContentDigestMismatch);
}

#[tokio::test]
async fn an_https_signature_passes_over_http_1_1_with_no_public_origin_configured() {
    // An HTTP/1.1 request in origin form has no scheme: the app called https, so the server
    // rebuilds `https://` + `Host` + the request target.
    let addr = serve(config(&[REQUIRE]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let line = "GET /v1/orders?page=2 HTTP/1.1";
    basic_get(
        addr,
        &key,
        line,
        "api.example.com",
        "https://api.example.com/v1/orders?page=2",
    )
    .await
    .assert_ok("");
    basic_get(
        addr,
        &key,
        line,
        "api.example.com",
        "http://api.example.com/v1/orders?page=2",
    )
    .await
    .assert_rejected(Kind::MessageSignatureInvalid);
}

// ---- what the server receives: origin form, Host, ports, case, repeated lines ---------------

#[tokio::test]
async fn an_explicit_default_port_in_host_is_dropped_from_the_rebuilt_url() {
    let addr = serve(config(&[REQUIRE]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let line = "GET /v1/orders HTTP/1.1";
    let host = "api.example.com:443";
    basic_get(addr, &key, line, host, "https://api.example.com/v1/orders")
        .await
        .assert_ok("");
    basic_get(
        addr,
        &key,
        line,
        host,
        "https://api.example.com:443/v1/orders",
    )
    .await
    .assert_rejected(Kind::MessageSignatureInvalid);
}

#[tokio::test]
async fn a_non_default_port_stays_in_the_rebuilt_url_and_authority() {
    let addr = serve(config(&[REQUIRE]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let token = token(&key);
    let params = sdk_params(r#""@method" "@target-uri" "@authority" "approov-token""#);
    let base = format!(
        "\"@method\": GET\n\
         \"@target-uri\": https://api.example.com:8443/v1/orders\n\
         \"@authority\": api.example.com:8443\n\
         \"approov-token\": {token}\n\
         \"@signature-params\": {params}"
    );
    let (input, signature) = signature_headers(&key, &params, &base, false);
    let mut headers = vec![
        ("Host", "api.example.com:8443"),
        ("Approov-Token", token.as_str()),
        ("Signature-Input", input.as_str()),
        ("Signature", signature.as_str()),
    ];
    raw(addr, "GET /v1/orders HTTP/1.1", &headers, b"")
        .await
        .assert_ok("");
    headers[0] = ("Host", "api.example.com:9443");
    raw(addr, "GET /v1/orders HTTP/1.1", &headers, b"")
        .await
        .assert_rejected(Kind::MessageSignatureInvalid);
}

#[tokio::test]
async fn an_upper_case_host_is_rebuilt_in_lower_case() {
    let addr = serve(config(&[REQUIRE]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let line = "GET /v1/orders HTTP/1.1";
    let host = "API.Example.COM";
    basic_get(addr, &key, line, host, "https://api.example.com/v1/orders")
        .await
        .assert_ok("");
    basic_get(addr, &key, line, host, "https://API.Example.COM/v1/orders")
        .await
        .assert_rejected(Kind::MessageSignatureInvalid);
}

#[tokio::test]
async fn a_covered_header_sent_on_two_lines_is_joined_with_a_comma_and_a_space() {
    let addr = serve(config(&[REQUIRE]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let token = token(&key);
    let params = sdk_params(r#""@method" "@target-uri" "approov-token" "x-app-tag""#);
    let base = format!(
        "\"@method\": GET\n\
         \"@target-uri\": https://api.example.com/v1/orders\n\
         \"approov-token\": {token}\n\
         \"x-app-tag\": alpha, beta\n\
         \"@signature-params\": {params}"
    );
    let (input, signature) = signature_headers(&key, &params, &base, false);
    let sent = |first: &'static str, second: &'static str| {
        let token = token.clone();
        let (input, signature) = (input.clone(), signature.clone());
        async move {
            let headers = [
                ("Host", "api.example.com"),
                ("Approov-Token", token.as_str()),
                ("X-App-Tag", first),
                ("Signature-Input", input.as_str()),
                ("x-app-tag", second),
                ("Signature", signature.as_str()),
            ];
            raw(addr, "GET /v1/orders HTTP/1.1", &headers, b"").await
        }
    };
    sent("alpha", "  beta ").await.assert_ok("");
    // The same values in the other order are another field value.
    sent("beta", "alpha")
        .await
        .assert_rejected(Kind::MessageSignatureInvalid);
}

// ---- the bound on verifications --------------------------------------------------------------

#[tokio::test]
async fn each_of_the_three_forms_of_an_ambiguous_url_passes_and_none_covers_another_query() {
    let addr = serve(config(&[REQUIRE]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    for signed in [
        "https://api.example.com/?q=a|b",
        "https://api.example.com?q=a|b",
        "https://api.example.com/?q=a%7Cb",
    ] {
        basic_get(
            addr,
            &key,
            "GET /?q=a|b HTTP/1.1",
            "api.example.com",
            signed,
        )
        .await
        .assert_ok("");
        // The same signature over a query changed on the wire: no form of it matches.
        basic_get(
            addr,
            &key,
            "GET /?q=a|c HTTP/1.1",
            "api.example.com",
            signed,
        )
        .await
        .assert_rejected(Kind::MessageSignatureInvalid);
    }
}

#[tokio::test]
async fn a_url_that_would_need_a_fourth_form_is_refused() {
    // The root without `/` *and* OkHttp's encoding: no SDK writes this, and trying it would
    // be a fourth verification. At most three are made per request.
    let addr = serve(config(&[REQUIRE]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    basic_get(
        addr,
        &key,
        "GET /?q=a|b HTTP/1.1",
        "api.example.com",
        "https://api.example.com?q=a%7Cb",
    )
    .await
    .assert_rejected(Kind::MessageSignatureInvalid);
}

#[tokio::test]
async fn the_sdk_forms_of_query_authority_and_path_pass_when_an_app_covers_them() {
    let addr = serve(config(&[REQUIRE]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let token = token(&key);
    let components = r#""@method" "@target-uri" "@authority" "@path" "@query" "approov-token""#;
    // iOS: `@query` without `?`, `@authority` without the port, `@path` decoded.
    let params = sdk_params(components);
    let base = format!(
        "\"@method\": GET\n\
         \"@target-uri\": https://api.example.com:8443/caf%C3%A9/menu?lang=fr\n\
         \"@authority\": api.example.com\n\
         \"@path\": /café/menu\n\
         \"@query\": lang=fr\n\
         \"approov-token\": {token}\n\
         \"@signature-params\": {params}"
    );
    let (input, signature) = signature_headers(&key, &params, &base, false);
    let headers = [
        ("Host", "api.example.com:8443"),
        ("Approov-Token", token.as_str()),
        ("Signature-Input", input.as_str()),
        ("Signature", signature.as_str()),
    ];
    raw(addr, "GET /caf%C3%A9/menu?lang=fr HTTP/1.1", &headers, b"")
        .await
        .assert_ok("");
    raw(addr, "GET /caf%C3%A9/menu?lang=de HTTP/1.1", &headers, b"")
        .await
        .assert_rejected(Kind::MessageSignatureInvalid);
}

// ---- which requests must be signed --------------------------------------------------------

/// A GET of `/v1/orders`, signed over the basic base when `signer` is given.
async fn matrix_get(
    addr: std::net::SocketAddr,
    token: &str,
    signer: Option<&InstallationKey>,
) -> Answer {
    let mut headers = vec![("Host", "api.example.com"), ("Approov-Token", token)];
    let signed = signer.map(|key| {
        let params = sdk_params(BASIC);
        let base = basic_base("https://api.example.com/v1/orders", token, &params);
        signature_headers(key, &params, &base, false)
    });
    if let Some((input, signature)) = &signed {
        headers.push(("Signature-Input", input));
        headers.push(("Signature", signature));
    }
    raw(addr, "GET /v1/orders HTTP/1.1", &headers, b"").await
}

#[tokio::test]
async fn the_require_and_verify_matrix_for_tokens_with_and_without_ipk_signed_and_unsigned() {
    let key = InstallationKey::generate().unwrap();
    let with_ipk = token(&key);
    let failover = token_with(None);
    let modes: [(&str, &[(&'static str, &str)]); 3] = [
        ("verify", &[("APPROOV_MESSAGE_SIGNING", "verify")]),
        ("require", &[REQUIRE]),
        (
            "require, missing ipk refused",
            &[REQUIRE, ("APPROOV_ALLOW_MISSING_IPK", "false")],
        ),
    ];
    // (mode, token has ipk, signed) -> the reason, or `None` for 200.
    let expected = |mode: &str, ipk: bool, signed: bool| match (mode, ipk, signed) {
        ("verify", ..) => None,
        (_, true, true) => None,
        (_, true, false) => Some(Kind::SignatureMissing),
        ("require", false, _) => None,
        (_, false, _) => Some(Kind::InstallationKeyMissing),
    };
    for (mode, vars) in modes {
        let addr = serve(config(vars).unwrap()).await;
        for (ipk, token) in [(true, &with_ipk), (false, &failover)] {
            for signed in [true, false] {
                let answer = matrix_get(addr, token, signed.then_some(&key)).await;
                match expected(mode, ipk, signed) {
                    None => answer.assert_ok(""),
                    Some(kind) => answer.assert_rejected(kind),
                }
            }
        }
        // Whatever the mode, what is signed is checked.
        let other = InstallationKey::generate().unwrap();
        matrix_get(addr, &with_ipk, Some(&other))
            .await
            .assert_rejected(Kind::MessageSignatureInvalid);
    }
}

// ---- created and expires -------------------------------------------------------------------

/// A GET of `/v1/orders` signed with these parameters after the component list, and the same
/// headers sent for `/v1/orders?tampered`: the server's answers to both.
async fn get_with_params(vars: &[(&'static str, &str)], parameters: &str) -> (Answer, Answer) {
    let addr = serve(config(vars).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let token = token(&key);
    let params = format!("({BASIC});alg=\"ecdsa-p256-sha256\"{parameters}");
    let base = basic_base("https://api.example.com/v1/orders", &token, &params);
    let (input, signature) = signature_headers(&key, &params, &base, false);
    let headers = [
        ("Host", "api.example.com"),
        ("Approov-Token", token.as_str()),
        ("Signature-Input", input.as_str()),
        ("Signature", signature.as_str()),
    ];
    (
        raw(addr, "GET /v1/orders HTTP/1.1", &headers, b"").await,
        raw(addr, "GET /v1/orders?tampered HTTP/1.1", &headers, b"").await,
    )
}

/// The signed GET of [`get_with_params`] passes, and the tampered one is refused.
#[track_caller]
fn assert_passes_untampered((signed, tampered): &(Answer, Answer)) {
    signed.assert_ok("");
    tampered.assert_rejected(Kind::MessageSignatureInvalid);
}

#[tokio::test]
async fn a_signature_whose_expires_is_before_its_created_is_refused() {
    let created = now() as i64;
    get_with_params(
        &[REQUIRE],
        &format!(";created={created};expires={}", created - 1),
    )
    .await
    .0
    .assert_rejected(Kind::SignatureExpired);
    let at_created = format!(";created={created};expires={created}");
    assert_passes_untampered(&get_with_params(&[REQUIRE], &at_created).await);
}

#[tokio::test]
async fn a_signature_without_expires_passes_by_default_and_is_refused_when_expires_is_required() {
    let created = format!(";created={}", now() as i64);
    assert_passes_untampered(&get_with_params(&[REQUIRE], &created).await);
    get_with_params(
        &[REQUIRE, ("APPROOV_SIGNATURE_REQUIRE_EXPIRES", "true")],
        &created,
    )
    .await
    .0
    .assert_rejected(Kind::SignatureExpired);
}

#[tokio::test]
async fn a_signed_body_without_content_digest_is_unchecked_by_default_and_refused_when_required() {
    let key = InstallationKey::generate().unwrap();
    let token = token(&key);
    // iOS by default: the body is not digested.
    let params = sdk_params(r#""@method" "@target-uri" "approov-token" "content-length""#);
    let base = format!(
        "\"@method\": POST\n\
         \"@target-uri\": https://api.example.com/v1/orders\n\
         \"approov-token\": {token}\n\
         \"content-length\": 5\n\
         \"@signature-params\": {params}"
    );
    let (input, signature) = signature_headers(&key, &params, &base, false);
    let headers = [
        ("Host", "api.example.com"),
        ("Approov-Token", token.as_str()),
        ("Signature-Input", input.as_str()),
        ("Signature", signature.as_str()),
    ];
    let line = "POST /v1/orders HTTP/1.1";
    let lenient = serve(config(&[REQUIRE]).unwrap()).await;
    // Not covered, so not checked: another body of the same length goes through.
    raw(lenient, line, &headers, b"hello")
        .await
        .assert_ok("hello");
    raw(lenient, line, &headers, b"HELLO")
        .await
        .assert_ok("HELLO");
    // A body of another length changes the covered `content-length`.
    raw(lenient, line, &headers, b"hello!")
        .await
        .assert_rejected(Kind::MessageSignatureInvalid);
    let strict =
        serve(config(&[REQUIRE, ("APPROOV_SIGNATURE_REQUIRE_DIGEST", "true")]).unwrap()).await;
    raw(strict, line, &headers, b"hello")
        .await
        .assert_rejected(Kind::ContentDigestMismatch);
    // A request without a body needs no digest; its signature is still checked.
    matrix_get(strict, &token, Some(&key)).await.assert_ok("");
    let other = InstallationKey::generate().unwrap();
    matrix_get(strict, &token, Some(&other))
        .await
        .assert_rejected(Kind::MessageSignatureInvalid);
}

// ---- proxies ---------------------------------------------------------------------------------

#[tokio::test]
async fn behind_a_proxy_that_rewrites_x_forwarded_a_clients_own_forwarded_header_chooses_nothing() {
    let addr =
        serve(config(&[REQUIRE, ("APPROOV_TRUST_FORWARDED_HEADERS", "x-forwarded")]).unwrap())
            .await;
    let key = InstallationKey::generate().unwrap();
    let token = token(&key);
    let headers = [
        ("Host", "10.0.0.7:8080"),
        // Written by the client; the proxy passes it on untouched.
        ("Forwarded", "proto=https;host=evil.example"),
        // The client's own value first, the proxy's appended last.
        ("X-Forwarded-Host", "evil.example"),
        ("X-Forwarded-Host", "api.example.com"),
        ("X-Forwarded-Proto", "http, https"),
    ];
    for (signed_for, rejected) in [
        ("https://api.example.com/v1/orders", None),
        (
            "https://evil.example/v1/orders",
            Some(Kind::MessageSignatureInvalid),
        ),
    ] {
        signed_get(addr, &key, &token, &headers, signed_for)
            .await
            .assert_outcome(rejected);
    }
}

#[tokio::test]
async fn behind_a_proxy_that_sets_forwarded_its_last_element_gives_the_scheme_and_host_signed() {
    // The proxy's element comes last, after the client's own; its `proto` matters as much as
    // its `host`: a request that came in over plain http was signed for `http://`.
    let addr =
        serve(config(&[REQUIRE, ("APPROOV_TRUST_FORWARDED_HEADERS", "forwarded")]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let token = token(&key);
    let headers = [
        ("Host", "10.0.0.7:8080"),
        ("Forwarded", "proto=https;host=evil.example"),
        (
            "Forwarded",
            "for=192.0.2.60;proto=http;host=\"api.example.com\"",
        ),
    ];
    let invalid = Some(Kind::MessageSignatureInvalid);
    for (signed_for, rejected) in [
        ("http://api.example.com/v1/orders", None),
        ("https://api.example.com/v1/orders", invalid),
        ("https://evil.example/v1/orders", invalid),
        ("http://10.0.0.7:8080/v1/orders", invalid),
    ] {
        signed_get(addr, &key, &token, &headers, signed_for)
            .await
            .assert_outcome(rejected);
    }
}

#[tokio::test]
async fn a_default_port_is_dropped_only_for_its_own_scheme() {
    let key = InstallationKey::generate().unwrap();
    let token = token(&key);
    let invalid = Some(Kind::MessageSignatureInvalid);
    // Port 80 behind a proxy that says the client used plain http: `http://host`, no port.
    let proxied =
        serve(config(&[REQUIRE, ("APPROOV_TRUST_FORWARDED_HEADERS", "forwarded")]).unwrap()).await;
    let headers = [
        ("Host", "10.0.0.7:8080"),
        ("Forwarded", "proto=http;host=api.example.com:80"),
    ];
    for (signed_for, rejected) in [
        ("http://api.example.com/v1/orders", None),
        ("http://api.example.com:80/v1/orders", invalid),
    ] {
        signed_get(proxied, &key, &token, &headers, signed_for)
            .await
            .assert_outcome(rejected);
    }
    // Port 80 on an https request (no scheme on the wire: `https`) is not a default port.
    let direct = serve(config(&[REQUIRE]).unwrap()).await;
    for (signed_for, rejected) in [
        ("https://api.example.com:80/v1/orders", None),
        ("https://api.example.com/v1/orders", invalid),
    ] {
        signed_get(
            direct,
            &key,
            &token,
            &[("Host", "api.example.com:80")],
            signed_for,
        )
        .await
        .assert_outcome(rejected);
    }
}

// ---- the environment's signing settings -------------------------------------------------------

/// An unsigned GET carrying a token with `ipk`, to a server configured with `vars`.
async fn unsigned_get(vars: &[(&'static str, &str)]) -> Answer {
    let addr = serve(config(vars).unwrap()).await;
    let token = token(&InstallationKey::generate().unwrap());
    let headers = [
        ("Host", "api.example.com"),
        ("Approov-Token", token.as_str()),
    ];
    raw(addr, "GET /v1/orders HTTP/1.1", &headers, b"").await
}

#[tokio::test]
async fn approov_message_signing_off_is_taken_and_turns_the_check_off() {
    unsigned_get(&[("APPROOV_MESSAGE_SIGNING", "off")])
        .await
        .assert_ok("");
    unsigned_get(&[REQUIRE])
        .await
        .assert_rejected(Kind::SignatureMissing);
}

#[tokio::test]
async fn approov_signature_max_age_seconds_refuses_an_older_signature_without_expires_and_0_turns_it_off()
 {
    let key = InstallationKey::generate().unwrap();
    let token = token(&key);
    // Made 120 s ago, with no `expires`: only the maximum age can refuse it.
    let params = format!(
        "({BASIC});alg=\"ecdsa-p256-sha256\";created={}",
        now() as i64 - 120
    );
    let base = basic_base("https://api.example.com/v1/orders", &token, &params);
    let (input, signature) = signature_headers(&key, &params, &base, false);
    let headers = [
        ("Host", "api.example.com"),
        ("Approov-Token", token.as_str()),
        ("Signature-Input", input.as_str()),
        ("Signature", signature.as_str()),
    ];
    for (max_age, rejected) in [
        ("60", Some(Kind::SignatureExpired)),
        ("600", None),
        ("0", None),
    ] {
        let addr =
            serve(config(&[REQUIRE, ("APPROOV_SIGNATURE_MAX_AGE_SECONDS", max_age)]).unwrap())
                .await;
        raw(addr, "GET /v1/orders HTTP/1.1", &headers, b"")
            .await
            .assert_outcome(rejected);
        if rejected.is_none() {
            // Passed on its age: what it covers is still checked.
            raw(addr, "GET /v1/orders?tampered HTTP/1.1", &headers, b"")
                .await
                .assert_rejected(Kind::MessageSignatureInvalid);
        }
    }
}

#[test]
fn trust_forwarded_headers_true_is_a_config_error_asking_for_the_family() {
    let error = config(&[("APPROOV_TRUST_FORWARDED_HEADERS", "true")]).unwrap_err();
    assert!(
        matches!(
            error,
            ConfigError::Invalid {
                variable: "APPROOV_TRUST_FORWARDED_HEADERS",
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("`forwarded` or `x-forwarded`"),
        "{message}"
    );
    for value in ["false", "forwarded", "X-Forwarded"] {
        config(&[("APPROOV_TRUST_FORWARDED_HEADERS", value)]).unwrap();
    }
}

// ---- axum `nest` -----------------------------------------------------------------------------

fn nested_routes() -> Router {
    Router::new().route("/v1/orders", get(|| async { "nested" }))
}

#[tokio::test]
async fn on_the_outer_router_the_layer_sees_the_nested_routes_whole_signed_url() {
    let layer = ApproovLayer::new(config(&[REQUIRE]).unwrap());
    let router = Router::new()
        .nest("/api", nested_routes())
        .layer(layer)
        .layer(axum::middleware::map_response(reason_header));
    let addr = serve_router(router).await;
    let key = InstallationKey::generate().unwrap();
    let line = "GET /api/v1/orders HTTP/1.1";
    let signed = "https://api.example.com/api/v1/orders";
    basic_get(addr, &key, line, "api.example.com", signed)
        .await
        .assert_ok("nested");
    // Signed for that URL, sent for another query of it.
    let tampered = "GET /api/v1/orders?page=2 HTTP/1.1";
    basic_get(addr, &key, tampered, "api.example.com", signed)
        .await
        .assert_rejected(Kind::MessageSignatureInvalid);
}

#[tokio::test]
async fn inside_a_nested_router_the_prefix_is_gone_so_signatures_do_not_verify_there() {
    // The documented pitfall: axum strips `/api` before the nested router's layers run, so the
    // layer rebuilds `https://api.example.com/v1/orders`, not the URL the app signed.
    let layer = ApproovLayer::new(config(&[REQUIRE]).unwrap());
    let router = Router::new()
        .nest("/api", nested_routes().layer(layer))
        .layer(axum::middleware::map_response(reason_header));
    let addr = serve_router(router).await;
    let key = InstallationKey::generate().unwrap();
    let line = "GET /api/v1/orders HTTP/1.1";
    basic_get(
        addr,
        &key,
        line,
        "api.example.com",
        "https://api.example.com/api/v1/orders",
    )
    .await
    .assert_rejected(Kind::MessageSignatureInvalid);
}

// ---- account signatures and two members (APPROOV.md section 3b) -------------------------------

mod account;
