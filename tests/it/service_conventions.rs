//! tower-http conventions: `ApproovService::{get_ref, get_mut, into_inner}`, and the layer on
//! a single `MethodRouter` (`get(handler).layer(..)`), over loopback.

use crate::loopback;

use axum::body::Body;
use axum::{Router, routing::get};
use http::StatusCode;
use tower::Layer as _;
use tower::util::MapResponseLayer;
use tower_approov::test_util::TokenBuilder;
use tower_approov::{ApproovClaims, ApproovErrorKind, ApproovService};

async fn did(claims: ApproovClaims) -> String {
    claims.did().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_layer_protects_a_single_method_router() {
    let secret = loopback::secret();
    let app = Router::new()
        .route("/protected", get(did).layer(loopback::layer(&secret)))
        .route("/public", get(|| async { "public" }))
        .layer(MapResponseLayer::new(loopback::expose_reason::<Body>));
    let (listener, addr) = loopback::listener().await;
    tokio::spawn(async move { axum::serve(listener, app).await });
    let token = TokenBuilder::hs256(&secret)
        .did("device-7")
        .build()
        .unwrap();

    let accepted = loopback::send(loopback::get(
        &format!("http://{addr}/protected"),
        Some(&token),
    ))
    .await;
    let rejected = loopback::send(loopback::get(&format!("http://{addr}/protected"), None)).await;
    let public = loopback::send(loopback::get(&format!("http://{addr}/public"), None)).await;

    assert_eq!(accepted.status(), StatusCode::OK);
    assert_eq!(&accepted.body()[..], b"device-7");
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        loopback::reason(&rejected),
        Some(ApproovErrorKind::MissingToken.reason_code())
    );
    assert_eq!(&rejected.body()[..], b"{}");
    assert_eq!(public.status(), StatusCode::OK);
    assert_eq!(loopback::reason(&public), None);
}

/// An inner service with state to look at.
#[derive(Clone, Debug, PartialEq)]
struct Inner {
    name: &'static str,
}

#[test]
fn the_service_gives_access_to_its_inner_service() {
    let layer = loopback::layer(&loopback::secret());
    let mut service: ApproovService<Inner, _> = layer.layer(Inner { name: "first" });

    assert_eq!(service.get_ref().name, "first");
    service.get_mut().name = "second";
    assert_eq!(service.get_ref().name, "second");
    assert_eq!(service.into_inner(), Inner { name: "second" });
}
