//! The real gateways, started on free loopback ports from the configuration files the README
//! shows (`approov-verifier/gateways/`), their placeholders filled in, in front of a real
//! verifier and a real upstream.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::client::{Reply, Request, try_send};
use super::process::{self, Binary, Process, TempDir, WAIT};
use super::upstream::Upstream;
use super::verifier::Verifier;

/// A gateway configuration, as the README shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `gateways/nginx/approov.conf`: `auth_request` to `/check`.
    Nginx,
    /// `gateways/nginx/approov-proxy.conf`: nginx in front of the verifier's reverse proxy.
    NginxProxy,
    /// `gateways/envoy-grpc/envoy.yaml`: ext_authz over gRPC.
    EnvoyGrpc,
    /// `gateways/envoy-http/envoy.yaml`: ext_authz over HTTP to `/ext-authz/`.
    EnvoyHttp,
    /// `gateways/traefik/`: `forwardAuth` to `/check`, `forwardBody`.
    Traefik,
    /// `gateways/caddy/Caddyfile`: `forward_auth` to `/check`, with PyPI's Caddy 2.11.
    Caddy,
    /// The same Caddyfile with Debian's Caddy 2.6.
    Caddy26,
    /// `gateways/haproxy/`: HAProxy's Lua action of `approov.lua` calling `/check`.
    Haproxy,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Nginx => "nginx",
            Self::NginxProxy => "nginx + verifier proxy",
            Self::EnvoyGrpc => "Envoy gRPC",
            Self::EnvoyHttp => "Envoy HTTP",
            Self::Traefik => "Traefik",
            Self::Caddy => "Caddy",
            Self::Caddy26 => "Caddy 2.6",
            Self::Haproxy => "HAProxy",
        }
    }

    /// The verifier's settings this configuration goes with, as the README says.
    pub fn verifier_vars(self) -> Vec<(&'static str, String)> {
        match self {
            // The gateway sends the whole body: an empty one is an empty body.
            Self::EnvoyHttp | Self::Traefik => {
                vec![("APPROOV_VERIFIER_BODY_FORWARDED", "true".to_owned())]
            }
            _ => Vec::new(),
        }
    }

    /// Whether the verifier sees the body (and so checks `content-digest`).
    pub fn forwards_body(self) -> bool {
        matches!(
            self,
            Self::NginxProxy | Self::EnvoyGrpc | Self::EnvoyHttp | Self::Traefik
        )
    }

    fn binary(self) -> Binary {
        match self {
            Self::Nginx | Self::NginxProxy => process::NGINX,
            Self::EnvoyGrpc | Self::EnvoyHttp => process::ENVOY,
            Self::Traefik => process::TRAEFIK,
            Self::Caddy => process::CADDY,
            Self::Caddy26 => process::CADDY_2_6,
            Self::Haproxy => process::HAPROXY,
        }
    }

    /// The configuration files (relative to `approov-verifier/gateways/`), copied filled in.
    fn files(self) -> &'static [&'static str] {
        match self {
            Self::Nginx => &["nginx/approov.conf"],
            Self::NginxProxy => &["nginx/approov-proxy.conf"],
            Self::EnvoyGrpc => &["envoy-grpc/envoy.yaml"],
            Self::EnvoyHttp => &["envoy-http/envoy.yaml"],
            Self::Traefik => &["traefik/traefik.yml", "traefik/dynamic.yml"],
            Self::Caddy | Self::Caddy26 => &["caddy/Caddyfile"],
            Self::Haproxy => &["haproxy/haproxy.cfg", "haproxy/approov.lua"],
        }
    }

    fn command(self, binary: &Path, dir: &Path) -> Command {
        let mut command = Command::new(binary);
        match self {
            Self::Nginx | Self::NginxProxy => {
                // The server block is included by a minimal main configuration of the test's
                // own (its pid file, logs and temporary files in the test's directory).
                let main = NGINX_MAIN
                    .replace("{{DIR}}", &dir.display().to_string())
                    .replace("{{SERVER}}", self.files()[0].trim_start_matches("nginx/"));
                std::fs::write(dir.join("nginx.conf"), main).expect("nginx.conf written");
                command
                    .arg("-p")
                    .arg(dir)
                    .arg("-c")
                    .arg(dir.join("nginx.conf"))
                    .args(["-e", "stderr"]);
            }
            Self::EnvoyGrpc | Self::EnvoyHttp => {
                command
                    .arg("-c")
                    .arg(dir.join("envoy.yaml"))
                    .args(["--disable-hot-restart", "--concurrency", "1"])
                    .args(["--log-level", "warning"]);
            }
            Self::Traefik => {
                command.arg(format!(
                    "--configFile={}",
                    dir.join("traefik.yml").display()
                ));
            }
            Self::Caddy | Self::Caddy26 => {
                command
                    .arg("run")
                    .arg("--config")
                    .arg(dir.join("Caddyfile"))
                    .args(["--adapter", "caddyfile"]);
            }
            Self::Haproxy => {
                // -db: in the foreground, not as a daemon.
                command.arg("-f").arg(dir.join("haproxy.cfg")).arg("-db");
            }
        }
        // Caddy and Traefik keep state under HOME: the test's directory.
        command
            .env("HOME", dir)
            .env("XDG_DATA_HOME", dir)
            .env("XDG_CONFIG_HOME", dir);
        command
    }
}

