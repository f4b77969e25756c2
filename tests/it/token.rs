//! The token check, request by request, through a real axum `Router` (`oneshot`): where the
//! token is, its structure, its header, its signature, its claims.

use crate::common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tower_approov::{ApproovErrorKind as Kind, DEFAULT_MAX_TOKEN_LENGTH};

// --- Where the token is ------------------------------------------------------------------

#[tokio::test]
async fn a_valid_token_reaches_the_handler_with_its_claims() {
    get_with_token(layer(), &valid_token())
        .await
        .assert_accepted();
}

#[tokio::test]
async fn a_request_without_the_token_header_is_rejected_as_missing_token() {
    get_root(layer(), &[])
        .await
        .assert_rejected(Kind::MissingToken);
}

#[tokio::test]
async fn an_empty_token_header_is_rejected_as_empty_token() {
    get_with_token(layer(), "")
        .await
        .assert_rejected(Kind::EmptyToken);
}

#[tokio::test]
async fn a_token_header_of_only_whitespace_is_rejected_as_empty_token() {
    get_with_token(layer(), " \t  ")
        .await
        .assert_rejected(Kind::EmptyToken);
}

#[tokio::test]
async fn a_token_header_holding_only_the_prefix_is_rejected_as_empty_token() {
    let layer = layer_from(builder().with_token_prefix("Bearer"));
    get_with_token(layer, "Bearer ")
        .await
        .assert_rejected(Kind::EmptyToken);
}

#[tokio::test]
async fn spaces_around_the_token_are_ignored() {
    let token = format!("  {}  ", valid_token());
    get_with_token(layer(), &token).await.assert_accepted();
}

#[tokio::test]
async fn two_token_headers_are_rejected_as_duplicate_even_when_both_are_valid() {
    let token = valid_token();
    get_root(
        layer(),
        &[
            ("approov-token", token.as_bytes()),
            ("approov-token", token.as_bytes()),
        ],
    )
    .await
    .assert_rejected(Kind::DuplicateToken);
}

#[tokio::test]
async fn a_token_header_with_non_utf8_bytes_is_rejected_as_invalid_encoding() {
    let mut value = valid_token().into_bytes();
    value.extend_from_slice(b"\xff\xfe");
    get_root(layer(), &[("approov-token", &value)])
        .await
        .assert_rejected(Kind::InvalidTokenEncoding);
}

#[tokio::test]
async fn a_64_kib_token_header_is_rejected_as_too_long_without_being_decoded() {
    // Were it decoded, it would be a malformed token: `TokenTooLong` shows the length came first.
    let huge = "a".repeat(64 * 1024);
    get_with_token(layer(), &huge)
        .await
        .assert_rejected(Kind::TokenTooLong);
}

#[tokio::test]
async fn the_default_maximum_token_length_is_8_kib() {
    assert_eq!(DEFAULT_MAX_TOKEN_LENGTH, 8192);
    get_with_token(layer(), &"a".repeat(8193))
        .await
        .assert_rejected(Kind::TokenTooLong);
    get_with_token(layer(), &"a".repeat(8192))
        .await
        .assert_rejected(Kind::MalformedToken);
}

#[tokio::test]
async fn a_token_exactly_at_the_maximum_length_is_accepted() {
    let token = valid_token();
    let layer = layer_from(builder().with_max_token_length(token.len()));
    get_with_token(layer, &token).await.assert_accepted();
}

#[tokio::test]
async fn a_token_one_byte_over_the_maximum_length_is_rejected_as_too_long() {
    let token = valid_token();
    let layer = layer_from(builder().with_max_token_length(token.len() - 1));
    get_with_token(layer, &token)
        .await
        .assert_rejected(Kind::TokenTooLong);
}

#[tokio::test]
async fn the_configured_token_header_name_is_matched_without_regard_to_case() {
    let layer = layer_from(builder().with_token_header("X-APPROOV-Token").unwrap());
    get_root(layer, &[("x-approov-token", valid_token().as_bytes())])
        .await
        .assert_accepted();
}

#[tokio::test]
async fn the_default_header_is_not_read_when_another_is_configured() {
    let layer = layer_from(builder().with_token_header("X-Approov").unwrap());
    get_with_token(layer, &valid_token())
        .await
        .assert_rejected(Kind::MissingToken);
}

