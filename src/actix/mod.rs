//! The check on an [actix-web](https://actix.rs) 4 server (feature `actix`): a middleware for
//! `App::wrap`, `Scope::wrap` and `Resource::wrap`, and the [`ApproovClaims`] extractor.
//!
//! ```
//! use actix_web::{App, HttpResponse, http::StatusCode, test, web};
//! use tower_approov::ApproovClaims;
//! use tower_approov::actix::ApproovMiddleware;
//!
//! async fn hello(claims: ApproovClaims) -> HttpResponse {
//!     HttpResponse::Ok().body(format!("hello, device {}", claims.did().unwrap_or("?")))
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let secret = [7u8; 64];
//! # let config = tower_approov::ApproovConfig::builder().with_secret(&secret, None)?.build()?;
//! # let token = jsonwebtoken::encode(
//! #     &jsonwebtoken::Header::default(),
//! #     &serde_json::json!({"exp": 4_102_444_800.5, "did": "device-1"}),
//! #     &jsonwebtoken::EncodingKey::from_secret(&secret)?,
//! # )?;
//! // Built once, before `HttpServer::new`, and cloned into every worker's `App`: one cache
//! // and one JWKS refresher serve the whole process. In a real server:
//! // `let approov = ApproovMiddleware::from_env();` (reads APPROOV_BASE64_SECRET and friends).
//! let approov = ApproovMiddleware::new(config);
//! actix_web::rt::System::new().block_on(async move {
//!     let app = test::init_service(
//!         App::new().wrap(approov.clone()).route("/", web::get().to(hello)),
//!     )
//!     .await;
//!
//!     let request = test::TestRequest::get().uri("/").insert_header(("Approov-Token", token));
//!     let response = test::call_service(&app, request.to_request()).await;
//!     assert_eq!(response.status(), StatusCode::OK);
//!
//!     // No token: `401`, `content-type: application/json`, body `{}`.
//!     let response = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
//!     assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! });
//! # Ok(())
//! # }
//! ```
//!
//! With `HttpServer`: `HttpServer::new(move || App::new().wrap(approov.clone())...)`.
//!
//! # What the middleware does
//!
//! It hands each request to the check ([`ApproovConfig::check`](crate::ApproovConfig::check))
//! and carries out the verdict; every rule (what passes, what is refused, what is logged and
//! counted, what monitor mode lets through) is the check's, the same as behind the tower
//! layer:
//!
//! - **passed:** the request goes on with [`ApproovClaims`] in its extensions (and without
//!   the token header when
//!   [`with_strip_token_header`](crate::ApproovConfigBuilder::with_strip_token_header) is on);
//! - **failed:** the middleware answers `401`, `content-type: application/json`, body `{}`
//!   (or the response of [`with_rejection_response`](ApproovMiddleware::with_rejection_response)),
//!   with the [`ApproovError`](crate::ApproovError) in the response's extensions
//!   (`HttpResponse::extensions`) for outer middlewares and tests; the reason is never sent;
//! - **failed in monitor mode:** the request goes on without claims (an outer middleware's are
//!   removed), with the [`ApproovError`](crate::ApproovError) in their place;
//! - **a message signature that covers `content-digest`:** the body is read from the request's
//!   `Payload` (at most the configured limit, within the configured deadline), checked, and
//!   handed on to the handler whole, as a new `Payload` with the same bytes.
//!
//! # The request the check sees
//!
//! The method, the path and query as received, and the headers: actix-web's `HeaderMap` is
//! read in place ([`HeaderSource`](crate::HeaderSource) is implemented for it), nothing is
//! copied. The scheme and authority are those of the request URI, which the transport sets
//! only when it knows them (HTTP/2's `:scheme` and `:authority`, an absolute-form target);
//! otherwise the check uses `Host` and `https` (see
//! [`SigningConfig::with_public_origin`](crate::SigningConfig::with_public_origin)).
//! actix-web's `connection_info()` is **not** used: it believes a client's own `Forwarded` and
//! `X-Forwarded-*` headers. Whether those headers are trusted is the check's configuration
//! (`APPROOV_TRUST_FORWARDED_HEADERS`), as for every front door.
//!
//! Unlike axum's `nest`, actix-web's scopes keep the whole path in the request URI, so the
//! middleware may wrap a `Scope` and still rebuild the URL the app signed.
//!
//! # Extractors
//!
//! [`ApproovClaims`] is an actix-web extractor. On a route the middleware does not cover it
//! answers `500` with a message naming the fix, and after a failed check in monitor mode `401
//! {}` ([`ApproovClaimsRejection`]).
//!
//! `Option<ApproovClaims>` works too, through actix-web's own `Option<T>` extractor, which
//! turns **every** error of `T` into `None`: a route the middleware does not cover gets `None`
//! too, silently. [`OptionalApproovClaims`] is `None` only after a failed check in monitor
//! mode, and still answers `500` when the middleware is missing, as axum's
//! `Option<ApproovClaims>` does.

mod extract;
mod future;
mod middleware;
mod response;
mod service;

pub use crate::check::claims::ApproovClaims;
pub use extract::{ApproovClaimsRejection, OptionalApproovClaims};
pub use future::ResponseFuture;
pub use middleware::ApproovMiddleware;
pub use response::RejectionResponse;
pub use service::ApproovMiddlewareService;
