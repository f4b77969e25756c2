//! Token binding (the `pay` claim, APPROOV.md section 2) through a real axum `Router`, and a
//! few cases over real HTTP on loopback where what the server receives matters.

use crate::common;

use axum::body::Body;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use common::*;
use http::StatusCode;
use serde_json::{Value, json};
// The cache is looked into through `test_util`: the tests that do need that feature.
#[cfg(feature = "test-util")]
use tower_approov::test_util::token_cache_len;
use tower_approov::{
    ApproovClaims, ApproovError, ApproovErrorKind as Kind, ApproovLayer, ConfigError, Mode,
    pay_claim_for,
};

/// A layer that binds tokens to `Authorization`.
fn bound_layer() -> ApproovLayer {
    layer_from(builder().with_token_binding(["Authorization"]).unwrap())
}

/// A valid token whose `pay` is the hash of `values`, computed by the crate's own helper.
fn token_bound_to(values: &[&[u8]]) -> String {
    token_with_pay(json!(pay_claim_for(values.iter().copied())))
}

/// A valid token with this `pay` claim.
fn token_with_pay(pay: Value) -> String {
    mint(&claims_with(json!({ "pay": pay })))
}

async fn get_bound(layer: ApproovLayer, token: &str, authorization: &[u8]) -> Outcome {
    get_root(
        layer,
        &[
            ("approov-token", token.as_bytes()),
            ("authorization", authorization),
        ],
    )
    .await
}

// --- The hash ----------------------------------------------------------------------------

#[test]
fn pay_claim_for_matches_openssl_for_a_bearer_value() {
    // printf 'Bearer abc' | openssl dgst -sha256 -binary | base64
    assert_eq!(
        pay_claim_for([b"Bearer abc".as_slice()]),
        "w1Xc6WwWEogNEZQP/dkBTThsJT4MNlKmzQanIm970rY="
    );
}

#[test]
fn pay_claim_for_hashes_raw_bytes_that_are_not_utf8() {
    // printf 'Bearer \xff\xfe' | openssl dgst -sha256 -binary | base64
    assert_eq!(
        pay_claim_for([b"Bearer \xff\xfe".as_slice()]),
        "p+xB4mr626xchMMMf7z2q8Zx8n0o9ePI0mlfZqNepxU="
    );
}

#[test]
fn pay_claim_for_several_values_hashes_their_concatenation_without_separator() {
    // printf 'ab' | openssl dgst -sha256 -binary | base64
    assert_eq!(
        pay_claim_for([b"a".as_slice(), b"b".as_slice()]),
        "+44g/C5MPySMYMOb1lLzwTRymLuXe4tNWQO4UFViBgM="
    );
}

#[tokio::test]
async fn a_token_whose_pay_is_the_openssl_hash_of_the_authorization_header_is_accepted() {
    let token = token_with_pay(json!("w1Xc6WwWEogNEZQP/dkBTThsJT4MNlKmzQanIm970rY="));
    get_bound(bound_layer(), &token, b"Bearer abc")
        .await
        .assert_accepted();
}

// --- One binding header ------------------------------------------------------------------

#[tokio::test]
async fn a_token_bound_to_another_authorization_value_is_rejected_as_pay_mismatch() {
    let token = token_bound_to(&[b"Bearer alice"]);
    get_bound(bound_layer(), &token, b"Bearer mallory")
        .await
        .assert_rejected(Kind::PayClaimMismatch);
}

#[tokio::test]
async fn the_bearer_prefix_is_part_of_the_hashed_value() {
    let token = token_bound_to(&[b"abc"]);
    get_bound(bound_layer(), &token, b"Bearer abc")
        .await
        .assert_rejected(Kind::PayClaimMismatch);
}

#[tokio::test]
async fn a_single_binding_value_is_hashed_with_its_surrounding_spaces_as_received() {
    // Through `oneshot` the header value reaches the layer with its spaces: they are hashed.
    let token = token_bound_to(&[b"  Bearer abc  "]);
    get_bound(bound_layer(), &token, b"  Bearer abc  ")
        .await
        .assert_accepted();
}

