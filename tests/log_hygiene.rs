//! Log hygiene: every rejection path (every [`ApproovErrorKind`]: token, binding, key fetching
//! and message signing checks), through a real server on loopback, in enforce and in monitor
//! mode, with all `tracing` output captured at TRACE (every crate's, including axum's and
//! hyper's). No token, token segment, secret (raw, base64, base64url, hex), signature, binding
//! value, `ipk`, signature base or signed body may appear in it; every reason code must.
#![cfg(all(
    feature = "axum",
    feature = "test-util",
    feature = "jwks-url",
    feature = "redis"
))]

mod common;
mod security_support;

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::OTHER_SECRET;
use http::{HeaderValue, Method, Request};
use http_body_util::BodyExt as _;
use jsonwebtoken::{Algorithm, Header};
use security_support::{SECRET, client, mint, mint_with, now, raw_token, serve, valid_claims};
use serde_json::json;
use std::net::SocketAddr;
use tower::ServiceExt as _;
use tower_approov::ReplayConfig;
use tower_approov::test_util::{AccountKey, InstallationKey, RequestSigner};
use tower_approov::{
    ApproovClaims, ApproovConfig, ApproovError, ApproovErrorKind, ApproovLayer, MessageSigning,
    Mode, ModeHandle, SigningConfig,
};

const AUTH: &str = "Bearer user-session-token-Zx81Mq";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Which server a case goes to.
#[derive(Clone, Copy, PartialEq)]
enum Server {
    /// One secret, no kid, no binding.
    Plain,
    /// Issuer and audience required.
    Addressed,
    /// Binding on `Authorization`.
    Bound,
    /// Two secrets under kids `k1` and `k2`.
    Kids,
    /// Message signing required, bodies up to [`BODY_LIMIT`] bytes.
    Signed,
    /// Keys from a JWKS URL that nobody answers (a loopback port held bound and never listened
    /// on, so that every fetch is refused at once).
    Jwks,
    /// Message signing required, replay protection in memory.
    Replay,
    /// Message signing required, replay protection in a Redis store that nobody answers (the
    /// same closed port), its URL holding a password.
    ReplayDown,
}

/// The password in [`Server::ReplayDown`]'s Redis URL.
const REDIS_PASSWORD: &str = "redis-password-Qw71Lz";

/// The user info in [`Server::Jwks`]'s URL.
const JWKS_USERINFO: &str = "jwks-user:jwks-password-Hx72Pd";

/// The account message signing key of [`Server::Signed`], and its id.
const ACCOUNT_KEY: &[u8] = b"account-message-signing-key-Tq93Ls";
const ACCOUNT_MSKID: &str = "acct01";

/// The body limit of [`Server::Signed`].
const BODY_LIMIT: usize = 64;

/// Request headers, by name: values as bytes, so non-UTF-8 ones fit.
type Headers = Vec<(&'static str, Vec<u8>)>;

struct Case {
    kind: ApproovErrorKind,
    server: Server,
    headers: Vec<(&'static str, Vec<u8>)>,
    /// `GET /` without a body when `None`, else `POST /` with this body.
    body: Option<Vec<u8>>,
}

fn tok(t: &str) -> Vec<(&'static str, Vec<u8>)> {
    vec![("approov-token", t.as_bytes().to_vec())]
}

fn with_auth(t: &str, auth: &str) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("approov-token", t.as_bytes().to_vec()),
        ("authorization", auth.as_bytes().to_vec()),
    ]
}

