//! Accept-or-reject decisions that the mutation run (`cargo mutants`, see TESTING.md) found
//! untested. Each test goes through the public API only (a real axum `Router`, the service's
//! `poll_ready`), so that it holds across rewrites of the code behind it.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use crate::common::{SECRET, now};
use crate::sdk_support;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::routing::post;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;
use tower::{Layer as _, Service, ServiceExt as _};
use tower_approov::test_util::{InstallationKey, RequestSigner};
use tower_approov::{
    ApproovBody, ApproovConfig, ApproovConfigBuilder, ApproovError, ApproovErrorKind, ApproovLayer,
    MessageSigning, Mode, SigningConfig,
};

const URL: &str = "https://api.example.com/v1/orders";

fn builder() -> ApproovConfigBuilder {
    ApproovConfig::builder().with_secret(SECRET, None).unwrap()
}

/// An Approov-shaped token whose `ipk` is `key`'s, minted by `jsonwebtoken`.
fn token(key: &InstallationKey) -> String {
    // Building a configuration installs the crypto provider that `encode` needs.
    builder().build().unwrap();
    let exp = now() + 600.5;
    jsonwebtoken::encode(
        &Header::default(),
        &json!({ "exp": exp, "did": "device-1", "ipk": key.ipk().unwrap() }),
        &EncodingKey::from_secret(SECRET).unwrap(),
    )
    .unwrap()
}

/// `POST /v1/orders` answers with the body it received and counts its calls.
fn app(config: ApproovConfig, calls: Arc<AtomicUsize>) -> Router {
    Router::new()
        .route(
            "/v1/orders",
            post(move |body: Bytes| async move {
                calls.fetch_add(1, Ordering::SeqCst);
                body
            }),
        )
        .layer(ApproovLayer::new(config))
}

fn kind(response: &Response<Body>) -> Option<ApproovErrorKind> {
    response
        .extensions()
        .get::<ApproovError>()
        .map(ApproovError::kind)
}

async fn assert_rejected(response: Response<Body>, expected: ApproovErrorKind) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(kind(&response), Some(expected));
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"{}");
}

/// A body of `left` copies of `chunk`, of unknown length (no `Content-Length`), so that the
/// layer has to read it to check its digest.
struct Chunks {
    chunk: Bytes,
    left: usize,
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        Poll::Ready(Some(Ok(http_body::Frame::data(self.chunk.clone()))))
    }
}

#[tokio::test]
async fn in_monitor_mode_a_streamed_signed_body_over_the_limit_is_still_rejected() {
    // Monitor mode lets failed requests through, but only whole ones: a body over the limit
    // was only partly read, so the handler would get a body that is not the client's.
    let key = InstallationKey::generate().unwrap();
    let chunk = "y".repeat(32);
    let mut request = Request::post(URL)
        .header("approov-token", token(&key))
        .header("content-type", "text/plain")
        .body(chunk.repeat(8))
        .unwrap();
    RequestSigner::new(&key).sign(&mut request).unwrap();
    let config = builder()
        .with_mode(Mode::Monitor)
        .with_signing_config(SigningConfig::new(MessageSigning::Verify).with_max_body_bytes(64))
        .build()
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let (parts, _) = request.into_parts();
    let body = Body::new(Chunks {
        chunk: Bytes::from(chunk),
        left: 8,
    });
    let response = app(config, calls.clone())
        .oneshot(Request::from_parts(parts, body))
        .await
        .unwrap();
    assert_rejected(response, ApproovErrorKind::BodyTooLarge).await;
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the handler never ran");
}

