//! The table of cases of tower-approov's front doors (`tests/it/front_doors/`), run against
//! the verifier: the real binary, one process per case, configured by the case's `APPROOV_*`
//! variables, in front of an upstream that answers as the table's test app does. The cases
//! and their runner are included from there as they are: one definition.
//!
//! Three doors run it:
//! - [`ReverseProxy`]: the verifier's reverse proxy (`APPROOV_VERIFIER_UPSTREAM`), which sees
//!   the whole request, body included: every case.
//! - [`ForwardAuth<true>`]: forward auth on `/check`, the body forwarded to it (Traefik's
//!   `forwardBody`, `APPROOV_VERIFIER_BODY_FORWARDED=true`), the test playing the gateway:
//!   every case.
//! - [`ForwardAuth<false>`]: forward auth without the body, its length in
//!   `X-Original-Content-Length` (nginx `auth_request`, Caddy `forward_auth`): every case but
//!   the nine of [`BODY_NEEDED`], whose verdict needs the body.
//!
//! Each door runs the table's replay cases a second time with the store in a real
//! `redis-server` (`APPROOV_REPLAY_REDIS_URL`), where the verifier awaits the store's answer
//! (`Verdict::Record`): the reverse proxy in the tower layer's future, forward auth in its
//! handler.
//!
//! What differs by design at every door of the verifier, and only that, is written once, in
//! [`observe`] and [`expected`], each difference with its reason; the cases that cannot apply
//! at a door are listed with theirs. Everything else must be the table's answer as written.
//! Beside the table, the reverse proxy's runner checks that the upstream received the method
//! and target the check saw (`ReverseProxy`'s `exchange`).

// The table's helpers and the table, from tower-approov's tests.
#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/sdk_support/mod.rs"]
mod sdk_support;
#[path = "../../tests/it/front_doors"]
mod front_doors {
    pub mod cases;
    pub mod runner;
}
mod support;

use std::net::SocketAddr;
use std::sync::Mutex;

use axum::Router;
use axum::body::Bytes;
use http::{HeaderMap, HeaderValue};
use tower_approov::ApproovConfig;

use front_doors::cases::Expect;
use front_doors::runner::{
    FrontDoor, Observed, a_trickling_signed_body_is_refused_at_its_deadline,
    run_replay_cases_in_redis, run_table,
};
use sdk_support::Answer;
use support::redis::RedisServer;
use support::verifier::{Counts, Verifier};

/// The claim header the verifier sets upstream (`APPROOV_VERIFIER_CLAIM_HEADERS`' default):
/// the token's `did`.
const CLAIM_HEADER: &str = "approov-device-id";

/// The header in which the [`TableApp`] says the method and target it received, for the check
/// the reverse proxy's runner makes beside the table.
const UPSTREAM_REQUEST: &str = "x-test-upstream-request";

