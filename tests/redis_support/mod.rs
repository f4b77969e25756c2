//! A real `redis-server` (Debian's package, or `REDIS_SERVER_BIN`) on a loopback port of its
//! own, for the replay tests: started and waited for, read back (`KEYS`, `PEXPIRETIME`), and
//! killed when dropped. Included by `tests/replay_redis.rs` and by approov-verifier's tests
//! (`approov-verifier/tests/support/mod.rs`): one definition.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` on a loopback port of its own, killed when dropped.
pub struct RedisServer {
    child: Child,
    pub port: u16,
}

impl RedisServer {
    /// A server on a port that was free a moment ago (the server's own bind says if it still
    /// is), once it answers `PING`.
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::on_port(port)
    }

    /// A server on `port`, once it answers `PING`: for a store started again where one was.
    pub fn on_port(port: u16) -> Self {
        let binary = std::env::var("REDIS_SERVER_BIN").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(&binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{binary} could not be started ({e}): install redis-server (apt-get install \
                     redis-server; scripts/test.sh does) or set REDIS_SERVER_BIN"
                )
            });
        let server = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !server.answers() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn answers(&self) -> bool {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
            .is_ok()
    }

    /// A new connection of the test's own.
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }

    /// Every key under `prefix`, with its expiry time (ms since the epoch).
    pub fn keys(&self, prefix: &str) -> Vec<(String, i64)> {
        let mut connection = self.connection();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query(&mut connection)
            .unwrap();
        keys.into_iter()
            .map(|key| {
                let at: i64 = redis::cmd("PEXPIRETIME")
                    .arg(&key)
                    .query(&mut connection)
                    .unwrap();
                (key, at)
            })
            .collect()
    }

    /// Kills the server (the store goes down); its port is free again.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
