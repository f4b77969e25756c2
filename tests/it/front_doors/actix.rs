//! The actix-web front door: the test app behind `ApproovMiddleware` on a real actix-web
//! `HttpServer` (one worker), on a loopback port.

use std::net::SocketAddr;

use actix_web::dev::{ServerHandle, Service as _};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{App, HttpMessage as _, HttpRequest, HttpResponse, HttpServer, web};
use tower_approov::actix::{ApproovMiddleware, RejectionResponse};
use tower_approov::{ApproovClaims, ApproovConfig, ApproovError};

use super::runner::FrontDoor;
use crate::common::REASON_HEADER;
use crate::sdk_support::handler_headers;

pub struct Actix;

impl FrontDoor for Actix {
    const NAME: &'static str = "actix-web (ApproovMiddleware)";
    type Server = ServerHandle;

    async fn serve(
        config: ApproovConfig,
        _: &[(&'static str, &str)],
    ) -> (SocketAddr, Self::Server) {
        serve(ApproovMiddleware::new(config)).await
    }

    async fn stop(server: Self::Server) {
        server.stop(false).await;
    }
}

/// The handler of every path: the body it received, and [`handler_headers`].
pub async fn echo(request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let headers = {
        let extensions = request.extensions();
        handler_headers(
            extensions.get::<ApproovClaims>(),
            extensions.get::<ApproovError>(),
            request.headers().contains_key("approov-token"),
        )
    };
    let mut response = HttpResponse::Ok();
    for (name, value) in headers {
        response.insert_header((name, value));
    }
    response.body(body)
}

/// Serves the test app behind `approov` on a fresh loopback port, with the rejection's reason
/// copied from the response extensions into `x-test-approov-reason` by an outer middleware, as
/// the axum app does. Returns the address and the handle that stops the server.
pub async fn serve<R>(approov: ApproovMiddleware<R>) -> (SocketAddr, ServerHandle)
where
    R: RejectionResponse + Clone + Send + 'static,
{
    serve_app(move || {
        App::new()
            .wrap(approov.clone())
            .default_service(web::to(echo))
    })
    .await
}

/// Serves the app `factory` makes, with the reason header added outermost, on a fresh loopback
/// port, with one worker and no signal handling.
pub async fn serve_app<F, T, B>(factory: F) -> (SocketAddr, ServerHandle)
where
    F: Fn() -> App<T> + Send + Clone + 'static,
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: actix_web::body::MessageBody + 'static,
{
    serve_app_on_workers(1, factory).await
}

/// [`serve_app`] with this many workers, each building its own `App`.
pub async fn serve_app_on_workers<F, T, B>(workers: usize, factory: F) -> (SocketAddr, ServerHandle)
where
    F: Fn() -> App<T> + Send + Clone + 'static,
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: actix_web::body::MessageBody + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        factory().wrap_fn(|request, service| {
            let response = service.call(request);
            async move {
                let mut response = response.await?;
                let reason = response
                    .response()
                    .extensions()
                    .get::<ApproovError>()
                    .map(|e| e.kind().reason_code());
                if let Some(reason) = reason {
                    response.headers_mut().insert(
                        HeaderName::from_static(REASON_HEADER),
                        HeaderValue::from_static(reason),
                    );
                }
                Ok(response)
            }
        })
    })
    .workers(workers)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    (addr, handle)
}
