//! What the verifier's tests share: child processes found in one place and always ended, the
//! real verifier binary, the real gateways, a real echoing upstream, a real `redis-server`, an
//! HTTP client with a deadline, and tokens and SDK signatures made by hand.
#![allow(dead_code, unreachable_pub)]

pub mod client;
pub mod gateway;
pub mod process;
/// A real `redis-server`, shared with tower-approov's replay tests.
#[path = "../../../tests/redis_support/mod.rs"]
pub mod redis;
pub mod tokens;
pub mod upstream;
pub mod verifier;

use std::net::SocketAddr;

/// Runs curl against `addr` with `headers` on `path` (`-sS -i`, at most 20 s), prints the
/// command and its answer (for the closing note of a run with `--nocapture`), and returns the
/// answer.
pub async fn curl(label: &str, addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> String {
    let curl = process::binary(process::CURL);
    let mut args: Vec<String> = vec!["-sS".into(), "-i".into(), "--max-time".into(), "20".into()];
    let mut shown = String::from("curl -sS -i --max-time 20");
    for (name, value) in headers {
        args.push("-H".into());
        args.push(format!("{name}: {value}"));
        shown.push_str(&format!(" -H '{name}: {value}'"));
    }
    let url = format!("http://{addr}{path}");
    shown.push_str(&format!(" {url}"));
    args.push(url);
    let output = tokio::task::spawn_blocking(move || process::run(&curl, &args))
        .await
        .expect("curl ran");
    println!(
        "[{label}] $ {shown}\n{}\n",
        output.replace("\r\n", "\n").trim_end()
    );
    output
}
