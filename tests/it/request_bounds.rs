//! What one request can cost or claim, from a second security review (issue 23): one token is
//! one cache entry however its header is written; a huge header is refused before anything
//! reads it; the signature headers are bounded; a signed body cannot trickle in forever; the
//! origin a signature is checked against is the one the handler sees. Each over real HTTP on
//! loopback, with bases written out by hand.

use crate::sdk_support;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sdk_support::*;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tower_approov::test_util::{InstallationKey, token_cache_len};
use tower_approov::{ApproovErrorKind as Kind, ConfigError};

const REQUIRE: (&str, &str) = ("APPROOV_MESSAGE_SIGNING", "require");

#[tokio::test]
async fn one_token_is_one_cache_entry_whatever_the_case_of_its_prefix_and_the_spaces_around_it() {
    let config = config(&[("APPROOV_TOKEN_PREFIX", "Bearer")]).unwrap();
    let addr = serve(config.clone()).await;
    let token = token_with(None);
    for value in [
        format!("Bearer {token}"),
        format!("bearer {token}"),
        format!("BEARER \t  {token}"),
        format!("Bearer\t{token}"),
        format!("beaRER     {token}  "),
    ] {
        raw(
            addr,
            "GET / HTTP/1.1",
            &[("Host", "a"), ("Approov-Token", &value)],
            b"",
        )
        .await
        .assert_ok("");
    }
    assert_eq!(token_cache_len(&config), Some(1));
}

