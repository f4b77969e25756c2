//! An HTTP/1.1 client over one fresh loopback connection per request, with a deadline: the
//! headers go as given (names, values, `Host`), the answer is read whole.

use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::process::WAIT;

/// The `Host` every request carries unless it says otherwise: the public origin's.
pub const PUBLIC_HOST: &str = "api.example.com";

/// A request to send.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Request {
    pub fn get(target: &str) -> Self {
        Self {
            method: Method::GET,
            target: target.to_owned(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub fn post(target: &str, body: &[u8]) -> Self {
        Self {
            method: Method::POST,
            body: Bytes::copy_from_slice(body),
            ..Self::get(target)
        }
    }

    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    #[must_use]
    pub fn token(self, token: &str) -> Self {
        self.header("Approov-Token", token)
    }

    #[must_use]
    pub fn with_body(mut self, body: &[u8]) -> Self {
        self.body = Bytes::copy_from_slice(body);
        self
    }

    #[must_use]
    pub fn with_target(mut self, target: &str) -> Self {
        target.clone_into(&mut self.target);
        self
    }
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The refusal every door and gateway must give: `401`, `content-type: application/json`,
    /// body `{}`.
    #[track_caller]
    pub fn assert_refused(&self) {
        assert_eq!(
            (
                self.status,
                self.headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes),
                self.text().as_str()
            ),
            (401, Some(&b"application/json"[..]), "{}"),
            "not the 401 {{}} refusal: {self:?}"
        );
    }

    /// The request the echoing upstream saw (a `200` from it).
    #[track_caller]
    pub fn upstream_saw(&self) -> Seen {
        assert_eq!(self.status, 200, "the upstream did not answer: {self:?}");
        let json: Value = serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not the upstream's echo ({e}): {self:?}"));
        let text = |v: &Value| v.as_str().expect("text").to_owned();
        Seen {
            method: text(&json["method"]),
            uri: text(&json["uri"]),
            headers: json["headers"]
                .as_array()
                .expect("the header lines")
                .iter()
                .map(|pair| (text(&pair[0]), text(&pair[1])))
                .collect(),
            body: text(&json["body"]),
        }
    }
}

/// What the echoing upstream received.
#[derive(Debug)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    /// Every header line, names in lower case, in order.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    /// Every value the upstream got for `name`.
    pub fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Sends `request` to `addr` over a fresh HTTP/1.1 connection, with `Host: api.example.com`
/// unless it has one, and reads the whole answer, all within [`WAIT`].
pub async fn send(addr: SocketAddr, request: Request) -> Reply {
    try_send(addr, request)
        .await
        .unwrap_or_else(|e| panic!("no answer from {addr}: {e}"))
}

/// [`send`], or why there was no answer: for waits on a server that may not serve yet.
pub async fn try_send(addr: SocketAddr, request: Request) -> Result<Reply, String> {
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let mut builder = hyper::Request::builder()
            .method(request.method.clone())
            .uri(request.target.as_str());
        if !request
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(HOST.as_str()))
        {
            builder = builder.header(HOST, PUBLIC_HOST);
        }
        for (name, value) in &request.headers {
            builder = builder.header(
                HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
                HeaderValue::from_str(value).expect("a header value"),
            );
        }
        let http_request = builder
            .body(Full::new(request.body.clone()))
            .expect("a request");
        let response = sender.send_request(http_request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    };
    match tokio::time::timeout(WAIT, exchange).await {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no whole answer within {WAIT:?}")),
    }
}
