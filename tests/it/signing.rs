//! Approov installation message signatures (RFC 9421), through a real axum `Router` and over
//! real HTTP on loopback.

use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256, Sha512};
use tower::ServiceExt as _;
use tower_approov::test_util::{AccountKey, InstallationKey, RequestSigner, TokenBuilder};
use tower_approov::{
    ApproovConfig, ApproovConfigBuilder, ApproovError, ApproovErrorKind, ApproovLayer, ConfigError,
    ForwardedHeaders, MessageSigning, SigningConfig,
};

use crate::common::{SECRET, now};

const URL: &str = "https://api.example.com/v1/orders?page=2";

/// An Approov-shaped token: float `exp`, `did`, and `ipk` when given.
fn token_with(ipk: Option<&str>, did: &str) -> String {
    // Building a configuration installs `jsonwebtoken`'s crypto provider (with both backend
    // features on, `jsonwebtoken` picks none by itself), which `encode` needs.
    builder(MessageSigning::Off).build().unwrap();
    let mut claims = json!({
        "exp": now() + 600.5,
        "did": did,
        "ip": "127.0.0.1",
    });
    if let Some(ipk) = ipk {
        claims["ipk"] = Value::String(ipk.to_owned());
    }
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET).unwrap(),
    )
    .unwrap()
}

fn token(key: &InstallationKey) -> String {
    token_with(Some(&key.ipk().unwrap()), "device-1")
}

fn builder(mode: MessageSigning) -> ApproovConfigBuilder {
    ApproovConfig::builder()
        .with_secret(SECRET, None)
        .unwrap()
        .with_message_signing(mode)
}

/// GET and POST `/v1/orders` both answer with the body they received. A rejection carries its
/// reason code in `x-test-reason`, so that tests over real HTTP can assert it too.
fn app(config: ApproovConfig) -> Router {
    async fn echo(body: Bytes) -> Bytes {
        body
    }
    Router::new()
        .route("/v1/orders", get(echo).post(echo).put(echo))
        .layer(ApproovLayer::new(config))
        .layer(axum::middleware::map_response(
            |mut response: Response<Body>| async move {
                if let Some(reason) = kind(&response) {
                    response.headers_mut().insert(
                        "x-test-reason",
                        http::HeaderValue::from_static(reason.reason_code()),
                    );
                }
                response
            },
        ))
}

fn post(token: &str, body: &str) -> Request<String> {
    Request::post(URL)
        .header("approov-token", token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .unwrap()
}

fn get_request(token: &str) -> Request<String> {
    Request::get(URL)
        .header("approov-token", token)
        .body(String::new())
        .unwrap()
}

async fn send(config: ApproovConfig, request: Request<String>) -> Response<Body> {
    app(config).oneshot(request.map(Body::from)).await.unwrap()
}

fn kind(response: &Response<Body>) -> Option<ApproovErrorKind> {
    response
        .extensions()
        .get::<ApproovError>()
        .map(ApproovError::kind)
}

async fn body_text(response: Response<Body>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn assert_rejected(response: Response<Body>, expected: ApproovErrorKind) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(kind(&response), Some(expected));
    assert_eq!(body_text(response).await, "{}");
}

// ---- accepted ------------------------------------------------------------------------------
//
// These sign with the crate's `RequestSigner`, which writes the RFC 9421 form of every URL:
// `.ios()` and `.android()` choose only how the signature value is encoded. The shapes each SDK
// really sends (its URL forms, its component order) are in `sdk_signing.rs`, with bases written
// out by hand; the signer's own bases are compared with hand-written ones at the end of this file.

#[tokio::test]
async fn a_get_signed_by_the_request_signer_with_a_byte_sequence_value_passes_in_require_mode() {
    let key = InstallationKey::generate().unwrap();
    let mut request = get_request(&token(&key));
    RequestSigner::new(&key).ios().sign(&mut request).unwrap();
    assert!(
        request.headers()["signature"]
            .to_str()
            .unwrap()
            .starts_with("install=:")
    );

    let response = send(builder(MessageSigning::Require).build().unwrap(), request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(kind(&response), None);
}

#[tokio::test]
async fn a_post_signed_by_the_request_signer_with_a_string_value_passes_and_the_handler_gets_the_same_body()
 {
    let key = InstallationKey::generate().unwrap();
    let body = r#"{"item":42,"note":"unchanged"}"#;
    let mut request = post(&token(&key), body);
    RequestSigner::new(&key)
        .android()
        .sign(&mut request)
        .unwrap();
    assert!(
        request.headers()["signature"]
            .to_str()
            .unwrap()
            .starts_with("install=\"")
    );
    // A byte sequence on every platform, Android included.
    assert!(
        request.headers()["content-digest"]
            .to_str()
            .unwrap()
            .starts_with("sha-256=:")
    );

    let response = send(builder(MessageSigning::Require).build().unwrap(), request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response).await, body);
}

#[tokio::test]
async fn a_post_signed_by_the_request_signer_passes_with_a_byte_sequence_digest() {
    let key = InstallationKey::generate().unwrap();
    let mut request = post(&token(&key), "[1,2,3]");
    RequestSigner::new(&key).ios().sign(&mut request).unwrap();
    assert!(
        request.headers()["content-digest"]
            .to_str()
            .unwrap()
            .starts_with("sha-256=:")
    );

    let response = send(builder(MessageSigning::Require).build().unwrap(), request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response).await, "[1,2,3]");
}

#[tokio::test]
async fn a_sha512_content_digest_is_checked_and_accepted() {
    let key = InstallationKey::generate().unwrap();
    let body = "sha-512 body";
    let mut request = post(&token(&key), body);
    let digest = STANDARD.encode(Sha512::digest(body));
    request.headers_mut().insert(
        "content-digest",
        format!("sha-512=:{digest}:").parse().unwrap(),
    );
    // The signer writes sha-256: this one is signed by hand.
    let created = now() as i64;
    let params = format!(
        r#"("@method" "@target-uri" "approov-token" "content-digest");created={created};alg="ecdsa-p256-sha256""#
    );
    let base = format!(
        "\"@method\": POST\n\"@target-uri\": {URL}\n\"approov-token\": {}\n\"content-digest\": sha-512=:{digest}:\n\"@signature-params\": {params}",
        request.headers()["approov-token"].to_str().unwrap()
    );
    attach(&mut request, &key, &params, base.as_bytes());

    let response = send(builder(MessageSigning::Require).build().unwrap(), request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response).await, body);
}

