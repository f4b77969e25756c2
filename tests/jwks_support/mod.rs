//! Shared by the JWKS fetch tests (issues 13 and 25): the one JWKS test server, on 127.0.0.1,
//! over plain HTTP or over TLS with a CA and a certificate made in the test (rcgen), counting
//! a hit when a request has been read and letting a test wait for the n-th; a recording HTTP
//! proxy that can tunnel `CONNECT`s; and a capture of every `tracing` event of the process
//! (the refresher logs on its own thread), with a wait for a line.
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What the JWKS server answers.
#[derive(Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub location: Option<String>,
    pub cache_control: Option<String>,
    /// How long to wait, after reading the request, before answering.
    pub delay: Duration,
    /// Read the request, then close the connection without an answer: a failed fetch.
    pub hang_up: bool,
}

impl Answer {
    pub fn jwks(body: Vec<u8>) -> Self {
        Self {
            status: 200,
            body,
            location: None,
            cache_control: None,
            delay: Duration::ZERO,
            hang_up: false,
        }
    }

    /// An answer with this status and an empty JSON object as its body.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            ..Self::jwks(b"{}".to_vec())
        }
    }

    pub fn redirect(location: &str) -> Self {
        Self {
            location: Some(location.to_owned()),
            ..Self::status(302)
        }
    }

    /// The connection is closed once the request has been read, with no answer.
    pub fn hang_up() -> Self {
        Self {
            hang_up: true,
            ..Self::status(500)
        }
    }

    pub fn with_cache_control(mut self, value: &str) -> Self {
        self.cache_control = Some(value.to_owned());
        self
    }

    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A CA and a server certificate it signed, for `127.0.0.1`, `localhost` and
/// `jwks.example.test`.
pub struct Pki {
    pub ca_pem: String,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

impl Pki {
    pub fn new() -> Self {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "tower-approov test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
            "jwks.example.test".to_owned(),
        ])
        .unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();
        Self {
            ca_pem: ca.pem(),
            cert_der: cert.der().to_vec(),
            key_der: key.serialize_der(),
        }
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![rustls::pki_types::CertificateDer::from(
                    self.cert_der.clone(),
                )],
                rustls::pki_types::PrivateKeyDer::Pkcs8(self.key_der.clone().into()),
            )
            .unwrap();
        Arc::new(config)
    }
}

/// How long a liveness wait may take before the test gives up: it only keeps a broken build
/// from hanging, and never decides a pass.
pub const LIVENESS: Duration = Duration::from_secs(20);

/// What the server's connections share: the answer, and the hits.
struct Shared {
    answer: Mutex<Answer>,
    /// When each request was read, in order: one entry per hit.
    hits: Mutex<Vec<Instant>>,
    /// Signalled at every hit.
    hit: Condvar,
}

/// The one JWKS server of the tests, on 127.0.0.1: plain HTTP or TLS, its answer set by the
/// test. It counts a hit when a request's head has been read, before answering, and the test
/// can wait for the n-th hit. The refresher fetches one at a time, so hit `n + 1` proves that
/// the answer to hit `n` was fully processed.
///
/// Its threads end with the test process.
pub struct JwksServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    tls: bool,
}

impl JwksServer {
    pub fn plain(answer: Answer) -> Self {
        Self::start(answer, None)
    }

    pub fn tls(answer: Answer, pki: &Pki) -> Self {
        Self::start(answer, Some(pki.server_config()))
    }

    fn shared(answer: Answer) -> Arc<Shared> {
        Arc::new(Shared {
            answer: Mutex::new(answer),
            hits: Mutex::new(Vec::new()),
            hit: Condvar::new(),
        })
    }