/// One request per reachable kind, and the tokens and values that must not leak.
fn cases() -> (Vec<Case>, Vec<String>) {
    use ApproovErrorKind as K;
    let mut claims = valid_claims();
    let valid = mint(&claims);
    let expired = mint(&json!({"exp": now() - 10.5, "did": "d"}));
    let pay = tower_approov::pay_claim_for([AUTH.as_bytes()]);
    claims["pay"] = json!(pay);
    let bound = mint(&claims);
    let mut kid = Header::new(Algorithm::HS256);
    kid.kid = Some("zz".into());
    let unknown_kid = mint_with(&kid, &valid_claims(), SECRET);
    let wrong_key = mint_with(
        &Header::new(Algorithm::HS256),
        &valid_claims(),
        OTHER_SECRET,
    );
    let sig = valid.rsplit('.').next().unwrap().to_owned();
    let hs = r#"{"alg":"HS256","typ":"JWT"}"#;
    let exp = now() + 600.0;
    let c = |kind, server, headers| Case {
        kind,
        server,
        headers,
        body: None,
    };
    let too_long = format!("{valid}{}", "A".repeat(9000));
    let mut non_utf8 = valid.clone().into_bytes();
    non_utf8[5] = 0xff;
    let cases = vec![
        c(
            K::MissingToken,
            Server::Plain,
            vec![("authorization", AUTH.into())],
        ),
        c(K::EmptyToken, Server::Plain, tok("   ")),
        c(K::NoNetwork, Server::Plain, tok("NO_NETWORK")),
        c(K::PoorNetwork, Server::Plain, tok("POOR_NETWORK")),
        c(K::MitmDetected, Server::Plain, tok("MITM_DETECTED")),
        c(
            K::DuplicateToken,
            Server::Plain,
            [tok(&valid), tok(&valid)].concat(),
        ),
        c(K::TokenTooLong, Server::Plain, tok(&too_long)),
        c(
            K::InvalidTokenEncoding,
            Server::Plain,
            vec![("approov-token", non_utf8)],
        ),
        c(
            K::MalformedToken,
            Server::Plain,
            tok(&valid.replacen('.', "", 1)),
        ),
        c(
            K::MalformedHeader,
            Server::Plain,
            tok(&raw_token("[1,2]", "{}", &sig)),
        ),
        c(
            K::MalformedClaims,
            Server::Plain,
            tok(&raw_token(hs, "not json", &sig)),
        ),
        c(
            K::AlgorithmNotAllowed,
            Server::Plain,
            tok(&raw_token(
                r#"{"alg":"none"}"#,
                &format!(r#"{{"exp":{exp}}}"#),
                "",
            )),
        ),
        c(K::UnknownKeyId, Server::Kids, tok(&unknown_kid)),
        c(K::NoMatchingKey, Server::Kids, tok(&valid)),
        c(K::InvalidSignature, Server::Plain, tok(&wrong_key)),
        c(
            K::MissingExpiry,
            Server::Plain,
            tok(&mint(&json!({"did": "d"}))),
        ),
        c(
            K::InvalidExpiry,
            Server::Plain,
            tok(&mint(&json!({"exp": "4708683205"}))),
        ),
        c(K::Expired, Server::Plain, tok(&expired)),
        c(
            K::NotYetValid,
            Server::Plain,
            tok(&mint(&json!({"exp": exp, "nbf": exp - 1.0}))),
        ),
        c(
            K::InvalidIssuer,
            Server::Addressed,
            tok(&mint(
                &json!({"exp": exp, "iss": "evil.example", "aud": "api.example.com"}),
            )),
        ),
        c(
            K::InvalidAudience,
            Server::Addressed,
            tok(&mint(
                &json!({"exp": exp, "iss": "acme.approov.io", "aud": "other.example"}),
            )),
        ),
        c(K::BindingHeaderMissing, Server::Bound, tok(&bound)),
        c(
            K::BindingHeaderRepeated,
            Server::Bound,
            [
                with_auth(&bound, AUTH),
                vec![("authorization", AUTH.into())],
            ]
            .concat(),
        ),
        c(K::PayClaimMissing, Server::Bound, with_auth(&valid, AUTH)),
        c(
            K::PayClaimMalformed,
            Server::Bound,
            with_auth(&mint(&json!({"exp": exp, "pay": 12345})), AUTH),
        ),
        c(
            K::PayClaimMismatch,
            Server::Bound,
            with_auth(&bound, "Bearer someone-else-Qp02"),
        ),
    ];

    let mut secrets: Vec<String> = Vec::new();
    for s in [SECRET, OTHER_SECRET] {
        secrets.push(String::from_utf8(s.to_vec()).unwrap());
        secrets.push(STANDARD.encode(s));
        secrets.push(URL_SAFE_NO_PAD.encode(s));
        secrets.push(s.iter().map(|b| format!("{b:02x}")).collect());
        secrets.push(format!("{:?}", &s[..8]).trim_end_matches(']').to_owned());
    }
    secrets.extend(token_values(&cases));
    secrets.extend([
        AUTH.to_owned(),
        "someone-else-Qp02".to_owned(),
        pay,
        "DeviceIdZ1x2c3v4b5n6m7".to_owned(),
    ]);
    secrets.retain(|s| s.len() >= 8);
    (cases, secrets)
}

/// Each case's token and each of its segments long enough to be recognisable.
fn token_values(cases: &[Case]) -> Vec<String> {
    let mut values = Vec::new();
    for case in cases {
        for (name, value) in &case.headers {
            if *name == "approov-token" {
                let text = String::from_utf8_lossy(value).trim().to_owned();
                values.extend(text.split('.').filter(|s| s.len() >= 12).map(str::to_owned));
                values.push(text);
            }
        }
    }
    values
}

/// A body the app signs: it must not be logged either.
const SIGNED_BODY: &str = r#"{"transfer":"body-secret-Vn38Lq2","amount":10}"#;

/// A request to the signing server at `addr` (`POST /` with `body`, else `GET /`), with
/// `approov-token: token` and `extra` headers, signed by `key` with `signer`'s settings.
fn signed(
    addr: SocketAddr,
    token: &str,
    body: Option<&[u8]>,
    extra: &[(&'static str, &str)],
    signer: RequestSigner<'_>,
) -> (Headers, Option<Vec<u8>>) {
    let method = if body.is_some() {
        Method::POST
    } else {
        Method::GET
    };
    let mut request = Request::builder()
        .method(method)
        .uri(format!("http://{addr}/"))
        .header("approov-token", token)
        .body(body.unwrap_or_default().to_vec())
        .unwrap();
    for (name, value) in extra {
        request
            .headers_mut()
            .insert(*name, HeaderValue::from_str(value).unwrap());
    }
    signer.sign(&mut request).unwrap();
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            let name: &'static str = match name.as_str() {
                "approov-token" => "approov-token",
                "signature" => "signature",
                "signature-input" => "signature-input",
                "content-digest" => "content-digest",
                "content-length" => "content-length",
                "host" => "host",
                other => panic!("unexpected header {other}"),
            };
            (name, value.as_bytes().to_vec())
        })
        .collect();
    (headers, body.map(<[u8]>::to_vec))
}

