//! A `!Send` inner service (one holding an `Rc`, whose future holds it across an await) behind
//! the layer, served by hyper over real HTTP on loopback from a current-thread runtime, with
//! message signing off and on. It compiles only because the `Service` impl asks no `Send` and
//! no `'static` of the inner service, its future or the body: the `Rc` makes them all `!Send`.

use crate::loopback;

use std::cell::Cell;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::rc::Rc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::ServiceBuilder;
use tower_approov::test_util::{InstallationKey, RequestSigner, TokenBuilder};
use tower_approov::{
    ApproovBody, ApproovClaims, ApproovConfig, ApproovErrorKind, ApproovLayer, MessageSigning,
};

/// Answers `did:body` and counts its calls in an `Rc<Cell<_>>`, which it keeps across an await.
async fn handler(
    calls: Rc<Cell<u32>>,
    req: Request<ApproovBody<Incoming>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let did = req
        .extensions()
        .get::<ApproovClaims>()
        .and_then(ApproovClaims::did)
        .unwrap_or("none")
        .to_owned();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    tokio::task::yield_now().await;
    calls.set(calls.get() + 1);
    let text = format!("{did}:{}", String::from_utf8_lossy(&body));
    Ok(Response::new(Full::new(Bytes::from(text))))
}

/// Serves the layer around [`handler`] on loopback, every connection on this thread.
async fn serve_local(config: ApproovConfig, calls: Rc<Cell<u32>>) -> SocketAddr {
    let (listener, addr) = loopback::listener().await;
    let service = ServiceBuilder::new()
        .map_response(loopback::expose_reason)
        .layer(ApproovLayer::new(config))
        .service(tower::service_fn(move |req| {
            handler(Rc::clone(&calls), req)
        }));
    tokio::task::spawn_local(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = TowerToHyperService::new(service.clone());
            tokio::task::spawn_local(
                http1::Builder::new().serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    addr
}

fn config(secret: &[u8], signing: MessageSigning) -> ApproovConfig {
    ApproovConfig::builder()
        .with_secret(secret, None)
        .unwrap()
        .with_message_signing(signing)
        .build()
        .unwrap()
}

/// A signed POST to `addr` carrying `body`, its token bound to `key`.
fn signed_post(
    addr: SocketAddr,
    secret: &[u8],
    key: &InstallationKey,
    body: &str,
) -> Request<Vec<u8>> {
    let token = TokenBuilder::hs256(secret)
        .did("local-device")
        .ipk(key.ipk().unwrap())
        .build()
        .unwrap();
    // Signed for https, as a mobile app calls; sent over plain HTTP/1.1 in origin form, from
    // which the server rebuilds `https://` (no scheme on the wire).
    let mut request = Request::post(format!("https://{addr}/v1/orders"))
        .header("approov-token", token)
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .unwrap();
    RequestSigner::new(key)
        .android()
        .sign(&mut request)
        .unwrap();
    *request.uri_mut() = format!("http://{addr}/v1/orders").parse().unwrap();
    request
}

fn full(request: Request<Vec<u8>>) -> Request<Full<Bytes>> {
    request.map(|body| Full::new(Bytes::from(body)))
}

fn text(response: &Response<Bytes>) -> &str {
    std::str::from_utf8(response.body()).unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn a_not_send_inner_service_works_on_a_current_thread_runtime_with_signing_off() {
    tokio::task::LocalSet::new()
        .run_until(async {
            let secret = loopback::secret();
            let calls = Rc::new(Cell::new(0));
            let addr = serve_local(config(&secret, MessageSigning::Off), Rc::clone(&calls)).await;
            let token = TokenBuilder::hs256(&secret)
                .did("local-device")
                .build()
                .unwrap();

            let accepted =
                loopback::send(loopback::get(&format!("http://{addr}/"), Some(&token))).await;
            let rejected = loopback::send(loopback::get(&format!("http://{addr}/"), None)).await;

            assert_eq!(accepted.status(), StatusCode::OK);
            assert_eq!(loopback::reason(&accepted), None);
            assert_eq!(text(&accepted), "local-device:");
            assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(
                loopback::reason(&rejected),
                Some(ApproovErrorKind::MissingToken.reason_code())
            );
            assert_eq!(text(&rejected), "{}");
            assert_eq!(calls.get(), 1);
        })
        .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_not_send_inner_service_gets_a_signed_body_read_and_digest_checked_on_a_current_thread_runtime()
 {
    tokio::task::LocalSet::new()
        .run_until(async {
            let secret = loopback::secret();
            let calls = Rc::new(Cell::new(0));
            let addr =
                serve_local(config(&secret, MessageSigning::Require), Rc::clone(&calls)).await;
            let key = InstallationKey::generate().unwrap();
            let request = signed_post(addr, &secret, &key, r#"{"item":7}"#);
            let mut tampered = Request::post(request.uri().clone())
                .body(br#"{"item":8}"#.to_vec())
                .unwrap();
            *tampered.headers_mut() = request.headers().clone();

            let accepted = loopback::send(full(request)).await;
            let rejected = loopback::send(full(tampered)).await;

            assert_eq!(accepted.status(), StatusCode::OK);
            assert_eq!(loopback::reason(&accepted), None);
            assert_eq!(text(&accepted), r#"local-device:{"item":7}"#);
            assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(
                loopback::reason(&rejected),
                Some(ApproovErrorKind::ContentDigestMismatch.reason_code())
            );
            assert_eq!(text(&rejected), "{}");
            assert_eq!(calls.get(), 1);
        })
        .await;
}