    fn start(answer: Answer, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Self::shared(answer);
        let server = Self {
            addr,
            shared: Arc::clone(&shared),
            tls: tls.is_some(),
        };
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (shared, tls) = (Arc::clone(&shared), tls.clone());
                std::thread::spawn(move || serve(stream, tls, &shared));
            }
        });
        server
    }

    /// A plain server whose connections are accepted by a task of the *calling* tokio
    /// runtime: with `#[tokio::test]`'s single thread, it answers only while that thread is
    /// free. (Each accepted connection is then served on the blocking pool.)
    pub async fn on_this_runtime(answer: Answer) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Self::shared(answer);
        let server = Self {
            addr,
            shared: Arc::clone(&shared),
            tls: false,
        };
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let Ok(stream) = stream.into_std() else {
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                let shared = Arc::clone(&shared);
                tokio::task::spawn_blocking(move || serve(stream, None, &shared));
            }
        });
        server
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/jwks.json", self.addr)
    }

    pub fn set(&self, answer: Answer) {
        *self.shared.answer.lock().unwrap() = answer;
    }

    /// How many requests the server has read so far.
    pub fn hits(&self) -> usize {
        self.shared.hits.lock().unwrap().len()
    }

    /// Blocks until the server has read at least `n` requests (a liveness wait: the deadline
    /// only keeps a broken build from hanging).
    pub fn wait_for_hits_blocking(&self, n: usize) {
        wait_for(&self.shared, n);
    }

    /// Waits until the server has read at least `n` requests, without blocking the runtime.
    pub async fn wait_for_hits(&self, n: usize) {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || wait_for(&shared, n))
            .await
            .unwrap();
    }

    /// The time between each hit and the next.
    pub fn gaps(&self) -> Vec<Duration> {
        let hits = self.shared.hits.lock().unwrap();
        hits.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

fn wait_for(shared: &Shared, n: usize) {
    let hits = shared.hits.lock().unwrap();
    let (hits, _) = shared
        .hit
        .wait_timeout_while(hits, LIVENESS, |hits| hits.len() < n)
        .unwrap();
    assert!(
        hits.len() >= n,
        "the JWKS server read {} requests, expected {n}",
        hits.len()
    );
}

fn serve(stream: TcpStream, tls: Option<Arc<rustls::ServerConfig>>, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    match tls {
        Some(config) => {
            let Ok(conn) = rustls::ServerConnection::new(config) else {
                return;
            };
            let mut tls = rustls::StreamOwned::new(conn, stream);
            if respond(&mut tls, shared) {
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        }
        None => {
            let mut stream = stream;
            respond(&mut stream, shared);
        }
    }
}

/// Reads the request head, counts the hit, and writes the answer; `false` when nothing was
/// answered. A request whose head never completes (a failed TLS handshake) is not counted.
fn respond<S: Read + Write>(stream: &mut S, shared: &Shared) -> bool {
    if read_head(stream).is_none() {
        return false;
    }
    shared.hits.lock().unwrap().push(Instant::now());
    shared.hit.notify_all();
    let answer = shared.answer.lock().unwrap().clone();
    if answer.hang_up {
        return false;
    }
    if !answer.delay.is_zero() {
        std::thread::sleep(answer.delay);
    }
    let mut head = format!(
        "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        answer.status,
        answer.body.len()
    );
    if let Some(location) = &answer.location {
        head.push_str(&format!("location: {location}\r\n"));
    }
    if let Some(cache_control) = &answer.cache_control {
        head.push_str(&format!("cache-control: {cache_control}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&answer.body);
    let _ = stream.flush();
    true
}

fn read_head<S: Read>(stream: &mut S) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
        if head.len() > 64 * 1024 {
            return None;
        }
    }
    String::from_utf8(head).ok()
}

/// An HTTP proxy on 127.0.0.1 that records the first line of every request it gets. A
/// `CONNECT` is tunnelled to `tunnel_to` when set, and refused (502) otherwise.
pub struct RecordingProxy {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

impl RecordingProxy {
    pub fn start(tunnel_to: Option<SocketAddr>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut client) = stream else { continue };
                let record = Arc::clone(&record);
                std::thread::spawn(move || {
                    let Some(head) = read_head(&mut client) else {
                        record
                            .lock()
                            .unwrap()
                            .push(String::from("(incomplete request)"));
                        return;
                    };
                    let first = head.lines().next().unwrap_or("").to_owned();
                    record.lock().unwrap().push(first.clone());
                    match tunnel_to {
                        Some(target) if first.starts_with("CONNECT ") => {
                            let Ok(upstream) = TcpStream::connect(target) else {
                                return;
                            };
                            let _ =
                                client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                            let (mut c2, mut u2) =
                                (client.try_clone().unwrap(), upstream.try_clone().unwrap());
                            let (mut client, mut upstream) = (client, upstream);
                            std::thread::spawn(move || {
                                let _ = std::io::copy(&mut c2, &mut u2);
                                let _ = u2.shutdown(std::net::Shutdown::Write);
                            });
                            let _ = std::io::copy(&mut upstream, &mut client);
                            let _ = client.shutdown(std::net::Shutdown::Write);
                        }
                        _ => {
                            let _ = client.write_all(
                                b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                            );
                        }
                    }
                });
            }
        });
        Self { addr, seen }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The first line of every request the proxy got so far.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// Every `tracing` event of this test process at TRACE and above, since `capture_logs`, as text.
pub fn logs() -> String {
    crate::log_capture::process_logs()
}

/// Starts keeping every thread's logs (idempotent). Call it before building a configuration.
pub fn capture_logs() {
    crate::log_capture::capture_process();
}

/// Waits until a line of the process's logs satisfies `matches`, and returns it (a liveness
/// wait: the deadline only keeps a broken build from hanging). `capture_logs` must have been
/// called before whatever logs it.
pub async fn wait_for_log(matches: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + LIVENESS;
    loop {
        if let Some(line) = logs().lines().find(|l| matches(l)) {
            return line.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no such log line in:\n{}",
            logs()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
