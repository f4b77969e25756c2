//! Configuration from environment variables, through `from_env_with` (the process environment
//! is left alone): every variable, a valid value that takes effect on a real request, and
//! invalid values that give a `ConfigError` naming the variable and never showing the value.

use crate::common;

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use common::*;
use serde_json::json;
use tower_approov::{
    ApproovConfigBuilder, ApproovErrorKind as Kind, ApproovLayer, ConfigError, Mode,
};

/// A builder from these variables only.
fn from_vars(vars: &[(&str, &str)]) -> Result<ApproovConfigBuilder, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ApproovConfigBuilder::from_env_with(|name| vars.get(name).cloned().map(Ok))
}

/// A layer from the test secret (as APPROOV_BASE64_SECRET) plus these variables.
fn layer_with(vars: &[(&str, &str)]) -> ApproovLayer {
    let secret = secret_base64();
    let mut all = vec![("APPROOV_BASE64_SECRET", secret.as_str())];
    all.extend_from_slice(vars);
    ApproovLayer::new(from_vars(&all).unwrap().build().unwrap())
}

/// The error for these variables, with the test secret added unless a secret is among them.
fn error_for(vars: &[(&str, &str)]) -> ConfigError {
    let secret = secret_base64();
    let mut all = vars.to_vec();
    if !vars.iter().any(|(k, _)| k.contains("SECRET")) {
        all.push(("APPROOV_BASE64_SECRET", secret.as_str()));
    }
    match from_vars(&all).and_then(ApproovConfigBuilder::build) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(e) => e,
    }
}

/// The error is `Invalid` for `variable`, and its message names the variable and never shows
/// the value.
#[track_caller]
fn assert_invalid(vars: &[(&str, &str)], variable: &str) {
    let error = error_for(vars);
    assert!(
        matches!(error, ConfigError::Invalid { variable: v, .. } if v == variable),
        "{error:?}"
    );
    assert_names_without_value(&error, variable, vars);
}

#[track_caller]
fn assert_empty(vars: &[(&str, &str)], variable: &str) {
    let error = error_for(vars);
    assert!(
        matches!(error, ConfigError::Empty { variable: v } if v == variable),
        "{error:?}"
    );
    assert_names_without_value(&error, variable, vars);
}

#[track_caller]
fn assert_names_without_value(error: &ConfigError, variable: &str, vars: &[(&str, &str)]) {
    let message = error.to_string();
    assert!(message.contains(variable), "{message}");
    for (name, value) in vars {
        if *name == variable && value.trim().len() > 2 {
            assert!(!message.contains(value.trim()), "{message}");
            assert!(!format!("{error:?}").contains(value.trim()), "{error:?}");
        }
    }
}

// --- Key sources -------------------------------------------------------------------------

#[test]
fn no_key_source_at_all_is_a_no_key_source_error() {
    let error = from_vars(&[]).unwrap().build().unwrap_err();
    assert!(matches!(error, ConfigError::NoKeySource), "{error:?}");
    assert!(error.to_string().contains("APPROOV_BASE64_SECRET"));
}

#[tokio::test]
async fn approov_base64_secret_verifies_tokens_signed_with_the_secret() {
    get_with_token(layer_with(&[]), &valid_token())
        .await
        .assert_accepted();
}

#[test]
fn an_approov_base64_secret_that_is_not_base64_is_invalid_and_not_shown() {
    assert_invalid(
        &[("APPROOV_BASE64_SECRET", "s3cr3t-but-not-base64!")],
        "APPROOV_BASE64_SECRET",
    );
}

#[test]
fn an_empty_approov_base64_secret_is_an_empty_error() {
    assert_empty(&[("APPROOV_BASE64_SECRET", "")], "APPROOV_BASE64_SECRET");
}

#[test]
fn a_blank_approov_base64_secret_is_an_empty_error() {
    assert_empty(&[("APPROOV_BASE64_SECRET", "   ")], "APPROOV_BASE64_SECRET");
}

#[test]
fn an_approov_base64_secret_that_decodes_to_nothing_is_an_empty_error() {
    assert_empty(
        &[("APPROOV_BASE64_SECRET", "0001:")],
        "APPROOV_BASE64_SECRET",
    );
}

