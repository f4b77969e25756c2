//! The actix-web servers of the loopback load comparison (`bench/load.sh`), beside
//! `bench_server` (axum), so that the middleware's cost on actix-web is measured against a
//! bare actix-web app, as the layer's is against a bare axum app.
//!
//! ```text
//! bench_actix serve MODE DIR PORT    # serves GET / on 127.0.0.1:PORT
//! ```
//!
//! `DIR` holds the keys `bench_server keys DIR` wrote (only the HS256 secret is used). `MODE`:
//! - `plain`: actix-web with no middleware;
//! - `middleware-hs256`: actix-web with `ApproovMiddleware` (default configuration: cache of
//!   10 000 tokens, no binding), built once and cloned into each worker.
//!
//! Both answer `200 ok` from the same handler; failures answer `401 {}`. Nothing is logged per
//! request. `HttpServer` starts one worker per CPU the process may run on (as the axum server's
//! tokio runtime does), so pinning it with `taskset` sets its size.

use std::path::Path;

use actix_web::{App, HttpServer, web};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tower_approov::ApproovConfig;
use tower_approov::actix::ApproovMiddleware;

type Error = Box<dyn std::error::Error>;

async fn ok() -> &'static str {
    "ok"
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ["serve", mode, dir, port] = args.iter().map(String::as_str).collect::<Vec<_>>()[..] else {
        return Err("usage: bench_actix serve plain|middleware-hs256 DIR PORT".into());
    };
    let port: u16 = port.parse()?;
    let address = ("127.0.0.1", port);
    let server = match mode {
        "plain" => HttpServer::new(|| App::new().route("/", web::get().to(ok)))
            .bind(address)?
            .run(),
        "middleware-hs256" => {
            let secret = std::fs::read(Path::new(dir).join("hs256.public"))?;
            let secret = STANDARD.decode(secret.trim_ascii())?;
            let config = ApproovConfig::builder()
                .with_secret(&secret, None)?
                .build()?;
            let approov = ApproovMiddleware::new(config);
            HttpServer::new(move || {
                App::new()
                    .wrap(approov.clone())
                    .route("/", web::get().to(ok))
            })
            .bind(address)?
            .run()
        }
        _ => return Err(format!("unknown mode {mode}").into()),
    };
    println!("listening on http://127.0.0.1:{port} (actix {mode})");
    actix_web::rt::System::new().block_on(server)?;
    Ok(())
}
