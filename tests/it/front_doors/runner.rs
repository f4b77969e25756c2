//! The runner of the table: what a front door is ([`FrontDoor`]), what an answer says in the
//! table's terms ([`Observed`]), [`run_table`], [`run_replay_cases_in_redis`] (the replay
//! cases again, their store a real Redis), and the trickling-body test, which is not one write
//! of bytes and so not a row of the table. Included as it is by the `it` binary and
//! `tests/replay_redis.rs` (the in-process doors) and by `approov-verifier/tests/front_doors.rs`
//! (the verifier's doors), beside [`cases`](super::cases): one definition of the cases and of
//! how they are run.

use std::net::SocketAddr;

use tower_approov::ApproovConfig;

use super::cases::{self, Case, Expect};
use crate::sdk_support::{self, Answer, DID_HEADER, MONITORED_HEADER, TOKEN_HEADER_SEEN};

/// A front door under test: a server for a configuration, on a loopback port, answering the
/// test app's way.
///
/// An in-process door implements `NAME`, `Server`, `serve` and `stop`, and keeps the defaults
/// of the rest: every case applies, the answer is read as it came, and it must be the table's
/// as written. A door in another process (the verifier) overrides what differs by design,
/// each difference written once, in its own runner, with its reason.
pub trait FrontDoor {
    /// Its name, in failure messages.
    const NAME: &'static str;
    /// The cases of the table that cannot apply at this door: `(case name, why)`. Each name
    /// must be a case of the table ([`run_table`] fails otherwise).
    const NOT_APPLICABLE: &'static [(&'static str, &'static str)] = &[];
    /// What keeps the server running; [`stop`](Self::stop) ends it.
    type Server;

