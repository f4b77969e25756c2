//! One table of cases, every front door: the decisive cases of the suite (tokens, binding, the
//! hand-written SDK-signed requests of `sdk_signing`, the rejection's shape, monitor mode),
//! written once as data in [`cases`], and run over real HTTP on loopback against each front
//! door's server, so that a difference between front doors is a failing test.
//!
//! A front door is a [`FrontDoor`]: it serves the test app (every path echoes the body it
//! received and says in headers what else it received, see `sdk_support::handler_headers`)
//! behind its own adapter for a given configuration, and puts the rejection's reason in
//! `x-test-approov-reason`. A third front door (the verifier service) is one more
//! implementation and one more test below.

mod cases;

#[cfg(feature = "actix")]
pub mod actix;
pub mod axum;

use std::net::SocketAddr;

use tower_approov::ApproovConfig;

use crate::sdk_support::{self, Answer, DID_HEADER, MONITORED_HEADER, TOKEN_HEADER_SEEN};
use cases::{Case, Expect};

/// A front door under test: a server for a configuration, on a loopback port, answering the
/// test app's way.
pub trait FrontDoor {
    /// Its name, in failure messages.
    const NAME: &'static str;
    /// What keeps the server running; [`stop`](Self::stop) ends it.
    type Server;

    /// Serves the test app behind this front door, configured by `config`, on 127.0.0.1.
    fn serve(config: ApproovConfig) -> impl Future<Output = (SocketAddr, Self::Server)>;

    /// Stops a server of [`serve`](Self::serve).
    fn stop(server: Self::Server) -> impl Future<Output = ()>;
}

/// What a case's answer says, in the terms the table expects.
#[derive(Debug, PartialEq)]
pub struct Observed {
    pub status: u16,
    /// The rejection's reason (`x-test-approov-reason`).
    pub reason: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
    /// The `did` of the claims the handler received.
    pub did: Option<String>,
    /// The reason of the error the handler received instead of claims (monitor mode).
    pub monitored: Option<String>,
    /// Whether the token header reached the handler (`None`: the handler did not run).
    pub token_header: Option<String>,
}

impl Observed {
    fn of(answer: &Answer) -> Self {
        let header = |name| answer.header(name).map(str::to_owned);
        Self {
            status: answer.status.as_u16(),
            reason: answer.reason.clone(),
            content_type: header("content-type"),
            body: answer.body.clone(),
            did: header(DID_HEADER),
            monitored: header(MONITORED_HEADER),
            token_header: header(TOKEN_HEADER_SEEN),
        }
    }
}

impl Expect {
    /// The answer this expectation describes, field by field.
    fn observed(&self) -> Observed {
        let handled =
            |body: &str, did: Option<&str>, monitored: Option<&str>, token: bool| Observed {
                status: 200,
                reason: None,
                content_type: Some("application/octet-stream".to_owned()),
                body: body.to_owned(),
                did: did.map(str::to_owned),
                monitored: monitored.map(str::to_owned),
                token_header: Some(if token { "present" } else { "absent" }.to_owned()),
            };
        match self {
            Self::Passed {
                body,
                did,
                token_header,
            } => handled(body, Some(did), None, *token_header),
            // A request sent without a token cannot have it reach the handler.
            Self::Monitored { reason, body } => handled(
                body,
                None,
                Some(reason.reason_code()),
                *reason != tower_approov::ApproovErrorKind::MissingToken,
            ),
            // The default rejection: 401, `application/json`, `{}`, and the handler never ran.
            Self::Rejected(kind) => Observed {
                status: 401,
                reason: Some(kind.reason_code().to_owned()),
                content_type: Some("application/json".to_owned()),
                body: "{}".to_owned(),
                did: None,
                monitored: None,
                token_header: None,
            },
        }
    }
}