/// Replaces the value of header `name` with `f(old value)`.
fn edit(
    mut headers: Vec<(&'static str, Vec<u8>)>,
    name: &str,
    f: impl Fn(&str) -> String,
) -> Vec<(&'static str, Vec<u8>)> {
    let (_, value) = headers.iter_mut().find(|(n, _)| *n == name).unwrap();
    *value = f(std::str::from_utf8(value).unwrap()).into_bytes();
    headers
}

/// One request per message-signing kind and one for `keys_unavailable`, to the servers at
/// `addr` (signing) and any address (JWKS), and the values that must not leak.
fn signed_cases(addr: SocketAddr) -> (Vec<Case>, Vec<String>) {
    use ApproovErrorKind as K;
    let key = InstallationKey::generate().unwrap();
    let other_key = InstallationKey::generate().unwrap();
    let ipk = key.ipk().unwrap();
    let mut claims = valid_claims();
    claims["ipk"] = json!(ipk);
    let token = mint(&claims);
    let no_ipk = mint(&valid_claims());
    let account = AccountKey::from_bytes(ACCOUNT_KEY, ACCOUNT_MSKID);
    let forged_account = AccountKey::from_bytes(b"not-the-account-key-Mz04", ACCOUNT_MSKID);
    let mut account_claims = valid_claims();
    account_claims["mskid"] = json!(ACCOUNT_MSKID);
    let account_token = mint(&account_claims);
    account_claims["mskid"] = json!("other1");
    let other_mskid = mint(&account_claims);
    claims["ipk"] = json!("AAAA-not-a-key-Wq81Zr");
    let bad_ipk = mint(&claims);
    let now = now() as i64;

    let sign = |token: &str, body: Option<&[u8]>, signer| signed(addr, token, body, &[], signer);
    let get = |token: &str| sign(token, None, RequestSigner::new(&key));
    let c = |kind, (headers, body): (Vec<_>, Option<Vec<u8>>)| Case {
        kind,
        server: Server::Signed,
        headers,
        body,
    };

    let (tampered_headers, _) = sign(
        &token,
        Some(SIGNED_BODY.as_bytes()),
        RequestSigner::new(&key).android(),
    );
    let big = "B".repeat(BODY_LIMIT + 36);
    let over_limit = signed(
        addr,
        &token,
        Some(big.as_bytes()),
        &[("content-length", &big.len().to_string())],
        RequestSigner::new(&key),
    );
    let mut jwks_claims = valid_claims();
    jwks_claims["ipk"] = json!(ipk);
    let mut kid = Header::new(Algorithm::HS256);
    kid.kid = Some("remote-kid".into());
    let cases = vec![
        c(K::SignatureMissing, (tok(&token), None)),
        c(
            K::SignatureLabelMissing,
            (
                edit(get(&token).0, "signature", |v| {
                    v.replacen("install=", "account=", 1)
                }),
                None,
            ),
        ),
        c(
            K::SignatureMalformed,
            (
                edit(get(&token).0, "signature-input", |v| v.replacen(")", "", 1)),
                None,
            ),
        ),
        c(
            K::SignatureAlgorithmUnsupported,
            (
                edit(get(&token).0, "signature-input", |v| {
                    v.replace("ecdsa-p256-sha256", "hmac-sha256")
                }),
                None,
            ),
        ),
        c(
            K::SignatureParameterNotAllowed,
            (
                edit(get(&token).0, "signature-input", |v| {
                    format!("{v};context=\"x\"")
                }),
                None,
            ),
        ),
        c(
            K::SignatureExpired,
            sign(
                &token,
                None,
                RequestSigner::new(&key).with_created(now - 120),
            ),
        ),
        c(
            K::ContentDigestMismatch,
            (
                tampered_headers,
                Some(SIGNED_BODY.replace("10", "99").into_bytes()),
            ),
        ),
        c(K::BodyTooLarge, over_limit),
        c(K::InstallationKeyMissing, get(&no_ipk)),
        // The request's own authority (the absolute URI) and its `Host` disagree.
        c(
            K::AuthorityMismatch,
            signed(
                addr,
                &token,
                None,
                &[("host", "other.example")],
                RequestSigner::new(&key),
            ),
        ),
        c(K::InstallationKeyMalformed, get(&bad_ipk)),
        c(
            K::MessageSignatureInvalid,
            sign(&token, None, RequestSigner::new(&other_key).ios()),
        ),
        c(
            K::AccountSignatureInvalid,
            sign(
                &account_token,
                None,
                RequestSigner::account(&forged_account),
            ),
        ),
        c(
            K::AccountKeyIdMismatch,
            sign(
                &other_mskid,
                None,
                RequestSigner::account(&account).android(),
            ),
        ),
        Case {
            kind: K::KeysUnavailable,
            server: Server::Jwks,
            headers: tok(&mint_with(&kid, &jwks_claims, SECRET)),
            body: None,
        },
    ];

    let mut secrets = token_values(&cases);
    secrets.extend([
        ipk,
        "AAAA-not-a-key-Wq81Zr".to_owned(),
        "body-secret-Vn38Lq2".to_owned(),
        String::from_utf8(ACCOUNT_KEY.to_vec()).unwrap(),
        STANDARD.encode(ACCOUNT_KEY),
        URL_SAFE_NO_PAD.encode(ACCOUNT_KEY),
        "not-the-account-key-Mz04".to_owned(),
        big,
        JWKS_USERINFO.to_owned(),
        "jwks-password-Hx72Pd".to_owned(),
        // Any signature base written out has this line.
        "\"@signature-params\"".to_owned(),
    ]);
    for case in &cases {
        for (name, value) in &case.headers {
            let text = String::from_utf8(value.clone()).unwrap();
            match *name {
                "signature" => {
                    let b64 = text
                        .trim_start_matches("account=")
                        .trim_start_matches("install=")
                        .trim_matches([':', '"']);
                    let raw = STANDARD.decode(b64).unwrap();
                    secrets.push(URL_SAFE_NO_PAD.encode(&raw));
                    secrets.push(raw.iter().map(|b| format!("{b:02x}")).collect());
                    secrets.push(b64.to_owned());
                    secrets.push(text);
                }
                "content-digest" => secrets.push(text),
                _ => {}
            }
        }
    }
    secrets.retain(|s| s.len() >= 8);
    (cases, secrets)
}

async fn claims_or_not(claims: Option<ApproovClaims>) -> &'static str {
    if claims.is_some() { "ok" } else { "monitored" }
}

