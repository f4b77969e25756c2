//! The replay store in Redis or Valkey (feature `redis`): the store every instance of a
//! horizontally scaled API shares.
//!
//! One atomic `SET key 1 NX PXAT <until>` per signature (all of a request's signatures in one
//! pipelined round trip): the first instance to see a signature sets its key, any later one
//! finds it set. The key lives until the signature can no longer be accepted, and no longer.
//! Every call has a timeout; a failed `SET` is never retried (a retry could find the key set
//! by the first attempt and take its own request for a replay). The redis crate's async
//! connection manager reconnects in the background; TLS (`rediss://`) is rustls with the
//! aws-lc-rs provider.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Remembered, Seen};
use crate::check::error::ConfigError;

/// A shared store in Redis.
pub(crate) struct RedisStore {
    client: redis::Client,
    /// Made on the first call, inside the runtime that makes it.
    manager: tokio::sync::OnceCell<ConnectionManager>,
    prefix: String,
    timeout: Duration,
    /// The host and port, for logs: never the URL's user or password.
    host: String,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("host", &self.host)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store at `url` (`redis://` or `rediss://`). Nothing is connected yet.
    pub(crate) fn new(
        url: &str,
        prefix: &str,
        timeout: Duration,
        variable: &'static str,
    ) -> Result<Self, ConfigError> {
        let invalid = ConfigError::Invalid {
            variable,
            expected: "a Redis URL such as redis://host:6379/0 or rediss://host:6380 (TLS)",
        };
        let scheme_ok = url.starts_with("redis://") || url.starts_with("rediss://");
        if !scheme_ok {
            return Err(invalid);
        }
        // rustls needs a process-wide provider: the aws-lc-rs one, which the crate builds
        // anyway. An application that installed its own keeps it.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let client = redis::Client::open(url).map_err(|_| invalid)?;
        let host = match &client.get_connection_info().addr() {
            redis::ConnectionAddr::Tcp(host, port)
            | redis::ConnectionAddr::TcpTls { host, port, .. } => format!("{host}:{port}"),
            _ => String::new(),
        };
        Ok(Self {
            client,
            manager: tokio::sync::OnceCell::new(),
            prefix: prefix.to_owned(),
            timeout,
            host,
        })
    }

    async fn manager(&self) -> redis::RedisResult<ConnectionManager> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        self.manager
            .get_or_try_init(|| async {
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await
            .cloned()
    }

    fn key(&self, seen: &Seen) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut key = String::with_capacity(self.prefix.len() + 64);
        key.push_str(&self.prefix);
        for byte in seen.key {
            key.push(char::from(HEX[usize::from(byte >> 4)]));
            key.push(char::from(HEX[usize::from(byte & 15)]));
        }
        key
    }

    /// Sets every signature's key, each only if absent, to expire when the signature does.
    pub(crate) async fn remember(&self, seen: &[Seen]) -> Remembered {
        let call = async {
            let mut connection = self.manager().await?;
            let mut pipe = redis::pipe();
            for signature in seen {
                pipe.cmd("SET")
                    .arg(self.key(signature))
                    .arg(1)
                    .arg("NX")
                    .arg("PXAT")
                    .arg(signature.until_ms);
            }
            // `OK` for a key set now, nil for one that was there.
            pipe.query_async::<Vec<Option<String>>>(&mut connection)
                .await
        };
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(replies)) if replies.iter().any(Option::is_none) => Remembered::Replayed,
            Ok(Ok(_)) => Remembered::Fresh,
            Ok(Err(_)) | Err(_) => Remembered::Unavailable,
        }
    }

    /// Whether the store answers a `PING` in time.
    pub(crate) async fn ping(&self) -> bool {
        let call = async {
            let mut connection = self.manager().await?;
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
        };
        matches!(tokio::time::timeout(self.timeout, call).await, Ok(Ok(_)))
    }
}
