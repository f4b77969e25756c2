//! The verifier behind the real gateways: nginx (`auth_request`, and in front of the verifier's
//! reverse proxy), Envoy (ext_authz over gRPC and over HTTP), Traefik (`forwardAuth`), Caddy
//! (`forward_auth`, 2.11 and Debian's 2.6) and HAProxy (the Lua action of `approov.lua`), each
//! started from the configuration files the README shows (`approov-verifier/gateways/`) on free
//! loopback ports, in front of the real verifier binary and a real upstream that echoes what it
//! received, over real HTTP.
//!
//! Every refusal is asserted as the client sees it (`401`, `application/json`, `{}`), as the
//! verifier counted it (its reason, from `/metrics`), and as the upstream did not see it (its
//! hit counter, read after the gateway answered).
//!
//! A gateway that is not installed fails these tests with the name of the missing binary and
//! how `.ci/run` installs it. Run one gateway with `cargo test -p approov-verifier --test
//! gateways nginx::`; `-- --nocapture` shows each gateway's `curl` lines.

mod support;

use support::client::{PUBLIC_HOST, Request, send};
use support::gateway::{Kind, Stack};
use support::tokens::{self, DID, InstallKey};
use support::verifier::once;

const PUBLIC_ORIGIN: (&str, &str) = ("APPROOV_PUBLIC_ORIGIN", "https://api.example.com");
const REQUIRE_SIGNATURES: (&str, &str) = ("APPROOV_MESSAGE_SIGNING", "require");

/// A valid token: the upstream gets the token's `did` in `Approov-Device-Id`, and no token.
/// Also prints the two `curl` lines of the closing note: one let through, one refused.
async fn valid_token_reaches_the_upstream(kind: Kind) {
    let stack = Stack::start(kind, &[]).await;
    let token = tokens::valid();
    let before = stack.verifier.counts().await;
    let reply = send(
        stack.gateway.addr,
        Request::get("/v1/orders?page=2").token(&token),
    )
    .await;
    let seen = reply.upstream_saw();
    assert_eq!(seen.method, "GET");
    assert!(seen.uri.ends_with("/v1/orders?page=2"), "{seen:?}");
    assert_eq!(seen.header("approov-device-id"), [DID], "{seen:?}");
    assert_eq!(seen.header("approov-token"), Vec::<&str>::new(), "{seen:?}");
    assert_eq!(stack.upstream.hits(), 1);
    assert_eq!(
        stack.verifier.counted_since(&before).await,
        once("accepted", "none")
    );

    let addr = stack.gateway.addr;
    let host = ("Host", PUBLIC_HOST);
    let passed = support::curl(
        kind.name(),
        addr,
        "/v1/orders",
        &[host, ("Approov-Token", &token)],
    )
    .await;
    assert!(passed.starts_with("HTTP/1.1 200"), "{passed}");
    let refused = support::curl(
        kind.name(),
        addr,
        "/v1/orders",
        &[host, ("Approov-Token", &tokens::expired())],
    )
    .await;
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    assert!(refused.ends_with("\r\n\r\n{}"), "{refused}");
    assert_eq!(stack.upstream.hits(), 2);
}

/// Missing, expired, forged and `alg: none` tokens: `401 {}` from the gateway, each for its
/// reason, and the upstream never reached.
async fn bad_tokens_are_refused(kind: Kind) {
    let stack = Stack::start(kind, &[]).await;
    let cases = [
        ("no token", None, "missing_token"),
        ("expired", Some(tokens::expired()), "expired"),
        ("forged", Some(tokens::forged()), "invalid_signature"),
        (
            "alg none",
            Some(tokens::alg_none()),
            "algorithm_not_allowed",
        ),
    ];
    for (what, token, reason) in cases {
        let before = stack.verifier.counts().await;
        let mut request = Request::get("/v1/orders");
        if let Some(token) = &token {
            request = request.token(token);
        }
        let reply = send(stack.gateway.addr, request).await;
        reply.assert_refused();
        assert_eq!(
            stack.verifier.counted_since(&before).await,
            once("rejected", reason),
            "{what}"
        );
    }
    assert_eq!(
        stack.upstream.hits(),
        0,
        "a refused request reached the upstream"
    );
}