/// Runs every case of the table through `D`, each against a server of its own configuration,
/// and fails listing every case whose answer is not the expected one.
pub async fn run_table<D: FrontDoor>() {
    let cases = cases::all();
    let mut differences = Vec::new();
    for Case {
        name,
        vars,
        request,
        expect,
    } in &cases
    {
        let vars: Vec<(&'static str, &str)> = vars.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let config = sdk_support::config(&vars)
            .unwrap_or_else(|e| panic!("{name}: the case's configuration: {e}"));
        let (addr, server) = D::serve(config).await;
        let answer = sdk_support::raw_bytes(addr, request).await;
        D::stop(server).await;
        let (observed, expected) = (Observed::of(&answer), expect.observed());
        if observed != expected {
            differences.push(format!(
                "{name}\n    expected {expected:?}\n    observed {observed:?}"
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{}: {} of the {} cases answered otherwise than the table says:\n  {}",
        D::NAME,
        differences.len(),
        cases.len(),
        differences.join("\n  ")
    );
}

/// A signed body whose first bytes come and the rest never does: the front door answers at
/// the check's deadline (1 s here), while the connection is still open. Not one write of bytes,
/// so not a row of the table, but written once too.
pub async fn a_trickling_signed_body_is_refused_at_its_deadline<D: FrontDoor>() {
    use base64::Engine as _;
    use sha2::{Digest as _, Sha256};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tower_approov::test_util::InstallationKey;

    let config = sdk_support::config(&[
        ("APPROOV_MESSAGE_SIGNING", "require"),
        ("APPROOV_SIGNATURE_BODY_READ_TIMEOUT_SECONDS", "1"),
    ])
    .unwrap();
    let (addr, server) = D::serve(config).await;
    let key = InstallationKey::generate().unwrap();
    let token = sdk_support::token(&key);
    let body = [b'x'; 1000];
    let digest = format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body))
    );
    let params =
        sdk_support::sdk_params(r#""@method" "@target-uri" "approov-token" "content-digest""#);
    let base = format!(
        "\"@method\": POST\n\"@target-uri\": https://api.example.com/upload\n\
         \"approov-token\": {token}\n\"content-digest\": {digest}\n\
         \"@signature-params\": {params}"
    );
    let (input, signature) = sdk_support::signature_headers(&key, &params, &base, false);
    let head = format!(
        "POST /upload HTTP/1.1\r\nHost: api.example.com\r\nApproov-Token: {token}\r\n\
         Content-Length: {}\r\nContent-Digest: {digest}\r\nSignature-Input: {input}\r\n\
         Signature: {signature}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..10]).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(crate::common::RAW_DEADLINE, stream.read(&mut answer))
        .await
        .unwrap_or_else(|_| panic!("{}: no answer while the body trickles", D::NAME))
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 401"), "{}: {answer}", D::NAME);
    let reason = format!(
        "{}: {}",
        crate::common::REASON_HEADER,
        tower_approov::ApproovErrorKind::ContentDigestMismatch.reason_code()
    );
    assert!(answer.contains(&reason), "{}: {answer}", D::NAME);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "{}: answered before the deadline",
        D::NAME
    );
    D::stop(server).await;
}

#[tokio::test]
async fn a_signed_body_trickling_past_its_deadline_is_refused_by_the_axum_layer() {
    a_trickling_signed_body_is_refused_at_its_deadline::<axum::Axum>().await;
}

#[cfg(feature = "actix")]
#[tokio::test]
async fn a_signed_body_trickling_past_its_deadline_is_refused_by_the_actix_middleware() {
    a_trickling_signed_body_is_refused_at_its_deadline::<actix::Actix>().await;
}

#[tokio::test]
async fn every_case_of_the_table_is_answered_as_written_through_the_axum_layer() {
    run_table::<axum::Axum>().await;
}

#[cfg(feature = "actix")]
#[tokio::test]
async fn every_case_of_the_table_is_answered_as_written_through_the_actix_middleware() {
    run_table::<actix::Actix>().await;
}