#[tokio::test]
async fn a_custom_header_with_a_bearer_prefix_is_accepted() {
    let layer = layer_from(
        builder()
            .with_token_header("Authorization")
            .unwrap()
            .with_token_prefix("Bearer"),
    );
    let value = format!("Bearer {}", valid_token());
    get_root(layer, &[("authorization", value.as_bytes())])
        .await
        .assert_accepted();
}

#[tokio::test]
async fn the_token_prefix_is_matched_without_regard_to_case() {
    let layer = layer_from(builder().with_token_prefix("Bearer"));
    get_with_token(layer, &format!("bEARER {}", valid_token()))
        .await
        .assert_accepted();
}

#[tokio::test]
async fn a_bare_token_is_accepted_when_a_prefix_is_configured() {
    let layer = layer_from(builder().with_token_prefix("Bearer"));
    get_with_token(layer, &valid_token())
        .await
        .assert_accepted();
}

#[tokio::test]
async fn a_prefix_that_is_not_configured_is_not_stripped() {
    get_with_token(layer(), &format!("Bearer {}", valid_token()))
        .await
        .assert_rejected(Kind::MalformedToken);
}

// --- Structure ---------------------------------------------------------------------------

#[tokio::test]
async fn a_value_that_is_not_a_jwt_is_rejected_as_malformed() {
    get_with_token(layer(), "hello")
        .await
        .assert_rejected(Kind::MalformedToken);
}

#[tokio::test]
async fn a_token_of_two_segments_is_rejected_as_malformed() {
    let token = valid_token();
    let two = token.rsplit_once('.').unwrap().0;
    get_with_token(layer(), two)
        .await
        .assert_rejected(Kind::MalformedToken);
}

#[tokio::test]
async fn a_token_of_four_segments_is_rejected_as_malformed() {
    let token = format!("{}.c2ln", valid_token());
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::MalformedToken);
}

#[tokio::test]
async fn a_token_with_an_empty_header_segment_is_rejected_as_malformed() {
    let token = valid_token();
    let (_, rest) = token.split_once('.').unwrap();
    get_with_token(layer(), &format!(".{rest}"))
        .await
        .assert_rejected(Kind::MalformedToken);
}

/// Replaces segment `i` of a token.
fn replace_segment(token: &str, i: usize, with: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[i] = with;
    parts.join(".")
}

#[tokio::test]
async fn bad_base64_in_the_header_segment_is_rejected_as_malformed() {
    let token = replace_segment(&valid_token(), 0, "eyJhbGciOi!!");
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::MalformedToken);
}

#[tokio::test]
async fn bad_base64_in_the_claims_segment_is_rejected_as_malformed() {
    let token = replace_segment(&valid_token(), 1, "eyJleHAiOjF9*");
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::MalformedToken);
}

#[tokio::test]
async fn bad_base64_in_the_signature_segment_is_rejected_as_malformed() {
    let token = replace_segment(&valid_token(), 2, "not+base64/url!");
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::MalformedToken);
}

#[tokio::test]
async fn a_header_segment_that_is_not_json_is_rejected_as_malformed_header() {
    let token = mint_with_header("this is not json", &valid_claims());
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::MalformedHeader);
}

#[tokio::test]
async fn a_header_that_is_a_json_array_is_rejected_as_malformed_header() {
    let token = mint_with_header(r#"["HS256"]"#, &valid_claims());
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::MalformedHeader);
}

#[tokio::test]
async fn a_header_with_crit_is_rejected_as_malformed_header() {
    let token = mint_with_header(
        r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
        &valid_claims(),
    );
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::MalformedHeader);
}

#[tokio::test]
async fn a_claims_segment_that_is_not_json_is_rejected_as_malformed_claims() {
    let token = mint_raw_claims("exp=9999999999");
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::MalformedClaims);
}

#[tokio::test]
async fn a_claims_segment_that_is_a_json_array_is_rejected_as_malformed_claims() {
    let token = mint_raw_claims("[9999999999]");
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::MalformedClaims);
}

// --- The algorithm is pinned -------------------------------------------------------------