/// Token binding through the gateway: the `Authorization` the token's `pay` hashes passes,
/// another user's is refused (`pay_mismatch`).
async fn binding_is_checked(kind: Kind) {
    let stack = Stack::start(kind, &[("APPROOV_TOKEN_BINDING_HEADER", "Authorization")]).await;
    let alice = "Bearer alice-session-token";
    let token = tokens::bound_to(alice);

    let before = stack.verifier.counts().await;
    let reply = send(
        stack.gateway.addr,
        Request::get("/v1/me")
            .token(&token)
            .header("Authorization", alice),
    )
    .await;
    let seen = reply.upstream_saw();
    assert_eq!(seen.header("authorization"), [alice]);
    assert_eq!(seen.header("approov-device-id"), [DID]);
    assert_eq!(
        stack.verifier.counted_since(&before).await,
        once("accepted", "none")
    );

    let before = stack.verifier.counts().await;
    let reply = send(
        stack.gateway.addr,
        Request::get("/v1/me")
            .token(&token)
            .header("Authorization", "Bearer bob-session-token"),
    )
    .await;
    reply.assert_refused();
    assert_eq!(
        stack.verifier.counted_since(&before).await,
        once("rejected", "pay_mismatch")
    );
    assert_eq!(stack.upstream.hits(), 1);
}

/// A client's own `Approov-Device-Id` never reaches the upstream: removed when the token has
/// no `did`, replaced by the token's when it has one.
async fn forged_device_id_never_reaches_the_upstream(kind: Kind) {
    let stack = Stack::start(kind, &[]).await;
    let without_did = tokens::mint(&tokens::claims(None));
    let before = stack.verifier.counts().await;
    let reply = send(
        stack.gateway.addr,
        Request::get("/v1/orders")
            .token(&without_did)
            .header("Approov-Device-Id", "forged-device"),
    )
    .await;
    let seen = reply.upstream_saw();
    assert_eq!(
        seen.header("approov-device-id"),
        Vec::<&str>::new(),
        "the client's own device id reached the upstream: {seen:?}"
    );
    assert_eq!(
        stack.verifier.counted_since(&before).await,
        once("accepted", "none")
    );

    let before = stack.verifier.counts().await;
    let reply = send(
        stack.gateway.addr,
        Request::get("/v1/orders")
            .token(&tokens::valid())
            .header("Approov-Device-Id", "forged-device"),
    )
    .await;
    let seen = reply.upstream_saw();
    assert_eq!(seen.header("approov-device-id"), [DID], "{seen:?}");
    assert_eq!(
        stack.verifier.counted_since(&before).await,
        once("accepted", "none")
    );
    assert_eq!(stack.upstream.hits(), 2);
}

/// The components of a GET an SDK signs (APPROOV.md section 3).
const GET_COMPONENTS: &str = r#""@method" "@target-uri" "approov-token""#;

/// An SDK-signed GET (installation signature, base written out by hand, public origin
/// configured) passes; the same headers on another path are refused
/// (`message_signature_invalid`); the token with `ipk` unsigned is refused
/// (`signature_missing`).
async fn signed_request_is_checked(kind: Kind) {
    let stack = Stack::start(kind, &[REQUIRE_SIGNATURES, PUBLIC_ORIGIN]).await;
    let key = InstallKey::generate();
    let token = key.token();
    let params = tokens::sdk_params(GET_COMPONENTS);
    let base = format!(
        "\"@method\": GET\n\
         \"@target-uri\": https://api.example.com/v1/orders?page=2\n\
         \"approov-token\": {token}\n\
         \"@signature-params\": {params}"
    );
    let signed = Request::get("/v1/orders?page=2")
        .token(&token)
        .header("Signature-Input", &format!("install={params}"))
        .header("Signature", &format!("install=:{}:", key.sign(&base)));

    let before = stack.verifier.counts().await;
    let seen = send(stack.gateway.addr, signed.clone())
        .await
        .upstream_saw();
    assert_eq!(seen.header("approov-device-id"), [DID]);
    assert_eq!(
        stack.verifier.counted_since(&before).await,
        once("accepted", "none")
    );

    let before = stack.verifier.counts().await;
    send(
        stack.gateway.addr,
        signed.clone().with_target("/v1/accounts?page=2"),
    )
    .await
    .assert_refused();
    assert_eq!(
        stack.verifier.counted_since(&before).await,
        once("rejected", "message_signature_invalid")
    );

    let before = stack.verifier.counts().await;
    send(
        stack.gateway.addr,
        Request::get("/v1/orders?page=2").token(&token),
    )
    .await
    .assert_refused();
    assert_eq!(
        stack.verifier.counted_since(&before).await,
        once("rejected", "signature_missing")
    );
    assert_eq!(stack.upstream.hits(), 1);
}