#[tokio::test]
async fn a_single_binding_value_is_not_trimmed_before_hashing() {
    let token = token_bound_to(&[b"Bearer abc"]);
    get_bound(bound_layer(), &token, b"  Bearer abc  ")
        .await
        .assert_rejected(Kind::PayClaimMismatch);
}

#[tokio::test]
async fn a_non_utf8_binding_value_is_hashed_as_raw_bytes() {
    let token = token_with_pay(json!("p+xB4mr626xchMMMf7z2q8Zx8n0o9ePI0mlfZqNepxU="));
    get_bound(bound_layer(), &token, b"Bearer \xff\xfe")
        .await
        .assert_accepted();
}

#[tokio::test]
async fn a_non_utf8_binding_value_does_not_match_its_lossy_utf8_text() {
    let lossy = String::from_utf8_lossy(b"Bearer \xff\xfe").into_owned();
    let token = token_bound_to(&[lossy.as_bytes()]);
    get_bound(bound_layer(), &token, b"Bearer \xff\xfe")
        .await
        .assert_rejected(Kind::PayClaimMismatch);
}

#[tokio::test]
async fn a_missing_binding_header_is_rejected_as_binding_header_missing() {
    let token = token_bound_to(&[b"Bearer abc"]);
    get_with_token(bound_layer(), &token)
        .await
        .assert_rejected(Kind::BindingHeaderMissing);
}

#[tokio::test]
async fn a_repeated_binding_header_is_rejected_even_when_both_values_match() {
    let token = token_bound_to(&[b"Bearer abc"]);
    get_root(
        bound_layer(),
        &[
            ("approov-token", token.as_bytes()),
            ("authorization", b"Bearer abc"),
            ("authorization", b"Bearer abc"),
        ],
    )
    .await
    .assert_rejected(Kind::BindingHeaderRepeated);
}

#[tokio::test]
async fn an_empty_binding_header_is_bound_as_an_empty_value() {
    // printf '' | openssl dgst -sha256 -binary | base64
    let token = token_with_pay(json!("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="));
    get_bound(bound_layer(), &token, b"")
        .await
        .assert_accepted();
}

#[tokio::test]
async fn the_binding_header_name_is_configured_without_regard_to_case() {
    let layer = layer_from(builder().with_token_binding(["AUTHORIZATION"]).unwrap());
    let token = token_bound_to(&[b"Bearer abc"]);
    get_bound(layer, &token, b"Bearer abc")
        .await
        .assert_accepted();
}

#[cfg(feature = "test-util")]
#[tokio::test]
async fn the_binding_is_checked_on_every_request_even_for_a_cached_token() {
    let layer = bound_layer();
    let token = token_bound_to(&[b"Bearer alice"]);
    assert_eq!(token_cache_len(layer.config()), Some(0));
    get_bound(layer.clone(), &token, b"Bearer alice")
        .await
        .assert_accepted();
    // Cached by the first request: the second is a cache hit.
    assert_eq!(
        token_cache_len(layer.config()),
        Some(1),
        "the token is cached"
    );
    get_bound(layer.clone(), &token, b"Bearer mallory")
        .await
        .assert_rejected(Kind::PayClaimMismatch);
    assert_eq!(token_cache_len(layer.config()), Some(1));
}

#[tokio::test]
async fn the_token_is_verified_before_the_binding() {
    let forged = mint_with_secret(&valid_claims(), OTHER_SECRET);
    get_with_token(bound_layer(), &forged)
        .await
        .assert_rejected(Kind::InvalidSignature);
}

// --- The pay claim -----------------------------------------------------------------------

#[tokio::test]
async fn a_token_without_pay_is_rejected_as_pay_missing_by_default() {
    get_bound(bound_layer(), &valid_token(), b"Bearer abc")
        .await
        .assert_rejected(Kind::PayClaimMissing);
}

