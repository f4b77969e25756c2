//! Every `ConfigError` message names the variable, says what is wrong and how to fix it, and
//! never shows the value. Each test pins one variant's message, reached through a real
//! configuration where possible.

use std::collections::HashMap;

use tower_approov::{ApproovConfig, ApproovConfigBuilder, ConfigError};

fn from_vars(vars: &[(&str, &str)]) -> Result<ApproovConfig, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ApproovConfigBuilder::from_env_with(|name| vars.get(name).cloned().map(Ok))?.build()
}

fn message(vars: &[(&str, &str)]) -> String {
    from_vars(vars)
        .expect_err("an unusable configuration")
        .to_string()
}

const SECRET: (&str, &str) = ("APPROOV_BASE64_SECRET", "c2VjcmV0LWJ5dGVz");

// Without a crypto backend the build refuses first for that (see the last test).
#[cfg(any(feature = "aws_lc_rs", feature = "rust_crypto"))]
#[test]
fn no_key_source_says_which_variable_to_set_and_where_the_secret_comes_from() {
    assert_eq!(
        message(&[]),
        "no Approov key is configured: set APPROOV_BASE64_SECRET to the output of `approov \
         secret -get base64` (or set APPROOV_BASE64URL_SECRET, APPROOV_PUBLIC_KEY_PEM, \
         APPROOV_JWKS or APPROOV_JWKS_URL), or put it in a .env file; with the builder, add a \
         key before `build()`"
    );
}

#[test]
fn two_readings_of_the_account_key_say_which_two_and_to_keep_one() {
    let text = message(&[
        SECRET,
        ("APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_BASE64URL", "a2V5"),
        ("APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_RAW", "a2V5"),
    ]);
    assert_eq!(
        text,
        "APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_BASE64URL and \
         APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_RAW are both set: they are two readings of the \
         same key, so keep only the one that says how your key is written"
    );
}

#[test]
fn two_account_keys_without_an_mskid_are_refused_with_how_to_name_them() {
    assert_eq!(
        message(&[
            SECRET,
            ("APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_RAW", "first,second")
        ]),
        "APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_RAW has an invalid value: set it to one key, or \
         `mskid:key` entries (at most one key without its mskid): with several keys, the \
         token's mskid must say which one signed"
    );
}

#[test]
fn an_empty_variable_is_named_with_both_ways_out() {
    assert_eq!(
        message(&[("APPROOV_BASE64_SECRET", "  ")]),
        "APPROOV_BASE64_SECRET is set but empty: give it a value, or unset it to use the default"
    );
}

#[test]
fn an_invalid_value_names_the_variable_and_what_was_expected_without_the_value() {
    let text = message(&[SECRET, ("APPROOV_MODE", "strict")]);
    assert_eq!(
        text,
        "APPROOV_MODE has an invalid value: set it to `enforce` or `monitor`"
    );
    assert!(!text.contains("strict"));
}

#[test]
fn a_secret_that_is_not_base64_is_refused_without_echoing_it() {
    let text = message(&[("APPROOV_BASE64_SECRET", "not*base64*secret")]);
    assert_eq!(
        text,
        "APPROOV_BASE64_SECRET has an invalid value: set it to standard base64, as printed by \
         `approov secret -get base64`"
    );
    assert!(!text.contains("not*base64*secret"));
}

#[test]
fn an_unreadable_pem_path_says_it_is_neither_pem_text_nor_a_readable_file() {
    let error = from_vars(&[(
        "APPROOV_PUBLIC_KEY_PEM",
        "/nonexistent/tower-approov/public.pem",
    )])
    .unwrap_err();
    assert!(matches!(error, ConfigError::Io { .. }));
    assert_eq!(
        error.to_string(),
        "APPROOV_PUBLIC_KEY_PEM is neither PEM text (starting with `-----BEGIN`) nor the path of \
         a readable file (entity not found): check the path and its permissions, or give the \
         whole PEM, BEGIN and END lines included"
    );
    assert!(
        std::error::Error::source(&error).is_some(),
        "the io::Error is the source"
    );
}

#[test]
fn an_unreadable_jwks_path_says_it_is_neither_json_nor_a_readable_file() {
    assert_eq!(
        message(&[("APPROOV_JWKS", "/nonexistent/tower-approov/jwks.json")]),
        "APPROOV_JWKS is neither JWKS JSON text (starting with `{`) nor the path of a readable \
         file (entity not found): check the path and its permissions, or give the JSON itself"
    );
}

#[test]
fn a_private_key_given_as_the_public_key_says_which_key_to_give() {
    assert_eq!(
        message(&[(
            "APPROOV_PUBLIC_KEY_PEM",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
        )]),
        "APPROOV_PUBLIC_KEY_PEM holds an unusable key: this is a private key: give the public \
         key (`approov keyset -kid K -getPEM`)"
    );
}

#[cfg(feature = "jwks-url")]
#[test]
fn a_jwks_url_error_names_the_variable_and_the_reason() {
    let error =
        from_vars(&[("APPROOV_JWKS_URL", "http://keys.example.com/jwks.json")]).unwrap_err();
    assert!(matches!(error, ConfigError::Jwks { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "APPROOV_JWKS_URL cannot be used: plain http is only accepted for loopback hosts \
         (localhost, 127.0.0.1, [::1]): use https, or allow http explicitly with \
         `with_jwks_allow_http(true)`"
    );
}

#[cfg(not(feature = "jwks-url"))]
#[test]
fn a_jwks_url_in_a_build_without_the_feature_names_the_variable_and_the_feature() {
    let error =
        from_vars(&[("APPROOV_JWKS_URL", "https://keys.example.com/jwks.json")]).unwrap_err();
    assert!(matches!(error, ConfigError::Jwks { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "APPROOV_JWKS_URL cannot be used: this build of tower-approov lacks the `jwks-url` feature"
    );
}

/// Only a build with neither backend can produce this error:
/// `cargo test --no-default-features --test config_messages`.
#[cfg(not(any(feature = "aws_lc_rs", feature = "rust_crypto")))]
#[test]
fn no_crypto_provider_names_the_features_to_enable() {
    let error = from_vars(&[SECRET]).unwrap_err();
    assert!(matches!(error, ConfigError::NoCryptoProvider), "{error:?}");
    assert_eq!(
        error.to_string(),
        "no crypto provider: enable the `aws_lc_rs` (default) or `rust_crypto` feature of \
         tower-approov"
    );
}

#[test]
fn a_bad_header_name_names_the_variable_and_gives_an_example() {
    assert_eq!(
        message(&[SECRET, ("APPROOV_TOKEN_HEADER", "Approov Token")]),
        "APPROOV_TOKEN_HEADER has an invalid value: set it to an HTTP header name such as \
         `Approov-Token`"
    );
}

#[test]
fn an_empty_secret_given_to_the_builder_names_the_builder_not_a_variable() {
    let error = ApproovConfig::builder().with_base64_secret("").unwrap_err();
    assert_eq!(
        error.to_string(),
        "ApproovConfigBuilder::with_base64_secret was given an empty value: pass a non-empty one"
    );
}

#[test]
fn an_invalid_secret_given_to_the_builder_says_what_to_pass() {
    let error = ApproovConfig::builder()
        .with_base64_secret("not*base64")
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "ApproovConfigBuilder::with_base64_secret was given an invalid value: pass standard \
         base64, as printed by \
         `approov secret -get base64`"
    );
}