#[tokio::test]
async fn in_verify_mode_a_signature_input_without_a_signature_is_rejected_not_taken_as_unsigned() {
    // Verify mode lets unsigned requests through; one that carries half a signature is not
    // unsigned, and is checked (and refused) as a signature.
    let key = InstallationKey::generate().unwrap();
    let mut request = Request::post(URL)
        .header("approov-token", token(&key))
        .header("content-type", "application/json")
        .body(r#"{"order":1}"#.to_owned())
        .unwrap();
    RequestSigner::new(&key).sign(&mut request).unwrap();
    let mut only_input = request.clone();
    only_input.headers_mut().remove("signature");
    let mut only_signature = request;
    only_signature.headers_mut().remove("signature-input");
    let config = builder()
        .with_message_signing(MessageSigning::Verify)
        .build()
        .unwrap();
    for half in [only_input, only_signature] {
        let calls = Arc::new(AtomicUsize::new(0));
        let response = app(config.clone(), calls.clone())
            .oneshot(half.map(Body::from))
            .await
            .unwrap();
        assert_rejected(response, ApproovErrorKind::SignatureLabelMissing).await;
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
}

#[tokio::test]
async fn by_default_a_signed_body_of_two_mib_is_read_and_checked_and_one_byte_more_is_refused() {
    // The default limit is axum's own default body limit (2 MiB), so that the digest check
    // refuses nothing axum would take; `body_too_large` past it (before any byte is read, from
    // `Content-Length`: `signing::a_request_refused_on_its_headers_is_answered_without_its_body_being_polled`
    // shows that part).
    let key = InstallationKey::generate().unwrap();
    let config = builder()
        .with_message_signing(MessageSigning::Require)
        .build()
        .unwrap();
    for (len, accepted) in [(2 * 1024 * 1024, true), (2 * 1024 * 1024 + 1, false)] {
        let mut request = Request::post(URL)
            .header("approov-token", token(&key))
            .header("content-type", "application/octet-stream")
            // As hyper hands it on from the wire: the limit is checked on it before any read.
            .header("content-length", len.to_string())
            .body("z".repeat(len))
            .unwrap();
        RequestSigner::new(&key).sign(&mut request).unwrap();
        assert!(request.headers().contains_key("content-digest"));
        let calls = Arc::new(AtomicUsize::new(0));
        let response = app(config.clone(), calls.clone())
            .oneshot(request.map(Body::from))
            .await
            .unwrap();
        if accepted {
            assert_eq!(response.status(), StatusCode::OK, "{len}");
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body.len(), len, "the handler got the whole body");
        } else {
            assert_rejected(response, ApproovErrorKind::BodyTooLarge).await;
            assert_eq!(calls.load(Ordering::SeqCst), 0, "the handler never ran");
        }
    }
}

/// An inner service that is not ready: `poll_ready` fails.
#[derive(Clone)]
struct NotReady;

impl Service<Request<ApproovBody<Body>>> for NotReady {
    type Response = Response<Body>;
    type Error = &'static str;
    type Future = std::future::Ready<Result<Response<Body>, &'static str>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Err("inner service unavailable"))
    }

    fn call(&mut self, _: Request<ApproovBody<Body>>) -> Self::Future {
        std::future::ready(Ok(Response::new(Body::empty())))
    }
}

#[tokio::test]
async fn the_service_is_ready_only_when_its_inner_service_is() {
    // Tower's back-pressure: a layer that claimed readiness for an inner service that is not
    // ready would let requests through to a service that must not be called.
    let mut service = ApproovLayer::new(builder().build().unwrap()).layer(NotReady);
    let ready =
        std::future::poll_fn(|cx| <_ as Service<Request<Body>>>::poll_ready(&mut service, cx))
            .await;
    assert_eq!(ready, Err("inner service unavailable"));
}

// ---- component names the RFC forbids, even under a signature that verifies -------------------

