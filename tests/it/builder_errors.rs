//! A `ConfigError` from a builder method names that method, as an error from the environment
//! names the variable: the one place to look when a start-up fails.

use std::time::Duration;

use crate::common::SECRET;
use tower_approov::{ApproovConfig, ApproovConfigBuilder, ConfigError};

fn builder() -> ApproovConfigBuilder {
    ApproovConfig::builder().with_secret(SECRET, None).unwrap()
}

/// The setting an error names, for the variants that name one.
fn setting(error: &ConfigError) -> &'static str {
    match error {
        ConfigError::Empty { variable }
        | ConfigError::Invalid { variable, .. }
        | ConfigError::Key { variable, .. }
        | ConfigError::Io { variable, .. }
        | ConfigError::Jwks { variable, .. } => variable,
        other => panic!("an error that names no setting: {other:?}"),
    }
}

#[test]
fn an_empty_base64_secret_names_with_base64_secret() {
    let error = ApproovConfig::builder()
        .with_base64_secret(" ")
        .unwrap_err();
    assert!(matches!(error, ConfigError::Empty { .. }));
    assert_eq!(setting(&error), "ApproovConfigBuilder::with_base64_secret");
}

#[test]
fn an_invalid_base64url_secret_names_with_base64url_secret() {
    let error = ApproovConfig::builder()
        .with_base64url_secret("not*base64url")
        .unwrap_err();
    assert!(matches!(error, ConfigError::Invalid { .. }));
    assert_eq!(
        setting(&error),
        "ApproovConfigBuilder::with_base64url_secret"
    );
}

#[test]
fn an_empty_raw_secret_names_with_secret() {
    let error = ApproovConfig::builder().with_secret(b"", None).unwrap_err();
    assert!(matches!(error, ConfigError::Empty { .. }));
    assert_eq!(setting(&error), "ApproovConfigBuilder::with_secret");
}

#[test]
fn a_pem_that_is_no_public_key_names_with_public_key_pem() {
    let error = ApproovConfig::builder()
        .with_public_key_pem(
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            None,
        )
        .unwrap_err();
    assert!(matches!(error, ConfigError::Key { .. }));
    assert_eq!(setting(&error), "ApproovConfigBuilder::with_public_key_pem");
}

#[test]
fn a_document_that_is_no_jwks_names_with_jwks() {
    let error = ApproovConfig::builder()
        .with_jwks(br#"{"not":"a jwks"}"#)
        .unwrap_err();
    assert!(matches!(error, ConfigError::Key { .. }));
    assert_eq!(setting(&error), "ApproovConfigBuilder::with_jwks");
}

#[test]
fn an_invalid_token_header_names_with_token_header() {
    let error = builder().with_token_header("Approov Token").unwrap_err();
    assert!(matches!(error, ConfigError::Invalid { .. }));
    assert_eq!(setting(&error), "ApproovConfigBuilder::with_token_header");
}

#[test]
fn an_empty_binding_header_list_names_with_token_binding() {
    let error = builder()
        .with_token_binding(Vec::<String>::new())
        .unwrap_err();
    assert!(matches!(error, ConfigError::Empty { .. }));
    assert_eq!(setting(&error), "ApproovConfigBuilder::with_token_binding");
}

#[test]
fn a_leeway_over_an_hour_names_with_leeway() {
    let error = builder()
        .with_leeway(Duration::from_secs(3601))
        .build()
        .unwrap_err();
    assert!(matches!(error, ConfigError::Invalid { .. }));
    assert_eq!(setting(&error), "ApproovConfigBuilder::with_leeway");
}

#[test]
fn a_public_origin_with_a_path_given_to_the_builder_names_with_public_origin() {
    let error = builder()
        .with_public_origin("https://api.example.com/v1")
        .unwrap_err();
    assert!(matches!(error, ConfigError::Invalid { .. }));
    assert_eq!(setting(&error), "ApproovConfigBuilder::with_public_origin");
    assert!(
        error
            .to_string()
            .starts_with("ApproovConfigBuilder::with_public_origin was given an invalid value"),
        "{error}"
    );
}

#[cfg(feature = "jwks-url")]
#[test]
fn a_jwks_url_that_is_not_https_names_with_jwks_url() {
    let error = ApproovConfig::builder()
        .with_jwks_url("http://keys.example.com/jwks.json")
        .build()
        .unwrap_err();
    assert_eq!(setting(&error), "ApproovConfigBuilder::with_jwks_url");
}
