//! The axum front door: `sdk_support::app`, the tower layer on an axum `Router`.

use std::net::SocketAddr;

use tokio::task::JoinHandle;
use tower_approov::ApproovConfig;

use super::runner::FrontDoor;
use crate::sdk_support;

pub struct Axum;

impl FrontDoor for Axum {
    const NAME: &'static str = "axum (ApproovLayer)";
    type Server = JoinHandle<()>;

    async fn serve(
        config: ApproovConfig,
        _: &[(&'static str, &str)],
    ) -> (SocketAddr, Self::Server) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = sdk_support::app(config);
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (addr, server)
    }

    async fn stop(server: Self::Server) {
        server.abort();
    }
}