#[tokio::test]
async fn alg_none_without_a_signature_is_rejected() {
    let message = format!(
        "{}.{}",
        b64url(br#"{"alg":"none","typ":"JWT"}"#),
        b64url(valid_claims().to_string().as_bytes())
    );
    get_with_token(layer(), &format!("{message}."))
        .await
        .assert_rejected(Kind::AlgorithmNotAllowed);
}

#[tokio::test]
async fn alg_none_with_a_genuine_hs256_signature_is_rejected() {
    let token = mint_with_header(r#"{"alg":"none","typ":"JWT"}"#, &valid_claims());
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::AlgorithmNotAllowed);
}

/// A token signed for real with the test secret, under another HMAC algorithm.
fn mint_hmac(alg: Algorithm) -> String {
    install_crypto();
    jsonwebtoken::encode(
        &Header::new(alg),
        &valid_claims(),
        &EncodingKey::from_secret(SECRET).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn an_hs384_token_signed_with_the_right_secret_is_rejected() {
    get_with_token(layer(), &mint_hmac(Algorithm::HS384))
        .await
        .assert_rejected(Kind::AlgorithmNotAllowed);
}

#[tokio::test]
async fn an_hs512_token_signed_with_the_right_secret_is_rejected() {
    get_with_token(layer(), &mint_hmac(Algorithm::HS512))
        .await
        .assert_rejected(Kind::AlgorithmNotAllowed);
}

#[tokio::test]
async fn an_rs256_header_is_rejected_when_only_a_secret_is_configured() {
    // The signature is a genuine HMAC with the secret: algorithm confusion must not help.
    let token = mint_with_header(r#"{"alg":"RS256","typ":"JWT"}"#, &valid_claims());
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::AlgorithmNotAllowed);
}

#[tokio::test]
async fn a_header_without_alg_is_rejected() {
    let token = mint_with_header(r#"{"typ":"JWT"}"#, &valid_claims());
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::AlgorithmNotAllowed);
}

#[tokio::test]
async fn an_alg_in_lower_case_is_rejected() {
    let token = mint_with_header(r#"{"alg":"hs256","typ":"JWT"}"#, &valid_claims());
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::AlgorithmNotAllowed);
}

#[tokio::test]
async fn a_jwe_style_header_with_enc_and_no_alg_is_rejected() {
    let token = mint_with_header(r#"{"enc":"A256GCM","typ":"JWT"}"#, &valid_claims());
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::AlgorithmNotAllowed);
}

#[tokio::test]
async fn a_five_segment_jwe_compact_token_is_rejected_as_malformed() {
    let header = b64url(br#"{"alg":"dir","enc":"A256GCM"}"#);
    let token = format!("{header}..aXY.Y2lwaGVydGV4dA.dGFn");
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::MalformedToken);
}

#[tokio::test]
async fn a_header_with_enc_is_rejected_even_with_alg_hs256() {
    let token = mint_with_header(r#"{"alg":"HS256","enc":"A256GCM"}"#, &valid_claims());
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::AlgorithmNotAllowed);
}

#[tokio::test]
async fn a_hand_made_hs256_header_with_a_genuine_signature_is_accepted() {
    // The control for the hand-made headers above: only their `alg` differs.
    let token = mint_with_header(r#"{"alg":"HS256","typ":"JWT"}"#, &valid_claims());
    get_with_token(layer(), &token).await.assert_accepted();
}

// --- Signature ---------------------------------------------------------------------------

#[tokio::test]
async fn a_token_with_a_changed_signature_is_rejected_as_invalid_signature() {
    let token = valid_token();
    let (message, signature) = token.rsplit_once('.').unwrap();
    // Flip one bit of the first signature byte, keeping the base64url text valid.
    let mut raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .unwrap();
    raw[0] ^= 1;
    let token = format!("{message}.{}", b64url(&raw));
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::InvalidSignature);
}

#[tokio::test]
async fn a_token_with_changed_claims_is_rejected_as_invalid_signature() {
    let token = valid_token();
    let forged_claims = b64url(
        claims_with(json!({"did": "someone-else"}))
            .to_string()
            .as_bytes(),
    );
    get_with_token(layer(), &replace_segment(&token, 1, &forged_claims))
        .await
        .assert_rejected(Kind::InvalidSignature);
}

#[tokio::test]
async fn a_token_with_an_empty_signature_is_rejected_as_invalid_signature() {
    let token = replace_segment(&valid_token(), 2, "");
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::InvalidSignature);
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_rejected_as_invalid_signature() {
    let token = mint_with_secret(&valid_claims(), OTHER_SECRET);
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::InvalidSignature);
}

#[tokio::test]
async fn a_secret_given_as_base64_verifies_tokens_signed_with_its_bytes() {
    let layer = layer_from(
        tower_approov::ApproovConfig::builder()
            .with_base64_secret(&STANDARD.encode(SECRET))
            .unwrap(),
    );
    get_with_token(layer, &valid_token())
        .await
        .assert_accepted();
}

// --- exp, nbf, leeway --------------------------------------------------------------------

#[tokio::test]
async fn an_expired_token_is_rejected_as_expired() {
    let token = mint(&claims_with(json!({"exp": now() - 60.0})));
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::Expired);
}

#[tokio::test]
async fn a_float_exp_in_the_future_is_accepted() {
    let exp = now() + 600.891912;
    assert_ne!(exp.fract(), 0.0);
    let token = mint(&claims_with(json!({ "exp": exp })));
    get_with_token(layer(), &token).await.assert_accepted();
}

#[tokio::test]
async fn an_integer_exp_in_the_future_is_accepted() {
    let token = mint(&claims_with(json!({"exp": now() as u64 + 600})));
    get_with_token(layer(), &token).await.assert_accepted();
}

#[tokio::test]
async fn an_exp_given_as_a_string_is_rejected_as_invalid_expiry() {
    let token = mint(&claims_with(json!({"exp": "1999999999"})));
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::InvalidExpiry);
}

