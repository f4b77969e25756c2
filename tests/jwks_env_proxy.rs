//! A JWKS fetch never goes through a proxy named in the environment (issue 13). This binary
//! holds one test, as it sets the proxy variables for the whole process.
#![cfg(all(feature = "jwks-url", feature = "axum"))]

mod jwks_support;
mod keys_support;
mod log_capture;

use jsonwebtoken::Algorithm;
use jwks_support::*;
use keys_support::*;
use tower_approov::ApproovErrorKind;

#[tokio::test(flavor = "multi_thread")]
async fn jwks_fetches_never_go_through_a_proxy_named_in_the_environment() {
    let proxy = RecordingProxy::start(None);
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        // SAFETY: this binary has this one test, and nothing else of it reads or writes the
        // environment concurrently (the proxy thread only accepts connections).
        unsafe { std::env::set_var(name, proxy.url()) };
    }
    // SAFETY: as above.
    unsafe { std::env::remove_var("NO_PROXY") };
    unsafe { std::env::remove_var("no_proxy") };

    // A loopback JWKS URL: fetched directly, in clear text on the machine only.
    let server = JwksServer::plain(Answer::jwks(jwks(&[jwk(
        Algorithm::ES256,
        &keys().p256,
        Some("a"),
        true,
    )])));
    let config = builder().with_jwks_url(&server.url()).build().unwrap();
    let token = token(Algorithm::ES256, &keys().p256, Some("a"));
    assert_eq!(send(&app(config), &token).await, OK);
    assert_eq!(server.hits(), 1);

    // Another URL, with no proxy configured: no proxy either (the name does not resolve, so
    // the fetch fails; through the environment's proxy it would have been sent there).
    let config = builder()
        .with_jwks_url("https://jwks.example.test/jwks.json")
        .build()
        .unwrap();
    assert_eq!(
        send(&app(config), &token).await,
        rejected(ApproovErrorKind::KeysUnavailable)
    );
    assert_eq!(proxy.seen(), Vec::<String>::new());
}
