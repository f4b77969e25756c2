//! The verifier binary itself, no gateway: its `--help`, its start-up errors, what operators
//! probe (`/healthz`, `/readyz`, `/metrics`, `grpc.health.v1`), its logs, its graceful
//! shutdown, its gRPC door called by a real tonic client as Envoy calls it, and both Envoy
//! doors' replay protection, its store in memory and in a real `redis-server`.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use envoy_types::pb::envoy::config::core::v3::header_value_option::HeaderAppendAction;
use envoy_types::pb::envoy::config::core::v3::{HeaderMap, HeaderValue};
use envoy_types::pb::envoy::service::auth::v3::attribute_context::{HttpRequest, Request as Attrs};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use envoy_types::pb::envoy::service::auth::v3::check_response::HttpResponse;
use envoy_types::pb::envoy::service::auth::v3::{AttributeContext, CheckRequest, CheckResponse};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use support::client::{Request, send};
use support::process::{Process, TempDir, WAIT};
use support::redis::RedisServer;
use support::tokens::{self, DID, InstallKey};
use support::verifier::{Verifier, command, once};

/// The verifier's own variables (`APPROOV_VERIFIER_*`), beside the library's.
const OWN_VARIABLES: [&str; 7] = [
    "APPROOV_VERIFIER_LISTEN",
    "APPROOV_VERIFIER_GRPC_LISTEN",
    "APPROOV_VERIFIER_UPSTREAM",
    "APPROOV_VERIFIER_PROXY_LISTEN",
    "APPROOV_VERIFIER_CLAIM_HEADERS",
    "APPROOV_VERIFIER_BODY_FORWARDED",
    "APPROOV_VERIFIER_LOG_FORMAT",
];

/// Runs the verifier to its end with exactly these variables, in an empty directory.
async fn run_to_end(args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
    let dir = TempDir::new("verifier-run");
    let env: BTreeMap<String, String> = vars
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    let mut command = command(dir.path(), &env);
    command.args(args);
    let mut process = Process::spawn("approov-verifier", command);
    let status = process.wait().await;
    (
        status.code().expect("an exit code, not a signal"),
        process.stdout.text(),
        process.stderr.text(),
    )
}

