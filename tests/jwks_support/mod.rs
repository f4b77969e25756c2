//! Shared by the JWKS fetch tests (issue 13): a real JWKS server on 127.0.0.1, over plain
//! HTTP or over TLS with a CA and a certificate made in the test (rcgen), a recording HTTP
//! proxy that can tunnel `CONNECT`s, and a capture of every `tracing` event of the process
//! (the refresher logs on its own thread).
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the JWKS server answers.
#[derive(Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub location: Option<String>,
}

impl Answer {
    pub fn jwks(body: Vec<u8>) -> Self {
        Self {
            status: 200,
            body,
            location: None,
        }
    }

    pub fn redirect(location: &str) -> Self {
        Self {
            status: 302,
            body: Vec::new(),
            location: Some(location.to_owned()),
        }
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

/// A JWKS server on 127.0.0.1 (its threads end with the test process).
pub struct JwksServer {
    pub addr: SocketAddr,
    answer: Arc<Mutex<Answer>>,
    hits: Arc<AtomicUsize>,
    tls: bool,
}

impl JwksServer {
    pub fn plain(answer: Answer) -> Self {
        Self::start(answer, None)
    }

    pub fn tls(answer: Answer, pki: &Pki) -> Self {
        Self::start(answer, Some(pki.server_config()))
    }

    fn start(answer: Answer, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let answer = Arc::new(Mutex::new(answer));
        let hits = Arc::new(AtomicUsize::new(0));
        let server = Self {
            addr,
            answer: Arc::clone(&answer),
            hits: Arc::clone(&hits),
            tls: tls.is_some(),
        };
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (answer, hits, tls) = (Arc::clone(&answer), Arc::clone(&hits), tls.clone());
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    match tls {
                        Some(config) => {
                            let Ok(conn) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            let mut tls = rustls::StreamOwned::new(conn, stream);
                            respond(&mut tls, &answer, &hits);
                            tls.conn.send_close_notify();
                            let _ = tls.flush();
                        }
                        None => {
                            let mut stream = stream;
                            respond(&mut stream, &answer, &hits);
                        }
                    }
                });
            }
        });
        server
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/jwks.json", self.addr)
    }

    pub fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Waits until the server answered at least `n` requests (a liveness wait: the deadline
    /// only keeps a broken build from hanging).
    pub async fn wait_for_hits(&self, n: usize) {
        for _ in 0..2000 {
            if self.hits() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the JWKS server saw {} requests, expected {n}", self.hits());
    }
}

/// Reads the request head and writes the answer. A request whose head never completes (a
/// failed TLS handshake) is not counted.
fn respond<S: Read + Write>(stream: &mut S, answer: &Mutex<Answer>, hits: &AtomicUsize) {
    if read_head(stream).is_none() {
        return;
    }
    let answer = answer.lock().unwrap().clone();
    let mut head = format!(
        "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        answer.status,
        answer.body.len()
    );
    if let Some(location) = &answer.location {
        head.push_str(&format!("location: {location}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&answer.body);
    let _ = stream.flush();
    hits.fetch_add(1, Ordering::SeqCst);
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