/// The configuration of `server`; `closed` is where [`Server::Jwks`] looks for its keys.
fn config(server: Server, closed: SocketAddr) -> ApproovConfig {
    let b = ApproovConfig::builder();
    let b = match server {
        Server::Plain => b.with_secret(SECRET, None).unwrap(),
        Server::Addressed => b
            .with_base64_secret(&STANDARD.encode(SECRET))
            .unwrap()
            .with_issuer(["acme.approov.io"])
            .with_audience(["api.example.com"]),
        Server::Bound => b
            .with_base64url_secret(&URL_SAFE_NO_PAD.encode(SECRET))
            .unwrap()
            .with_token_binding(["Authorization"])
            .unwrap(),
        Server::Kids => b
            .with_secret(SECRET, Some("k1"))
            .unwrap()
            .with_secret(OTHER_SECRET, Some("k2"))
            .unwrap(),
        Server::Signed => b.with_secret(SECRET, None).unwrap().with_signing_config(
            SigningConfig::new(MessageSigning::Require)
                .with_max_body_bytes(BODY_LIMIT)
                .with_allow_missing_ipk(false)
                .with_account_key(ACCOUNT_KEY, Some(ACCOUNT_MSKID))
                .unwrap(),
        ),
        // With credentials in the URL: they must not reach the logs either.
        Server::Jwks => b.with_jwks_url(&format!("http://{JWKS_USERINFO}@{closed}/jwks.json")),
        Server::Replay => b
            .with_secret(SECRET, None)
            .unwrap()
            .with_message_signing(MessageSigning::Require)
            .with_replay_protection(ReplayConfig::memory()),
        Server::ReplayDown => b
            .with_secret(SECRET, None)
            .unwrap()
            .with_message_signing(MessageSigning::Require)
            .with_replay_protection(ReplayConfig::redis(&format!(
                "redis://:{REDIS_PASSWORD}@{closed}/0"
            ))),
    };
    b.build().unwrap()
}

