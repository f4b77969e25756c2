//! JWKS fetches over real TLS and through proxies (issue 13): a local TLS JWKS server whose
//! CA and certificate are made in the test, a recording proxy, and the logs of failed fetches.
#![cfg(all(feature = "jwks-url", feature = "axum"))]

use crate::jwks_support;
use crate::keys_support;

use std::collections::HashMap;

use jsonwebtoken::Algorithm;
use jwks_support::*;
use keys_support::*;
use tower_approov::{ApproovConfigBuilder, ApproovErrorKind};

fn jwks_a() -> Vec<u8> {
    jwks(&[jwk(Algorithm::ES256, &keys().p256, Some("a"), true)])
}

fn token_a() -> String {
    token(Algorithm::ES256, &keys().p256, Some("a"))
}

fn jwks_b() -> Vec<u8> {
    jwks(&[jwk(Algorithm::ES256, &keys().p256b, Some("b"), true)])
}

fn token_b() -> String {
    token(Algorithm::ES256, &keys().p256b, Some("b"))
}

fn from_vars(vars: &[(&str, String)]) -> ApproovConfigBuilder {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    ApproovConfigBuilder::from_env_with(|name| vars.get(name).cloned().map(Ok)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jwks_url_over_https_verifies_once_its_ca_is_trusted_from_the_builder() {
    let pki = Pki::new();
    let server = JwksServer::tls(Answer::jwks(jwks_a()), &pki);
    let config = builder()
        .with_jwks_url(&server.url())
        .with_jwks_root_certificates(pki.ca_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(send(&app(config), &token_a()).await, OK);
    assert_eq!(server.hits(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jwks_url_over_https_without_its_ca_is_keys_unavailable_with_a_clear_warning() {
    capture_logs();
    let pki = Pki::new();
    let server = JwksServer::tls(Answer::jwks(jwks_a()), &pki);
    let config = builder().with_jwks_url(&server.url()).build().unwrap();
    assert_eq!(
        send(&app(config), &token_a()).await,
        rejected(ApproovErrorKind::KeysUnavailable)
    );
    // The handshake failed: no request reached the server.
    assert_eq!(server.hits(), 0);
    let host = server.addr.to_string();
    let logs = logs();
    let warning = logs
        .lines()
        .find(|l| l.contains("WARN") && l.contains(&host) && l.contains("JWKS fetch not used"))
        .unwrap_or_else(|| panic!("no fetch warning for {host} in:\n{logs}"));
    assert!(
        warning.contains("invalid peer certificate") && warning.contains("UnknownIssuer"),
        "{warning}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_https_jwks_url_that_redirects_even_to_https_is_not_followed_and_the_warning_says_so() {
    capture_logs();
    let pki = Pki::new();
    // Where an open redirect at the JWKS origin would send the fetch: another https host,
    // trusted like the first one, serving someone else's keys.
    let elsewhere = JwksServer::tls(Answer::jwks(jwks_b()), &pki);
    let redirecting = JwksServer::tls(Answer::redirect(&elsewhere.url()), &pki);
    let config = builder()
        .with_jwks_url(&redirecting.url())
        .with_jwks_root_certificates(pki.ca_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let host = redirecting.addr.to_string();
    let warning = wait_for_log(|l| {
        l.contains("WARN") && l.contains(&host) && l.contains("JWKS fetch not used")
    })
    .await;
    assert!(
        warning.contains("reason=\"the server answered with a redirect, which is not followed\"")
            && warning.contains(": 302"),
        "{warning}"
    );
    assert_eq!(
        send(&app(config), &token_b()).await,
        rejected(ApproovErrorKind::KeysUnavailable)
    );
    // The fetch is over (it was logged): the redirect's target was never asked.
    assert_eq!(redirecting.hits(), 1);
    assert_eq!(elsewhere.hits(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ca_file_named_by_approov_jwks_ca_file_is_trusted_for_the_jwks_url() {
    let pki = Pki::new();
    let server = JwksServer::tls(Answer::jwks(jwks_a()), &pki);
    let path = std::env::temp_dir().join(format!("approov-ca-{}.pem", server.addr.port()));
    std::fs::write(&path, &pki.ca_pem).unwrap();
    let config = from_vars(&[
        ("APPROOV_JWKS_URL", server.url()),
        ("APPROOV_JWKS_CA_FILE", path.display().to_string()),
    ])
    .with_token_cache_size(0)
    .build()
    .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(send(&app(config), &token_a()).await, OK);
}

#[test]
fn a_ca_file_that_holds_no_certificate_is_a_config_error() {
    let path = std::env::temp_dir().join(format!("approov-ca-empty-{}.pem", std::process::id()));
    std::fs::write(&path, "not a certificate\n").unwrap();
    let vars: HashMap<&str, String> = [
        (
            "APPROOV_JWKS_URL",
            "https://jwks.example.test/jwks.json".to_owned(),
        ),
        ("APPROOV_JWKS_CA_FILE", path.display().to_string()),
    ]
    .into();
    let result = ApproovConfigBuilder::from_env_with(|name| vars.get(name).cloned().map(Ok));
    std::fs::remove_file(&path).unwrap();
    match result {
        Err(tower_approov::ConfigError::Invalid { variable, .. }) => {
            assert_eq!(variable, "APPROOV_JWKS_CA_FILE");
        }
        other => panic!("expected ConfigError::Invalid, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configured_proxy_carries_a_remote_jwks_fetch_through_connect() {
    let pki = Pki::new();
    let server = JwksServer::tls(Answer::jwks(jwks_a()), &pki);
    let proxy = RecordingProxy::start(Some(server.addr));
    // Not a loopback URL, so the proxy is used; it tunnels to the local TLS server, whose
    // certificate names jwks.example.test.
    let config = builder()
        .with_jwks_url("https://jwks.example.test/jwks.json")
        .with_jwks_proxy(&proxy.url())
        .with_jwks_root_certificates(pki.ca_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(send(&app(config), &token_a()).await, OK);
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].starts_with("CONNECT jwks.example.test:443 "),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_jwks_proxy_can_be_configured_with_approov_jwks_proxy() {
    let pki = Pki::new();
    let server = JwksServer::tls(Answer::jwks(jwks_a()), &pki);
    let proxy = RecordingProxy::start(Some(server.addr));
    let path = std::env::temp_dir().join(format!("approov-ca-{}.pem", server.addr.port()));
    std::fs::write(&path, &pki.ca_pem).unwrap();
    let config = from_vars(&[
        (
            "APPROOV_JWKS_URL",
            "https://jwks.example.test/jwks.json".to_owned(),
        ),
        ("APPROOV_JWKS_PROXY", proxy.url()),
        ("APPROOV_JWKS_CA_FILE", path.display().to_string()),
    ])
    .with_token_cache_size(0)
    .build()
    .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(send(&app(config), &token_a()).await, OK);
    assert_eq!(proxy.seen().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configured_proxy_is_never_used_for_a_loopback_jwks_url() {
    let server = JwksServer::plain(Answer::jwks(jwks_a()));
    let proxy = RecordingProxy::start(None);
    let config = builder()
        .with_jwks_url(&server.url())
        .with_jwks_proxy(&proxy.url())
        .build()
        .unwrap();
    assert_eq!(send(&app(config), &token_a()).await, OK);
    assert_eq!(proxy.seen(), Vec::<String>::new());
    assert_eq!(server.hits(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn jwks_fetch_error_logs_never_quote_a_url_with_credentials_even_from_a_redirect() {
    capture_logs();
    let pki = Pki::new();
    let secrets = [
        "url-pass-Zr52",
        "redirect-pass-Qx81",
        "closed-pass-Lm33",
        "proxied-pass-Tt09",
        "query-token-Hh47",
    ];
    // An https JWKS that redirects to plain http with credentials in the Location (never
    // followed, and never quoted).
    let redirecting = JwksServer::tls(
        Answer::redirect("http://redirect-user:redirect-pass-Qx81@127.0.0.1:9/jwks.json"),
        &pki,
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let refusing_proxy = RecordingProxy::start(None);
    let cases = [
        (
            format!(
                "https://url-user:url-pass-Zr52@{}/jwks.json?key=query-token-Hh47",
                redirecting.addr
            ),
            None,
        ),
        (
            format!("https://user:closed-pass-Lm33@{closed}/jwks.json"),
            None,
        ),
        (
            "https://user:proxied-pass-Tt09@jwks.example.test/jwks.json".to_owned(),
            Some(refusing_proxy.url()),
        ),
    ];
    for (url, proxy) in cases {
        let mut b = builder()
            .with_jwks_url(&url)
            .with_jwks_root_certificates(pki.ca_pem.as_bytes())
            .unwrap();
        if let Some(proxy) = proxy {
            b = b.with_jwks_proxy(&proxy);
        }
        assert_eq!(
            send(&app(b.build().unwrap()), &token_a()).await,
            rejected(ApproovErrorKind::KeysUnavailable),
            "{url}"
        );
    }
    // The redirect was answered (and not followed), and the proxy was asked.
    assert!(redirecting.hits() >= 1);
    assert!(!refusing_proxy.seen().is_empty());
    let logs = logs();
    let host = redirecting.addr.to_string();
    assert!(
        logs.lines().any(|l| l.contains(&host)
            && l.contains("the server answered with a redirect, which is not followed")),
        "{logs}"
    );
    for secret in secrets {
        assert!(!logs.contains(secret), "the logs quote {secret}:\n{logs}");
    }
}
