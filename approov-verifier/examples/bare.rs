//! The baselines of `bench/verifier.sh`: the same kinds of endpoint as the verifier's doors,
//! doing no check, so that the difference is what the check costs.
//!
//! ```text
//! bare http PORT   # axum: GET /check and GET / answer 200 with an empty body
//! bare grpc PORT   # tonic: envoy.service.auth.v3.Authorization/Check answers OK, unread
//! ```

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use envoy_types::ext_authz::v3::pb::{
    Authorization, AuthorizationServer, CheckRequest, CheckResponse, HttpResponse, OkHttpResponse,
};
use envoy_types::pb::google::rpc;
use tonic::{Request, Response, Status};

struct AlwaysOk;

#[tonic::async_trait]
impl Authorization for AlwaysOk {
    async fn check(&self, _: Request<CheckRequest>) -> Result<Response<CheckResponse>, Status> {
        Ok(Response::new(CheckResponse {
            status: Some(rpc::Status::default()),
            http_response: Some(HttpResponse::OkResponse(OkHttpResponse::default())),
            ..Default::default()
        }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (kind, port) = match args.as_slice() {
        [_, kind, port] => (kind.as_str(), port.parse::<u16>()?),
        _ => return Err("usage: bare http|grpc PORT".into()),
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    match kind {
        "http" => {
            let app = Router::new()
                .route("/check", get(|| async {}))
                .route("/", get(|| async {}));
            axum::serve(tokio::net::TcpListener::bind(addr).await?, app).await?;
        }
        "grpc" => {
            tonic::transport::Server::builder()
                .add_service(AuthorizationServer::new(AlwaysOk))
                .serve(addr)
                .await?;
        }
        _ => return Err("usage: bare http|grpc PORT".into()),
    }
    Ok(())
}