#[tokio::test]
async fn no_rejection_path_logs_a_token_secret_signature_or_binding_value() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    // Held until the test ends: nothing can listen there meanwhile.
    let (_held, closed) = common::closed_port();
    let mut servers = Vec::new();
    for server in [
        Server::Plain,
        Server::Addressed,
        Server::Bound,
        Server::Kids,
        Server::Signed,
        Server::Jwks,
        Server::Replay,
        Server::ReplayDown,
    ] {
        let layer = ApproovLayer::new(config(server, closed));
        // Debug output of the configuration goes through the logs too.
        tracing::info!(?layer, "layer built");
        let handle: ModeHandle = layer.mode_handle();
        let router = Router::new()
            .route("/", get(claims_or_not).post(claims_or_not))
            .layer(layer);
        let addr = serve(router.clone()).await;
        servers.push((server, addr, handle, router));
    }
    let (mut cases, mut forbidden) = cases();
    let signed_addr = servers.iter().find(|s| s.0 == Server::Signed).unwrap().1;
    let (more_cases, more_forbidden) = signed_cases(signed_addr);
    cases.extend(more_cases);
    forbidden.extend(more_forbidden);
    // Replay: a signed request the replay server has seen once (sent here, in process), and
    // one the server whose store is down is asked to remember.
    let key = InstallationKey::generate().unwrap();
    let mut claims = valid_claims();
    claims["ipk"] = json!(key.ipk().unwrap());
    let token = mint(&claims);
    for (server, kind) in [
        (Server::Replay, ApproovErrorKind::SignatureReplayed),
        (Server::ReplayDown, ApproovErrorKind::ReplayStoreUnavailable),
    ] {
        let (_, addr, _, router) = servers.iter().find(|s| s.0 == server).unwrap();
        let (headers, body) = signed(*addr, &token, None, &[], RequestSigner::new(&key));
        if server == Server::Replay {
            let mut request = Request::get(format!("http://{addr}/"));
            for (name, value) in &headers {
                request = request.header(*name, value.as_slice());
            }
            let first = router
                .clone()
                .oneshot(request.body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(first.status(), 200, "the replay server's first passage");
        }
        forbidden.extend(
            headers
                .iter()
                .filter(|(name, _)| *name == "signature")
                .map(|(_, value)| String::from_utf8(value.clone()).unwrap()),
        );
        cases.push(Case {
            kind,
            server,
            headers,
            body,
        });
    }
    forbidden.push(REDIS_PASSWORD.to_owned());
    let client = client();

    let mut covered = BTreeSet::new();
    for mode in [Mode::Enforce, Mode::Monitor] {
        for (_, _, handle, _) in &servers {
            handle.set(mode);
        }
        for case in &cases {
            let (_, addr, _, router) = servers.iter().find(|(s, ..)| *s == case.server).unwrap();
            let method = if case.body.is_some() {
                Method::POST
            } else {
                Method::GET
            };
            let request = |uri: String| {
                let mut request = Request::builder().method(method.clone()).uri(uri);
                for (name, value) in &case.headers {
                    request = request.header(*name, value.as_slice());
                }
                request
                    .body(Body::from(case.body.clone().unwrap_or_default()))
                    .unwrap()
            };
            if mode == Mode::Enforce {
                // The request really fails with this kind (the same router, in process).
                let response = router
                    .clone()
                    .oneshot(request(format!("http://{addr}/")))
                    .await
                    .unwrap();
                assert_eq!(
                    response
                        .extensions()
                        .get::<ApproovError>()
                        .map(ApproovError::kind),
                    Some(case.kind)
                );
            }
            let response = client
                .request(request(format!("http://{addr}/")))
                .await
                .unwrap();
            let (parts, body) = response.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            match mode {
                Mode::Enforce => assert!(
                    security_support::is_rejection(parts.status, &parts.headers, &body),
                    "{:?} was not rejected",
                    case.kind
                ),
                _ => assert_eq!(&body[..], b"monitored", "{:?} in monitor mode", case.kind),
            }
            covered.insert(case.kind.reason_code());
        }
    }

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    // The capture works and holds every reason code (so the kinds above really were produced),
    // each as a whole field value: `reason="expired"` is not found in
    // `reason="signature_expired"`.
    for case in &cases {
        let field = format!("reason=\"{}\"", case.kind.reason_code());
        assert!(logs.contains(&field), "no log line with {field}");
    }
    for value in &forbidden {
        assert!(
            !logs.contains(value.as_str()),
            "the logs contain a secret value: {value:?}\n{}",
            logs.lines()
                .filter(|l| l.contains(value.as_str()))
                .take(3)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    // Every kind is produced here: a kind added later without a case fails this.
    let all: BTreeSet<_> = ApproovErrorKind::ALL
        .iter()
        // A clock before 1970 or before 2026 cannot be produced over HTTP without changing the
        // machine's clock; `verify::clock_tests` covers those kinds. `body_unavailable` comes
        // only from a front door that cannot see the body, which the tower layer always can
        // (`tests/it/core_check.rs` covers it).
        .filter(|k| {
            !matches!(
                k,
                ApproovErrorKind::ClockBeforeEpoch
                    | ApproovErrorKind::ClockNotSet
                    | ApproovErrorKind::BodyUnavailable
            )
        })
        .map(|k| k.reason_code())
        .collect();
    assert_eq!(covered, all, "a reason kind has no case here");
}