#[tokio::test]
async fn a_failover_token_without_pay_is_accepted_when_allowed() {
    let layer = layer_from(
        builder()
            .with_token_binding(["Authorization"])
            .unwrap()
            .with_allow_missing_pay(true),
    );
    get_bound(layer, &valid_token(), b"Bearer abc")
        .await
        .assert_accepted();
}

#[tokio::test]
async fn allowing_failover_tokens_does_not_accept_a_mismatched_pay() {
    let layer = layer_from(
        builder()
            .with_token_binding(["Authorization"])
            .unwrap()
            .with_allow_missing_pay(true),
    );
    let token = token_bound_to(&[b"Bearer alice"]);
    get_bound(layer, &token, b"Bearer mallory")
        .await
        .assert_rejected(Kind::PayClaimMismatch);
}

#[tokio::test]
async fn a_failover_token_is_accepted_without_the_binding_header_when_allowed() {
    // Nothing to bind: the token carries no `pay`.
    let layer = layer_from(
        builder()
            .with_token_binding(["Authorization"])
            .unwrap()
            .with_allow_missing_pay(true),
    );
    get_with_token(layer, &valid_token())
        .await
        .assert_accepted();
}

#[tokio::test]
async fn a_numeric_pay_is_rejected_as_pay_malformed() {
    get_bound(bound_layer(), &token_with_pay(json!(42)), b"Bearer abc")
        .await
        .assert_rejected(Kind::PayClaimMalformed);
}

#[tokio::test]
async fn a_null_pay_is_rejected_as_pay_malformed() {
    get_bound(bound_layer(), &token_with_pay(json!(null)), b"Bearer abc")
        .await
        .assert_rejected(Kind::PayClaimMalformed);
}

#[tokio::test]
async fn an_array_pay_is_rejected_as_pay_malformed() {
    let pay = json!([pay_claim_for([b"Bearer abc".as_slice()])]);
    get_bound(bound_layer(), &token_with_pay(pay), b"Bearer abc")
        .await
        .assert_rejected(Kind::PayClaimMalformed);
}

#[tokio::test]
async fn a_null_pay_is_not_taken_for_a_failover_token() {
    let layer = layer_from(
        builder()
            .with_token_binding(["Authorization"])
            .unwrap()
            .with_allow_missing_pay(true),
    );
    get_bound(layer, &token_with_pay(json!(null)), b"Bearer abc")
        .await
        .assert_rejected(Kind::PayClaimMalformed);
}

#[tokio::test]
async fn a_pay_that_is_not_base64_of_a_sha256_is_rejected_as_pay_malformed() {
    get_bound(
        bound_layer(),
        &token_with_pay(json!("not a hash")),
        b"Bearer abc",
    )
    .await
    .assert_rejected(Kind::PayClaimMalformed);
}

#[tokio::test]
async fn a_pay_in_base64url_is_rejected_as_pay_malformed() {
    // The same hash in the other alphabet, unpadded: Approov sends padded standard base64.
    let pay = "w1Xc6WwWEogNEZQP_dkBTThsJT4MNlKmzQanIm970rY";
    get_bound(bound_layer(), &token_with_pay(json!(pay)), b"Bearer abc")
        .await
        .assert_rejected(Kind::PayClaimMalformed);
}

#[tokio::test]
async fn the_pay_claim_is_reachable_from_the_claims() {
    async fn pay(claims: tower_approov::ApproovClaims) -> String {
        claims.pay().unwrap_or("-").to_owned()
    }
    let app = Router::new().route("/", get(pay)).layer(bound_layer());
    let token = token_bound_to(&[b"Bearer abc"]);
    let out = send(
        app,
        request(
            "/",
            &[
                ("approov-token", token.as_bytes()),
                ("authorization", b"Bearer abc"),
            ],
        ),
    )
    .await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.body, "w1Xc6WwWEogNEZQP/dkBTThsJT4MNlKmzQanIm970rY=");
}

