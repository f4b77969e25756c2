//! What only the actix-web front door has: its extractors, its custom rejection, `Scope::wrap`
//! and `Resource::wrap`, monitor mode under an enforcing outer middleware, one middleware
//! shared by several workers. Each over real HTTP on loopback, against a real actix-web
//! `HttpServer` (the table of cases every front door answers alike is in `front_doors`).

#[allow(dead_code)]
#[path = "../../examples/actix.rs"]
mod example;

use actix_web::{App, HttpRequest, HttpResponse, web};
use tower_approov::actix::{ApproovMiddleware, OptionalApproovClaims};
use tower_approov::test_util::{InstallationKey, token_cache_len};
use tower_approov::{ApproovClaims, ApproovError, ApproovErrorKind as Kind, Mode};

use crate::front_doors::actix::{echo, serve_app, serve_app_on_workers};
use crate::sdk_support::{
    Answer, DID_HEADER, MONITORED_HEADER, config, now, raw, sdk_params, signature_headers, token,
    token_with,
};

async fn claims(claims: ApproovClaims) -> String {
    format!("did={}", claims.did().unwrap_or("-"))
}

async fn optional(OptionalApproovClaims(claims): OptionalApproovClaims) -> String {
    claims.map_or("none".to_owned(), |c| {
        format!("did={}", c.did().unwrap_or("-"))
    })
}

/// actix-web's own `Option<T>` extractor.
async fn std_option(claims: Option<ApproovClaims>) -> String {
    claims.map_or("none".to_owned(), |c| {
        format!("did={}", c.did().unwrap_or("-"))
    })
}

/// `GET path` with `Host` and, if given, the token.
async fn get(addr: std::net::SocketAddr, path: &str, token: Option<&str>) -> Answer {
    let mut headers = vec![("Host", "api.example.com")];
    if let Some(token) = token {
        headers.push(("Approov-Token", token));
    }
    raw(addr, &format!("GET {path} HTTP/1.1"), &headers, b"").await
}

#[track_caller]
fn assert_answer(answer: &Answer, status: u16, content_type: &str, body: &str) {
    assert_eq!(
        (
            answer.status.as_u16(),
            answer.header("content-type"),
            answer.body.as_str()
        ),
        (status, Some(content_type), body),
        "{answer:?}"
    );
}

#[tokio::test]
async fn on_a_route_the_middleware_does_not_cover_the_claims_extractors_answer_500_naming_the_fix()
{
    let approov = ApproovMiddleware::new(config(&[]).unwrap());
    let (addr, server) = serve_app(move || {
        App::new()
            .service(
                web::scope("/covered")
                    .wrap(approov.clone())
                    .route("/claims", web::get().to(claims)),
            )
            .route("/claims", web::get().to(claims))
            .route("/optional", web::get().to(optional))
            .route("/std-option", web::get().to(std_option))
    })
    .await;
    let token = token_with(None);
    assert_answer(
        &get(addr, "/covered/claims", Some(&token)).await,
        200,
        "text/plain; charset=utf-8",
        "did=device-1",
    );
    let fix = "Missing request extension: ApproovClaims. Is `ApproovMiddleware` wrapping this \
               route? Add `.wrap(ApproovMiddleware::from_env())` to the App, Scope or Resource.";
    for path in ["/claims", "/optional"] {
        let answer = get(addr, path, Some(&token)).await;
        assert_answer(&answer, 500, "text/plain; charset=utf-8", fix);
        assert_eq!(answer.reason, None, "{answer:?}");
    }
    // actix-web's `Option<T>` turns every error of `T` into `None`, this one too: the reason
    // `OptionalApproovClaims` exists.
    assert_answer(
        &get(addr, "/std-option", Some(&token)).await,
        200,
        "text/plain; charset=utf-8",
        "none",
    );
    server.stop(false).await;
}

#[tokio::test]
async fn after_a_failed_check_in_monitor_mode_claims_answer_401_json_and_the_options_none() {
    let approov = ApproovMiddleware::new(config(&[("APPROOV_MODE", "monitor")]).unwrap());
    let (addr, server) = serve_app(move || {
        App::new()
            .wrap(approov.clone())
            .route("/claims", web::get().to(claims))
            .route("/optional", web::get().to(optional))
            .route("/std-option", web::get().to(std_option))
    })
    .await;
    let valid = token_with(None);
    for path in ["/claims", "/optional", "/std-option"] {
        assert_answer(
            &get(addr, path, Some(&valid)).await,
            200,
            "text/plain; charset=utf-8",
            "did=device-1",
        );
    }
    // The extractor's own 401: the middleware let the request through, so no reason travels
    // in the response extensions.
    let answer = get(addr, "/claims", Some("not-a-token")).await;
    assert_answer(&answer, 401, "application/json", "{}");
    assert_eq!(answer.reason, None, "{answer:?}");
    for path in ["/optional", "/std-option"] {
        assert_answer(
            &get(addr, path, None).await,
            200,
            "text/plain; charset=utf-8",
            "none",
        );
    }
    server.stop(false).await;
}

#[tokio::test]
async fn a_custom_rejection_answers_instead_and_the_error_is_still_in_the_response_extensions() {
    fn forbidden(error: &ApproovError, request: &HttpRequest) -> HttpResponse {
        // What a custom rejection may use: the request (not the reason, for the client).
        let _ = error.kind();
        HttpResponse::Forbidden()
            .insert_header(("x-path", request.path().to_owned()))
            .content_type("text/plain")
            .body("no")
    }
    let approov = ApproovMiddleware::new(config(&[]).unwrap()).with_rejection_response(forbidden);
    let (addr, server) = crate::front_doors::actix::serve(approov).await;
    let answer = get(addr, "/v1/orders", Some("not-a-token")).await;
    assert_answer(&answer, 403, "text/plain", "no");
    assert_eq!(answer.header("x-path"), Some("/v1/orders"), "{answer:?}");
    assert_eq!(
        answer.reason.as_deref(),
        Some(Kind::MalformedToken.reason_code()),
        "{answer:?}"
    );
    server.stop(false).await;
}