#[tokio::test]
async fn approov_base64url_secret_unpadded_verifies_tokens_signed_with_the_secret() {
    let secret = URL_SAFE_NO_PAD.encode(SECRET);
    let layer = ApproovLayer::new(
        from_vars(&[("APPROOV_BASE64URL_SECRET", &secret)])
            .unwrap()
            .build()
            .unwrap(),
    );
    get_with_token(layer, &valid_token())
        .await
        .assert_accepted();
}

#[tokio::test]
async fn approov_base64url_secret_padded_verifies_tokens_signed_with_the_secret() {
    let secret = URL_SAFE.encode(SECRET);
    assert!(secret.ends_with('='));
    let layer = ApproovLayer::new(
        from_vars(&[("APPROOV_BASE64URL_SECRET", &secret)])
            .unwrap()
            .build()
            .unwrap(),
    );
    get_with_token(layer, &valid_token())
        .await
        .assert_accepted();
}

#[test]
fn an_approov_base64url_secret_in_standard_base64_alphabet_is_invalid() {
    // `+` and `/` are not in the base64url alphabet.
    assert_invalid(
        &[("APPROOV_BASE64URL_SECRET", "ab+/cd+/ef+/")],
        "APPROOV_BASE64URL_SECRET",
    );
}

#[test]
fn an_empty_approov_base64url_secret_is_an_empty_error() {
    assert_empty(
        &[("APPROOV_BASE64URL_SECRET", "")],
        "APPROOV_BASE64URL_SECRET",
    );
}