// --- Several binding headers -------------------------------------------------------------

fn two_header_layer(first: &str, second: &str) -> ApproovLayer {
    layer_from(builder().with_token_binding([first, second]).unwrap())
}

async fn get_two(layer: ApproovLayer, token: &str, a: &[u8], b: &[u8]) -> Outcome {
    get_root(
        layer,
        &[("approov-token", token.as_bytes()), ("x-a", a), ("x-b", b)],
    )
    .await
}

/// A layer binding to these headers, in this order.
fn binding_layer(headers: [&str; 3]) -> ApproovLayer {
    layer_from(builder().with_token_binding(headers).unwrap())
}

/// The order the three binding headers are configured in: neither the alphabet (Alpha, Mu,
/// Zeta), nor its reverse, nor the order they are sent in ([`get_three`]), nor the reverse of
/// that.
const CONFIGURED: [&str; 3] = ["X-Mu", "X-Zeta", "X-Alpha"];

/// Sends the three binding headers in a third order, Zeta, Alpha, Mu: each order a check
/// could wrongly follow gives another concatenation than the configured one.
async fn get_three(layer: ApproovLayer, token: &str) -> Outcome {
    get_root(
        layer,
        &[
            ("x-zeta", b"zeta-value"),
            ("approov-token", token.as_bytes()),
            ("x-alpha", b"alpha-value"),
            ("x-mu", b"mu-value"),
        ],
    )
    .await
}

#[tokio::test]
async fn binding_headers_are_concatenated_in_the_configured_order() {
    let token = token_bound_to(&[b"mu-value", b"zeta-value", b"alpha-value"]);
    get_three(binding_layer(CONFIGURED), &token)
        .await
        .assert_accepted();
}

#[tokio::test]
async fn binding_headers_configured_in_any_other_order_do_not_match() {
    // The token binds the configured order; a layer configured in any of the five other
    // orders (the alphabet's, the wire's, and their reverses among them) refuses it.
    let token = token_bound_to(&[b"mu-value", b"zeta-value", b"alpha-value"]);
    for other in [
        ["X-Alpha", "X-Mu", "X-Zeta"],
        ["X-Alpha", "X-Zeta", "X-Mu"],
        ["X-Mu", "X-Alpha", "X-Zeta"],
        ["X-Zeta", "X-Alpha", "X-Mu"],
        ["X-Zeta", "X-Mu", "X-Alpha"],
    ] {
        get_three(binding_layer(other), &token)
            .await
            .assert_rejected(Kind::PayClaimMismatch);
    }
    // And a token bound in the wire's order is refused by the configured layer.
    let wire = token_bound_to(&[b"zeta-value", b"alpha-value", b"mu-value"]);
    get_three(binding_layer(CONFIGURED), &wire)
        .await
        .assert_rejected(Kind::PayClaimMismatch);
}

#[tokio::test]
async fn several_binding_values_are_each_trimmed_before_concatenation() {
    let token = token_bound_to(&[b"first", b"second"]);
    get_two(
        two_header_layer("X-A", "X-B"),
        &token,
        b"  first\t",
        b" second ",
    )
    .await
    .assert_accepted();
}

#[tokio::test]
async fn several_binding_values_are_concatenated_without_a_separator() {
    let token = token_bound_to(&[b"first,second"]);
    get_two(two_header_layer("X-A", "X-B"), &token, b"first", b"second")
        .await
        .assert_rejected(Kind::PayClaimMismatch);
}

#[tokio::test]
async fn one_of_several_binding_headers_missing_is_rejected_as_binding_header_missing() {
    let token = token_bound_to(&[b"first", b"second"]);
    get_root(
        two_header_layer("X-A", "X-B"),
        &[("approov-token", token.as_bytes()), ("x-a", b"first")],
    )
    .await
    .assert_rejected(Kind::BindingHeaderMissing);
}