/// nginx's main configuration around the README's server block.
const NGINX_MAIN: &str = "\
daemon off;
worker_processes 1;
pid {{DIR}}/nginx.pid;
error_log stderr notice;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path {{DIR}}/client_body;
    proxy_temp_path {{DIR}}/proxy;
    include {{DIR}}/{{SERVER}};
}
";

/// The directory of the configuration files.
pub fn gateways_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("gateways")
}

/// A running gateway.
#[derive(Debug)]
pub struct Gateway {
    pub kind: Kind,
    /// Where clients call it.
    pub addr: SocketAddr,
    pub process: Process,
    _dir: TempDir,
}

impl Gateway {
    /// Starts `kind` in front of `verifier` and `upstream`, on a loopback port reserved and
    /// released right before, and waits (at most [`WAIT`]) until it answers a request without
    /// a token with the verifier's refusal. A start lost to a port taken meanwhile is tried
    /// again, twice at most.
    pub async fn start(kind: Kind, verifier: &Verifier, upstream: &Upstream) -> Self {
        let binary = process::binary(kind.binary());
        let mut last_failure = String::new();
        for _ in 0..3 {
            match Self::try_start(kind, &binary, verifier, upstream).await {
                Ok(gateway) => return gateway,
                Err(failure) => last_failure = failure,
            }
        }
        panic!("{} could not be started:\n{last_failure}", kind.name());
    }

    async fn try_start(
        kind: Kind,
        binary: &Path,
        verifier: &Verifier,
        upstream: &Upstream,
    ) -> Result<Self, String> {
        let dir = TempDir::new(&kind.name().replace(' ', "-"));
        let listen = free_port();
        let mut values = BTreeMap::new();
        values.insert("LISTEN", listen.to_string());
        values.insert("LISTEN_PORT", listen.port().to_string());
        values.insert("VERIFIER", verifier.http.to_string());
        values.insert("VERIFIER_PORT", verifier.http.port().to_string());
        if let Some(grpc) = verifier.grpc {
            values.insert("VERIFIER_GRPC_PORT", grpc.port().to_string());
        }
        if let Some(proxy) = verifier.proxy {
            values.insert("VERIFIER_PROXY", proxy.to_string());
        }
        values.insert("UPSTREAM", upstream.addr.to_string());
        values.insert("UPSTREAM_PORT", upstream.addr.port().to_string());
        values.insert(
            "DYNAMIC",
            dir.path().join("dynamic.yml").display().to_string(),
        );
        values.insert("LUA", dir.path().join("approov.lua").display().to_string());
        for file in kind.files() {
            let source = gateways_dir().join(file);
            let text = std::fs::read_to_string(&source)
                .unwrap_or_else(|e| panic!("{}: {e}", source.display()));
            let filled = fill(&text, &values);
            let name = Path::new(file).file_name().expect("a file name");
            std::fs::write(dir.path().join(name), filled).expect("the configuration written");
        }
        let command = kind.command(binary, dir.path());
        let mut process = Process::spawn(kind.name(), command);

        // Ready once a request without a token gets the refusal through the gateway.
        let started = Instant::now();
        loop {
            if let Some(status) = process.exited() {
                return Err(format!("exited ({status})\n{}", process.output()));
            }
            let probe = try_send(listen, Request::get("/__gateway_ready")).await;
            if let Ok(Reply { status: 401, .. }) = probe {
                break;
            }
            if started.elapsed() > WAIT {
                return Err(format!(
                    "no refusal from {listen} within {WAIT:?} (last: {probe:?})\n{}",
                    process.output()
                ));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Ok(Self {
            kind,
            addr: listen,
            process,
            _dir: dir,
        })
    }
}

/// A loopback port free right now: bound, read, released.
fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    listener.local_addr().expect("its address")
}

/// `text` with every `{{NAME}}` replaced; a placeholder left unfilled fails the test.
pub fn fill(text: &str, values: &BTreeMap<&str, String>) -> String {
    let mut filled = text.to_owned();
    for (name, value) in values {
        filled = filled.replace(&format!("{{{{{name}}}}}"), value);
    }
    assert!(
        !filled.contains("{{"),
        "a placeholder is left unfilled:\n{filled}"
    );
    filled
}

/// A verifier, an upstream and a gateway in front of both.
#[derive(Debug)]
pub struct Stack {
    pub gateway: Gateway,
    pub verifier: Verifier,
    pub upstream: Upstream,
}

impl Stack {
    /// Starts the upstream, the verifier (with `kind`'s settings, then `vars`) and the gateway.
    pub async fn start(kind: Kind, vars: &[(&str, &str)]) -> Self {
        // A missing gateway fails the test first, before anything is started.
        process::binary(kind.binary());
        let upstream = Upstream::start().await;
        let upstream_origin = format!("http://{}", upstream.addr);
        let mut all: Vec<(&str, String)> = kind.verifier_vars();
        if kind == Kind::NginxProxy {
            all.push(("APPROOV_VERIFIER_UPSTREAM", upstream_origin));
        }
        all.extend(vars.iter().map(|(n, v)| (*n, (*v).to_owned())));
        let all: Vec<(&str, &str)> = all.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let verifier = Verifier::start(&all).await;
        let gateway = Gateway::start(kind, &verifier, &upstream).await;
        Self {
            gateway,
            verifier,
            upstream,
        }
    }
}