/// A client's own forwarding headers (both families, naming the path its signature covers)
/// never make the verifier check another request than the one the gateway passes on: the
/// signature is checked against the real path and refused.
async fn forwarding_headers_from_the_client_are_not_believed(kind: Kind) {
    let stack = Stack::start(kind, &[REQUIRE_SIGNATURES, PUBLIC_ORIGIN]).await;
    let key = InstallKey::generate();
    let token = key.token();
    let params = tokens::sdk_params(GET_COMPONENTS);
    let base = format!(
        "\"@method\": GET\n\
         \"@target-uri\": https://api.example.com/v1/orders\n\
         \"approov-token\": {token}\n\
         \"@signature-params\": {params}"
    );
    let before = stack.verifier.counts().await;
    send(
        stack.gateway.addr,
        Request::get("/v1/accounts")
            .token(&token)
            .header("Signature-Input", &format!("install={params}"))
            .header("Signature", &format!("install=:{}:", key.sign(&base)))
            .header("X-Original-Method", "GET")
            .header("X-Original-URI", "/v1/orders")
            .header("X-Forwarded-Method", "GET")
            .header("X-Forwarded-Uri", "/v1/orders")
            .header("X-Forwarded-Host", "api.example.com")
            .header("X-Forwarded-Proto", "https"),
    )
    .await
    .assert_refused();
    assert_eq!(
        stack.verifier.counted_since(&before).await,
        once("rejected", "message_signature_invalid")
    );
    assert_eq!(stack.upstream.hits(), 0);
}

/// The components of a POST OkHttp signs: `content-length` and `content-type` present, then
/// `content-digest` last. iOS, unless asked for body digests, signs the same without
/// `content-digest`.
const POST_COMPONENTS: &str =
    r#""@method" "@target-uri" "approov-token" "content-length" "content-type""#;
const BODY: &[u8] = br#"{"amount":10}"#;
const TAMPERED: &[u8] = br#"{"amount":99}"#;

/// A POST of [`BODY`] signed as the SDKs sign it: covering its `content-digest` (OkHttp) or
/// not (iOS by default). Both cover `content-length`, which a gateway's auth request without
/// the body must still tell the verifier (nginx, Caddy and HAProxy send
/// `X-Original-Content-Length`).
fn signed_post(key: &InstallKey, digest: bool) -> Request {
    let token = key.token();
    let content_digest = tokens::content_digest(BODY);
    let (components, digest_line) = if digest {
        (
            format!("{POST_COMPONENTS} \"content-digest\""),
            format!("\"content-digest\": {content_digest}\n"),
        )
    } else {
        (POST_COMPONENTS.to_owned(), String::new())
    };
    let params = tokens::sdk_params(&components);
    let base = format!(
        "\"@method\": POST\n\
         \"@target-uri\": https://api.example.com/v1/orders\n\
         \"approov-token\": {token}\n\
         \"content-length\": {}\n\
         \"content-type\": application/json\n\
         {digest_line}\
         \"@signature-params\": {params}",
        BODY.len()
    );
    let mut request = Request::post("/v1/orders", BODY)
        .token(&token)
        .header("Content-Type", "application/json");
    if digest {
        request = request.header("Content-Digest", &content_digest);
    }
    request
        .header("Signature-Input", &format!("install={params}"))
        .header("Signature", &format!("install=:{}:", key.sign(&base)))
}