#[tokio::test]
async fn one_of_several_binding_headers_repeated_is_rejected_as_binding_header_repeated() {
    let token = token_bound_to(&[b"first", b"second"]);
    get_root(
        two_header_layer("X-A", "X-B"),
        &[
            ("approov-token", token.as_bytes()),
            ("x-a", b"first"),
            ("x-b", b"second"),
            ("x-b", b"second"),
        ],
    )
    .await
    .assert_rejected(Kind::BindingHeaderRepeated);
}

// --- Binding with the token prefix and with monitor mode ---------------------------------

#[tokio::test]
async fn binding_works_with_a_token_prefix() {
    let layer = layer_from(
        builder()
            .with_token_prefix("Bearer")
            .with_token_binding(["Authorization"])
            .unwrap(),
    );
    let token = token_bound_to(&[b"Bearer user-session"]);
    let value = format!("Bearer {token}");
    get_bound(layer, &value, b"Bearer user-session")
        .await
        .assert_accepted();
}

#[tokio::test]
async fn binding_with_a_token_prefix_still_rejects_a_mismatch() {
    let layer = layer_from(
        builder()
            .with_token_prefix("Bearer")
            .with_token_binding(["Authorization"])
            .unwrap(),
    );
    let token = token_bound_to(&[b"Bearer user-session"]);
    let value = format!("Bearer {token}");
    get_bound(layer, &value, b"Bearer other-session")
        .await
        .assert_rejected(Kind::PayClaimMismatch);
}

fn monitored_bound_layer() -> ApproovLayer {
    layer_from(
        builder()
            .with_mode(Mode::Monitor)
            .with_token_binding(["Authorization"])
            .unwrap(),
    )
}

#[tokio::test]
async fn in_monitor_mode_a_binding_mismatch_reaches_the_handler_without_claims() {
    async fn seen(req: http::Request<Body>) -> String {
        let claims = req.extensions().get::<tower_approov::ApproovClaims>();
        let reason = req
            .extensions()
            .get::<ApproovError>()
            .map_or("-", |e| e.kind().reason_code());
        format!("claims={} reason={reason}", claims.is_some())
    }
    let app = Router::new()
        .route("/", get(seen))
        .layer(monitored_bound_layer());
    let token = token_bound_to(&[b"Bearer alice"]);
    let out = send(
        app,
        request(
            "/",
            &[
                ("approov-token", token.as_bytes()),
                ("authorization", b"Bearer mallory"),
            ],
        ),
    )
    .await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.body, "claims=false reason=pay_mismatch");
}

#[tokio::test]
async fn in_monitor_mode_a_matching_binding_gives_claims() {
    let token = token_bound_to(&[b"Bearer alice"]);
    let out = send(
        app(monitored_bound_layer()),
        request(
            "/optional",
            &[
                ("approov-token", token.as_bytes()),
                ("authorization", b"Bearer alice"),
            ],
        ),
    )
    .await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.body, format!("claims did={DID}"));
}

#[tokio::test]
async fn in_monitor_mode_the_claims_extractor_answers_401_for_a_binding_mismatch() {
    // Inside the layer, the reason the request carries is copied into the response, so that
    // the 401 of the extractor is shown to be the one for this binding mismatch.
    async fn copy_reason(req: http::Request<Body>, next: axum::middleware::Next) -> Response {
        let reason = req
            .extensions()
            .get::<ApproovError>()
            .map_or("-", |e| e.kind().reason_code());
        let mut response = next.run(req).await;
        response
            .headers_mut()
            .insert("x-reason", http::HeaderValue::from_static(reason));
        response
    }
    let app = routes()
        .layer(axum::middleware::from_fn(copy_reason))
        .layer(monitored_bound_layer());
    let token = token_bound_to(&[b"Bearer alice"]);
    let response = tower::ServiceExt::oneshot(
        app,
        request(
            "/",
            &[
                ("approov-token", token.as_bytes()),
                ("authorization", b"Bearer mallory"),
            ],
        ),
    )
    .await
    .unwrap();
    let reason = response.headers().get("x-reason").cloned();
    let out = Outcome::from_response(response).await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    assert_eq!(out.body, "{}");
    // The layer let it through (monitor): the extractor answered, for this reason.
    assert_eq!(out.kind, None);
    assert_eq!(
        reason.as_ref().map(|v| v.as_bytes()),
        Some(Kind::PayClaimMismatch.reason_code().as_bytes())
    );
}