#[tokio::test]
async fn an_exp_given_as_an_empty_string_is_rejected_as_invalid_expiry() {
    let token = mint(&claims_with(json!({"exp": ""})));
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::InvalidExpiry);
}

#[tokio::test]
async fn an_exp_of_null_is_rejected_as_invalid_expiry() {
    let token = mint(&claims_with(json!({"exp": null})));
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::InvalidExpiry);
}

#[tokio::test]
async fn an_exp_given_as_a_boolean_is_rejected_as_invalid_expiry() {
    let token = mint(&claims_with(json!({"exp": true})));
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::InvalidExpiry);
}

#[tokio::test]
async fn a_token_without_exp_is_rejected_as_missing_expiry() {
    let token = mint(&json!({"did": DID}));
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::MissingExpiry);
}

#[tokio::test]
async fn without_configured_leeway_a_token_expired_a_second_ago_is_rejected() {
    // `jsonwebtoken` defaults to 60 s of leeway; this crate must not inherit it.
    let token = mint(&claims_with(json!({"exp": now() - 1.0})));
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::Expired);
}

#[tokio::test]
async fn a_token_expired_less_than_the_leeway_ago_is_accepted() {
    let layer = layer_from(builder().with_leeway(Duration::from_secs(30)));
    let token = mint(&claims_with(json!({"exp": now() - 25.0})));
    get_with_token(layer, &token).await.assert_accepted();
}

#[tokio::test]
async fn a_token_expired_more_than_the_leeway_ago_is_rejected_as_expired() {
    let layer = layer_from(builder().with_leeway(Duration::from_secs(30)));
    let token = mint(&claims_with(json!({"exp": now() - 35.0})));
    get_with_token(layer, &token)
        .await
        .assert_rejected(Kind::Expired);
}

#[tokio::test]
async fn a_token_with_nbf_in_the_future_is_rejected_as_not_yet_valid() {
    let token = mint(&claims_with(json!({"nbf": now() + 60.0})));
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::NotYetValid);
}

#[tokio::test]
async fn a_token_with_nbf_in_the_past_is_accepted() {
    let token = mint(&claims_with(json!({"nbf": now() - 60.0})));
    get_with_token(layer(), &token).await.assert_accepted();
}

#[tokio::test]
async fn a_token_with_nbf_less_than_the_leeway_ahead_is_accepted() {
    let layer = layer_from(builder().with_leeway(Duration::from_secs(30)));
    let token = mint(&claims_with(json!({"nbf": now() + 25.0})));
    get_with_token(layer, &token).await.assert_accepted();
}

#[tokio::test]
async fn a_token_with_nbf_more_than_the_leeway_ahead_is_rejected_as_not_yet_valid() {
    let layer = layer_from(builder().with_leeway(Duration::from_secs(30)));
    let token = mint(&claims_with(json!({"nbf": now() + 35.0})));
    get_with_token(layer, &token)
        .await
        .assert_rejected(Kind::NotYetValid);
}

#[tokio::test]
async fn a_token_with_a_string_nbf_is_rejected_as_malformed_claims() {
    let token = mint(&claims_with(json!({"nbf": "0"})));
    get_with_token(layer(), &token)
        .await
        .assert_rejected(Kind::MalformedClaims);
}