/// The table's test app as an upstream in front of which the verifier runs: every path
/// answers with the body it received and `sdk_support::handler_headers_for_did`, the `did`
/// read from [`CLAIM_HEADER`] (a token without `did` loses the header, where the in-process
/// handler would say `-`: no case of the table has one) and never an error (the verifier sends
/// none upstream, see [`observe`]); and, in [`UPSTREAM_REQUEST`], its request's method and
/// target.
struct TableApp {
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl TableApp {
    async fn start() -> Self {
        async fn echo(
            method: http::Method,
            uri: http::Uri,
            headers: HeaderMap,
            body: Bytes,
        ) -> (HeaderMap, Bytes) {
            let did = headers.get(CLAIM_HEADER).map(|did| {
                did.to_str()
                    .unwrap_or_else(|_| panic!("a claim header that is not text: {did:?}"))
            });
            let mut answer = HeaderMap::new();
            let token_header = headers.contains_key("approov-token");
            for (name, value) in sdk_support::handler_headers_for_did(did, token_header) {
                answer.insert(name, HeaderValue::from_str(&value).expect("a header value"));
            }
            let request = HeaderValue::from_str(&format!("{method} {uri}")).expect("a request");
            answer.insert(UPSTREAM_REQUEST, request);
            (answer, body)
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        let app = Router::new().fallback(echo);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, server }
    }
}

impl Drop for TableApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A verifier started for one case, and its upstream: both end when it is dropped (the
/// verifier's process group signalled, then killed if it lingers).
struct Running {
    verifier: Verifier,
    upstream: TableApp,
    /// The verifier's counts when its last answer was observed: a case may send two requests.
    counted: Mutex<Counts>,
}

impl Running {
    /// The verifier with the table's test secret, the case's variables and `own` (its own
    /// settings), proxying to a fresh [`TableApp`]; no gRPC door.
    async fn start(vars: &[(&'static str, &str)], own: &[(&'static str, &str)]) -> Self {
        let upstream = TableApp::start().await;
        let origin = format!("http://{}", upstream.addr);
        let secret = common::secret_base64();
        let mut env = vec![
            ("APPROOV_BASE64_SECRET", secret.as_str()),
            ("APPROOV_VERIFIER_UPSTREAM", origin.as_str()),
            ("APPROOV_VERIFIER_GRPC_LISTEN", "off"),
        ];
        env.extend_from_slice(own);
        for (name, value) in vars {
            // `Verifier::start` takes an empty value to mean "unset".
            assert!(!value.is_empty(), "{name}: an empty value cannot be passed");
            env.push((name, value));
        }
        let verifier = Verifier::start(&env).await;
        Self {
            verifier,
            upstream,
            counted: Mutex::new(Counts::new()),
        }
    }
}

/// What a verifier door's answer says in the table's terms. The two differences by design of
/// every verifier door, written once:
/// - The reason of a refusal: the answer is the same `401 application/json {}`, but neither
///   the verifier nor its upstream writes `x-test-approov-reason` (the in-process apps' test
///   instrumentation): the verifier's count of the check says it,
///   `approov_requests_total{outcome="rejected",reason}`.
/// - The reason of a request let through in monitor mode: it is not sent upstream (the
///   upstream gets no claim header and nothing in its place), so the handler cannot say it
///   (`x-test-monitored`): the verifier's count says it, `outcome="monitored"`.
///
/// Either count must be the only one counted since the last answer observed, once; a request
/// that passed must be counted once as `outcome="accepted",reason="none"`. Anything else is put
/// in `reason`, so that it differs from any expectation and is shown.
async fn observe(running: &Running, answer: &Answer) -> Observed {
    let mut observed = Observed::of(answer);
    let now = running.verifier.counts().await;
    let before = std::mem::replace(
        &mut *running.counted.lock().expect("the counts"),
        now.clone(),
    );
    let counted: Vec<(String, String, u64)> = now
        .into_iter()
        .filter_map(|(key, count)| {
            let moved = count - before.get(&key).copied().unwrap_or(0);
            (moved > 0).then_some((key.0, key.1, moved))
        })
        .collect();
    let (reason, monitored) = match counted.as_slice() {
        [(outcome, reason, 1)] if outcome == "accepted" && reason == "none" => (None, None),
        [(outcome, reason, 1)] if outcome == "rejected" => (Some(reason.clone()), None),
        [(outcome, reason, 1)] if outcome == "monitored" => (None, Some(reason.clone())),
        other => (Some(format!("not one check counted: {other:?}")), None),
    };
    observed.reason = reason;
    observed.monitored = monitored;
    observed
}

/// The answer the table's `expect` describes at a verifier door. The one difference by design
/// in what reaches the upstream: the verifier removes the token header from every request it
/// lets on, whatever `APPROOV_STRIP_TOKEN_HEADER` says (`main.rs`), so where the handler ran
/// it never saw `Approov-Token`.
fn expected(expect: &Expect) -> Observed {
    let mut expected = expect.observed();
    if expected.token_header.is_some() {
        expected.token_header = Some("absent".to_owned());
    }
    expected
}

/// The reverse-proxy door: the table's requests sent to `APPROOV_VERIFIER_PROXY_LISTEN`, which
/// checks each (reading its body when a signature covers its digest) and streams it on to the
/// [`TableApp`].
struct ReverseProxy;

impl FrontDoor for ReverseProxy {
    const NAME: &'static str = "approov-verifier (reverse proxy)";
    type Server = Running;

    async fn serve(_: ApproovConfig, vars: &[(&'static str, &str)]) -> (SocketAddr, Running) {
        let running = Running::start(vars, &[]).await;
        let proxy = running.verifier.proxy.expect("the reverse proxy door");
        (proxy, running)
    }

    async fn stop(running: Running) {
        drop(running);
    }

    /// Sent as it is, and observed as at every verifier door. Beside the table: where the
    /// upstream ran, it must have received the method and target the client sent (origin
    /// form), those the check saw. In process, the handler gets the very request the layer
    /// checked, so the table has no field for it; a proxy builds a new request, so a proxy
    /// that changed it would let through a request no one checked. A difference is put in
    /// `reason`, so that the case fails, showing it.
    async fn exchange(proxy: SocketAddr, running: &Running, request: &[u8]) -> Observed {
        let answer = sdk_support::raw_bytes(proxy, request).await;
        let mut observed = observe(running, &answer).await;
        let original = Original::parse(request);
        let sent = format!("{} {}", original.method, original.origin_form());
        if let Some(received) = answer.header(UPSTREAM_REQUEST)
            && received != sent
        {
            let changed = format!("the upstream received `{received}`, not `{sent}`");
            observed.reason = Some(match observed.reason {
                Some(reason) => format!("{reason}, and {changed}"),
                None => changed,
            });
        }
        observed
    }

    async fn observe(running: &Running, answer: &Answer) -> Observed {
        observe(running, answer).await
    }

    fn expected(expect: &Expect) -> Observed {
        expected(expect)
    }
}

/// The cases whose verdict needs the body, which an auth request without it cannot give: a
/// signature covering `content-digest` is refused as `body_unavailable` (in every mode: nothing
/// was checked), and a request without `Content-Length` (none, or chunked) cannot be shown to
/// have no body. The reverse proxy, or a gateway that forwards the body, is the door for them.
const BODY_NEEDED: [(&str, &str); 9] = [
    (
        "with digests required, a signed GET without a body needs none",
        "content_digest_mismatch: without Content-Length the call cannot show there is no body",
    ),
    (
        "a signed POST whose body matches its content-digest passes with its body intact",
        "body_unavailable: the body its signature covers is not forwarded",
    ),
    (
        "a signed POST whose body was changed is refused",
        "body_unavailable: the body its signature covers is not forwarded",
    ),
    (
        "a signed body sent in chunks is read whole, checked and handed on",
        "body_unavailable: the body its signature covers is not forwarded",
    ),
    (
        "in monitor mode a changed signed body goes on, with the error in place of claims",
        "body_unavailable, refused in every mode: the body is not forwarded",
    ),
    (
        "in monitor mode a chunked signed body found over the limit is refused",
        "body_unavailable: neither the body nor a length is forwarded, so no limit is reached",
    ),
    (
        "a chunked signed body found over the limit is refused",
        "body_unavailable: neither the body nor a length is forwarded, so no limit is reached",
    ),
    (
        "a signed POST sent a second time with its body is refused as replayed",
        "body_unavailable both times: the body its signature covers is not forwarded, so \
         nothing is ever accepted or remembered",
    ),
    (
        "a signed POST first sent with a changed body burns nothing: sent with its own, it passes",
        "body_unavailable both times: the body its signature covers is not forwarded",
    ),
];

/// The forward-auth door, `/check`, the test playing the gateway: for each request of the
/// table it sends `/check` (`Host` the verifier's) the request's other header lines (the
/// client's own `X-Forwarded-*` kept, as a gateway that appends its own keeps them), then the
/// gateway's `X-Forwarded-Method`, `-Uri` (the request line's target as it came, absolute form
/// included), `-Host` (the client's `Host`) and `-Proto` (`https`: the gateway terminated the
/// TLS the apps call with), last, and either the body, framed as the client framed it
/// (`BODY_FORWARDED`, with `APPROOV_VERIFIER_BODY_FORWARDED=true`), or its length alone,
/// `X-Original-Content-Length`.
/// A `200` lets the request go on to the [`TableApp`] as a gateway applies the answer: the
/// headers the answer lists in `x-envoy-auth-headers-to-remove` removed (the token header, and
/// the claim header when the answer has none), the claim header the answer carries set.
/// Any other answer is the client's.
struct ForwardAuth<const BODY_FORWARDED: bool>;

impl<const BODY_FORWARDED: bool> FrontDoor for ForwardAuth<BODY_FORWARDED> {
    const NAME: &'static str = if BODY_FORWARDED {
        "approov-verifier (forward auth, body forwarded)"
    } else {
        "approov-verifier (forward auth, X-Original-Content-Length)"
    };
    const NOT_APPLICABLE: &'static [(&'static str, &'static str)] =
        if BODY_FORWARDED { &[] } else { &BODY_NEEDED };
    type Server = Running;

    async fn serve(_: ApproovConfig, vars: &[(&'static str, &str)]) -> (SocketAddr, Running) {
        let own = if BODY_FORWARDED { "true" } else { "false" };
        let running = Running::start(vars, &[("APPROOV_VERIFIER_BODY_FORWARDED", own)]).await;
        (running.verifier.http, running)
    }

    async fn stop(running: Running) {
        drop(running);
    }

    async fn exchange(verifier: SocketAddr, running: &Running, request: &[u8]) -> Observed {
        let original = Original::parse(request);
        let auth = original.auth_request(verifier, BODY_FORWARDED);
        let answer = sdk_support::raw_bytes(verifier, &auth).await;
        let answer = if answer.status == 200 {
            sdk_support::raw_bytes(running.upstream.addr, &original.let_on(&answer)).await
        } else {
            answer
        };
        Self::observe(running, &answer).await
    }

    async fn observe(running: &Running, answer: &Answer) -> Observed {
        observe(running, answer).await
    }

    fn expected(expect: &Expect) -> Observed {
        expected(expect)
    }
}

/// A request of the table, as the gateway read it off the wire.
struct Original<'a> {
    line: &'a str,
    method: &'a str,
    target: &'a str,
    /// Every header line, in order, names as written.
    headers: Vec<(&'a str, &'a str)>,
    /// The bytes after the head, framed as the client framed them.
    body: &'a [u8],
}

impl<'a> Original<'a> {
    fn parse(request: &'a [u8]) -> Self {
        let end = request
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a request head");
        let head = std::str::from_utf8(&request[..end]).expect("a text head");
        let mut lines = head.split("\r\n");
        let line = lines.next().expect("a request line");
        let mut words = line.split(' ');
        let (method, target) = (
            words.next().expect("a method"),
            words.next().expect("a target"),
        );
        let headers = lines
            .map(|l| {
                let (name, value) = l.split_once(':').expect("a header line");
                (name, value.trim())
            })
            .collect();
        Self {
            line,
            method,
            target,
            headers,
            body: &request[end + 4..],
        }
    }

    /// The target in origin form: an absolute-form target without its scheme and authority.
    fn origin_form(&self) -> &'a str {
        match self.target.split_once("://") {
            Some((_, rest)) if !self.target.starts_with('/') => {
                rest.find('/').map_or("/", |at| &rest[at..])
            }
            _ => self.target,
        }
    }

    fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The forward-auth call for this request.
    fn auth_request(&self, verifier: SocketAddr, body_forwarded: bool) -> Vec<u8> {
        let mut head = format!("GET /check HTTP/1.1\r\nHost: {verifier}\r\n");
        for (name, value) in &self.headers {
            let is = |other: &str| name.eq_ignore_ascii_case(other);
            let framing = is("content-length") || is("transfer-encoding");
            if is("host") || is("connection") || (framing && !body_forwarded) {
                continue;
            }
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "X-Forwarded-Method: {}\r\nX-Forwarded-Uri: {}\r\nX-Forwarded-Host: {}\r\n\
             X-Forwarded-Proto: https\r\n",
            self.method,
            self.target,
            self.header("host").expect("a Host header")
        ));
        if !body_forwarded && let Some(length) = self.header("content-length") {
            head.push_str(&format!("X-Original-Content-Length: {length}\r\n"));
        }
        head.push_str("Connection: close\r\n\r\n");
        let mut bytes = head.into_bytes();
        if body_forwarded {
            bytes.extend_from_slice(self.body);
        }
        bytes
    }

    /// The request as the gateway lets it on after `answer`, the verifier's `200`.
    fn let_on(&self, answer: &Answer) -> Vec<u8> {
        let remove: Vec<&str> = answer
            .header("x-envoy-auth-headers-to-remove")
            .map(|names| names.split(',').map(str::trim).collect())
            .unwrap_or_default();
        let mut head = format!("{}\r\n", self.line);
        for (name, value) in &self.headers {
            let removed = remove.iter().any(|r| name.eq_ignore_ascii_case(r));
            // The client's own copy of the claim header: replaced by the answer's, or removed.
            if removed || name.eq_ignore_ascii_case(CLAIM_HEADER) {
                continue;
            }
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(did) = answer.header(CLAIM_HEADER) {
            head.push_str(&format!("Approov-Device-Id: {did}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(self.body);
        bytes
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_of_the_table_is_answered_as_written_through_the_verifiers_reverse_proxy() {
    run_table::<ReverseProxy>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_of_the_table_is_answered_as_written_through_forward_auth_with_the_body() {
    run_table::<ForwardAuth<true>>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_not_needing_the_body_is_answered_as_written_through_forward_auth_without_it() {
    run_table::<ForwardAuth<false>>().await;
}

/// The number of replay keys `redis` holds, under the default prefix.
fn stored(redis: &RedisServer) -> usize {
    redis.keys("approov:replay:").len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_replay_case_is_answered_as_written_through_the_verifiers_reverse_proxy_with_the_store_in_redis()
 {
    let redis = RedisServer::start();
    run_replay_cases_in_redis::<ReverseProxy>(&redis.url(), || stored(&redis)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_replay_case_is_answered_as_written_through_forward_auth_with_the_body_with_the_store_in_redis()
 {
    let redis = RedisServer::start();
    run_replay_cases_in_redis::<ForwardAuth<true>>(&redis.url(), || stored(&redis)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_replay_case_not_needing_the_body_is_answered_as_written_through_forward_auth_without_it_with_the_store_in_redis()
 {
    let redis = RedisServer::start();
    run_replay_cases_in_redis::<ForwardAuth<false>>(&redis.url(), || stored(&redis)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_body_trickling_past_its_deadline_is_refused_by_the_verifiers_reverse_proxy() {
    a_trickling_signed_body_is_refused_at_its_deadline::<ReverseProxy>().await;
}
