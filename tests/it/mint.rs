//! `examples/mint.rs`: the command line parsed as a user would type it, the token it prints
//! checked by the real layer.

#[allow(dead_code)]
#[path = "../../examples/mint.rs"]
mod example;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Parser as _;
use tower_approov::{ApproovConfig, ApproovErrorKind, ApproovLayer};
use tower_layer::Layer as _;

fn secret_text() -> String {
    let mut secret = [0u8; 64];
    aws_lc_rs::rand::fill(&mut secret).unwrap();
    STANDARD.encode(secret)
}

fn args(line: &[&str]) -> example::Args {
    example::Args::try_parse_from(std::iter::once("mint").chain(line.iter().copied())).unwrap()
}

/// Runs the layer's check on a request carrying `token` (and an `Authorization` header).
fn check(
    config: ApproovConfig,
    token: &str,
    authorization: Option<&str>,
) -> Result<tower_approov::ApproovClaims, ApproovErrorKind> {
    let service = ApproovLayer::new(config).layer(());
    let mut headers = http::HeaderMap::new();
    headers.insert("approov-token", token.parse().unwrap());
    if let Some(value) = authorization {
        headers.insert("authorization", value.parse().unwrap());
    }
    service.check(&headers).map_err(|e| e.kind())
}

fn config(secret: &str) -> ApproovConfig {
    ApproovConfig::builder()
        .with_base64_secret(secret)
        .unwrap()
        .build()
        .unwrap()
}

#[test]
fn the_minted_token_passes_the_layer_with_the_same_secret() {
    let secret = secret_text();
    let now = crate::common::now;
    let before = now();
    let token = example::mint(&args(&["--secret", &secret, "--did", "cli-device"])).unwrap();
    let after = now();

    let claims = check(config(&secret), &token, None).unwrap();

    assert_eq!(claims.did(), Some("cli-device"));
    // `exp` is 300 s after the moment of minting, which lies between `before` and `after`.
    assert!(
        (before + 300.0..=after + 300.0).contains(&claims.exp()),
        "the default lifetime is 300 s: exp {} minted between {before} and {after}",
        claims.exp()
    );
}

#[test]
fn an_expired_mint_is_rejected_as_expired() {
    let secret = secret_text();
    let token = example::mint(&args(&["--secret", &secret, "--expired"])).unwrap();

    assert_eq!(
        check(config(&secret), &token, None).unwrap_err(),
        ApproovErrorKind::Expired
    );
}

#[test]
fn a_bound_mint_passes_the_binding_check_with_that_header_value() {
    let secret = secret_text();
    let token = example::mint(&args(&["--secret", &secret, "--bind", "Bearer abc"])).unwrap();
    let config = ApproovConfig::builder()
        .with_base64_secret(&secret)
        .unwrap()
        .with_token_binding(["Authorization"])
        .unwrap()
        .build()
        .unwrap();

    assert!(check(config.clone(), &token, Some("Bearer abc")).is_ok());
    assert_eq!(
        check(config, &token, Some("Bearer xyz")).unwrap_err(),
        ApproovErrorKind::PayClaimMismatch
    );
}

#[test]
fn a_kid_secret_list_mints_with_the_first_entry_and_its_kid() {
    let (first, second) = (secret_text(), secret_text());
    let list = format!("k1:{first},k2:{second}");
    let token = example::mint(&args(&["--secret", &list])).unwrap();
    let config = ApproovConfig::builder()
        .with_secret(&STANDARD.decode(&first).unwrap(), Some("k1"))
        .unwrap()
        .with_secret(&STANDARD.decode(&second).unwrap(), Some("k2"))
        .unwrap()
        .build()
        .unwrap();

    assert!(check(config, &token, None).is_ok());
}

#[test]
fn the_curl_line_carries_the_token_and_the_bound_header_quoted_for_the_shell() {
    let args = args(&[
        "--secret",
        &secret_text(),
        "--bind",
        "Bearer it's",
        "--curl",
        "http://127.0.0.1:8002/",
    ]);

    let line = example::curl_line(&args, "t.o.k", "http://127.0.0.1:8002/");

    assert_eq!(
        line,
        r"curl -i -H 'Approov-Token: t.o.k' 'http://127.0.0.1:8002/' -H 'Authorization: Bearer it'\''s'"
    );
}

#[test]
fn an_asymmetric_algorithm_without_a_key_file_is_refused_with_a_hint() {
    let error = example::mint(&args(&["--alg", "ES256", "--secret", &secret_text()])).unwrap_err();
    assert_eq!(error, "--alg ES256 needs --key-pem FILE");
}

#[test]
fn an_account_key_mint_carries_its_mskid_and_its_curl_line_is_signed_as_the_layer_checks_it() {
    let secret = secret_text();
    let key = "FTkUk12gJ-1lo7_VomzwDNr5vzhPVWmQe3Qz_TGl9nh30ob_VW3aVqfkqQMEJVZK";
    let url = "https://api.example.com/v1/orders?page=1";
    let args = args(&["--secret", &secret, "--account-key", key, "--curl", url]);
    let token = example::mint(&args).unwrap();
    let signed = example::account_signature(&args, &token, url).unwrap();
    let line = example::curl_line_with(&args, &token, url, &signed);
    assert!(line.contains("-H 'signature-input: account=("), "{line}");
    assert!(line.contains("-H 'signature: account=:"), "{line}");

    // The layer, configured with the same key as its text, takes the request.
    let config = ApproovConfig::builder()
        .with_base64_secret(&secret)
        .unwrap()
        .with_message_signing(tower_approov::MessageSigning::Require)
        .with_account_key_raw(key)
        .unwrap()
        .with_account_key_id("FTkUk1")
        .unwrap()
        .build()
        .unwrap();
    let mut headers = vec![
        ("host".to_owned(), "api.example.com".to_owned()),
        ("approov-token".to_owned(), token.clone()),
    ];
    headers.extend(signed.clone());
    let check = |headers: &[(String, String)], target: &str| {
        let request = tower_approov::ApproovRequest::new("GET", target, headers);
        match config.check(&request) {
            tower_approov::Verdict::Accept(claims) => Ok(claims.mskid().map(str::to_owned)),
            tower_approov::Verdict::Reject(error) => Err(error.kind()),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        check(&headers, "/v1/orders?page=1"),
        Ok(Some("FTkUk1".to_owned()))
    );
    assert_eq!(
        check(&headers, "/v1/orders?page=2"),
        Err(ApproovErrorKind::AccountSignatureInvalid)
    );

    // --mskid names another key: the token says so, and the layer refuses it.
    let args = args_with_mskid(&secret, key, url);
    let token = example::mint(&args).unwrap();
    let mut headers = vec![
        ("host".to_owned(), "api.example.com".to_owned()),
        ("approov-token".to_owned(), token.clone()),
    ];
    headers.extend(example::account_signature(&args, &token, url).unwrap());
    assert_eq!(
        check(&headers, "/v1/orders?page=1"),
        Err(ApproovErrorKind::AccountKeyIdMismatch)
    );
}

fn args_with_mskid(secret: &str, key: &str, url: &str) -> example::Args {
    args(&[
        "--secret",
        secret,
        "--account-key",
        key,
        "--mskid",
        "other1",
        "--curl",
        url,
    ])
}