/// Whether `text` has `name` as a whole word (not as the start of a longer name).
fn names(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(at, _)| {
        let next = text[at + name.len()..].chars().next();
        !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

#[tokio::test]
async fn help_lists_every_variable_of_the_env_example_and_the_verifiers_own_with_defaults() {
    let (code, help, _) = run_to_end(&["--help"], &[]).await;
    assert_eq!(code, 0);
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../.env.example"))
        .expect("the library's .env.example");
    let variables: std::collections::BTreeSet<&str> = example
        .lines()
        .filter_map(|line| {
            let line = line.trim_start_matches('#').trim_start();
            let (name, _) = line.split_once('=')?;
            (name.starts_with("APPROOV_")
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'))
            .then_some(name)
        })
        .collect();
    assert!(variables.len() >= 25, "{variables:?}");
    for variable in &variables {
        assert!(
            names(&help, variable),
            "--help does not list {variable}:\n{help}"
        );
        // Each on its own line, its default in brackets at the end.
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{variable} ")))
            .unwrap_or_else(|| panic!("no line of its own for {variable}"));
        assert!(
            line.trim_end().ends_with(']'),
            "no default for {variable}: {line}"
        );
    }
    for variable in OWN_VARIABLES {
        assert!(
            help.contains(&format!("[env: {variable}=]")),
            "--help does not list {variable}:\n{help}"
        );
    }
    for default in ["127.0.0.1:8080", "127.0.0.1:9191", "did:Approov-Device-Id"] {
        assert!(help.contains(&format!("[default: {default}]")), "{default}");
    }
}

#[tokio::test]
async fn a_bad_setting_exits_with_status_2_and_the_config_error_text_on_stderr() {
    let secret = tokens::secret_base64();
    let bad = [
        ("APPROOV_BASE64_SECRET", secret.as_str()),
        ("APPROOV_LEEWAY_SECONDS", "soon"),
    ];
    let expected = tower_approov::ApproovConfigBuilder::from_env_with(|name| {
        bad.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| Ok((*v).to_owned()))
    })
    .expect_err("an invalid leeway");
    let (code, stdout, stderr) = run_to_end(&[], &bad).await;
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr, format!("approov-verifier: {expected}\n"));
    assert!(stderr.contains("APPROOV_LEEWAY_SECONDS"), "{stderr}");
    assert!(
        !stderr.contains("soon"),
        "the value is never shown: {stderr}"
    );
    assert!(!stdout.contains("listening"), "{stdout}");

    // No key source at all.
    let (code, _, stderr) = run_to_end(&[], &[]).await;
    let expected = tower_approov::ApproovConfigBuilder::from_env_with(|_| None)
        .and_then(tower_approov::ApproovConfigBuilder::build)
        .expect_err("no key source");
    assert_eq!(
        (code, stderr),
        (2, format!("approov-verifier: {expected}\n"))
    );

    // The verifier's own settings: the variable named, status 2 too.
    let (code, _, stderr) = run_to_end(
        &[],
        &[
            ("APPROOV_BASE64_SECRET", secret.as_str()),
            ("APPROOV_VERIFIER_CLAIM_HEADERS", "did:Host"),
        ],
    )
    .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--claim-headers"), "{stderr}");
    assert!(stderr.contains("`host` cannot carry a claim"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_and_readyz_and_grpc_health_say_not_ready_while_the_jwks_url_is_unreachable()
 {
    // A port bound but not listening: a connection there is refused for the test's life.
    let closed = tokio::net::TcpSocket::new_v4().expect("a socket");
    closed
        .bind("127.0.0.1:0".parse().expect("an address"))
        .expect("a loopback port");
    let jwks = format!(
        "http://{}/jwks.json",
        closed.local_addr().expect("its address")
    );
    let verifier =
        Verifier::start(&[("APPROOV_BASE64_SECRET", ""), ("APPROOV_JWKS_URL", &jwks)]).await;

    let healthz = send(verifier.http, Request::get("/healthz")).await;
    assert_eq!((healthz.status, healthz.text().as_str()), (200, "ok"));
    let readyz = send(verifier.http, Request::get("/readyz")).await;
    assert_eq!(
        (readyz.status, readyz.text().as_str()),
        (503, "keys unavailable")
    );
    let grpc = verifier.grpc.expect("the gRPC door");
    for service in ["", "envoy.service.auth.v3.Authorization"] {
        assert_eq!(
            health_once_settled(grpc, service).await,
            ServingStatus::NotServing
        );
    }
    // And a token meanwhile is refused for that reason.
    let before = verifier.counts().await;
    check(&verifier, Request::get("/check").token(&tokens::valid()))
        .await
        .assert_refused();
    assert_eq!(
        verifier.counted_since(&before).await,
        once("rejected", "keys_unavailable")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_and_grpc_health_report_serving_with_a_secret() {
    let verifier = Verifier::start(&[]).await;
    let readyz = send(verifier.http, Request::get("/readyz")).await;
    assert_eq!((readyz.status, readyz.text().as_str()), (200, "ready"));
    let grpc = verifier.grpc.expect("the gRPC door");
    for service in ["", "envoy.service.auth.v3.Authorization"] {
        assert_eq!(
            health_once_settled(grpc, service).await,
            ServingStatus::Serving
        );
    }
}

/// The `grpc.health.v1` status of `service`, once the verifier has reported one (it does on
/// start, then every second).
async fn health_once_settled(addr: std::net::SocketAddr, service: &str) -> ServingStatus {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("an endpoint")
        .connect()
        .await
        .expect("the gRPC door answers");
    let mut client = HealthClient::new(channel);
    let started = Instant::now();
    loop {
        let answer = client
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await;
        match answer {
            Ok(answer) => return answer.into_inner().status(),
            // NOT_FOUND until the first report of a named service.
            Err(status) if status.code() == tonic::Code::NotFound => {}
            Err(status) => panic!("health check of {service:?}: {status}"),
        }
        assert!(started.elapsed() < WAIT, "no health status for {service:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A forward-auth call for `GET /v1/orders` as Traefik and Caddy make it, with `request`'s
/// headers.
async fn check(verifier: &Verifier, request: Request) -> support::client::Reply {
    send(
        verifier.http,
        request
            .header("X-Forwarded-Method", "GET")
            .header("X-Forwarded-Uri", "/v1/orders")
            .header("X-Forwarded-Host", "api.example.com")
            .header("X-Forwarded-Proto", "https"),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_the_checks_by_outcome_and_reason_and_time_them() {
    let verifier = Verifier::start(&[]).await;
    let accepted = check(&verifier, Request::get("/check").token(&tokens::valid())).await;
    assert_eq!(accepted.status, 200);
    assert_eq!(accepted.headers["approov-device-id"], DID);
    for token in [Some(tokens::expired()), Some(tokens::expired()), None] {
        let mut request = Request::get("/check");
        if let Some(token) = &token {
            request = request.token(token);
        }
        check(&verifier, request).await.assert_refused();
    }
    let page = send(verifier.http, Request::get("/metrics")).await.text();
    let counts = support::verifier::parse_counts(&page);
    let expected: support::verifier::Counts = [
        (("accepted".to_owned(), "none".to_owned()), 1),
        (("rejected".to_owned(), "expired".to_owned()), 2),
        (("rejected".to_owned(), "missing_token".to_owned()), 1),
    ]
    .into();
    assert_eq!(counts, expected, "{page}");
    assert!(
        page.contains("# TYPE approov_requests_total counter"),
        "{page}"
    );
    assert!(page.contains("approov_verify_seconds_count 4"), "{page}");
    assert!(
        page.contains("approov_verify_seconds_bucket{le=\"0.00001\"}"),
        "the check's buckets: {page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_check_reading_a_slow_body_lets_it_finish_then_exits_0() {
    let mut verifier = Verifier::start(&[
        ("APPROOV_VERIFIER_BODY_FORWARDED", "true"),
        ("APPROOV_MESSAGE_SIGNING", "require"),
        ("APPROOV_PUBLIC_ORIGIN", "https://api.example.com"),
    ])
    .await;
    let key = InstallKey::generate();
    let token = key.token();
    let body = br#"{"amount":10}"#;
    let digest = tokens::content_digest(body);
    let params = tokens::sdk_params(r#""@method" "@target-uri" "approov-token" "content-digest""#);
    let base = format!(
        "\"@method\": POST\n\
         \"@target-uri\": https://api.example.com/v1/orders\n\
         \"approov-token\": {token}\n\
         \"content-digest\": {digest}\n\
         \"@signature-params\": {params}"
    );
    // `Expect: 100-continue`: the verifier answers `100 Continue` when the check starts
    // reading the body, so the test knows the check is in flight before it sends SIGTERM.
    let head = format!(
        "POST /check HTTP/1.1\r\n\
         Host: 127.0.0.1\r\n\
         X-Forwarded-Method: POST\r\n\
         X-Forwarded-Uri: /v1/orders\r\n\
         X-Forwarded-Host: api.example.com\r\n\
         Approov-Token: {token}\r\n\
         Content-Digest: {digest}\r\n\
         Signature-Input: install={params}\r\n\
         Signature: install=:{}:\r\n\
         Content-Length: {}\r\n\
         Expect: 100-continue\r\n\
         Connection: close\r\n\r\n",
        key.sign(&base),
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(verifier.http)
        .await
        .expect("the verifier listens");
    stream.write_all(head.as_bytes()).await.expect("sent");
    let mut answer = Vec::new();
    let continued = tokio::time::timeout(WAIT, async {
        let mut chunk = [0; 1024];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "closed before 100 Continue");
            answer.extend_from_slice(&chunk[..n]);
        }
    })
    .await;
    assert!(continued.is_ok(), "no 100 Continue within {WAIT:?}");
    assert!(
        answer.starts_with(b"HTTP/1.1 100 Continue\r\n"),
        "{answer:?}"
    );

    verifier.process.signal(libc::SIGTERM);
    let started = Instant::now();
    while !verifier
        .logs()
        .contains("shutting down: in-flight checks finish first")
    {
        assert!(
            started.elapsed() < WAIT,
            "no shutdown:\n{}",
            verifier.logs()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The body, slowly, after the shutdown began.
    stream.write_all(&body[..5]).await.expect("sent");
    stream.flush().await.expect("flushed");
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream.write_all(&body[5..]).await.expect("sent");
    let mut rest = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut rest))
        .await
        .expect("the answer within the deadline")
        .expect("read");
    let rest = String::from_utf8_lossy(&rest);
    assert!(rest.starts_with("HTTP/1.1 200 OK\r\n"), "{rest}");
    assert!(
        rest.to_ascii_lowercase()
            .contains(&format!("approov-device-id: {}", DID.to_ascii_lowercase())),
        "{rest}"
    );
    let status = verifier.process.wait().await;
    assert_eq!(status.code(), Some(0), "{}", verifier.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_with_the_reason_and_trace_id_of_each_refusal() {
    let mut verifier = Verifier::start(&[("APPROOV_VERIFIER_LOG_FORMAT", "json")]).await;
    check(
        &verifier,
        Request::get("/check")
            .token(&tokens::expired())
            .header("Approov-TraceID", "7f3a9c01"),
    )
    .await
    .assert_refused();
    check(&verifier, Request::get("/check"))
        .await
        .assert_refused();
    verifier.process.signal(libc::SIGTERM);
    assert_eq!(verifier.process.wait().await.code(), Some(0));

    let logs = verifier.logs();
    let events: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let refusals: Vec<(&str, Option<&str>)> = events
        .iter()
        .filter_map(|event| {
            let fields = &event["fields"];
            Some((fields["reason"].as_str()?, fields["trace_id"].as_str()))
        })
        .collect();
    assert_eq!(
        refusals,
        [("expired", Some("7f3a9c01")), ("missing_token", None)],
        "{logs}"
    );
    assert!(
        events
            .iter()
            .all(|e| e["level"].is_string() && e["timestamp"].is_string()),
        "{logs}"
    );
}

/// A `CheckRequest` as Envoy sends it with `encode_raw_headers: true`.
fn check_request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> CheckRequest {
    let header_map = HeaderMap {
        headers: headers
            .iter()
            .map(|(key, value)| HeaderValue {
                key: (*key).to_owned(),
                value: String::new(),
                raw_value: value.as_bytes().to_vec(),
            })
            .collect(),
    };
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(Attrs {
                http: Some(HttpRequest {
                    method: method.to_owned(),
                    path: path.to_owned(),
                    host: "api.example.com".to_owned(),
                    scheme: "https".to_owned(),
                    header_map: Some(header_map),
                    size: i64::try_from(body.len()).expect("small"),
                    raw_body: body.to_vec(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

async fn grpc_check(verifier: &Verifier, request: CheckRequest) -> CheckResponse {
    let addr = verifier.grpc.expect("the gRPC door");
    let mut client = AuthorizationClient::connect(format!("http://{addr}"))
        .await
        .expect("the gRPC door answers");
    tokio::time::timeout(WAIT, client.check(request))
        .await
        .expect("an answer within the deadline")
        .expect("a CheckResponse")
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grpc_door_answers_ok_with_the_claim_header_set_and_the_token_removed() {
    let verifier = Verifier::start(&[]).await;
    let token = tokens::valid();
    let answer = grpc_check(
        &verifier,
        check_request(
            "GET",
            "/v1/orders",
            &[("approov-token", &token), ("approov-device-id", "forged")],
            b"",
        ),
    )
    .await;
    assert_eq!(
        answer.status.expect("a status").code,
        tonic::Code::Ok as i32
    );
    let Some(HttpResponse::OkResponse(ok)) = answer.http_response else {
        panic!("not an OkHttpResponse: {:?}", answer.http_response);
    };
    let set: Vec<(&str, &str, i32)> = ok
        .headers
        .iter()
        .map(|h| {
            let header = h.header.as_ref().expect("a header");
            (header.key.as_str(), header.value.as_str(), h.append_action)
        })
        .collect();
    assert_eq!(
        set,
        [(
            "approov-device-id",
            DID,
            HeaderAppendAction::OverwriteIfExistsOrAdd as i32
        )]
    );
    assert_eq!(ok.headers_to_remove, ["approov-token"]);

    // A token without `did`: the client's copy is removed, never passed on.
    let without_did = tokens::mint(&tokens::claims(None));
    let answer = grpc_check(
        &verifier,
        check_request(
            "GET",
            "/v1/orders",
            &[
                ("approov-token", &without_did),
                ("approov-device-id", "forged"),
            ],
            b"",
        ),
    )
    .await;
    let Some(HttpResponse::OkResponse(ok)) = answer.http_response else {
        panic!("not an OkHttpResponse: {:?}", answer.http_response);
    };
    assert!(ok.headers.is_empty(), "{ok:?}");
    assert_eq!(ok.headers_to_remove, ["approov-token", "approov-device-id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grpc_door_denies_with_401_json_and_counts_the_reason() {
    let verifier = Verifier::start(&[]).await;
    for (token, reason) in [
        (Some(tokens::expired()), "expired"),
        (Some(tokens::forged()), "invalid_signature"),
        (None, "missing_token"),
    ] {
        let headers: Vec<(&str, &str)> = token
            .as_deref()
            .map(|t| ("approov-token", t))
            .into_iter()
            .collect();
        let before = verifier.counts().await;
        let answer = grpc_check(&verifier, check_request("GET", "/v1/orders", &headers, b"")).await;
        assert_eq!(
            answer.status.expect("a status").code,
            tonic::Code::Unauthenticated as i32
        );
        let Some(HttpResponse::DeniedResponse(denied)) = answer.http_response else {
            panic!("not a DeniedHttpResponse: {:?}", answer.http_response);
        };
        assert_eq!(denied.status.expect("a status").code, 401);
        assert_eq!(denied.body, "{}");
        let headers: Vec<(&str, &str)> = denied
            .headers
            .iter()
            .map(|h| {
                let header = h.header.as_ref().expect("a header");
                (header.key.as_str(), header.value.as_str())
            })
            .collect();
        assert_eq!(headers, [("content-type", "application/json")]);
        assert_eq!(
            verifier.counted_since(&before).await,
            once("rejected", reason)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grpc_door_checks_the_body_envoy_sends() {
    let verifier = Verifier::start(&[
        ("APPROOV_MESSAGE_SIGNING", "require"),
        ("APPROOV_PUBLIC_ORIGIN", "https://api.example.com"),
    ])
    .await;
    let key = InstallKey::generate();
    let token = key.token();
    let body = br#"{"amount":10}"#;
    let digest = tokens::content_digest(body);
    let params = tokens::sdk_params(r#""@method" "@target-uri" "approov-token" "content-digest""#);
    let base = format!(
        "\"@method\": POST\n\
         \"@target-uri\": https://api.example.com/v1/orders\n\
         \"approov-token\": {token}\n\
         \"content-digest\": {digest}\n\
         \"@signature-params\": {params}"
    );
    let input = format!("install={params}");
    let signature = format!("install=:{}:", key.sign(&base));
    let headers = [
        ("approov-token", token.as_str()),
        ("content-digest", digest.as_str()),
        ("signature-input", input.as_str()),
        ("signature", signature.as_str()),
    ];
    for (sent, size, expected) in [
        (&body[..], None, Ok(())),
        (br#"{"amount":99}"#, None, Err("content_digest_mismatch")),
        // `with_request_body` off: Envoy says the size, sends no body.
        (b"", Some(13), Err("body_unavailable")),
    ] {
        let mut request = check_request("POST", "/v1/orders", &headers, sent);
        if let Some(size) = size {
            let http = request
                .attributes
                .as_mut()
                .and_then(|a| a.request.as_mut())
                .and_then(|r| r.http.as_mut())
                .expect("the HTTP attributes");
            http.size = size;
        }
        let before = verifier.counts().await;
        let answer = grpc_check(&verifier, request).await;
        match expected {
            Ok(()) => {
                assert!(
                    matches!(answer.http_response, Some(HttpResponse::OkResponse(_))),
                    "{answer:?}"
                );
                assert_eq!(
                    verifier.counted_since(&before).await,
                    once("accepted", "none")
                );
            }
            Err(reason) => {
                assert!(
                    matches!(answer.http_response, Some(HttpResponse::DeniedResponse(_))),
                    "{answer:?}"
                );
                assert_eq!(
                    verifier.counted_since(&before).await,
                    once("rejected", reason)
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_envoy_http_door_answers_200_exactly_and_names_the_headers_to_remove() {
    let verifier = Verifier::start(&[]).await;
    let reply = send(
        verifier.http,
        Request::get("/ext-authz/v1/orders?page=2").token(&tokens::valid()),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.headers["approov-device-id"], DID);
    assert_eq!(
        reply.headers["x-envoy-auth-headers-to-remove"],
        "approov-token"
    );
    let reply = send(
        verifier.http,
        Request::get("/ext-authz/v1/orders").token(&tokens::mint(&tokens::claims(None))),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.headers.get("approov-device-id").is_none());
    assert_eq!(
        reply.headers["x-envoy-auth-headers-to-remove"],
        "approov-token, approov-device-id"
    );
    send(verifier.http, Request::get("/ext-authz/v1/orders"))
        .await
        .assert_refused();
}

/// What an Envoy door answered, in HTTP's terms: the status (`200` lets the request on), the
/// `approov-device-id` it sets upstream, the headers it removes upstream. A refusal has been
/// checked to be `401`, `application/json`, `{}`.
#[derive(Debug, PartialEq)]
struct EnvoyAnswer {
    status: u16,
    did: Option<String>,
    removed: Vec<String>,
}

/// Envoy's two doors: gRPC ext_authz, and HTTP ext_authz (`/ext-authz/<path>`).
#[derive(Debug, Clone, Copy)]
enum EnvoyDoor {
    Grpc,
    Http,
}

impl EnvoyDoor {
    /// Asks this door about `GET https://api.example.com/v1/orders` with `headers`, as Envoy
    /// would.
    async fn ask(self, verifier: &Verifier, headers: &[(&str, &str)]) -> EnvoyAnswer {
        match self {
            Self::Grpc => {
                let answer =
                    grpc_check(verifier, check_request("GET", "/v1/orders", headers, b"")).await;
                let code = answer.status.expect("a status").code;
                match answer.http_response {
                    Some(HttpResponse::OkResponse(ok)) => {
                        assert_eq!(code, tonic::Code::Ok as i32);
                        let did = ok.headers.iter().find_map(|h| {
                            let header = h.header.as_ref().expect("a header");
                            (header.key == "approov-device-id").then(|| header.value.clone())
                        });
                        EnvoyAnswer {
                            status: 200,
                            did,
                            removed: ok.headers_to_remove,
                        }
                    }
                    Some(HttpResponse::DeniedResponse(denied)) => {
                        assert_eq!(code, tonic::Code::Unauthenticated as i32);
                        assert_eq!(denied.body, "{}");
                        let content_type = denied.headers.iter().find_map(|h| {
                            let header = h.header.as_ref().expect("a header");
                            (header.key == "content-type").then(|| header.value.clone())
                        });
                        assert_eq!(content_type.as_deref(), Some("application/json"));
                        EnvoyAnswer {
                            status: u16::try_from(denied.status.expect("a status").code)
                                .expect("an HTTP status"),
                            did: None,
                            removed: Vec::new(),
                        }
                    }
                    other => panic!("neither allowed nor denied: {other:?}"),
                }
            }
            Self::Http => {
                let mut request =
                    Request::get("/ext-authz/v1/orders").header("x-forwarded-proto", "https");
                for (name, value) in headers {
                    request = request.header(name, value);
                }
                let reply = send(verifier.http, request).await;
                if reply.status != 200 {
                    reply.assert_refused();
                }
                let header = |name: &str| {
                    reply
                        .headers
                        .get(name)
                        .map(|v| v.to_str().expect("text").to_owned())
                };
                EnvoyAnswer {
                    status: reply.status,
                    did: header("approov-device-id"),
                    removed: header("x-envoy-auth-headers-to-remove")
                        .map(|names| names.split(", ").map(str::to_owned).collect())
                        .unwrap_or_default(),
                }
            }
        }
    }
}

/// The header lines of `GET https://api.example.com/v1/orders` signed as the SDKs sign it (its
/// base written out), with a key of its own: a signature no store has seen.
fn signed_get_headers() -> Vec<(&'static str, String)> {
    let key = InstallKey::generate();
    let token = key.token();
    let params = tokens::sdk_params(r#""@method" "@target-uri" "approov-token""#);
    let base = format!(
        "\"@method\": GET\n\
         \"@target-uri\": https://api.example.com/v1/orders\n\
         \"approov-token\": {token}\n\
         \"@signature-params\": {params}"
    );
    let signature = format!("install=:{}:", key.sign(&base));
    vec![
        ("approov-token", token),
        ("signature-input", format!("install={params}")),
        ("signature", signature),
    ]
}

/// At each Envoy door, in each mode, with replay protection on and its store in memory or at
/// `redis_url`: a signed request is allowed the first time, and the second time denied as
/// `signature_replayed` (enforce) or let on without its claim header, counted as monitored
/// (monitor). Returns the number of signatures that should have been remembered.
async fn envoy_doors_refuse_a_replay(redis_url: Option<&str>) -> usize {
    let mut remembered = 0;
    for door in [EnvoyDoor::Grpc, EnvoyDoor::Http] {
        for mode in ["enforce", "monitor"] {
            let mut vars = vec![
                ("APPROOV_MESSAGE_SIGNING", "require"),
                ("APPROOV_REPLAY_PROTECTION", "on"),
                ("APPROOV_MODE", mode),
            ];
            vars.extend(redis_url.map(|url| ("APPROOV_REPLAY_REDIS_URL", url)));
            let verifier = Verifier::start(&vars).await;
            let headers = signed_get_headers();
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let before = verifier.counts().await;
            assert_eq!(
                door.ask(&verifier, &headers).await,
                EnvoyAnswer {
                    status: 200,
                    did: Some(DID.to_owned()),
                    removed: vec!["approov-token".to_owned()],
                },
                "{door:?}, {mode}: the first sending"
            );
            assert_eq!(
                verifier.counted_since(&before).await,
                once("accepted", "none"),
                "{door:?}, {mode}: the first sending"
            );
            remembered += 1;
            let before = verifier.counts().await;
            let (expected, outcome) = match mode {
                "enforce" => (
                    EnvoyAnswer {
                        status: 401,
                        did: None,
                        removed: Vec::new(),
                    },
                    "rejected",
                ),
                _ => (
                    EnvoyAnswer {
                        status: 200,
                        did: None,
                        removed: vec!["approov-token".to_owned(), "approov-device-id".to_owned()],
                    },
                    "monitored",
                ),
            };
            assert_eq!(
                door.ask(&verifier, &headers).await,
                expected,
                "{door:?}, {mode}: the second sending"
            );
            assert_eq!(
                verifier.counted_since(&before).await,
                once(outcome, "signature_replayed"),
                "{door:?}, {mode}: the second sending"
            );
        }
    }
    remembered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_envoy_doors_deny_a_signed_request_sent_a_second_time_or_in_monitor_mode_let_it_on_without_claims()
 {
    envoy_doors_refuse_a_replay(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_envoy_doors_deny_a_signed_request_sent_a_second_time_or_in_monitor_mode_let_it_on_without_claims_with_the_store_in_redis()
 {
    let redis = RedisServer::start();
    let remembered = envoy_doors_refuse_a_replay(Some(&redis.url())).await;
    assert_eq!(redis.keys("approov:replay:").len(), remembered);
}