// --- kid, aud, iss -----------------------------------------------------------------------

#[tokio::test]
async fn a_kid_header_does_not_break_single_secret_verification() {
    install_crypto();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("0001".to_owned());
    let token = jsonwebtoken::encode(
        &header,
        &valid_claims(),
        &EncodingKey::from_secret(SECRET).unwrap(),
    )
    .unwrap();
    get_with_token(layer(), &token).await.assert_accepted();
}

#[tokio::test]
async fn an_aud_claim_is_accepted_when_no_audience_is_configured() {
    let token = mint(&claims_with(json!({"aud": "api.example.com"})));
    get_with_token(layer(), &token).await.assert_accepted();
}

#[tokio::test]
async fn a_matching_aud_is_accepted() {
    let layer = layer_from(builder().with_audience(["api.example.com", "api2.example.com"]));
    let token = mint(&claims_with(json!({"aud": "api2.example.com"})));
    get_with_token(layer, &token).await.assert_accepted();
}

#[tokio::test]
async fn an_aud_array_holding_a_configured_audience_is_accepted() {
    let layer = layer_from(builder().with_audience(["api.example.com"]));
    let token = mint(&claims_with(json!({"aud": ["other", "api.example.com"]})));
    get_with_token(layer, &token).await.assert_accepted();
}

#[tokio::test]
async fn an_aud_that_matches_no_configured_audience_is_rejected() {
    let layer = layer_from(builder().with_audience(["api.example.com"]));
    let token = mint(&claims_with(json!({"aud": "evil.example.com"})));
    get_with_token(layer, &token)
        .await
        .assert_rejected(Kind::InvalidAudience);
}

#[tokio::test]
async fn a_missing_aud_is_rejected_when_an_audience_is_configured() {
    let layer = layer_from(builder().with_audience(["api.example.com"]));
    get_with_token(layer, &valid_token())
        .await
        .assert_rejected(Kind::InvalidAudience);
}

#[tokio::test]
async fn a_matching_iss_is_accepted() {
    let layer = layer_from(builder().with_issuer(["acme.approov.io"]));
    let token = mint(&claims_with(json!({"iss": "acme.approov.io"})));
    get_with_token(layer, &token).await.assert_accepted();
}

#[tokio::test]
async fn an_iss_other_than_the_configured_issuer_is_rejected() {
    let layer = layer_from(builder().with_issuer(["acme.approov.io"]));
    let token = mint(&claims_with(json!({"iss": "evil.approov.io"})));
    get_with_token(layer, &token)
        .await
        .assert_rejected(Kind::InvalidIssuer);
}

#[tokio::test]
async fn a_missing_iss_is_rejected_when_an_issuer_is_configured() {
    let layer = layer_from(builder().with_issuer(["acme.approov.io"]));
    get_with_token(layer, &valid_token())
        .await
        .assert_rejected(Kind::InvalidIssuer);
}

#[tokio::test]
async fn an_iss_claim_is_accepted_when_no_issuer_is_configured() {
    let token = mint(&claims_with(json!({"iss": "anyone.approov.io"})));
    get_with_token(layer(), &token).await.assert_accepted();
}

// --- The verified-token cache ------------------------------------------------------------

#[tokio::test]
async fn a_token_accepted_once_is_accepted_again() {
    // That the second answer came from the cache is shown in tests/it/token_cache.rs, which can
    // look into it (feature `test-util`).
    let layer = layer();
    let token = valid_token();
    get_with_token(layer.clone(), &token)
        .await
        .assert_accepted();
    get_with_token(layer, &token).await.assert_accepted();
}

#[tokio::test]
async fn a_token_rejected_once_is_rejected_again() {
    let layer = layer();
    let token = mint_with_secret(&valid_claims(), OTHER_SECRET);
    for _ in 0..2 {
        get_with_token(layer.clone(), &token)
            .await
            .assert_rejected(Kind::InvalidSignature);
    }
}

#[tokio::test]
async fn with_the_cache_off_valid_tokens_are_still_accepted() {
    let layer = layer_from(builder().with_token_cache_size(0));
    let token = valid_token();
    get_with_token(layer.clone(), &token)
        .await
        .assert_accepted();
    get_with_token(layer, &token).await.assert_accepted();
}