#[tokio::test]
async fn a_content_digest_sent_as_a_string_is_accepted_too() {
    let key = InstallationKey::generate().unwrap();
    let body = "string digest body";
    let mut request = post(&token(&key), body);
    let digest = STANDARD.encode(Sha256::digest(body));
    request.headers_mut().insert(
        "content-digest",
        format!("sha-256=\"{digest}\"").parse().unwrap(),
    );
    let created = now() as i64;
    let params = format!(
        r#"("@method" "@target-uri" "approov-token" "content-digest");alg="ecdsa-p256-sha256";created={created}"#
    );
    let base = format!(
        "\"@method\": POST\n\"@target-uri\": {URL}\n\"approov-token\": {}\n\"content-digest\": sha-256=\"{digest}\"\n\"@signature-params\": {params}",
        request.headers()["approov-token"].to_str().unwrap()
    );
    attach(&mut request, &key, &params, base.as_bytes());
    let response = send(builder(MessageSigning::Require).build().unwrap(), request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response).await, body);
}

#[tokio::test]
async fn the_signer_lists_authorization_twice_when_it_carries_the_token_and_the_layer_accepts_it() {
    let key = InstallationKey::generate().unwrap();
    let mut request = Request::get(URL)
        .header("authorization", format!("Bearer {}", token(&key)))
        .header("approov-traceid", "abc")
        .body(String::new())
        .unwrap();
    RequestSigner::new(&key)
        .with_token_header(http::header::AUTHORIZATION)
        .android()
        .sign(&mut request)
        .unwrap();
    let input = request.headers()["signature-input"].to_str().unwrap();
    assert!(
        input.starts_with(
            r#"install=("@method" "@target-uri" "authorization" "approov-traceid" "authorization");alg="#
        ),
        "{input}"
    );
    let config = builder(MessageSigning::Require)
        .with_token_header("Authorization")
        .unwrap()
        .with_token_prefix("Bearer")
        .build()
        .unwrap();
    let response = send(config, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(kind(&response), None);
}

#[tokio::test]
async fn an_unsigned_request_passes_in_verify_mode() {
    let key = InstallationKey::generate().unwrap();
    let response = send(
        builder(MessageSigning::Verify).build().unwrap(),
        get_request(&token(&key)),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(kind(&response), None);
}

#[tokio::test]
async fn signature_headers_are_ignored_when_signing_is_off() {
    let key = InstallationKey::generate().unwrap();
    let mut request = get_request(&token(&key));
    request
        .headers_mut()
        .insert("signature", "not a signature".parse().unwrap());
    let response = send(builder(MessageSigning::Off).build().unwrap(), request).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_signed_request_with_a_failover_token_without_ipk_passes_in_verify_mode() {
    let key = InstallationKey::generate().unwrap();
    let mut request = get_request(&token_with(None, "failover"));
    RequestSigner::new(&key).sign(&mut request).unwrap();
    let response = send(builder(MessageSigning::Verify).build().unwrap(), request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(kind(&response), None);
}

// ---- reasons -------------------------------------------------------------------------------

#[tokio::test]
async fn an_unsigned_request_is_rejected_in_require_mode() {
    let key = InstallationKey::generate().unwrap();
    let response = send(
        builder(MessageSigning::Require).build().unwrap(),
        get_request(&token(&key)),
    )
    .await;
    assert_rejected(response, ApproovErrorKind::SignatureMissing).await;
}

#[tokio::test]
async fn a_failover_token_without_ipk_passes_in_require_mode_as_in_the_reference() {
    let key = InstallationKey::generate().unwrap();
    let mut signed = get_request(&token_with(None, "failover"));
    RequestSigner::new(&key).sign(&mut signed).unwrap();
    let unsigned = get_request(&token_with(None, "failover"));
    for request in [signed, unsigned] {
        let response = send(builder(MessageSigning::Require).build().unwrap(), request).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(kind(&response), None);
    }
}

#[tokio::test]
async fn a_failover_token_without_ipk_is_rejected_in_require_mode_when_missing_ipks_are_refused() {
    let key = InstallationKey::generate().unwrap();
    let mut signed = get_request(&token_with(None, "failover"));
    RequestSigner::new(&key).sign(&mut signed).unwrap();
    let unsigned = get_request(&token_with(None, "failover"));
    let config = builder(MessageSigning::Off)
        .with_signing_config(
            SigningConfig::new(MessageSigning::Require).with_allow_missing_ipk(false),
        )
        .build()
        .unwrap();
    for request in [signed, unsigned] {
        let response = send(config.clone(), request).await;
        assert_rejected(response, ApproovErrorKind::InstallationKeyMissing).await;
    }
}

#[tokio::test]
async fn an_ipk_that_is_not_a_p256_public_key_is_rejected() {
    let key = InstallationKey::generate().unwrap();
    for ipk in ["not base64 !", "AAAA", &STANDARD.encode([0x30u8; 91])] {
        let mut request = get_request(&token_with(Some(ipk), "device-1"));
        RequestSigner::new(&key).sign(&mut request).unwrap();
        let response = send(builder(MessageSigning::Verify).build().unwrap(), request).await;
        assert_rejected(response, ApproovErrorKind::InstallationKeyMalformed).await;
    }
}

#[tokio::test]
async fn a_signature_without_the_install_label_is_rejected() {
    let key = InstallationKey::generate().unwrap();
    let mut request = get_request(&token(&key));
    RequestSigner::new(&key).sign(&mut request).unwrap();
    let signature = request.headers()["signature"].to_str().unwrap().to_owned();
    request.headers_mut().insert(
        "signature",
        signature
            .replacen("install=", "account=", 1)
            .parse()
            .unwrap(),
    );
    let response = send(builder(MessageSigning::Verify).build().unwrap(), request).await;
    assert_rejected(response, ApproovErrorKind::SignatureLabelMissing).await;
}

#[tokio::test]
async fn a_signature_input_that_is_not_a_structured_field_is_rejected() {
    let key = InstallationKey::generate().unwrap();
    let mut request = get_request(&token(&key));
    RequestSigner::new(&key).sign(&mut request).unwrap();
    request.headers_mut().insert(
        "signature-input",
        "install=(\"@method\";created=1".parse().unwrap(),
    );
    let response = send(builder(MessageSigning::Verify).build().unwrap(), request).await;
    assert_rejected(response, ApproovErrorKind::SignatureMalformed).await;
}

#[tokio::test]
async fn a_signature_with_another_or_no_algorithm_is_rejected() {
    let key = InstallationKey::generate().unwrap();
    let created = now() as i64;
    for alg in [r#";alg="hmac-sha256""#, ""] {
        let params = format!(r#"("@method" "@target-uri" "approov-token");created={created}{alg}"#);
        let response = send_signed_by_hand(&key, &params).await;
        assert_rejected(response, ApproovErrorKind::SignatureAlgorithmUnsupported).await;
    }
}

#[tokio::test]
async fn a_signature_parameter_outside_the_allowed_six_is_rejected() {
    let key = InstallationKey::generate().unwrap();
    let params = format!(
        r#"("@method" "@target-uri" "approov-token");created={};alg="ecdsa-p256-sha256";context="x""#,
        now() as i64
    );
    let response = send_signed_by_hand(&key, &params).await;
    assert_rejected(response, ApproovErrorKind::SignatureParameterNotAllowed).await;
}

#[tokio::test]
async fn keyid_nonce_and_tag_parameters_are_allowed() {
    let key = InstallationKey::generate().unwrap();
    let params = format!(
        r#"("@method" "@target-uri" "approov-token");created={};keyid="k";nonce="n";tag="t";alg="ecdsa-p256-sha256""#,
        now() as i64
    );
    let response = send_signed_by_hand(&key, &params).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_expired_signature_is_rejected() {
    let key = InstallationKey::generate().unwrap();
    let mut request = get_request(&token(&key));
    RequestSigner::new(&key)
        .with_created(now() as i64 - 120)
        .sign(&mut request)
        .unwrap();
    let response = send(builder(MessageSigning::Verify).build().unwrap(), request).await;
    assert_rejected(response, ApproovErrorKind::SignatureExpired).await;
}

#[tokio::test]
async fn a_signature_created_in_the_future_beyond_the_skew_is_rejected() {
    let key = InstallationKey::generate().unwrap();
    let mut request = get_request(&token(&key));
    RequestSigner::new(&key)
        .with_created(now() as i64 + 120)
        .sign(&mut request)
        .unwrap();
    let response = send(builder(MessageSigning::Verify).build().unwrap(), request).await;
    assert_rejected(response, ApproovErrorKind::SignatureExpired).await;
}

#[tokio::test]
async fn a_signature_without_created_is_rejected() {
    let key = InstallationKey::generate().unwrap();
    let params = r#"("@method" "@target-uri" "approov-token");alg="ecdsa-p256-sha256""#;
    let response = send_signed_by_hand(&key, params).await;
    assert_rejected(response, ApproovErrorKind::SignatureExpired).await;
}

#[tokio::test]
async fn a_signature_older_than_the_maximum_age_is_rejected_even_without_expires() {
    let key = InstallationKey::generate().unwrap();
    let mut request = get_request(&token(&key));
    RequestSigner::new(&key)
        .with_created(now() as i64 - 100)
        .with_expires_in(None)
        .sign(&mut request)
        .unwrap();
    let signing = SigningConfig::new(MessageSigning::Verify)
        .with_max_age(Some(Duration::from_secs(60)))
        .with_clock_skew(Duration::ZERO);
    let config = builder(MessageSigning::Off)
        .with_signing_config(signing)
        .build()
        .unwrap();
    let response = send(config, request).await;
    assert_rejected(response, ApproovErrorKind::SignatureExpired).await;
}

#[tokio::test]
async fn a_signature_by_another_installation_key_is_rejected() {
    let key = InstallationKey::generate().unwrap();
    let other = InstallationKey::generate().unwrap();
    let mut request = get_request(&token(&key));
    RequestSigner::new(&other).sign(&mut request).unwrap();
    let response = send(builder(MessageSigning::Verify).build().unwrap(), request).await;
    assert_rejected(response, ApproovErrorKind::MessageSignatureInvalid).await;
}

#[tokio::test]
async fn a_signature_that_does_not_cover_the_token_is_rejected() {
    let key = InstallationKey::generate().unwrap();
    let mut request = get_request(&token(&key));
    RequestSigner::new(&key)
        .with_components(["@method", "@target-uri"])
        .sign(&mut request)
        .unwrap();
    let response = send(builder(MessageSigning::Verify).build().unwrap(), request).await;
    assert_rejected(response, ApproovErrorKind::MessageSignatureInvalid).await;
}

#[tokio::test]
async fn a_der_encoded_signature_is_rejected() {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    // The same private key, once signing raw `r||s` (as the SDKs send) and once ASN.1 DER.
    let key = InstallationKey::from_pkcs8(pkcs8.as_ref()).unwrap();
    let asn1 = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
    let token = token(&key);
    let params = format!(
        r#"("@method" "@target-uri" "approov-token");created={};alg="ecdsa-p256-sha256""#,
        now() as i64
    );
    let base = format!(
        "\"@method\": GET\n\"@target-uri\": {URL}\n\"approov-token\": {token}\n\"@signature-params\": {params}"
    );

    // The raw signature over this base passes: the base is right.
    let mut raw = get_request(&token);
    attach(&mut raw, &key, &params, base.as_bytes());
    let response = send(builder(MessageSigning::Verify).build().unwrap(), raw).await;
    assert_eq!(response.status(), StatusCode::OK);

    let der = asn1.sign(&rng, base.as_bytes()).unwrap();
    assert_eq!(der.as_ref()[0], 0x30, "an ASN.1 SEQUENCE");
    let mut request = get_request(&token);
    attach(&mut request, &key, &params, base.as_bytes());
    let der = STANDARD.encode(der.as_ref());
    request
        .headers_mut()
        .insert("signature", format!("install=:{der}:").parse().unwrap());
    let response = send(builder(MessageSigning::Verify).build().unwrap(), request).await;
    assert_rejected(response, ApproovErrorKind::MessageSignatureInvalid).await;
}

// ---- tampering -----------------------------------------------------------------------------

#[tokio::test]
async fn a_changed_method_is_caught() {
    let key = InstallationKey::generate().unwrap();
    let mut request = post(&token(&key), "{}");
    RequestSigner::new(&key).sign(&mut request).unwrap();
    *request.method_mut() = http::Method::PUT;
    let response = send(builder(MessageSigning::Verify).build().unwrap(), request).await;
    assert_rejected(response, ApproovErrorKind::MessageSignatureInvalid).await;
}

#[tokio::test]
async fn a_changed_path_is_caught() {
    let key = InstallationKey::generate().unwrap();
    let mut request = get_request(&token(&key));
    RequestSigner::new(&key).sign(&mut request).unwrap();
    let signed = request;
    let (mut parts, body) = signed.into_parts();
    parts.uri = "https://api.example.com/v1/orders/?page=2".parse().unwrap();
    let config = builder(MessageSigning::Verify).build().unwrap();
    let app = Router::new()
        .route("/v1/orders/", get(|| async { "other" }))
        .layer(ApproovLayer::new(config));
    let response = app
        .oneshot(Request::from_parts(parts, Body::from(body)))
        .await
        .unwrap();
    assert_rejected(response, ApproovErrorKind::MessageSignatureInvalid).await;
}

#[tokio::test]
async fn a_changed_query_is_caught() {
    let key = InstallationKey::generate().unwrap();
    let mut request = get_request(&token(&key));
    RequestSigner::new(&key).sign(&mut request).unwrap();
    *request.uri_mut() = "https://api.example.com/v1/orders?page=3".parse().unwrap();
    let response = send(builder(MessageSigning::Verify).build().unwrap(), request).await;
    assert_rejected(response, ApproovErrorKind::MessageSignatureInvalid).await;
}

#[tokio::test]
async fn a_changed_covered_header_is_caught() {
    let key = InstallationKey::generate().unwrap();
    let mut request = post(&token(&key), "{}");
    request
        .headers_mut()
        .insert("authorization", "Bearer user-1".parse().unwrap());
    RequestSigner::new(&key).sign(&mut request).unwrap();
    request
        .headers_mut()
        .insert("authorization", "Bearer user-2".parse().unwrap());
    let response = send(builder(MessageSigning::Verify).build().unwrap(), request).await;
    assert_rejected(response, ApproovErrorKind::MessageSignatureInvalid).await;
}

#[tokio::test]
async fn a_removed_covered_header_is_caught() {
    let key = InstallationKey::generate().unwrap();
    let mut request = post(&token(&key), "{}");
    RequestSigner::new(&key).sign(&mut request).unwrap();
    request.headers_mut().remove("content-type");
    let response = send(builder(MessageSigning::Verify).build().unwrap(), request).await;
    assert_rejected(response, ApproovErrorKind::MessageSignatureInvalid).await;
}

#[tokio::test]
async fn a_changed_body_is_caught() {
    let key = InstallationKey::generate().unwrap();
    let mut request = post(&token(&key), r#"{"amount":10}"#);
    RequestSigner::new(&key).sign(&mut request).unwrap();
    *request.body_mut() = r#"{"amount":99}"#.to_owned();
    let response = send(builder(MessageSigning::Verify).build().unwrap(), request).await;
    assert_rejected(response, ApproovErrorKind::ContentDigestMismatch).await;
}

#[tokio::test]
async fn a_changed_content_digest_is_caught_by_the_signature() {
    let key = InstallationKey::generate().unwrap();
    let mut request = post(&token(&key), r#"{"amount":10}"#);
    RequestSigner::new(&key).sign(&mut request).unwrap();
    let body = r#"{"amount":99}"#;
    let digest = STANDARD.encode(Sha256::digest(body));
    request.headers_mut().insert(
        "content-digest",
        format!("sha-256=:{digest}:").parse().unwrap(),
    );
    *request.body_mut() = body.to_owned();
    let response = send(builder(MessageSigning::Verify).build().unwrap(), request).await;
    assert_rejected(response, ApproovErrorKind::MessageSignatureInvalid).await;
}

#[tokio::test]
async fn a_swapped_token_is_caught() {
    let key = InstallationKey::generate().unwrap();
    let mut request = get_request(&token(&key));
    RequestSigner::new(&key).sign(&mut request).unwrap();
    // Another valid token with the same ipk (the same device, a later token).
    let other = token_with(Some(&key.ipk().unwrap()), "device-2");
    request
        .headers_mut()
        .insert("approov-token", other.parse().unwrap());
    let response = send(builder(MessageSigning::Verify).build().unwrap(), request).await;
    assert_rejected(response, ApproovErrorKind::MessageSignatureInvalid).await;
}

// ---- body limit ----------------------------------------------------------------------------

/// Refused, whether from `Content-Length` or from reading: that the header alone refuses it,
/// before any read, is shown by
/// [`a_request_refused_on_its_headers_is_answered_without_its_body_being_polled`].
#[tokio::test]
async fn a_signed_body_over_the_limit_with_its_content_length_is_rejected() {
    let key = InstallationKey::generate().unwrap();
    let body = "x".repeat(100);
    let mut request = post(&token(&key), &body);
    request
        .headers_mut()
        .insert("content-length", "100".parse().unwrap());
    RequestSigner::new(&key).sign(&mut request).unwrap();
    let config = builder(MessageSigning::Off)
        .with_signing_config(SigningConfig::new(MessageSigning::Verify).with_max_body_bytes(64))
        .build()
        .unwrap();
    let response = send(config, request).await;
    assert_rejected(response, ApproovErrorKind::BodyTooLarge).await;
}

#[tokio::test]
async fn a_streamed_signed_body_over_the_limit_is_rejected_without_reading_on() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let key = InstallationKey::generate().unwrap();
    let chunk = "y".repeat(32);
    let body = chunk.repeat(8);
    let mut request = post(&token(&key), &body);
    RequestSigner::new(&key).sign(&mut request).unwrap();
    let config = builder(MessageSigning::Off)
        .with_signing_config(SigningConfig::new(MessageSigning::Verify).with_max_body_bytes(64))
        .build()
        .unwrap();

    // A body of unknown length in 32-byte chunks that counts the chunks it hands out.
    let pulled = Arc::new(AtomicUsize::new(0));
    let stream = Chunks {
        chunk: Bytes::from(chunk),
        left: 8,
        pulled: pulled.clone(),
    };
    let (parts, _) = request.into_parts();
    let response = app(config)
        .oneshot(Request::from_parts(parts, Body::new(stream)))
        .await
        .unwrap();
    assert_rejected(response, ApproovErrorKind::BodyTooLarge).await;
    // 64 bytes fit in two chunks; the third crosses the limit; nothing after it is read.
    assert_eq!(pulled.load(Ordering::SeqCst), 3);
}

/// A body of `left` copies of `chunk`, of unknown length, counting the chunks pulled.
struct Chunks {
    chunk: Bytes,
    left: usize,
    pulled: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        self.left -= 1;
        self.pulled
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(self.chunk.clone()))))
    }
}

/// A request body that counts the calls to its `poll_frame`, wrapped around the body hyper
/// received; its length and end are the inner body's.
struct CountingBody {
    inner: Body,
    polls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl http_body::Body for CountingBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        self.polls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// `POST /v1/orders` with `body` (and its `Content-Length`), `Approov-Token: token` and a
/// signature by `key` covering `content-digest`, as raw HTTP/1.1 bytes.
fn signed_post_bytes(token: &str, key: &InstallationKey, body: &[u8]) -> Vec<u8> {
    let mut request = Request::post("https://api.example.com/v1/orders")
        .header("approov-token", token)
        .header("content-type", "application/octet-stream")
        .header("content-length", body.len())
        .body(body.to_vec())
        .unwrap();
    RequestSigner::new(key).sign(&mut request).unwrap();
    assert!(request.headers().contains_key("content-digest"));
    let mut bytes =
        b"POST /v1/orders HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n".to_vec();
    for (name, value) in request.headers() {
        bytes.extend_from_slice(name.as_str().as_bytes());
        bytes.extend_from_slice(b": ");
        bytes.extend_from_slice(value.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(body);
    bytes
}

#[tokio::test]
async fn a_request_refused_on_its_headers_is_answered_without_its_body_being_polled() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    // Over loopback: the body hyper hands on is wrapped, outside the layer, in one that counts
    // how often anything polls it.
    let polls = Arc::new(AtomicUsize::new(0));
    let counted = polls.clone();
    let config = builder(MessageSigning::Off)
        .with_signing_config(SigningConfig::new(MessageSigning::Require).with_max_body_bytes(64))
        .build()
        .unwrap();
    let router = app(config).layer(axum::middleware::map_request(
        move |request: Request<Body>| {
            let polls = counted.clone();
            async move { request.map(|inner| Body::new(CountingBody { inner, polls })) }
        },
    ));
    let addr = crate::common::serve(router).await;

    let key = InstallationKey::generate().unwrap();
    let other_key = InstallationKey::generate().unwrap();
    let token = token(&key);
    let forged = crate::common::mint_with_secret(
        &json!({ "exp": now() + 600.5, "did": "device-1", "ipk": key.ipk().unwrap() }),
        crate::common::OTHER_SECRET,
    );
    let small = [b'a'; 32];
    let large = [b'b'; 100];

    // The control: a request whose headers pass has its body read (and checked), so the
    // counter does see the layer's polls.
    let answer = crate::common::raw_exchange(addr, &signed_post_bytes(&token, &key, &small)).await;
    assert_eq!(
        (answer.status, answer.body.as_bytes()),
        (200, &small[..]),
        "{answer:?}"
    );
    assert!(polls.swap(0, Ordering::SeqCst) > 0, "the body was read");

    for (request, reason) in [
        // A token that does not verify: refused before the signature is looked at.
        (
            signed_post_bytes(&forged, &key, &small),
            ApproovErrorKind::InvalidSignature,
        ),
        // A signature by another installation key.
        (
            signed_post_bytes(&token, &other_key, &small),
            ApproovErrorKind::MessageSignatureInvalid,
        ),
        // A valid signature covering `content-digest`, and a `Content-Length` over the limit:
        // refused from the header, before a byte of the body is read.
        (
            signed_post_bytes(&token, &key, &large),
            ApproovErrorKind::BodyTooLarge,
        ),
    ] {
        let answer = crate::common::raw_exchange(addr, &request).await;
        assert_eq!(
            (
                answer.status,
                answer.header("x-test-reason"),
                answer.body.as_str()
            ),
            (401, Some(reason.reason_code()), "{}"),
            "{answer:?}"
        );
        assert_eq!(
            polls.swap(0, Ordering::SeqCst),
            0,
            "{reason:?}: the body was polled"
        );
    }
}

// ---- proxies -------------------------------------------------------------------------------

/// The request as a proxy forwards it: origin-form URI, the proxy's own `Host`.
fn as_forwarded(request: Request<String>) -> Request<String> {
    let (mut parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().unwrap().as_str().to_owned();
    parts.uri = path.parse().unwrap();
    parts
        .headers
        .insert("host", "10.0.0.7:8080".parse().unwrap());
    Request::from_parts(parts, body)
}

#[tokio::test]
async fn behind_a_proxy_the_configured_public_origin_rebuilds_the_target_uri() {
    let key = InstallationKey::generate().unwrap();
    let mut request = post(&token(&key), "{}");
    RequestSigner::new(&key).sign(&mut request).unwrap();
    let config = builder(MessageSigning::Require)
        .with_public_origin("https://api.example.com")
        .unwrap()
        .build()
        .unwrap();
    let response = send(config, as_forwarded(request)).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn behind_a_proxy_without_a_public_origin_the_signature_does_not_verify() {
    let key = InstallationKey::generate().unwrap();
    let mut request = post(&token(&key), "{}");
    RequestSigner::new(&key).sign(&mut request).unwrap();
    let config = builder(MessageSigning::Require).build().unwrap();
    let response = send(config, as_forwarded(request)).await;
    assert_rejected(response, ApproovErrorKind::MessageSignatureInvalid).await;
}

#[tokio::test]
async fn forwarded_headers_are_used_only_when_trusted() {
    let key = InstallationKey::generate().unwrap();
    let mut request = get_request(&token(&key));
    RequestSigner::new(&key).sign(&mut request).unwrap();
    let mut request = as_forwarded(request);
    request.headers_mut().insert(
        "forwarded",
        "for=192.0.2.60;proto=https;host=api.example.com"
            .parse()
            .unwrap(),
    );

    let trusting = builder(MessageSigning::Off)
        .with_signing_config(
            SigningConfig::new(MessageSigning::Require)
                .with_trust_forwarded_headers(Some(ForwardedHeaders::Forwarded)),
        )
        .build()
        .unwrap();
    let response = send(trusting, request.clone()).await;
    assert_eq!(response.status(), StatusCode::OK);

    let response = send(builder(MessageSigning::Require).build().unwrap(), request).await;
    assert_rejected(response, ApproovErrorKind::MessageSignatureInvalid).await;
}

#[tokio::test]
async fn trusted_x_forwarded_proto_and_host_rebuild_the_target_uri() {
    let key = InstallationKey::generate().unwrap();
    let mut request = get_request(&token(&key));
    RequestSigner::new(&key).sign(&mut request).unwrap();
    let mut request = as_forwarded(request);
    let headers = request.headers_mut();
    headers.insert("x-forwarded-proto", "https".parse().unwrap());
    headers.insert("x-forwarded-host", "API.example.com:443".parse().unwrap());
    let config = builder(MessageSigning::Off)
        .with_signing_config(
            SigningConfig::new(MessageSigning::Require)
                .with_trust_forwarded_headers(Some(ForwardedHeaders::XForwarded)),
        )
        .build()
        .unwrap();
    let response = send(config, request).await;
    assert_eq!(response.status(), StatusCode::OK);
}

// ---- a signature base written out by hand ---------------------------------------------------

/// Sets `Signature-Input` and `Signature` for a base built by the test itself.
fn attach(request: &mut Request<String>, key: &InstallationKey, params: &str, base: &[u8]) {
    let signature = STANDARD.encode(key.sign(base).unwrap());
    let headers = request.headers_mut();
    headers.insert(
        "signature-input",
        format!("install={params}").parse().unwrap(),
    );
    headers.insert(
        "signature",
        format!("install=:{signature}:").parse().unwrap(),
    );
}

/// A GET of [`URL`] whose base covers method, target URI and token, with these parameters.
async fn send_signed_by_hand(key: &InstallationKey, params: &str) -> Response<Body> {
    let token = token(key);
    let mut request = get_request(&token);
    let base = format!(
        "\"@method\": GET\n\"@target-uri\": {URL}\n\"approov-token\": {token}\n\"@signature-params\": {params}"
    );
    attach(&mut request, key, params, base.as_bytes());
    send(builder(MessageSigning::Verify).build().unwrap(), request).await
}

#[tokio::test]
async fn the_verifier_accepts_a_signature_over_a_base_written_out_by_hand() {
    let key = InstallationKey::generate().unwrap();
    let token = token(&key);
    let body = r#"{"hello":"world"}"#;
    // printf '{"hello":"world"}' | openssl dgst -sha256 -binary | base64
    let digest = "k6I5cakU5erL8KjSUVTNownDwccvu5kU1Hxg88toFYg=";
    assert_eq!(STANDARD.encode(Sha256::digest(body)), digest);
    let created = now() as i64;
    let expires = created + 15;

    let mut request = Request::post(URL)
        .header("approov-token", &token)
        .header("content-type", "application/json")
        .header("content-digest", format!("sha-256=:{digest}:"))
        .header("approov-traceid", "  trace-1  ")
        .body(body.to_owned())
        .unwrap();
    let params = format!(
        r#"("@method" "@target-uri" "@authority" "@scheme" "@path" "@query" "approov-token" "content-type" "approov-traceid" "content-digest");created={created};expires={expires};alg="ecdsa-p256-sha256""#
    );
    // RFC 9421 section 2.5: one line per component, `"name": value`, LF-separated, and the
    // `@signature-params` line last with no trailing newline. Header values are trimmed.
    let base = format!(
        "\"@method\": POST\n\
         \"@target-uri\": https://api.example.com/v1/orders?page=2\n\
         \"@authority\": api.example.com\n\
         \"@scheme\": https\n\
         \"@path\": /v1/orders\n\
         \"@query\": ?page=2\n\
         \"approov-token\": {token}\n\
         \"content-type\": application/json\n\
         \"approov-traceid\": trace-1\n\
         \"content-digest\": sha-256=:{digest}:\n\
         \"@signature-params\": {params}"
    );
    println!("signature base:\n{base}\n--- end (no trailing newline)");
    attach(&mut request, &key, &params, base.as_bytes());

    let response = send(builder(MessageSigning::Require).build().unwrap(), request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response).await, body);
}

#[tokio::test]
async fn a_base_with_one_byte_changed_by_hand_does_not_verify() {
    let key = InstallationKey::generate().unwrap();
    let token = token(&key);
    let params = format!(
        r#"("@method" "@target-uri" "approov-token");created={};alg="ecdsa-p256-sha256""#,
        now() as i64
    );
    // A trailing newline after the last line: not the RFC 9421 base.
    let base = format!(
        "\"@method\": GET\n\"@target-uri\": {URL}\n\"approov-token\": {token}\n\"@signature-params\": {params}\n"
    );
    let mut request = get_request(&token);
    attach(&mut request, &key, &params, base.as_bytes());
    let response = send(builder(MessageSigning::Verify).build().unwrap(), request).await;
    assert_rejected(response, ApproovErrorKind::MessageSignatureInvalid).await;
}

// ---- configuration -------------------------------------------------------------------------

fn env(vars: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<Result<String, ()>> {
    move |name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| Ok(v.clone()))
    }
}

#[tokio::test]
async fn approov_message_signing_require_from_the_environment_rejects_unsigned_requests() {
    let config = ApproovConfigBuilder::from_env_with(env(vec![
        ("APPROOV_BASE64_SECRET", STANDARD.encode(SECRET)),
        ("APPROOV_MESSAGE_SIGNING", "Require".to_owned()),
        (
            "APPROOV_PUBLIC_ORIGIN",
            "https://api.example.com".to_owned(),
        ),
    ]))
    .unwrap()
    .build()
    .unwrap();
    let key = InstallationKey::generate().unwrap();
    let response = send(config, get_request(&token(&key))).await;
    assert_rejected(response, ApproovErrorKind::SignatureMissing).await;
}

#[test]
fn an_unknown_message_signing_mode_is_a_config_error_naming_the_variable() {
    let error = ApproovConfigBuilder::from_env_with(env(vec![(
        "APPROOV_MESSAGE_SIGNING",
        "strict".to_owned(),
    )]))
    .unwrap_err();
    assert!(matches!(
        error,
        ConfigError::Invalid {
            variable: "APPROOV_MESSAGE_SIGNING",
            ..
        }
    ));
}

#[test]
fn a_public_origin_with_a_path_is_a_config_error_naming_the_variable() {
    let error = ApproovConfigBuilder::from_env_with(env(vec![(
        "APPROOV_PUBLIC_ORIGIN",
        "https://api.example.com/v1".to_owned(),
    )]))
    .unwrap_err();
    assert!(matches!(
        error,
        ConfigError::Invalid {
            variable: "APPROOV_PUBLIC_ORIGIN",
            ..
        }
    ));
}

#[test]
fn the_installation_key_debug_output_is_redacted() {
    let key = InstallationKey::generate().unwrap();
    assert_eq!(format!("{key:?}"), "InstallationKey([redacted])");
}

#[test]
fn the_account_key_debug_output_shows_its_mskid_and_not_the_key() {
    let key = AccountKey::from_text(ACCOUNT_KEY_TEXT).unwrap();
    assert_eq!(
        format!("{key:?}"),
        "AccountKey { mskid: \"FTkUk1\", key: \"[redacted]\" }"
    );
}

// ---- the request signer against bases written out by hand ----------------------------------

/// A key shaped as Approov's test SDK key: a 64-character base64url text keying the HMAC.
const ACCOUNT_KEY_TEXT: &str = "FTkUk12gJ-1lo7_VomzwDNr5vzhPVWmQe3Qz_TGl9nh30ob_VW3aVqfkqQMEJVZK";
const CREATED: i64 = 1_790_000_000;

/// The member `label` of a `Signature` field: its bytes.
fn member_bytes(field: &str, label: &str) -> Vec<u8> {
    let value = field
        .split(", ")
        .find_map(|m| m.strip_prefix(&format!("{label}=")))
        .unwrap_or_else(|| panic!("no {label} in {field}"));
    STANDARD.decode(value.trim_matches([':', '"'])).unwrap()
}

/// A GET of `URL` with a token and a trace id, as the signer's tests send it.
fn traced_get() -> Request<String> {
    Request::get(URL)
        .header("approov-token", "a.b.c")
        .header("approov-traceid", " 7f3a ")
        .body(String::new())
        .unwrap()
}

/// The SDK's base for [`traced_get`], with the label's `alg`, written out by hand.
fn traced_get_base(alg: &str) -> String {
    format!(
        "\"@method\": GET\n\
         \"@target-uri\": https://api.example.com/v1/orders?page=2\n\
         \"approov-token\": a.b.c\n\
         \"approov-traceid\": 7f3a\n\
         \"@signature-params\": (\"@method\" \"@target-uri\" \"approov-token\" \"approov-traceid\");alg=\"{alg}\";created=1790000000;expires=1790000015"
    )
}

/// Whether `signature` (raw `r||s`) is `key`'s over `base`, checked with aws-lc-rs alone.
fn ecdsa_verifies(key: &InstallationKey, base: &str, signature: &[u8]) -> bool {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
    let spki = STANDARD.decode(key.ipk().unwrap()).unwrap();
    // The uncompressed point is the SPKI's last 65 bytes.
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &spki[spki.len() - 65..])
        .verify(base.as_bytes(), signature)
        .is_ok()
}

/// HMAC-SHA256 with aws-lc-rs alone.
fn hmac(key: &[u8], base: &str) -> Vec<u8> {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    aws_lc_rs::hmac::sign(&key, base.as_bytes())
        .as_ref()
        .to_vec()
}

#[test]
fn the_request_signers_install_base_is_the_hand_written_sdk_base() {
    let key = InstallationKey::generate().unwrap();
    let mut request = traced_get();
    RequestSigner::new(&key)
        .with_created(CREATED)
        .sign(&mut request)
        .unwrap();
    let headers = request.headers();
    assert_eq!(
        headers["signature-input"],
        r#"install=("@method" "@target-uri" "approov-token" "approov-traceid");alg="ecdsa-p256-sha256";created=1790000000;expires=1790000015"#
    );
    let signature = member_bytes(headers["signature"].to_str().unwrap(), "install");
    let base = traced_get_base("ecdsa-p256-sha256");
    assert!(ecdsa_verifies(&key, &base, &signature));
    assert!(!ecdsa_verifies(&key, &format!("{base}\n"), &signature));
}

#[test]
fn the_request_signers_account_mac_is_the_hmac_of_the_hand_written_sdk_base_under_the_keys_text() {
    let account = AccountKey::from_text(ACCOUNT_KEY_TEXT).unwrap();
    assert_eq!(account.mskid(), "FTkUk1");
    assert_eq!(account.as_bytes(), ACCOUNT_KEY_TEXT.as_bytes());
    for (signer, prefix) in [
        (RequestSigner::account(&account), "account=:"),
        (RequestSigner::account(&account).android(), "account=\""),
    ] {
        let mut request = traced_get();
        signer.with_created(CREATED).sign(&mut request).unwrap();
        let headers = request.headers();
        assert_eq!(
            headers["signature-input"],
            r#"account=("@method" "@target-uri" "approov-token" "approov-traceid");alg="hmac-sha256";created=1790000000;expires=1790000015"#
        );
        let field = headers["signature"].to_str().unwrap();
        assert!(field.starts_with(prefix), "{field}");
        assert_eq!(
            member_bytes(field, "account"),
            hmac(ACCOUNT_KEY_TEXT.as_bytes(), &traced_get_base("hmac-sha256"))
        );
    }
}

#[test]
fn the_request_signer_with_both_keys_writes_install_then_account_over_the_same_components() {
    let key = InstallationKey::generate().unwrap();
    let account = AccountKey::from_text(ACCOUNT_KEY_TEXT).unwrap();
    let mut request = traced_get();
    RequestSigner::new(&key)
        .with_account(&account)
        .with_created(CREATED)
        .sign(&mut request)
        .unwrap();
    let headers = request.headers();
    let components = r#"("@method" "@target-uri" "approov-token" "approov-traceid")"#;
    assert_eq!(
        headers["signature-input"],
        format!(
            r#"install={components};alg="ecdsa-p256-sha256";created=1790000000;expires=1790000015, account={components};alg="hmac-sha256";created=1790000000;expires=1790000015"#
        )
        .as_str()
    );
    let field = headers["signature"].to_str().unwrap();
    assert!(ecdsa_verifies(
        &key,
        &traced_get_base("ecdsa-p256-sha256"),
        &member_bytes(field, "install")
    ));
    assert_eq!(
        member_bytes(field, "account"),
        hmac(ACCOUNT_KEY_TEXT.as_bytes(), &traced_get_base("hmac-sha256"))
    );
}

#[tokio::test]
async fn requests_the_signer_signs_with_the_account_key_alone_or_with_both_keys_pass_the_layer() {
    let key = InstallationKey::generate().unwrap();
    let account = AccountKey::generate("acct01").unwrap();
    let config = builder(MessageSigning::Require)
        .with_account_key(account.as_bytes(), Some(account.mskid()))
        .unwrap()
        .build()
        .unwrap();
    let token = TokenBuilder::hs256(SECRET)
        .ipk(key.ipk().unwrap())
        .mskid(account.mskid())
        .did("device-1")
        .build()
        .unwrap();
    for signer in [
        RequestSigner::account(&account),
        RequestSigner::new(&key).with_account(&account),
        RequestSigner::account(&account).android(),
    ] {
        let mut request = post(&token, r#"{"item":7}"#);
        signer.sign(&mut request).unwrap();
        let response = send(config.clone(), request).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body_text(response).await, r#"{"item":7}"#);
    }
    // Another account key's signature: refused with the account's own reason.
    let other = AccountKey::generate("acct01").unwrap();
    let mut request = post(&token, "{}");
    RequestSigner::account(&other).sign(&mut request).unwrap();
    assert_rejected(
        send(config, request).await,
        ApproovErrorKind::AccountSignatureInvalid,
    )
    .await;
}

// ---- real HTTP on loopback -----------------------------------------------------------------

/// Serves [`app`] on 127.0.0.1 and returns its address.
async fn serve(config: ApproovConfig) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app(config)).await });
    addr
}

/// Sends `request` over HTTP/1.1: status, the rejection's reason (from `x-test-reason`), body.
async fn send_http(request: Request<String>) -> (StatusCode, Option<String>, String) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Body>();
    let response = client.request(request.map(Body::from)).await.unwrap();
    let status = response.status();
    let reason = response
        .headers()
        .get("x-test-reason")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, reason, String::from_utf8(body.to_vec()).unwrap())
}

