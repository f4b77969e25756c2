//! How the layer fits in an axum `Router`: monitor mode, the extractors, `layer` versus
//! `route_layer`, a custom rejection, and what `Debug` shows.

use crate::common;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use common::*;
use http::{Response, StatusCode};
use tower::ServiceBuilder;
use tower_approov::{ApproovError, ApproovErrorKind as Kind, ApproovLayer, Mode, RequestHead};

// --- Monitor mode ------------------------------------------------------------------------

fn monitor_layer() -> ApproovLayer {
    layer_from(builder().with_mode(Mode::Monitor))
}

#[tokio::test]
async fn in_monitor_mode_a_request_with_a_bad_token_reaches_the_handler_without_claims() {
    let out = send(
        app(monitor_layer()),
        request("/optional", &[("approov-token", b"not.a.token")]),
    )
    .await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.body, "no claims");
}

#[tokio::test]
async fn in_monitor_mode_a_request_without_a_token_reaches_the_handler_without_claims() {
    let out = send(app(monitor_layer()), request("/optional", &[])).await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.body, "no claims");
}

#[tokio::test]
async fn in_monitor_mode_the_handler_sees_why_the_token_failed() {
    async fn reason(req: http::Request<Body>) -> String {
        req.extensions()
            .get::<ApproovError>()
            .map_or("none".to_owned(), |e| e.kind().reason_code().to_owned())
    }
    let app = Router::new().route("/", get(reason)).layer(monitor_layer());
    let out = send(app, request("/", &[("approov-token", b"")])).await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.body, Kind::EmptyToken.reason_code());
}

#[tokio::test]
async fn in_monitor_mode_a_valid_token_still_gives_claims() {
    let token = valid_token();
    let out = send(
        app(monitor_layer()),
        request("/optional", &[("approov-token", token.as_bytes())]),
    )
    .await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.body, format!("claims did={DID}"));
}