/// A signed POST that does not cover its digest passes (its `content-length` rebuilt right),
/// with its body intact at the upstream.
async fn undigested_signed_post_passes(stack: &Stack, key: &InstallKey) {
    let before = stack.verifier.counts().await;
    let seen = send(stack.gateway.addr, signed_post(key, false))
        .await
        .upstream_saw();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.body.as_bytes(), BODY);
    assert_eq!(seen.header("approov-device-id"), [DID]);
    assert_eq!(
        stack.verifier.counted_since(&before).await,
        once("accepted", "none")
    );
}

/// Where the body reaches the verifier: a signed POST passes with its body intact, covering
/// its digest or not; the digested one with another body of the same length is refused
/// (`content_digest_mismatch`).
async fn signed_body_is_checked(kind: Kind) {
    assert!(kind.forwards_body());
    let stack = Stack::start(kind, &[REQUIRE_SIGNATURES, PUBLIC_ORIGIN]).await;
    let key = InstallKey::generate();
    undigested_signed_post_passes(&stack, &key).await;

    let post = signed_post(&key, true);
    let before = stack.verifier.counts().await;
    let seen = send(stack.gateway.addr, post.clone()).await.upstream_saw();
    assert_eq!(seen.body.as_bytes(), BODY);
    assert_eq!(
        stack.verifier.counted_since(&before).await,
        once("accepted", "none")
    );

    let before = stack.verifier.counts().await;
    send(stack.gateway.addr, post.with_body(TAMPERED))
        .await
        .assert_refused();
    assert_eq!(
        stack.verifier.counted_since(&before).await,
        once("rejected", "content_digest_mismatch")
    );
    assert_eq!(stack.upstream.hits(), 2);
}

/// Where the body cannot reach the verifier (nginx `auth_request`, Caddy `forward_auth`,
/// HAProxy's Lua action): a signed POST that does not cover its digest passes; one covering
/// `content-digest` is refused (`body_unavailable`), never let through unchecked.
async fn signed_body_is_refused_unseen(kind: Kind) {
    assert!(!kind.forwards_body());
    let stack = Stack::start(kind, &[REQUIRE_SIGNATURES, PUBLIC_ORIGIN]).await;
    let key = InstallKey::generate();
    undigested_signed_post_passes(&stack, &key).await;

    let before = stack.verifier.counts().await;
    send(stack.gateway.addr, signed_post(&key, true))
        .await
        .assert_refused();
    assert_eq!(
        stack.verifier.counted_since(&before).await,
        once("rejected", "body_unavailable")
    );
    assert_eq!(stack.upstream.hits(), 1);
}