/// A GET to `/v1/orders` signed over `base`, whose covered components are `components`, with
/// `Content-Type` sent: the answer from a server that requires signatures.
async fn signed_get_with_components(components: &str, base_line: &str) -> sdk_support::Answer {
    use sdk_support::{config, raw, sdk_params, serve, signature_headers};
    let addr = serve(config(&[("APPROOV_MESSAGE_SIGNING", "require")]).unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let token = sdk_support::token(&key);
    let params = sdk_params(components);
    let base = format!(
        "\"@method\": GET\n\
         \"@target-uri\": https://api.example.com/v1/orders\n\
         \"approov-token\": {token}\n\
         {base_line}\n\
         \"@signature-params\": {params}"
    );
    let (input, signature) = signature_headers(&key, &params, &base, false);
    let headers = [
        ("Host", "api.example.com"),
        ("Approov-Token", token.as_str()),
        ("Content-Type", "application/json"),
        ("Signature-Input", input.as_str()),
        ("Signature", signature.as_str()),
    ];
    raw(addr, "GET /v1/orders HTTP/1.1", &headers, b"").await
}

#[tokio::test]
async fn a_covered_component_named_in_upper_case_is_malformed_even_when_its_signature_verifies() {
    // RFC 9421 section 2.1: component names are lower case. The signer signed exactly the line
    // it listed, so only the name check stands between this and a pass.
    signed_get_with_components(
        r#""@method" "@target-uri" "approov-token" "Content-Type""#,
        "\"Content-Type\": application/json",
    )
    .await
    .assert_rejected(ApproovErrorKind::SignatureMalformed);
    // The same request named in lower case passes: the refusal above is the name's.
    signed_get_with_components(
        r#""@method" "@target-uri" "approov-token" "content-type""#,
        "\"content-type\": application/json",
    )
    .await
    .assert_ok("");
}

#[tokio::test]
async fn a_covered_component_with_a_parameter_is_malformed_whatever_base_was_signed() {
    // Component parameters (`;sf`, `;bs`, `;req`, `;key`) are not what the SDKs send and are
    // not implemented: refused before any base is built, whether the signer wrote the line
    // with its parameter or without it.
    for line in [
        "\"content-type\";sf: application/json",
        "\"content-type\": application/json",
    ] {
        signed_get_with_components(
            r#""@method" "@target-uri" "approov-token" "content-type";sf"#,
            line,
        )
        .await
        .assert_rejected(ApproovErrorKind::SignatureMalformed);
    }
}

#[tokio::test]
async fn a_signature_covering_the_request_target_verifies_over_the_path_and_query_sent() {
    // `@request-target` (RFC 9421 section 2.2.5) is the origin-form target as sent.
    let components = r#""@method" "@target-uri" "approov-token" "@request-target""#;
    signed_get_with_components(components, "\"@request-target\": /v1/orders")
        .await
        .assert_ok("");
    // Signed for another target: the base the server builds differs.
    signed_get_with_components(components, "\"@request-target\": /v1/orders?all=1")
        .await
        .assert_rejected(ApproovErrorKind::MessageSignatureInvalid);
}

// ---- the builder's signing settings take effect ---------------------------------------------

/// A request signed over a hand-written base without `expires`, to a server built with
/// `signing`: a GET, or a POST of `body` whose signature does not cover `content-digest`.
async fn signed_without_expires_or_digest(
    signing: SigningConfig,
    body: &'static [u8],
) -> sdk_support::Answer {
    use sdk_support::{raw, serve, signature_headers};
    let config = ApproovConfig::builder()
        .with_secret(SECRET, None)
        .unwrap()
        .with_signing_config(signing)
        .build()
        .unwrap();
    let addr = serve(config).await;
    let key = InstallationKey::generate().unwrap();
    let token = sdk_support::token(&key);
    let method = if body.is_empty() { "GET" } else { "POST" };
    let params = format!(
        r#"("@method" "@target-uri" "approov-token");alg="ecdsa-p256-sha256";created={}"#,
        now() as i64
    );
    let base = format!(
        "\"@method\": {method}\n\
         \"@target-uri\": https://api.example.com/v1/orders\n\
         \"approov-token\": {token}\n\
         \"@signature-params\": {params}"
    );
    let (input, signature) = signature_headers(&key, &params, &base, false);
    let length = body.len().to_string();
    let headers = [
        ("Host", "api.example.com"),
        ("Approov-Token", token.as_str()),
        ("Content-Length", length.as_str()),
        ("Signature-Input", input.as_str()),
        ("Signature", signature.as_str()),
    ];
    raw(
        addr,
        &format!("{method} /v1/orders HTTP/1.1"),
        &headers,
        body,
    )
    .await
}

#[tokio::test]
async fn with_mode_sets_the_mode_the_check_enforces() {
    let signing = SigningConfig::new(MessageSigning::Off).with_mode(MessageSigning::Require);
    assert_eq!(signing.mode(), MessageSigning::Require);
    // Enforced: `require_expires` below refuses what `off` would have let through.
    signed_without_expires_or_digest(signing.with_require_expires(true), b"")
        .await
        .assert_rejected(ApproovErrorKind::SignatureExpired);
}

#[tokio::test]
async fn with_require_expires_refuses_a_signature_without_expires_and_keeps_the_other_settings() {
    let signing = SigningConfig::new(MessageSigning::Require);
    signed_without_expires_or_digest(signing.clone(), b"")
        .await
        .assert_ok("");
    let strict = signing.with_require_expires(true);
    assert_eq!(strict.mode(), MessageSigning::Require);
    signed_without_expires_or_digest(strict, b"")
        .await
        .assert_rejected(ApproovErrorKind::SignatureExpired);
}

#[tokio::test]
async fn with_require_digest_refuses_a_signed_body_the_signature_does_not_cover() {
    let signing = SigningConfig::new(MessageSigning::Require);
    signed_without_expires_or_digest(signing.clone(), b"{\"order\":1}")
        .await
        .assert_ok("{\"order\":1}");
    let strict = signing.with_require_digest(true);
    assert_eq!(strict.mode(), MessageSigning::Require);
    signed_without_expires_or_digest(strict, b"{\"order\":1}")
        .await
        .assert_rejected(ApproovErrorKind::ContentDigestMismatch);
}

/// A body that says it is empty (`content-length: 0`) before its stream has ended, as an
/// HTTP/2 request whose `END_STREAM` comes in a later, empty DATA frame.
struct DeclaredEmpty {
    ended: bool,
}

impl http_body::Body for DeclaredEmpty {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        self.ended = true;
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(0)
    }
}

#[tokio::test]
async fn a_request_declared_empty_needs_no_digest_even_before_its_stream_has_ended() {
    // `require_digest` is about bodies: a request with `content-length: 0` has none, whether
    // or not its stream has been seen to end yet.
    let key = InstallationKey::generate().unwrap();
    let mut request = Request::post(URL)
        .header("approov-token", token(&key))
        .body(String::new())
        .unwrap();
    RequestSigner::new(&key).sign(&mut request).unwrap();
    assert!(!request.headers().contains_key("content-digest"));
    let config = builder()
        .with_signing_config(SigningConfig::new(MessageSigning::Require).with_require_digest(true))
        .build()
        .unwrap();
    let (parts, _) = request.into_parts();
    let calls = Arc::new(AtomicUsize::new(0));
    let response = app(config, calls.clone())
        .oneshot(Request::from_parts(
            parts,
            Body::new(DeclaredEmpty { ended: false }),
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
