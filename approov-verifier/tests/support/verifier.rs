//! The real `approov-verifier` binary as a child process, on ports the system picked (port 0,
//! read back from its `listening on` lines), and what it counted (`/metrics`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use super::client::{Request, send};
use super::process::{Process, TempDir, WAIT};
use super::tokens::secret_base64;

/// A running verifier.
#[derive(Debug)]
pub struct Verifier {
    pub process: Process,
    /// `/check`, `/ext-authz/`, `/healthz`, `/readyz`, `/metrics`.
    pub http: SocketAddr,
    /// Envoy's gRPC ext_authz and `grpc.health.v1`.
    pub grpc: Option<SocketAddr>,
    /// The reverse proxy, when `APPROOV_VERIFIER_UPSTREAM` is set.
    pub proxy: Option<SocketAddr>,
    _dir: TempDir,
}

/// `(outcome, reason)` -> count, as `approov_requests_total` has them.
pub type Counts = BTreeMap<(String, String), u64>;

impl Verifier {
    /// Starts the verifier with the test secret, every door on a port of the system's choosing,
    /// and `vars` on top (an empty value removes a variable). Its working directory is a fresh
    /// one, so no `.env` is read.
    pub async fn start(vars: &[(&str, &str)]) -> Self {
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        env.insert("APPROOV_BASE64_SECRET".into(), secret_base64());
        env.insert("APPROOV_VERIFIER_LISTEN".into(), "127.0.0.1:0".into());
        env.insert("APPROOV_VERIFIER_GRPC_LISTEN".into(), "127.0.0.1:0".into());
        env.insert("APPROOV_VERIFIER_PROXY_LISTEN".into(), "127.0.0.1:0".into());
        for (name, value) in vars {
            if value.is_empty() {
                env.remove(*name);
            } else {
                env.insert((*name).to_owned(), (*value).to_owned());
            }
        }
        let expected_doors =
            1 + usize::from(
                env.get("APPROOV_VERIFIER_GRPC_LISTEN")
                    .is_some_and(|v| v != "off"),
            ) + usize::from(env.contains_key("APPROOV_VERIFIER_UPSTREAM"));
        let dir = TempDir::new("verifier");
        let mut command = command(dir.path(), &env);
        command.env("RUST_BACKTRACE", "1");
        let mut process = Process::spawn("approov-verifier", command);

        let started = Instant::now();
        let lines = loop {
            let text = process.stdout.text();
            let lines: Vec<String> = text
                .lines()
                .filter_map(|l| l.strip_prefix("approov-verifier listening on "))
                .map(str::to_owned)
                .collect();
            if lines.len() >= expected_doors {
                break lines;
            }
            process.assert_running();
            assert!(
                started.elapsed() < WAIT,
                "the verifier did not say where it listens within {WAIT:?}:\n{}",
                process.output()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let addr = |prefix: &str, proxy: bool| {
            lines.iter().find_map(|line| {
                let rest = line.strip_prefix(prefix)?;
                let (addr, is_proxy) = match rest.split_once(" (proxy to ") {
                    Some((addr, _)) => (addr, true),
                    None => (rest, false),
                };
                (is_proxy == proxy).then(|| addr.parse::<SocketAddr>().expect("an address"))
            })
        };
        Self {
            http: addr("http://", false).expect("the HTTP door"),
            grpc: addr("grpc://", false),
            proxy: addr("http://", true),
            process,
            _dir: dir,
        }
    }

    /// The `approov_requests_total` counters now.
    pub async fn counts(&self) -> Counts {
        let reply = send(self.http, Request::get("/metrics")).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        parse_counts(&reply.text())
    }

    /// What was counted since `before`: `(outcome, reason, count)`, the counters that moved.
    pub async fn counted_since(&self, before: &Counts) -> Vec<(String, String, u64)> {
        self.counts()
            .await
            .into_iter()
            .filter_map(|(key, now)| {
                let moved = now - before.get(&key).copied().unwrap_or(0);
                (moved > 0).then_some((key.0, key.1, moved))
            })
            .collect()
    }

    /// What the verifier logged so far (its standard error).
    pub fn logs(&self) -> String {
        self.process.stderr.text()
    }
}

/// The verifier's command: an empty environment but `PATH` and `env`, in `dir`.
pub fn command(dir: &std::path::Path, env: &BTreeMap<String, String>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_approov-verifier"));
    command.env_clear().current_dir(dir).envs(env);
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command
}

/// The `approov_requests_total{outcome="...",reason="..."} N` lines of a Prometheus text page.
pub fn parse_counts(page: &str) -> Counts {
    let mut counts = Counts::new();
    for line in page.lines() {
        let Some(rest) = line.strip_prefix("approov_requests_total{") else {
            continue;
        };
        let (labels, value) = rest.split_once("} ").expect("a sample line");
        let label = |name: &str| {
            labels
                .split(',')
                .find_map(|l| l.strip_prefix(&format!("{name}=\"")))
                .and_then(|v| v.strip_suffix('"'))
                .expect("the label")
                .to_owned()
        };
        let value: f64 = value.trim().parse().expect("a count");
        counts.insert((label("outcome"), label("reason")), value as u64);
    }
    counts
}

/// `[(outcome, reason, 1)]`, for comparing with [`Verifier::counted_since`].
pub fn once(outcome: &str, reason: &str) -> Vec<(String, String, u64)> {
    vec![(outcome.to_owned(), reason.to_owned(), 1)]
}