macro_rules! gateway_tests {
    ($module:ident, $kind:expr, $body:ident) => {
        mod $module {
            use super::*;

            const KIND: Kind = $kind;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_valid_token_reaches_the_upstream_with_its_device_id_and_without_the_token()
            {
                valid_token_reaches_the_upstream(KIND).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn missing_expired_forged_and_alg_none_tokens_get_401_json_and_never_reach_the_upstream()
             {
                bad_tokens_are_refused(KIND).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_bound_token_passes_with_its_authorization_and_is_refused_with_another_users()
            {
                binding_is_checked(KIND).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_device_id_sent_by_the_client_never_reaches_the_upstream() {
                forged_device_id_never_reaches_the_upstream(KIND).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn an_sdk_signed_request_passes_and_is_refused_on_another_path_or_unsigned() {
                signed_request_is_checked(KIND).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn forwarding_headers_sent_by_the_client_never_change_the_request_checked() {
                forwarding_headers_from_the_client_are_not_believed(KIND).await;
            }

            body_test!($body);
        }
    };
}

macro_rules! body_test {
    (checked) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_signed_post_passes_intact_and_one_covering_its_digest_is_refused_once_tampered()
        {
            signed_body_is_checked(KIND).await;
        }
    };
    (unavailable) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_signed_post_passes_but_one_covering_its_digest_is_refused_as_body_unavailable() {
            signed_body_is_refused_unseen(KIND).await;
        }
    };
}

gateway_tests!(nginx, Kind::Nginx, unavailable);
gateway_tests!(nginx_proxy, Kind::NginxProxy, checked);
gateway_tests!(envoy_grpc, Kind::EnvoyGrpc, checked);
gateway_tests!(envoy_http, Kind::EnvoyHttp, checked);
gateway_tests!(traefik, Kind::Traefik, checked);
gateway_tests!(caddy, Kind::Caddy, unavailable);
gateway_tests!(haproxy, Kind::Haproxy, unavailable);

/// Debian's Caddy 2.6 (before 2.10 it let a client's own copy of a copied header through when
/// the auth answer lacked it): the README's Caddyfile removes it there too.
mod caddy_2_6 {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_device_id_sent_by_the_client_never_reaches_the_upstream() {
        forged_device_id_never_reaches_the_upstream(Kind::Caddy26).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_valid_token_reaches_the_upstream_and_bad_tokens_get_401_json() {
        valid_token_reaches_the_upstream(Kind::Caddy26).await;
        bad_tokens_are_refused(Kind::Caddy26).await;
    }
}

/// HAProxy's Lua action writes its auth request itself, because `core.httpclient()` adds
/// `Accept: */*` and `User-Agent: HAProxy` to a request without them: a signature covering
/// both passes with them, and without them is refused, never checked against values the
/// upstream does not get.
mod haproxy_auth_request {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_header_the_client_did_not_send_is_not_in_the_request_checked() {
        let stack = Stack::start(Kind::Haproxy, &[REQUIRE_SIGNATURES, PUBLIC_ORIGIN]).await;
        let key = InstallKey::generate();
        let token = key.token();
        let params =
            tokens::sdk_params(r#""@method" "@target-uri" "approov-token" "accept" "user-agent""#);
        let base = format!(
            "\"@method\": GET\n\
             \"@target-uri\": https://api.example.com/v1/orders\n\
             \"approov-token\": {token}\n\
             \"accept\": */*\n\
             \"user-agent\": HAProxy\n\
             \"@signature-params\": {params}"
        );
        let signed = Request::get("/v1/orders")
            .token(&token)
            .header("Signature-Input", &format!("install={params}"))
            .header("Signature", &format!("install=:{}:", key.sign(&base)));

        let before = stack.verifier.counts().await;
        let seen = send(
            stack.gateway.addr,
            signed
                .clone()
                .header("Accept", "*/*")
                .header("User-Agent", "HAProxy"),
        )
        .await
        .upstream_saw();
        assert_eq!(seen.header("approov-device-id"), [DID]);
        assert_eq!(
            stack.verifier.counted_since(&before).await,
            once("accepted", "none")
        );

        let before = stack.verifier.counts().await;
        send(stack.gateway.addr, signed).await.assert_refused();
        assert_eq!(
            stack.verifier.counted_since(&before).await,
            once("rejected", "message_signature_invalid")
        );
        assert_eq!(stack.upstream.hits(), 1);
    }
}

/// The README shows every configuration file these tests start a gateway with, as it is.
#[test]
fn the_readme_shows_every_gateway_configuration_file_as_the_tests_use_it() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("the README");
    let dir = support::gateway::gateways_dir();
    let mut shown = 0;
    for gateway in std::fs::read_dir(&dir).expect("gateways/") {
        let gateway = gateway.expect("an entry").path();
        for file in std::fs::read_dir(&gateway).expect("a gateway's directory") {
            let file = file.expect("an entry").path();
            let relative = file.strip_prefix(&dir).expect("under gateways/");
            let text = std::fs::read_to_string(&file).expect("a configuration file");
            let block = format!(
                "<code>approov-verifier/gateways/{}</code></summary>\n\n```",
                relative.display()
            );
            let at = readme
                .find(&block)
                .unwrap_or_else(|| panic!("the README does not show {}", relative.display()));
            let after = &readme[at + block.len()..];
            let body = after.split_once('\n').expect("a code block").1;
            assert!(
                body.starts_with(&format!("{}\n```\n", text.trim_end())),
                "the README's {} differs from the file",
                relative.display()
            );
            shown += 1;
        }
    }
    assert_eq!(shown, 9, "every configuration file, and no other");
}