#[tokio::test]
async fn in_monitor_mode_a_binding_mismatch_takes_away_the_claims_an_enforcing_outer_layer_gave() {
    // Two Approov layers stacked: the outer one enforces and checks the token alone, so it
    // passes and inserts claims; the inner one monitors and binds the token to
    // `Authorization`. A token bound to alice's value, sent with mallory's, fails the inner
    // check: monitor mode lets the request through, but never with claims, not even with
    // the outer layer's.
    async fn seen(claims: Option<ApproovClaims>, error: Option<Extension<ApproovError>>) -> String {
        let reason = error.map_or("-", |Extension(e)| e.kind().reason_code());
        format!("claims={} reason={reason}", claims.is_some())
    }
    let app = Router::new()
        .route("/", get(seen))
        .layer(monitored_bound_layer())
        .layer(layer());
    let token = token_bound_to(&[b"Bearer alice"]);
    let mallory = send(
        app.clone(),
        request(
            "/",
            &[
                ("approov-token", token.as_bytes()),
                ("authorization", b"Bearer mallory"),
            ],
        ),
    )
    .await;
    assert_eq!(
        (mallory.status, mallory.kind, mallory.body.as_str()),
        (StatusCode::OK, None, "claims=false reason=pay_mismatch")
    );
    // The control: with alice's value both checks pass and the handler gets claims.
    let alice = send(
        app,
        request(
            "/",
            &[
                ("approov-token", token.as_bytes()),
                ("authorization", b"Bearer alice"),
            ],
        ),
    )
    .await;
    assert_eq!(
        (alice.status, alice.kind, alice.body.as_str()),
        (StatusCode::OK, None, "claims=true reason=-")
    );
}

// --- Per route: binding on some routes, not on others ------------------------------------

/// `/login` checks the token without binding; `/orders` binds it to `Authorization`.
fn per_route_app(approov: ApproovLayer) -> Router {
    Router::new()
        .route("/login", get(did_handler))
        .route_layer(approov.clone().without_token_binding())
        .merge(
            Router::new()
                .route("/orders", get(did_handler))
                .route_layer(approov.with_token_binding(["Authorization"]).unwrap()),
        )
}

#[tokio::test]
async fn a_route_without_binding_accepts_a_valid_token_with_no_authorization_header() {
    let token = valid_token();
    send(
        per_route_app(layer()),
        request("/login", &[("approov-token", token.as_bytes())]),
    )
    .await
    .assert_accepted();
}

#[tokio::test]
async fn a_route_with_binding_rejects_a_request_without_authorization_as_binding_header_missing() {
    let token = token_bound_to(&[b"Bearer session-1"]);
    send(
        per_route_app(layer()),
        request("/orders", &[("approov-token", token.as_bytes())]),
    )
    .await
    .assert_rejected(Kind::BindingHeaderMissing);
}

#[tokio::test]
async fn a_route_with_binding_accepts_a_token_bound_to_its_authorization_header() {
    let token = token_bound_to(&[b"Bearer session-1"]);
    send(
        per_route_app(layer()),
        request(
            "/orders",
            &[
                ("approov-token", token.as_bytes()),
                ("authorization", b"Bearer session-1"),
            ],
        ),
    )
    .await
    .assert_accepted();
}