#[test]
fn a_header_over_the_length_limit_is_refused_before_the_cache_is_looked_up() {
    // The token is cached (it passed once). The same token, padded past the limit with the
    // spaces that trimming would remove, must be refused for its length: the limit is checked
    // before anything else reads the value, the cache lookup included.
    let config = config(&[("APPROOV_MAX_TOKEN_LENGTH", "1000")]).unwrap();
    let token = token_with(None);
    let headers = |value: &str| [("approov-token", value.to_owned())];
    let check = |value: &str| {
        let headers = headers(value);
        match config.check(&tower_approov::ApproovRequest::new(
            "GET",
            "/",
            &headers[..],
        )) {
            tower_approov::Verdict::Accept(_) => None,
            tower_approov::Verdict::Reject(error) => Some(error.kind()),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(check(&token), None);
    assert_eq!(token_cache_len(&config), Some(1));
    let padded = format!("{token}{}", " ".repeat(1001 - token.len()));
    assert_eq!(check(&padded), Some(Kind::TokenTooLong));
}

#[tokio::test]
async fn a_signature_input_over_4_kib_is_malformed_before_it_is_parsed_and_one_under_it_is_read() {
    let addr = serve(config(&[REQUIRE]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let token = token(&key);
    let components = r#""@method" "@target-uri" "approov-token""#;
    // A valid signature, plus a member of another label padded to the size wanted: the
    // `install` member is the same in both requests, only the field's size differs.
    let send = |pad: usize| {
        let params = sdk_params(components);
        let base = format!(
            "\"@method\": GET\n\"@target-uri\": https://api.example.com/v1\n\
             \"approov-token\": {token}\n\"@signature-params\": {params}"
        );
        let (input, signature) = signature_headers(&key, &params, &base, false);
        let input = format!("{input}, other=(\"{}\")", "x".repeat(pad));
        let token = token.clone();
        async move {
            raw(
                addr,
                "GET /v1 HTTP/1.1",
                &[
                    ("Host", "api.example.com"),
                    ("Approov-Token", &token),
                    ("Signature-Input", &input),
                    ("Signature", &signature),
                ],
                b"",
            )
            .await
        }
    };
    send(3000).await.assert_ok("");
    send(4096).await.assert_rejected(Kind::SignatureMalformed);
}

#[tokio::test]
async fn a_signature_header_split_over_many_lines_counts_every_line_against_the_bound() {
    let addr = serve(config(&[REQUIRE]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let token = token(&key);
    let line = format!("pad=:{}:", STANDARD.encode([0u8; 96]));
    let mut headers = vec![
        ("Host", "api.example.com"),
        ("Approov-Token", token.as_str()),
    ];
    for _ in 0..40 {
        headers.push(("Signature", line.as_str()));
    }
    headers.push(("Signature-Input", "install=(\"@method\")"));
    raw(addr, "GET /v1 HTTP/1.1", &headers, b"")
        .await
        .assert_rejected(Kind::SignatureMalformed);
}

#[tokio::test]
async fn a_content_digest_over_4_kib_is_malformed_before_it_is_parsed_and_one_of_4_kib_is_judged_on_its_digest()
 {
    let addr = serve(config(&[REQUIRE]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let token = token(&key);
    let body = br#"{"amount":1}"#;
    // A signed POST whose `Content-Digest` holds the SHA-256 of `digested` and a member of an
    // algorithm the check ignores, padded so that the field is `field_len` bytes; the
    // signature covers the field, so only its size (or its digest) can make it fail.
    let send = |digested: &[u8], field_len: usize| {
        let sha256 = format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(digested)));
        let framing = format!("{sha256}, unknown=\"\"").len();
        let field = format!("{sha256}, unknown=\"{}\"", "x".repeat(field_len - framing));
        assert_eq!(field.len(), field_len);
        let params = sdk_params(r#""@method" "@target-uri" "approov-token" "content-digest""#);
        let base = format!(
            "\"@method\": POST\n\"@target-uri\": https://api.example.com/upload\n\
             \"approov-token\": {token}\n\"content-digest\": {field}\n\
             \"@signature-params\": {params}"
        );
        let (input, signature) = signature_headers(&key, &params, &base, false);
        let token = token.clone();
        async move {
            raw(
                addr,
                "POST /upload HTTP/1.1",
                &[
                    ("Host", "api.example.com"),
                    ("Approov-Token", &token),
                    ("Content-Digest", &field),
                    ("Signature-Input", &input),
                    ("Signature", &signature),
                ],
                body,
            )
            .await
        }
    };
    // At the bound the field is read: the body's digest passes, another body's does not.
    send(body, 4096)
        .await
        .assert_ok(std::str::from_utf8(body).unwrap());
    send(b"another body", 4096)
        .await
        .assert_rejected(Kind::ContentDigestMismatch);
    // One byte over, the same signed request with the right digest is refused unread.
    send(body, 4097)
        .await
        .assert_rejected(Kind::SignatureMalformed);
}

/// A signed POST whose signature covers `content-digest` of `body`: the request head and the
/// first `sent` bytes of the body, as a phone on a dying link would send them.
fn signed_post_head(key: &InstallationKey, token: &str, body: &[u8]) -> String {
    let digest = format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)));
    let components = r#""@method" "@target-uri" "approov-token" "content-length" "content-digest""#;
    let params = sdk_params(components);
    let base = format!(
        "\"@method\": POST\n\"@target-uri\": https://api.example.com/upload\n\
         \"approov-token\": {token}\n\"content-length\": {}\n\"content-digest\": {digest}\n\
         \"@signature-params\": {params}",
        body.len()
    );
    let (input, signature) = signature_headers(key, &params, &base, false);
    format!(
        "POST /upload HTTP/1.1\r\nHost: api.example.com\r\nApproov-Token: {token}\r\n\
         Content-Length: {}\r\nContent-Digest: {digest}\r\nSignature-Input: {input}\r\n\
         Signature: {signature}\r\nConnection: close\r\n\r\n",
        body.len()
    )
}

#[tokio::test]
async fn a_signed_body_that_trickles_in_past_its_deadline_is_refused_while_the_client_still_sends()
{
    let addr = serve(
        config(&[
            REQUIRE,
            ("APPROOV_SIGNATURE_BODY_READ_TIMEOUT_SECONDS", "1"),
        ])
        .unwrap(),
    )
    .await;
    let key = InstallationKey::generate().unwrap();
    let token = token(&key);
    let body = [b'x'; 1000];
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(signed_post_head(&key, &token, &body).as_bytes())
        .await
        .unwrap();
    stream.write_all(&body[..10]).await.unwrap();
    // The rest of the body never comes; the connection stays open. The answer must come on
    // its own (the 20 s bound only keeps a broken build from hanging the suite).
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut answer))
        .await
        .expect("the server answers before the client has sent the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(
        answer.contains(&format!(
            "{}: {}",
            crate::common::REASON_HEADER,
            Kind::ContentDigestMismatch.reason_code()
        )),
        "{answer}"
    );
}

#[tokio::test]
async fn the_same_signed_body_sent_whole_within_its_deadline_passes() {
    let addr = serve(
        config(&[
            REQUIRE,
            ("APPROOV_SIGNATURE_BODY_READ_TIMEOUT_SECONDS", "1"),
        ])
        .unwrap(),
    )
    .await;
    let key = InstallationKey::generate().unwrap();
    let token = token(&key);
    let body = [b'x'; 1000];
    let mut request = signed_post_head(&key, &token, &body).into_bytes();
    request.extend_from_slice(&body);
    let answer = raw_bytes(addr, &request).await;
    answer.assert_ok(std::str::from_utf8(&body).unwrap());
}

#[test]
fn a_zero_body_read_timeout_is_a_config_error_naming_the_variable() {
    let error = config(&[("APPROOV_SIGNATURE_BODY_READ_TIMEOUT_SECONDS", "0")]).unwrap_err();
    assert!(matches!(error, ConfigError::Invalid { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "APPROOV_SIGNATURE_BODY_READ_TIMEOUT_SECONDS has an invalid value: set it to a whole \
         number of seconds from 1 to 3600"
    );
}

/// `Approov-Token`, `Signature-Input` and `Signature` of a GET signed over the basic base of
/// `target_uri`.
fn signed_get_headers(key: &InstallationKey, target_uri: &str) -> [(&'static str, String); 3] {
    let token = token(key);
    let components = r#""@method" "@target-uri" "approov-token""#;
    let params = sdk_params(components);
    let base = format!(
        "\"@method\": GET\n\"@target-uri\": {target_uri}\n\"approov-token\": {token}\n\
         \"@signature-params\": {params}"
    );
    let (input, signature) = signature_headers(key, &params, &base, false);
    [
        ("Approov-Token", token),
        ("Signature-Input", input),
        ("Signature", signature),
    ]
}

/// A GET to `request_line` with `headers`, signed over the basic base of `target_uri`.
async fn signed(
    addr: std::net::SocketAddr,
    key: &InstallationKey,
    request_line: &str,
    headers: &[(&str, &str)],
    target_uri: &str,
) -> Answer {
    let signing = signed_get_headers(key, target_uri);
    let mut all = headers.to_vec();
    all.extend(signing.iter().map(|(name, value)| (*name, value.as_str())));
    raw(addr, request_line, &all, b"").await
}

#[tokio::test]
async fn an_absolute_target_whose_authority_differs_from_host_is_refused_whichever_was_signed() {
    let addr = serve(config(&[REQUIRE]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    for target_uri in ["https://api.example.com/v1", "https://evil.example/v1"] {
        signed(
            addr,
            &key,
            "GET https://api.example.com/v1 HTTP/1.1",
            &[("Host", "evil.example")],
            target_uri,
        )
        .await
        .assert_rejected(Kind::AuthorityMismatch);
    }
    // The same authority in both (case and default port aside) passes.
    signed(
        addr,
        &key,
        "GET https://API.example.com:443/v1 HTTP/1.1",
        &[("Host", "api.example.com")],
        "https://api.example.com/v1",
    )
    .await
    .assert_ok("");
}

/// Serves the test app on loopback over HTTP/2 with prior knowledge (h2c): hyper puts each
/// request's `:scheme` and `:authority` into its URI, and hands a `host` header on as sent.
async fn serve_h2c(config: tower_approov::ApproovConfig) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app(config);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = hyper_util::service::TowerToHyperService::new(app.clone());
            tokio::spawn(
                hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    addr
}

/// A GET of `uri` (its authority sent as `:authority`) with `headers`, over a fresh HTTP/2
/// connection with prior knowledge; the answer must come within 20 s.
async fn h2_get(addr: std::net::SocketAddr, uri: &str, headers: &[(&str, &str)]) -> Answer {
    use http_body_util::BodyExt as _;
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(stream),
        )
        .await
        .unwrap();
        tokio::spawn(connection);
        let mut request = http::Request::get(uri).version(http::Version::HTTP_2);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.version(), http::Version::HTTP_2);
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        let mut head = format!("{:?} {}", parts.version, parts.status);
        for (name, value) in &parts.headers {
            head.push_str(&format!("\r\n{name}: {}", value.to_str().unwrap()));
        }
        Answer {
            status: parts.status,
            reason: parts
                .headers
                .get(crate::common::REASON_HEADER)
                .map(|v| v.to_str().unwrap().to_owned()),
            head,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    };
    tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .expect("an HTTP/2 answer within 20 s")
}

#[tokio::test]
async fn an_http2_authority_that_differs_from_host_is_refused_whichever_was_signed() {
    let addr = serve_h2c(config(&[REQUIRE]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let get = |target_uri: &str, host: Option<&'static str>| {
        let signing = signed_get_headers(&key, target_uri);
        async move {
            let mut headers: Vec<(&str, &str)> = host.map(|h| ("Host", h)).into_iter().collect();
            headers.extend(signing.iter().map(|(name, value)| (*name, value.as_str())));
            h2_get(addr, "https://api.example.com/v1", &headers).await
        }
    };
    // `:authority` api.example.com, `Host` evil.example: refused, signed for either.
    for target_uri in ["https://api.example.com/v1", "https://evil.example/v1"] {
        get(target_uri, Some("evil.example"))
            .await
            .assert_rejected(Kind::AuthorityMismatch);
    }
    // The same request with a `Host` that agrees, and with none (as HTTP/2 clients send it),
    // signed for that URL, passes.
    get("https://api.example.com/v1", Some("api.example.com"))
        .await
        .assert_ok("");
    get("https://api.example.com/v1", None).await.assert_ok("");
}

#[tokio::test]
async fn two_host_headers_are_refused_as_an_authority_mismatch() {
    let addr = serve(config(&[REQUIRE]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    signed(
        addr,
        &key,
        "GET /v1 HTTP/1.1",
        &[("Host", "api.example.com"), ("Host", "evil.example")],
        "https://api.example.com/v1",
    )
    .await
    .assert_rejected(Kind::AuthorityMismatch);
}

#[tokio::test]
async fn trusting_only_x_forwarded_proto_takes_the_host_from_the_request_and_ignores_x_forwarded_host()
 {
    let addr = serve(
        config(&[
            REQUIRE,
            ("APPROOV_TRUST_FORWARDED_HEADERS", "x-forwarded-proto"),
        ])
        .unwrap(),
    )
    .await;
    let key = InstallationKey::generate().unwrap();
    // Behind a proxy that overwrites the scheme and passes the client's X-Forwarded-Host on
    // (AWS ALB): the app called https://api.example.com, the proxy speaks http to us.
    let headers = [
        ("Host", "api.example.com"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "evil.example"),
    ];
    signed(
        addr,
        &key,
        "GET /v1 HTTP/1.1",
        &headers,
        "https://api.example.com/v1",
    )
    .await
    .assert_ok("");
    signed(
        addr,
        &key,
        "GET /v1 HTTP/1.1",
        &headers,
        "https://evil.example/v1",
    )
    .await
    .assert_rejected(Kind::MessageSignatureInvalid);
    // The scheme does come from the proxy: a request it says was http was signed as http.
    let http = [("Host", "api.example.com"), ("X-Forwarded-Proto", "http")];
    signed(
        addr,
        &key,
        "GET /v1 HTTP/1.1",
        &http,
        "http://api.example.com/v1",
    )
    .await
    .assert_ok("");
    signed(
        addr,
        &key,
        "GET /v1 HTTP/1.1",
        &http,
        "https://api.example.com/v1",
    )
    .await
    .assert_rejected(Kind::MessageSignatureInvalid);
}