/// Signs `request` for `https://` (what a mobile app calls, and what the server assumes for an
/// HTTP/1.1 request, which carries no scheme), then points it at the loopback server over
/// `http://`.
fn sign_as_https(request: &mut Request<String>, signer: &RequestSigner<'_>) {
    let http = request.uri().clone();
    *request.uri_mut() = http
        .to_string()
        .replacen("http://", "https://", 1)
        .parse()
        .unwrap();
    signer.sign(request).unwrap();
    *request.uri_mut() = http;
}

fn rejected(kind: ApproovErrorKind) -> (StatusCode, Option<String>, String) {
    (
        StatusCode::UNAUTHORIZED,
        Some(kind.reason_code().to_owned()),
        "{}".to_owned(),
    )
}

#[tokio::test]
async fn a_signed_get_over_real_http_passes_and_a_tampered_one_is_rejected() {
    let addr = serve(builder(MessageSigning::Require).build().unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let url = format!("http://{addr}/v1/orders?page=1");
    let mut request = Request::get(&url)
        .header("approov-token", token(&key))
        .body(String::new())
        .unwrap();
    sign_as_https(&mut request, &RequestSigner::new(&key).ios());
    let mut tampered = Request::get(format!("http://{addr}/v1/orders?page=2"))
        .body(String::new())
        .unwrap();
    *tampered.headers_mut() = request.headers().clone();

    assert_eq!(
        send_http(request).await,
        (StatusCode::OK, None, String::new())
    );
    assert_eq!(
        send_http(tampered).await,
        rejected(ApproovErrorKind::MessageSignatureInvalid)
    );
}

#[tokio::test]
async fn a_signed_post_over_real_http_reaches_the_handler_with_its_body() {
    let addr = serve(builder(MessageSigning::Require).build().unwrap()).await;
    let key = InstallationKey::generate().unwrap();
    let body = r#"{"item":7}"#;
    let mut request = Request::post(format!("http://{addr}/v1/orders"))
        .header("approov-token", token(&key))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .unwrap();
    sign_as_https(&mut request, &RequestSigner::new(&key).android());
    let mut tampered = Request::post(format!("http://{addr}/v1/orders"))
        .body(r#"{"item":8}"#.to_owned())
        .unwrap();
    *tampered.headers_mut() = request.headers().clone();

    assert_eq!(
        send_http(request).await,
        (StatusCode::OK, None, body.to_owned())
    );
    assert_eq!(
        send_http(tampered).await,
        rejected(ApproovErrorKind::ContentDigestMismatch)
    );
}

// ---- monitor mode --------------------------------------------------------------------------

#[tokio::test]
async fn in_monitor_mode_a_body_that_fails_its_digest_goes_on_with_the_error() {
    let key = InstallationKey::generate().unwrap();
    let mut request = post(&token(&key), "signed body");
    RequestSigner::new(&key).sign(&mut request).unwrap();
    *request.body_mut() = "other body".to_owned();
    let config = builder(MessageSigning::Verify)
        .with_mode(tower_approov::Mode::Monitor)
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/v1/orders",
            axum::routing::post(|req: Request<Body>| async move {
                let kind = req
                    .extensions()
                    .get::<ApproovError>()
                    .map(ApproovError::kind);
                let has_claims = req
                    .extensions()
                    .get::<tower_approov::ApproovClaims>()
                    .is_some();
                let body = req.into_body().collect().await.unwrap().to_bytes();
                format!("{kind:?} {has_claims} {}", String::from_utf8_lossy(&body))
            }),
        )
        .layer(ApproovLayer::new(config));
    let response = app.oneshot(request.map(Body::from)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        body_text(response).await,
        "Some(ContentDigestMismatch) false other body"
    );
}

#[tokio::test]
async fn signature_fields_over_several_lines_with_other_labels_are_joined_and_the_install_label_used()
 {
    let key = InstallationKey::generate().unwrap();
    let mut request = get_request(&token(&key));
    RequestSigner::new(&key).sign(&mut request).unwrap();
    let headers = request.headers_mut();
    let input = headers.remove("signature-input").unwrap();
    let signature = headers.remove("signature").unwrap();
    headers.append(
        "signature-input",
        r#"account=("@method");created=1;alg="hmac-sha256""#
            .parse()
            .unwrap(),
    );
    headers.append("signature-input", input);
    headers.append("signature", "account=:AAAA:".parse().unwrap());
    headers.append("signature", signature);
    let response = send(builder(MessageSigning::Require).build().unwrap(), request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(kind(&response), None);
}

#[tokio::test]
async fn a_non_utf8_signature_header_is_malformed() {
    let key = InstallationKey::generate().unwrap();
    let mut request = get_request(&token(&key));
    RequestSigner::new(&key).sign(&mut request).unwrap();
    request.headers_mut().insert(
        "signature",
        http::HeaderValue::from_bytes(b"install=:\xff\xfe:").unwrap(),
    );
    let response = send(builder(MessageSigning::Verify).build().unwrap(), request).await;
    assert_rejected(response, ApproovErrorKind::SignatureMalformed).await;
}

// ---- a fixed installation key --------------------------------------------------------------

#[tokio::test]
async fn an_installation_key_loaded_from_pkcs8_keeps_its_ipk_and_signs_requests_that_pass() {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &aws_lc_rs::rand::SystemRandom::new(),
    )
    .unwrap();
    let key = InstallationKey::from_pkcs8(pkcs8.as_ref()).unwrap();
    let again = InstallationKey::from_pkcs8(pkcs8.as_ref()).unwrap();
    assert_eq!(key.ipk().unwrap(), again.ipk().unwrap());
    assert!(InstallationKey::from_pkcs8(b"not a key").is_err());

    let mut request = get_request(&token(&again));
    RequestSigner::new(&key).sign(&mut request).unwrap();
    let response = send(builder(MessageSigning::Require).build().unwrap(), request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(kind(&response), None);
}