#[tokio::test]
async fn a_route_with_binding_rejects_a_token_bound_to_another_authorization_header() {
    let token = token_bound_to(&[b"Bearer session-1"]);
    send(
        per_route_app(layer()),
        request(
            "/orders",
            &[
                ("approov-token", token.as_bytes()),
                ("authorization", b"Bearer session-2"),
            ],
        ),
    )
    .await
    .assert_rejected(Kind::PayClaimMismatch);
}

#[cfg(feature = "test-util")]
#[tokio::test]
async fn a_token_cached_by_a_route_without_binding_is_still_bound_on_a_route_with_binding() {
    // Per-route layers made from one layer share its verified-token cache: a token verified on
    // `/login` is a cache hit on `/orders`, where its binding must still be checked.
    let approov = layer();
    let app = per_route_app(approov.clone());
    let token = token_bound_to(&[b"Bearer session-1"]);
    assert_eq!(token_cache_len(approov.config()), Some(0));
    send(
        app.clone(),
        request("/login", &[("approov-token", token.as_bytes())]),
    )
    .await
    .assert_accepted();
    assert_eq!(
        token_cache_len(approov.config()),
        Some(1),
        "/login cached the token"
    );
    let orders = |authorization: &'static [u8]| {
        request(
            "/orders",
            &[
                ("approov-token", token.as_bytes()),
                ("authorization", authorization),
            ],
        )
    };
    send(app.clone(), orders(b"Bearer session-2"))
        .await
        .assert_rejected(Kind::PayClaimMismatch);
    send(app, orders(b"Bearer session-1"))
        .await
        .assert_accepted();
    // Both answered from the one entry /login made.
    assert_eq!(token_cache_len(approov.config()), Some(1));
}

#[tokio::test]
async fn a_route_without_binding_still_rejects_an_invalid_token() {
    send(
        per_route_app(layer()),
        request("/login", &[("approov-token", b"not.a.token")]),
    )
    .await
    .assert_rejected(Kind::MalformedToken);
}

#[tokio::test]
async fn without_token_binding_turns_off_binding_configured_in_the_builder() {
    let token = valid_token();
    send(
        routes().layer(bound_layer().without_token_binding()),
        request("/", &[("approov-token", token.as_bytes())]),
    )
    .await
    .assert_accepted();
}

#[tokio::test]
async fn with_token_binding_replaces_the_configured_binding_headers() {
    let layer = bound_layer().with_token_binding(["X-Session"]).unwrap();
    let token = token_bound_to(&[b"s-1"]);
    get_root(
        layer,
        &[("approov-token", token.as_bytes()), ("x-session", b"s-1")],
    )
    .await
    .assert_accepted();
}

#[tokio::test]
async fn a_layer_bound_later_keeps_the_allow_missing_pay_setting() {
    let base = layer_from(builder().with_allow_missing_pay(true));
    let layer = base.with_token_binding(["Authorization"]).unwrap();
    get_bound(layer, &valid_token(), b"Bearer abc")
        .await
        .assert_accepted();
}

#[tokio::test]
async fn per_route_layers_share_the_mode_switch() {
    /// Says whether claims came and, if not, why.
    async fn seen(req: http::Request<Body>) -> String {
        let claims = req.extensions().get::<tower_approov::ApproovClaims>();
        let reason = req
            .extensions()
            .get::<ApproovError>()
            .map_or("-", |e| e.kind().reason_code());
        format!("claims={} reason={reason}", claims.is_some())
    }
    let approov = layer();
    let handle = approov.mode_handle();
    let bound = approov
        .clone()
        .with_token_binding(["Authorization"])
        .unwrap();
    let unbound = approov.without_token_binding();
    let app = Router::new()
        .route("/bound", get(seen))
        .route_layer(bound.clone())
        .merge(
            Router::new()
                .route("/unbound", get(seen))
                .route_layer(unbound.clone()),
        );
    let bad: &[(&str, &[u8])] = &[("approov-token", b"bad")];
    for path in ["/bound", "/unbound"] {
        send(app.clone(), request(path, bad))
            .await
            .assert_rejected(Kind::MalformedToken);
    }
    // One switch, set through the original layer's handle, moves both per-route layers.
    handle.set(Mode::Monitor);
    assert_eq!(bound.mode_handle().get(), Mode::Monitor);
    assert_eq!(unbound.mode_handle().get(), Mode::Monitor);
    for path in ["/bound", "/unbound"] {
        let out = send(app.clone(), request(path, bad)).await;
        assert_eq!(
            (out.status, out.kind, out.body.as_str()),
            (StatusCode::OK, None, "claims=false reason=malformed_token"),
            "{path}"
        );
    }
}

