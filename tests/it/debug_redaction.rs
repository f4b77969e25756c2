//! `Debug` (and `Display`) of every public type is redacted: no secret, token, signature or
//! binding value, whatever the configuration holds.

use crate::security_support;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::{HeaderMap, HeaderValue};
use jsonwebtoken::{Algorithm, Header};
use security_support::{SECRET, mint_with};
use serde_json::json;
use tower_approov::{
    ApproovConfig, ApproovConfigBuilder, ApproovError, ApproovErrorKind, ApproovLayer, Mode,
};
use tower_layer::Layer;

const AUTH: &str = "Bearer binding-value-Hh29Sd";
const EXP: f64 = 4_708_683_205.891_912;

fn forbidden() -> Vec<String> {
    vec![
        String::from_utf8(SECRET.to_vec()).unwrap(),
        STANDARD.encode(SECRET),
        URL_SAFE_NO_PAD.encode(SECRET),
        SECRET.iter().map(|b| format!("{b:02x}")).collect(),
        format!("{:?}", &SECRET[..4])
            .trim_end_matches(']')
            .to_owned(),
        AUTH.to_owned(),
        tower_approov::pay_claim_for([AUTH.as_bytes()]),
    ]
}

fn assert_clean(what: &str, text: &str) {
    for value in forbidden() {
        assert!(!text.contains(&value), "{what} shows {value:?}: {text}");
    }
}

fn builder() -> ApproovConfigBuilder {
    ApproovConfig::builder()
        .with_base64_secret(&STANDARD.encode(SECRET))
        .unwrap()
        .with_secret(SECRET, Some("k2"))
        .unwrap()
        .with_token_prefix("Bearer")
        .with_token_binding(["Authorization"])
        .unwrap()
}

#[test]
fn config_builder_layer_and_service_debug_show_no_key_material() {
    let builder = builder();
    assert_clean("builder", &format!("{builder:?} {builder:#?}"));
    let config = builder.build().unwrap();
    assert_clean("config", &format!("{config:?} {config:#?}"));
    assert!(format!("{config:?}").contains("keys: 2"), "{config:?}");
    let layer = ApproovLayer::new(config);
    assert_clean("layer", &format!("{layer:?} {layer:#?}"));
    let service = layer.layer(());
    assert_clean("service", &format!("{service:?} {service:#?}"));
}

#[test]
fn claims_debug_shows_the_claim_names_and_exp_only() {
    let pay = tower_approov::pay_claim_for([AUTH.as_bytes()]);
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k2".into());
    let token = mint_with(
        &header,
        &json!({"exp": EXP, "did": "device-id-value", "pay": pay}),
        SECRET,
    );
    let service = ApproovLayer::new(builder().build().unwrap()).layer(());
    let mut headers = HeaderMap::new();
    headers.insert("approov-token", HeaderValue::from_str(&token).unwrap());
    headers.insert("authorization", HeaderValue::from_static(AUTH));
    let claims = service.check(&headers).unwrap();
    assert_eq!(
        format!("{claims:?}"),
        "ApproovClaims { exp: 4708683205.891912, claims: [\"did\", \"exp\", \"pay\"] }"
    );
}

#[test]
fn errors_show_only_the_reason_kind() {
    let error = ApproovError::from(ApproovErrorKind::PayClaimMismatch);
    assert_eq!(
        format!("{error:?}"),
        "ApproovError { kind: PayClaimMismatch }"
    );
    assert_eq!(error.to_string(), "approov check failed: pay_mismatch");
}

#[test]
fn a_config_error_never_shows_the_rejected_value() {
    let value = format!("{}!not-base64", STANDARD.encode(SECRET));
    let err = ApproovConfigBuilder::from_env_with(|name| {
        (name == "APPROOV_BASE64_SECRET").then(|| Ok(value.clone()))
    })
    .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("APPROOV_BASE64_SECRET"), "{text}");
    assert_clean("config error", &text);
    assert!(!text.contains("not-base64"), "{text}");
}

#[test]
fn account_keys_in_a_configuration_show_their_ids_and_never_their_bytes_in_debug() {
    let account_text = "account-key-text-Zq81";
    let signing = tower_approov::SigningConfig::new(tower_approov::MessageSigning::Require)
        .with_account_key_raw(&format!("kid001:{account_text}"))
        .unwrap()
        .with_account_key(b"account-bytes-Pw02", None)
        .unwrap()
        .with_account_key_id("kid002")
        .unwrap();
    let signing_debug = format!("{signing:?}");
    assert!(
        signing_debug.contains(
            "account: AccountKeys { keys: [AccountKey { mskid: Some(\"kid001\"), reading: Raw, \
             key: \"[redacted]\" }, AccountKey { mskid: None, reading: Bytes, key: \
             \"[redacted]\" }], key_id: Some(\"kid002\") }"
        ),
        "{signing_debug}"
    );
    let config = builder().with_signing_config(signing).build().unwrap();
    let layer = ApproovLayer::new(config.clone());
    for text in [
        signing_debug,
        format!("{config:?} {config:#?}"),
        format!("{layer:?} {layer:#?}"),
    ] {
        assert_clean("config with account keys", &text);
        for key in [account_text, "account-bytes-Pw02"] {
            assert!(!text.contains(key), "{text}");
        }
        assert!(text.contains("[redacted]"), "{text}");
    }
}

#[test]
fn mode_handle_debug_shows_the_mode() {
    let layer = ApproovLayer::new(builder().with_mode(Mode::Monitor).build().unwrap());
    assert_eq!(format!("{:?}", layer.mode_handle()), "ModeHandle(Monitor)");
}