#[tokio::test]
async fn in_monitor_mode_the_claims_extractor_answers_401_empty_json_for_a_bad_token() {
    let out = get_with_token(monitor_layer(), "not.a.token").await;
    // The handler's extractor answered, not the layer: no error kind in the response.
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    assert_eq!(out.kind, None);
    assert_eq!(out.body, "{}");
    assert_eq!(
        out.content_type.as_ref().map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
}

#[tokio::test]
async fn the_mode_handle_switches_a_running_layer_to_monitor_and_back() {
    let layer = layer();
    let handle = layer.mode_handle();
    let app = app(layer);
    let bad = || request("/optional", &[("approov-token", b"not.a.token")]);

    send(app.clone(), bad())
        .await
        .assert_rejected(Kind::MalformedToken);
    handle.set(Mode::Monitor);
    assert_eq!(handle.get(), Mode::Monitor);
    let out = send(app.clone(), bad()).await;
    assert_eq!(
        (out.status, out.body.as_str()),
        (StatusCode::OK, "no claims")
    );
    handle.set(Mode::Enforce);
    send(app, bad()).await.assert_rejected(Kind::MalformedToken);
}

// --- The extractor without the layer -----------------------------------------------------

#[tokio::test]
async fn a_route_without_the_layer_answers_500_saying_the_layer_is_missing() {
    let out = send(routes(), request("/", &[])).await;
    assert_eq!(out.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(out.body.contains("ApproovLayer"), "{}", out.body);
    assert!(
        out.body.contains("Missing request extension"),
        "{}",
        out.body
    );
}

#[tokio::test]
async fn an_optional_claims_route_without_the_layer_also_answers_500() {
    let out = send(routes(), request("/optional", &[])).await;
    assert_eq!(out.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(out.body.contains("ApproovLayer"), "{}", out.body);
}

// --- layer versus route_layer ------------------------------------------------------------

#[tokio::test]
async fn with_layer_an_unknown_path_without_a_token_is_rejected_by_the_layer() {
    let out = send(app(layer()), request("/nowhere", &[])).await;
    out.assert_rejected(Kind::MissingToken);
}

#[tokio::test]
async fn with_route_layer_an_unknown_path_answers_404_without_any_check() {
    let app = routes().route_layer(layer());
    let out = send(app, request("/nowhere", &[])).await;
    assert_eq!(out.status, StatusCode::NOT_FOUND);
    assert_eq!(out.kind, None);
}

#[tokio::test]
async fn with_route_layer_a_known_path_without_a_token_is_rejected() {
    let app = routes().route_layer(layer());
    send(app, request("/", &[]))
        .await
        .assert_rejected(Kind::MissingToken);
}

#[tokio::test]
async fn with_route_layer_a_known_path_with_a_valid_token_is_accepted() {
    let app = routes().route_layer(layer());
    let token = valid_token();
    send(app, request("/", &[("approov-token", token.as_bytes())]))
        .await
        .assert_accepted();
}

#[tokio::test]
async fn routes_added_after_route_layer_are_not_protected() {
    async fn public() -> &'static str {
        "public"
    }
    let app = routes().route_layer(layer()).route("/public", get(public));
    let out = send(app, request("/public", &[])).await;
    assert_eq!((out.status, out.body.as_str()), (StatusCode::OK, "public"));
}

// --- Another rejection response ----------------------------------------------------------

fn teapot(error: &ApproovError, _request: &RequestHead<'_>) -> Response<Body> {
    let _ = error.kind();
    Response::builder()
        .status(StatusCode::IM_A_TEAPOT)
        .body(Body::from("custom"))
        .unwrap()
}

#[tokio::test]
async fn with_rejection_response_a_failed_check_answers_the_custom_response() {
    let layer = layer().with_rejection_response(teapot);
    let out = send(routes().layer(layer), request("/", &[])).await;
    assert_eq!(out.status, StatusCode::IM_A_TEAPOT);
    assert_eq!(out.body, "custom");
    assert_eq!(out.kind, Some(Kind::MissingToken));
}

#[tokio::test]
async fn with_rejection_response_a_valid_token_still_reaches_the_handler() {
    let layer = layer().with_rejection_response(teapot);
    let token = valid_token();
    send(
        routes().layer(layer),
        request("/", &[("approov-token", token.as_bytes())]),
    )
    .await
    .assert_accepted();
}

// --- ServiceBuilder, and the check alone -------------------------------------------------

#[tokio::test]
async fn the_layer_works_in_a_tower_service_builder() {
    let app = ServiceBuilder::new().layer(layer()).service(routes());
    let token = valid_token();
    let response =
        tower::ServiceExt::oneshot(app, request("/", &[("approov-token", token.as_bytes())]))
            .await
            .unwrap();
    Outcome::from_response(response).await.assert_accepted();
}

#[tokio::test]
async fn the_service_check_gives_the_claims_or_the_reason_without_an_inner_call() {
    use tower::Layer as _;
    let service = layer().layer(routes());
    let mut headers = http::HeaderMap::new();
    assert_eq!(
        service.check(&headers).unwrap_err().kind(),
        Kind::MissingToken
    );
    headers.insert("approov-token", valid_token().parse().unwrap());
    assert_eq!(service.check(&headers).unwrap().did(), Some(DID));
}

// --- Debug never shows the secret --------------------------------------------------------

#[test]
fn debug_of_the_config_shows_the_settings_and_not_the_secret() {
    let config = builder().build().unwrap();
    assert_eq!(
        format!("{config:?}"),
        "ApproovConfig { keys: 1, token_header: \"approov-token\", token_prefix: None, \
         leeway: 0ns, issuers: None, audiences: None, binding_headers: None, \
         allow_missing_pay: false, mode: Enforce, token_cache_size: 10000, \
         max_token_length: 8192, strip_token_header: false, message_signing: None, replay: None }"
    );
}

#[test]
fn debug_of_the_layer_shows_the_settings_and_not_the_secret() {
    let layer = layer_from(
        builder()
            .with_token_prefix("Bearer")
            .with_token_binding(["Authorization"])
            .unwrap(),
    );
    assert_eq!(
        format!("{layer:?}"),
        "ApproovLayer { config: ApproovConfig { keys: 1, token_header: \"approov-token\", \
         token_prefix: Some(\"Bearer\"), leeway: 0ns, issuers: None, audiences: None, \
         binding_headers: Some([\"authorization\"]), allow_missing_pay: false, mode: Enforce, \
         token_cache_size: 10000, max_token_length: 8192, strip_token_header: false, message_signing: None, replay: None }, \
         rejection: \"tower_approov::check::error::JsonRejection\" }"
    );
}

#[test]
fn debug_of_the_service_shows_the_settings_and_not_the_secret() {
    use tower::Layer as _;
    #[derive(Debug, Clone)]
    struct Inner;
    let service = layer().layer(Inner);
    assert_eq!(
        format!("{service:?}"),
        "ApproovService { inner: Inner, config: ApproovConfig { keys: 1, \
         token_header: \"approov-token\", token_prefix: None, leeway: 0ns, issuers: None, \
         audiences: None, binding_headers: None, allow_missing_pay: false, mode: Enforce, \
         token_cache_size: 10000, max_token_length: 8192, strip_token_header: false, message_signing: None, replay: None }, .. }"
    );
}

#[test]
fn debug_output_never_contains_the_secret_in_any_encoding() {
    use base64::Engine as _;
    use tower::Layer as _;
    let layer = layer();
    let service = layer.clone().layer(());
    let texts = [
        format!("{:?}", layer.config()),
        format!("{layer:?}"),
        format!("{service:?}"),
        format!("{:#?}", layer),
    ];
    let encodings = [
        String::from_utf8(SECRET.to_vec()).unwrap(),
        base64::engine::general_purpose::STANDARD.encode(SECRET),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(SECRET),
        format!("{:?}", SECRET.as_slice()),
    ];
    for text in &texts {
        for secret in &encodings {
            assert!(!text.contains(secret.as_str()), "{text}");
        }
        // Not even a fragment of the raw secret.
        assert!(!text.contains("tower-approov-test-secret"), "{text}");
    }
}

/// Answers with the `approov-token` header the handler received, or `absent`.
fn token_echo() -> Router {
    async fn echo(headers: http::HeaderMap) -> String {
        headers
            .get("approov-token")
            .map_or("absent".to_owned(), |v| v.to_str().unwrap().to_owned())
    }
    Router::new().route("/", get(echo))
}

#[tokio::test]
async fn by_default_the_handler_receives_the_token_header_unchanged() {
    let token = valid_token();
    let out = send(
        token_echo().layer(layer()),
        request("/", &[("approov-token", token.as_bytes())]),
    )
    .await;
    assert_eq!(
        (out.status, out.body.as_str()),
        (StatusCode::OK, token.as_str())
    );
}

#[tokio::test]
async fn with_strip_token_header_the_handler_does_not_see_the_token() {
    let layer = layer_from(builder().with_strip_token_header(true));
    let token = valid_token();
    let out = send(
        token_echo().layer(layer),
        request("/", &[("approov-token", token.as_bytes())]),
    )
    .await;
    assert_eq!((out.status, out.body.as_str()), (StatusCode::OK, "absent"));
}

#[tokio::test]
async fn with_strip_token_header_a_failed_token_is_still_rejected_with_its_reason() {
    let layer = layer_from(builder().with_strip_token_header(true));
    let out = send(
        token_echo().layer(layer),
        request("/", &[("approov-token", b"not.a.token")]),
    )
    .await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    assert_eq!(out.kind, Some(Kind::MalformedToken));
}

#[test]
fn approov_strip_token_header_is_read_from_the_environment() {
    let secret = secret_base64();
    let lookup = |name: &str| match name {
        "APPROOV_BASE64_SECRET" => Some(Ok(secret.clone())),
        "APPROOV_STRIP_TOKEN_HEADER" => Some(Ok("yes".to_owned())),
        _ => None,
    };
    let config = tower_approov::ApproovConfigBuilder::from_env_with(lookup)
        .unwrap()
        .build()
        .unwrap();
    assert!(format!("{config:?}").contains("strip_token_header: true"));
}