#[test]
fn with_token_binding_of_no_header_is_an_empty_error() {
    let error = layer().with_token_binding(Vec::<&str>::new()).unwrap_err();
    assert!(matches!(error, ConfigError::Empty { .. }), "{error:?}");
}

#[test]
fn with_token_binding_of_an_invalid_header_name_is_an_invalid_error() {
    let error = layer().with_token_binding(["Not A Header"]).unwrap_err();
    assert!(matches!(error, ConfigError::Invalid { .. }), "{error:?}");
}

// --- Over real HTTP: what the server actually receives -----------------------------------

/// Serves the bound routes on loopback, with the rejection reason exposed for the test.
async fn serve_bound() -> std::net::SocketAddr {
    serve(expose_reason(routes().layer(bound_layer()))).await
}

fn head_with(token: &str, authorization_line: &[u8]) -> Vec<u8> {
    let mut head = format!("GET / HTTP/1.1\r\nApproov-Token: {token}\r\n").into_bytes();
    head.extend_from_slice(authorization_line);
    head
}

#[tokio::test]
async fn over_http_the_spaces_around_a_header_value_never_reach_the_server() {
    // HTTP parsers drop the whitespace around a field value (RFC 9110 5.5), so the value the
    // server hashes is the one without it, whatever the client put on the wire.
    let addr = serve_bound().await;
    let token = token_bound_to(&[b"Bearer abc"]);
    raw_request(
        addr,
        &head_with(&token, b"Authorization:    Bearer abc   \r\n"),
    )
    .await
    .assert_accepted();
}

#[tokio::test]
async fn over_http_a_token_bound_to_the_value_with_its_spaces_does_not_match() {
    let addr = serve_bound().await;
    let token = token_bound_to(&[b"   Bearer abc   "]);
    raw_request(
        addr,
        &head_with(&token, b"Authorization:    Bearer abc   \r\n"),
    )
    .await
    .assert_rejected(Kind::PayClaimMismatch);
}

#[tokio::test]
async fn over_http_inner_spaces_of_a_binding_value_are_hashed() {
    let addr = serve_bound().await;
    let token = token_bound_to(&[b"Bearer  abc"]);
    raw_request(addr, &head_with(&token, b"Authorization: Bearer  abc\r\n"))
        .await
        .assert_accepted();
}

#[tokio::test]
async fn over_http_a_non_utf8_binding_value_is_hashed_as_raw_bytes() {
    let addr = serve_bound().await;
    let token = token_with_pay(json!("p+xB4mr626xchMMMf7z2q8Zx8n0o9ePI0mlfZqNepxU="));
    raw_request(
        addr,
        &head_with(&token, b"Authorization: Bearer \xff\xfe\r\n"),
    )
    .await
    .assert_accepted();
}

#[tokio::test]
async fn over_http_a_repeated_binding_header_is_rejected() {
    let addr = serve_bound().await;
    let token = token_bound_to(&[b"Bearer abc"]);
    raw_request(
        addr,
        &head_with(
            &token,
            b"Authorization: Bearer abc\r\nauthorization: Bearer abc\r\n",
        ),
    )
    .await
    .assert_rejected(Kind::BindingHeaderRepeated);
}