#[tokio::test]
async fn in_monitor_mode_under_an_enforcing_outer_middleware_the_outer_claims_are_removed() {
    // The outer middleware checks the token; the inner one, on monitor, also wants it bound
    // to `Authorization`, which the request lacks.
    let outer = ApproovMiddleware::new(config(&[]).unwrap());
    let inner = ApproovMiddleware::new(
        config(&[
            ("APPROOV_MODE", "monitor"),
            ("APPROOV_TOKEN_BINDING_HEADER", "Authorization"),
        ])
        .unwrap(),
    );
    let (addr, server) = serve_app(move || {
        App::new()
            .default_service(web::to(echo))
            .wrap(inner.clone())
            .wrap(outer.clone())
    })
    .await;
    let answer = get(addr, "/v1/orders", Some(&token_with(None))).await;
    assert_eq!(
        (
            answer.status.as_u16(),
            answer.header(DID_HEADER),
            answer.header(MONITORED_HEADER)
        ),
        (200, None, Some(Kind::PayClaimMissing.reason_code())),
        "{answer:?}"
    );
    // The outer middleware still enforces.
    get(addr, "/v1/orders", None)
        .await
        .assert_rejected(Kind::MissingToken);
    server.stop(false).await;
}

/// A GET of `path` on `api.example.com` signed for `signed_for`, as the SDKs sign it.
async fn signed_get(
    addr: std::net::SocketAddr,
    key: &InstallationKey,
    path: &str,
    signed_for: &str,
) -> Answer {
    let token = token(key);
    let params = sdk_params(r#""@method" "@target-uri" "approov-token""#);
    let base = format!(
        "\"@method\": GET\n\"@target-uri\": {signed_for}\n\"approov-token\": {token}\n\
         \"@signature-params\": {params}"
    );
    let (input, signature) = signature_headers(key, &params, &base, false);
    let headers = [
        ("Host", "api.example.com"),
        ("Approov-Token", token.as_str()),
        ("Signature-Input", input.as_str()),
        ("Signature", signature.as_str()),
    ];
    raw(addr, &format!("GET {path} HTTP/1.1"), &headers, b"").await
}

#[tokio::test]
async fn on_a_scope_or_a_resource_the_middleware_checks_the_whole_url_the_app_signed() {
    // Unlike axum's `nest`, an actix-web scope keeps its prefix in the request URI.
    let approov =
        ApproovMiddleware::new(config(&[("APPROOV_MESSAGE_SIGNING", "require")]).unwrap());
    let (addr, server) = serve_app(move || {
        App::new()
            .service(
                web::scope("/api")
                    .wrap(approov.clone())
                    .route("/v1/orders", web::get().to(claims)),
            )
            .service(
                web::resource("/v2/orders")
                    .wrap(approov.clone())
                    .route(web::get().to(claims)),
            )
    })
    .await;
    let key = InstallationKey::generate().unwrap();
    for path in ["/api/v1/orders", "/v2/orders"] {
        let signed_for = format!("https://api.example.com{path}");
        signed_get(addr, &key, path, &signed_for)
            .await
            .assert_ok("did=device-1");
        signed_get(addr, &key, &format!("{path}?page=2"), &signed_for)
            .await
            .assert_rejected(Kind::MessageSignatureInvalid);
    }
    server.stop(false).await;
}

#[tokio::test]
async fn one_middleware_serves_every_worker_with_one_token_cache_and_one_mode_switch() {
    let config = config(&[]).unwrap();
    let approov = ApproovMiddleware::new(config.clone());
    let mode = approov.mode_handle();
    let (addr, server) = serve_app_on_workers(2, move || {
        App::new()
            .wrap(approov.clone())
            .route("/", web::get().to(optional))
    })
    .await;

    // A connection each: the two workers take them in turn.
    let token = token_with(None);
    for _ in 0..6 {
        get(addr, "/", Some(&token)).await.assert_ok("did=device-1");
    }
    assert_eq!(token_cache_len(&config), Some(1));
    let expired = crate::common::mint(&serde_json::json!({"exp": now() - 60.0, "did": "d"}));
    mode.set(Mode::Monitor);
    for _ in 0..4 {
        get(addr, "/", Some(&expired)).await.assert_ok("none");
    }
    mode.set(Mode::Enforce);
    for _ in 0..4 {
        get(addr, "/", Some(&expired))
            .await
            .assert_rejected(Kind::Expired);
    }
    server.stop(false).await;
}

#[tokio::test]
async fn the_actix_example_answers_a_valid_token_with_its_did_and_an_invalid_one_401() {
    let approov = ApproovMiddleware::new(config(&[]).unwrap());
    let (addr, server) =
        serve_app(move || App::new().wrap(approov.clone()).configure(example::routes)).await;
    let answer = get(addr, "/", Some(&token_with(None))).await;
    assert_eq!(
        (answer.status.as_u16(), answer.header("content-type")),
        (200, Some("application/json")),
        "{answer:?}"
    );
    let json: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(json["did"], "device-1", "{answer:?}");
    get(addr, "/", Some("not.a.valid-token"))
        .await
        .assert_rejected(Kind::MalformedToken);
    server.stop(false).await;
}