    /// Serves the test app behind this front door on 127.0.0.1, configured by `config`, which
    /// was built from `vars` (the case's `APPROOV_*` variables, besides the test secret) as
    /// `ApproovLayer::from_env()` would build it. An in-process door takes `config`; a door
    /// configured by its environment takes `vars`.
    fn serve(
        config: ApproovConfig,
        vars: &[(&'static str, &str)],
    ) -> impl Future<Output = (SocketAddr, Self::Server)>;

    /// Stops a server of [`serve`](Self::serve).
    fn stop(server: Self::Server) -> impl Future<Output = ()>;

    /// What `answer`, this door's answer to a request, says in the table's terms. By default
    /// [`Observed::of`]: the answer as it came.
    fn observe(server: &Self::Server, answer: &Answer) -> impl Future<Output = Observed> {
        let _ = server;
        std::future::ready(Observed::of(answer))
    }

    /// Sends `request`, byte for byte, to the door at `addr` and observes its answer. By
    /// default over one fresh connection, read to its end. Called for each request a case
    /// sends, in order, on one server: twice for a case with a [`first`](Case::first) request.
    fn exchange(
        addr: SocketAddr,
        server: &Self::Server,
        request: &[u8],
    ) -> impl Future<Output = Observed> {
        async move {
            let answer = sdk_support::raw_bytes(addr, request).await;
            Self::observe(server, &answer).await
        }
    }

    /// The answer `expect` describes at this door. By default the table's as written.
    fn expected(expect: &Expect) -> Observed {
        expect.observed()
    }
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
    /// The answer as it came: the reason from `x-test-approov-reason`, the rest from the
    /// handler's headers (`sdk_support::handler_headers`) and body.
    pub fn of(answer: &Answer) -> Self {
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
    pub fn observed(&self) -> Observed {
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

/// Runs every case of the table that applies at `D` through it, each against a server of its
/// own configuration, and fails listing every case whose answer is not the expected one.
pub async fn run_table<D: FrontDoor>() {
    let cases = cases::all();
    for (name, _) in D::NOT_APPLICABLE {
        assert!(
            cases.iter().any(|case| case.name == *name),
            "{}: `{name}`, said not to apply, is no case of the table",
            D::NAME
        );
    }
    let ran = run_cases::<D>(&cases).await;
    assert_eq!(
        ran + D::NOT_APPLICABLE.len(),
        cases.len(),
        "{}: every case runs or is said not to apply",
        D::NAME
    );
}

/// Runs the replay cases of the table that apply at `D` with their store the Redis server at
/// `url` ([`cases::replay_in_redis`]), and fails unless `stored()`, the number of signatures
/// the store holds once they ran, is one for each case run. Returns the number of cases run.
/// (Run by `tests/replay_redis.rs` and the verifier's tests; the `it` binary has no Redis.)
#[allow(dead_code)]
pub async fn run_replay_cases_in_redis<D: FrontDoor>(
    url: &str,
    stored: impl Fn() -> usize,
) -> usize {
    let cases = cases::replay_in_redis(url);
    let ran = run_cases::<D>(&cases).await;
    assert!(ran > 0, "{}: no replay case ran", D::NAME);
    assert_eq!(
        stored(),
        ran,
        "{}: each case run remembers its one signature in Redis",
        D::NAME
    );
    ran
}

/// Runs each of `cases` that applies at `D` against a server of its own configuration: its
/// first request, if it has one, then the request under test, each on a connection of its
/// own. Fails listing every answer that is not the expected one; returns the number of cases
/// run.
async fn run_cases<D: FrontDoor>(cases: &[Case]) -> usize {
    let applies = |case: &&Case| !D::NOT_APPLICABLE.iter().any(|(name, _)| *name == case.name);
    let mut differences = Vec::new();
    let mut ran = 0;
    for Case {
        name,
        vars,
        first,
        request,
        expect,
    } in cases.iter().filter(applies)
    {
        let vars: Vec<(&'static str, &str)> = vars.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let config = sdk_support::config(&vars)
            .unwrap_or_else(|e| panic!("{name}: the case's configuration: {e}"));
        let (addr, server) = D::serve(config, &vars).await;
        let mut sent = Vec::new();
        if let Some(first) = first {
            sent.push((" (sent first)", &first.request, &first.expect));
        }
        sent.push(("", request, expect));
        for (which, request, expect) in sent {
            let observed = D::exchange(addr, &server, request).await;
            let expected = D::expected(expect);
            if observed != expected {
                differences.push(format!(
                    "{name}{which}\n    expected {expected:?}\n    observed {observed:?}"
                ));
            }
        }
        D::stop(server).await;
        ran += 1;
    }
    assert!(
        differences.is_empty(),
        "{}: {} answers of the {ran} cases run are not what the table says:\n  {}",
        D::NAME,
        differences.len(),
        differences.join("\n  ")
    );
    ran
}

/// A signed body whose first bytes come and the rest never does: the front door answers at
/// the check's deadline (1 s here), while the connection is still open. Not one write of bytes,
/// so not a row of the table, but written once too.
pub async fn a_trickling_signed_body_is_refused_at_its_deadline<D: FrontDoor>() {
    use base64::Engine as _;
    use sha2::{Digest as _, Sha256};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tower_approov::test_util::InstallationKey;

    let vars = [
        ("APPROOV_MESSAGE_SIGNING", "require"),
        ("APPROOV_SIGNATURE_BODY_READ_TIMEOUT_SECONDS", "1"),
    ];
    let config = sdk_support::config(&vars).unwrap();
    let (addr, server) = D::serve(config, &vars).await;
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
    let elapsed = started.elapsed();
    // The connection, its body unfinished, ends here: a server that waits for its open
    // connections before it stops need not wait for this one.
    drop(stream);
    let text = String::from_utf8_lossy(&answer[..n]).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
    let mut answer = Answer {
        status: status.unwrap_or_else(|| panic!("{}: no status in {text:?}", D::NAME)),
        reason: None,
        head: head.to_owned(),
        body: body.to_owned(),
    };
    answer.reason = answer
        .header(crate::common::REASON_HEADER)
        .map(str::to_owned);
    let observed = D::observe(&server, &answer).await;
    assert_eq!(
        (observed.status, observed.reason.as_deref()),
        (
            401,
            Some(tower_approov::ApproovErrorKind::ContentDigestMismatch.reason_code())
        ),
        "{}: {text}",
        D::NAME
    );
    assert!(
        elapsed >= std::time::Duration::from_millis(900),
        "{}: answered before the deadline",
        D::NAME
    );
    D::stop(server).await;
}