#[test]
fn a_variable_that_is_not_utf8_is_invalid_and_named() {
    let error = ApproovConfigBuilder::from_env_with(|name| {
        (name == "APPROOV_BASE64_SECRET").then_some(Err(()))
    })
    .unwrap_err();
    assert!(
        matches!(
            error,
            ConfigError::Invalid {
                variable: "APPROOV_BASE64_SECRET",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("APPROOV_BASE64_SECRET"));
}

#[tokio::test]
async fn a_kid_given_with_the_secret_selects_it_for_tokens_with_that_kid() {
    let entry = format!("0001:{}", STANDARD.encode(SECRET));
    let layer = ApproovLayer::new(
        from_vars(&[("APPROOV_BASE64_SECRET", &entry)])
            .unwrap()
            .build()
            .unwrap(),
    );
    let token = mint_with_header(r#"{"alg":"HS256","kid":"0001"}"#, &valid_claims());
    get_with_token(layer, &token).await.assert_accepted();
}

// --- Where the token is ------------------------------------------------------------------

#[tokio::test]
async fn approov_token_header_moves_the_token_to_that_header() {
    let layer = layer_with(&[("APPROOV_TOKEN_HEADER", "X-Approov")]);
    get_root(layer, &[("x-approov", valid_token().as_bytes())])
        .await
        .assert_accepted();
}

#[test]
fn an_approov_token_header_that_is_not_a_header_name_is_invalid() {
    assert_invalid(
        &[("APPROOV_TOKEN_HEADER", "Approov Token")],
        "APPROOV_TOKEN_HEADER",
    );
}

#[test]
fn an_empty_approov_token_header_is_an_empty_error() {
    assert_empty(&[("APPROOV_TOKEN_HEADER", " ")], "APPROOV_TOKEN_HEADER");
}

#[tokio::test]
async fn approov_token_prefix_is_stripped_from_the_token_header() {
    let layer = layer_with(&[("APPROOV_TOKEN_PREFIX", "Bearer")]);
    get_with_token(layer, &format!("Bearer {}", valid_token()))
        .await
        .assert_accepted();
}

#[tokio::test]
async fn an_empty_approov_token_prefix_means_no_prefix() {
    let layer = layer_with(&[("APPROOV_TOKEN_PREFIX", "")]);
    get_with_token(layer, &valid_token())
        .await
        .assert_accepted();
}

#[tokio::test]
async fn approov_max_token_length_bounds_the_token_header() {
    let layer = layer_with(&[("APPROOV_MAX_TOKEN_LENGTH", "100")]);
    get_with_token(layer, &valid_token())
        .await
        .assert_rejected(Kind::TokenTooLong);
}

#[test]
fn an_approov_max_token_length_that_is_not_a_number_is_invalid() {
    assert_invalid(
        &[("APPROOV_MAX_TOKEN_LENGTH", "8k")],
        "APPROOV_MAX_TOKEN_LENGTH",
    );
}

#[tokio::test]
async fn approov_token_cache_size_zero_turns_the_cache_off_and_tokens_still_pass() {
    let layer = layer_with(&[("APPROOV_TOKEN_CACHE_SIZE", "0")]);
    assert!(format!("{layer:?}").contains("token_cache_size: 0"));
    get_with_token(layer, &valid_token())
        .await
        .assert_accepted();
}

#[test]
fn an_approov_token_cache_size_that_is_negative_is_invalid() {
    assert_invalid(
        &[("APPROOV_TOKEN_CACHE_SIZE", "-1")],
        "APPROOV_TOKEN_CACHE_SIZE",
    );
}

// --- Claims ------------------------------------------------------------------------------

#[tokio::test]
async fn approov_leeway_seconds_accepts_a_token_expired_within_it() {
    let layer = layer_with(&[("APPROOV_LEEWAY_SECONDS", "30")]);
    let token = mint(&claims_with(json!({"exp": now() - 25.0})));
    get_with_token(layer, &token).await.assert_accepted();
}

#[test]
fn an_approov_leeway_seconds_that_is_not_a_number_is_invalid() {
    assert_invalid(
        &[("APPROOV_LEEWAY_SECONDS", "abc")],
        "APPROOV_LEEWAY_SECONDS",
    );
}

#[test]
fn a_negative_approov_leeway_seconds_is_invalid() {
    assert_invalid(
        &[("APPROOV_LEEWAY_SECONDS", "-5")],
        "APPROOV_LEEWAY_SECONDS",
    );
}

#[test]
fn a_fractional_approov_leeway_seconds_is_invalid() {
    assert_invalid(
        &[("APPROOV_LEEWAY_SECONDS", "1.5")],
        "APPROOV_LEEWAY_SECONDS",
    );
}

#[tokio::test]
async fn approov_issuer_rejects_another_issuer() {
    let layer = layer_with(&[("APPROOV_ISSUER", "acme.approov.io")]);
    let token = mint(&claims_with(json!({"iss": "evil.approov.io"})));
    get_with_token(layer, &token)
        .await
        .assert_rejected(Kind::InvalidIssuer);
}

#[tokio::test]
async fn approov_issuer_accepts_its_issuer() {
    let layer = layer_with(&[("APPROOV_ISSUER", "acme.approov.io")]);
    let token = mint(&claims_with(json!({"iss": "acme.approov.io"})));
    get_with_token(layer, &token).await.assert_accepted();
}

#[test]
fn an_empty_approov_issuer_is_an_empty_error() {
    assert_empty(&[("APPROOV_ISSUER", " , ")], "APPROOV_ISSUER");
}

#[tokio::test]
async fn approov_audience_accepts_any_of_its_comma_separated_values() {
    let layer = layer_with(&[("APPROOV_AUDIENCE", "api.example.com, api2.example.com")]);
    let token = mint(&claims_with(json!({"aud": "api2.example.com"})));
    get_with_token(layer, &token).await.assert_accepted();
}

#[tokio::test]
async fn approov_audience_rejects_another_audience() {
    let layer = layer_with(&[("APPROOV_AUDIENCE", "api.example.com")]);
    let token = mint(&claims_with(json!({"aud": "evil.example.com"})));
    get_with_token(layer, &token)
        .await
        .assert_rejected(Kind::InvalidAudience);
}

#[test]
fn an_empty_approov_audience_is_an_empty_error() {
    assert_empty(&[("APPROOV_AUDIENCE", "")], "APPROOV_AUDIENCE");
}

// --- Mode --------------------------------------------------------------------------------

#[test]
fn approov_mode_monitor_in_any_case_sets_monitor_mode() {
    let layer = layer_with(&[("APPROOV_MODE", "MONITOR")]);
    assert_eq!(layer.mode_handle().get(), Mode::Monitor);
}

#[test]
fn approov_mode_enforce_sets_enforce_mode() {
    let layer = layer_with(&[("APPROOV_MODE", "enforce")]);
    assert_eq!(layer.mode_handle().get(), Mode::Enforce);
}

#[test]
fn an_unknown_approov_mode_is_invalid() {
    assert_invalid(&[("APPROOV_MODE", "report-only")], "APPROOV_MODE");
}

#[test]
fn the_default_mode_is_enforce() {
    assert_eq!(layer_with(&[]).mode_handle().get(), Mode::Enforce);
}

// --- Token binding -----------------------------------------------------------------------

#[tokio::test]
async fn approov_token_binding_header_turns_the_pay_check_on() {
    let layer = layer_with(&[("APPROOV_TOKEN_BINDING_HEADER", "Authorization")]);
    get_root(
        layer,
        &[
            ("approov-token", valid_token().as_bytes()),
            ("authorization", b"Bearer abc"),
        ],
    )
    .await
    .assert_rejected(Kind::PayClaimMissing);
}

#[tokio::test]
async fn approov_token_binding_header_takes_a_comma_separated_list_in_order() {
    // Listed against the alphabet and sent in yet another order: only the list's order may
    // decide what is hashed.
    let vars = [("APPROOV_TOKEN_BINDING_HEADER", " X-Zeta , X-Alpha ")];
    let pay = tower_approov::pay_claim_for([b"z".as_slice(), b"a".as_slice()]);
    let token = mint(&claims_with(json!({ "pay": pay })));
    let headers: &[(&str, &[u8])] = &[
        ("x-alpha", b"a"),
        ("approov-token", token.as_bytes()),
        ("x-zeta", b"z"),
    ];
    get_root(layer_with(&vars), headers).await.assert_accepted();
    let reversed = tower_approov::pay_claim_for([b"a".as_slice(), b"z".as_slice()]);
    let token = mint(&claims_with(json!({ "pay": reversed })));
    get_root(
        layer_with(&vars),
        &[
            ("x-alpha", b"a"),
            ("approov-token", token.as_bytes()),
            ("x-zeta", b"z"),
        ],
    )
    .await
    .assert_rejected(Kind::PayClaimMismatch);
}

#[test]
fn an_approov_token_binding_header_that_is_not_a_header_name_is_invalid() {
    assert_invalid(
        &[(
            "APPROOV_TOKEN_BINDING_HEADER",
            "Authorization, Not A Header",
        )],
        "APPROOV_TOKEN_BINDING_HEADER",
    );
}

#[tokio::test]
async fn approov_allow_missing_pay_accepts_failover_tokens() {
    let layer = layer_with(&[
        ("APPROOV_TOKEN_BINDING_HEADER", "Authorization"),
        ("APPROOV_ALLOW_MISSING_PAY", "yes"),
    ]);
    get_root(
        layer,
        &[
            ("approov-token", valid_token().as_bytes()),
            ("authorization", b"Bearer abc"),
        ],
    )
    .await
    .assert_accepted();
}

#[test]
fn approov_allow_missing_pay_accepts_every_documented_boolean_spelling() {
    for (text, expected) in [
        ("true", true),
        ("TRUE", true),
        ("1", true),
        ("Yes", true),
        ("false", false),
        ("False", false),
        ("0", false),
        ("no", false),
    ] {
        let layer = layer_with(&[("APPROOV_ALLOW_MISSING_PAY", text)]);
        assert!(
            format!("{layer:?}").contains(&format!("allow_missing_pay: {expected}")),
            "{text}"
        );
    }
}

#[test]
fn an_approov_allow_missing_pay_that_is_not_a_boolean_is_invalid() {
    assert_invalid(
        &[("APPROOV_ALLOW_MISSING_PAY", "maybe")],
        "APPROOV_ALLOW_MISSING_PAY",
    );
}

#[test]
fn an_empty_approov_token_binding_header_is_an_empty_error_not_binding_off() {
    // Regression: a set but empty variable used to turn binding off silently.
    assert_empty(
        &[("APPROOV_TOKEN_BINDING_HEADER", " , ")],
        "APPROOV_TOKEN_BINDING_HEADER",
    );
}

// --- Account message signing keys ------------------------------------------------------------

const ACCOUNT_RAW: &str = "APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_RAW";
const ACCOUNT_BASE64URL: &str = "APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_BASE64URL";
const ACCOUNT_BASE64: &str = "APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_BASE64";
const ACCOUNT_KEY_ID: &str = "APPROOV_ACCOUNT_MESSAGE_SIGNING_KEY_ID";

#[test]
fn two_readings_of_the_account_key_are_a_conflict_naming_both_and_showing_neither() {
    for (first, second) in [
        (ACCOUNT_BASE64URL, ACCOUNT_RAW),
        (ACCOUNT_BASE64URL, ACCOUNT_BASE64),
        (ACCOUNT_BASE64, ACCOUNT_RAW),
    ] {
        let vars = [(first, "a2V5LW9uZQ"), (second, "a2V5LXR3bw")];
        let error = error_for(&vars);
        assert!(
            matches!(error, ConfigError::Conflict { variable, other } if variable == first && other == second),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(!message.contains("a2V5") && !format!("{error:?}").contains("a2V5"));
    }
}

#[test]
fn an_empty_account_key_variable_list_or_entry_is_a_config_error() {
    for variable in [ACCOUNT_RAW, ACCOUNT_BASE64URL, ACCOUNT_BASE64] {
        assert_empty(&[(variable, "")], variable);
        assert_empty(&[(variable, " \n ")], variable);
        assert_empty(&[(variable, "mskid1:")], variable);
        assert_invalid(&[(variable, "a2V5,,b3RoZXI")], variable);
        assert_invalid(&[(variable, "a2V5,")], variable);
    }
    assert_empty(&[(ACCOUNT_KEY_ID, " ")], ACCOUNT_KEY_ID);
}

#[test]
fn account_keys_that_no_mskid_tells_apart_or_a_key_id_naming_no_key_are_config_errors() {
    // Two keys without an mskid, two with the same one.
    assert_invalid(&[(ACCOUNT_RAW, "first-key,second-key")], ACCOUNT_RAW);
    assert_invalid(&[(ACCOUNT_RAW, "k1:first-key,k1:second-key")], ACCOUNT_RAW);
    // The key id names the key given without one; here there is none.
    assert_invalid(
        &[(ACCOUNT_RAW, "k1:first-key"), (ACCOUNT_KEY_ID, "k2")],
        ACCOUNT_KEY_ID,
    );
    assert_invalid(&[(ACCOUNT_KEY_ID, "k2")], ACCOUNT_KEY_ID);
    // Not base64url; an mskid with a space; nine keys.
    assert_invalid(&[(ACCOUNT_BASE64URL, "not+base64url/")], ACCOUNT_BASE64URL);
    assert_invalid(&[(ACCOUNT_RAW, "my key:text")], ACCOUNT_RAW);
    let nine: Vec<String> = (0..9).map(|i| format!("k{i}:key-{i}")).collect();
    assert_invalid(&[(ACCOUNT_RAW, &nine.join(","))], ACCOUNT_RAW);
    // What is well formed builds.
    let eight = nine[..8].join(",");
    for vars in [
        vec![(ACCOUNT_RAW, eight.as_str())],
        vec![
            (ACCOUNT_RAW, "k1:first-key,second-key"),
            (ACCOUNT_KEY_ID, "k2"),
        ],
        vec![(ACCOUNT_BASE64URL, "a2V5LW9uZQ"), (ACCOUNT_KEY_ID, "k1")],
        vec![(ACCOUNT_BASE64, "a2V5LW9uZQ==")],
    ] {
        let _ = layer_with(&vars);
    }
}

#[test]
fn account_key_builder_errors_name_the_method_they_came_through() {
    let builder = || {
        tower_approov::ApproovConfig::builder()
            .with_secret(b"s", None)
            .unwrap()
    };
    for (error, method) in [
        (
            builder().with_account_key_raw(""),
            "ApproovConfigBuilder::with_account_key_raw",
        ),
        (
            builder().with_account_key_base64url("%%%"),
            "ApproovConfigBuilder::with_account_key_base64url",
        ),
        (
            builder().with_account_key_id("a b"),
            "ApproovConfigBuilder::with_account_key_id",
        ),
        (
            builder().with_account_key(b"", None),
            "ApproovConfigBuilder::with_account_key",
        ),
    ] {
        let error = error.expect_err(method);
        assert!(error.to_string().starts_with(method), "{error}");
    }
    // Two keys without an mskid, refused by `build`, naming the `SigningConfig` method.
    let error = builder()
        .with_account_key(b"first", None)
        .unwrap()
        .with_account_key(b"second", None)
        .unwrap()
        .build()
        .unwrap_err();
    assert!(
        matches!(
            error,
            ConfigError::Invalid {
                variable: "SigningConfig::with_account_key",
                ..
            }
        ),
        "{error:?}"
    );
}
