//! What message signing costs per request, as ratios to the token check alone, measured in
//! the same run (no absolute thresholds anywhere).
//!
//! ```text
//! cargo bench --bench signing --features test-util
//! ```
//!
//! Each case sends the same request through `ApproovService` around a trivial inner service,
//! `ITERATIONS` times per round, after a warm-up; the token is in the verified-token cache, as
//! it is for a real app that reuses its token. Like with like: every case and both references
//! (signing off, one ES256 verification alone) are measured once per round, one after the
//! other, over `ROUNDS` rounds (default 7); the table gives medians, and each ratio is the
//! median of the per-round ratios, never against a reference measured once at the start.
//!
//! The account cases (an `account` signature, HMAC-SHA256, alone and beside `install`) run
//! against a layer with an account key configured; the column "+us vs unsigned" is the median
//! of the per-round differences with the unsigned GET in `verify` mode, the same request
//! without a signature.
//!
//! [`worst_case`] then measures the bound on the URL forms: a forged signature on a URL that
//! the RFC, iOS and OkHttp forms each write differently (three verifications, then refused),
//! against the same forgery on an ordinary URL (one verification).

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt as _, Full};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;
use tower::{Service, ServiceExt as _};
use tower_approov::test_util::{AccountKey, InstallationKey, RequestSigner};
use tower_approov::{ApproovBody, ApproovConfig, ApproovLayer, MessageSigning};
use tower_layer::Layer as _;

const SECRET: &[u8] = b"a-bench-secret-of-sixty-four-bytes-for-the-hs256-approov-tokens!";
const ITERATIONS: u32 = 5_000;

async fn inner(req: Request<ApproovBody<Full<Bytes>>>) -> Result<Response<String>, Infallible> {
    // Read the body, as a handler would.
    let body = req.into_body().collect().await.map(|c| c.to_bytes().len());
    Ok(Response::new(format!("{body:?}")))
}

/// A layer with message signing in `mode` (and this account key, if any), around [`inner`].
fn service(
    mode: MessageSigning,
    account: Option<&AccountKey>,
) -> impl Service<Request<Full<Bytes>>, Response = Response<String>, Error = Infallible, Future: Send>
+ Clone {
    let mut builder = ApproovConfig::builder()
        .with_secret(SECRET, None)
        .unwrap()
        .with_message_signing(mode);
    if let Some(account) = account {
        builder = builder
            .with_account_key(account.as_bytes(), Some(account.mskid()))
            .unwrap();
    }
    ApproovLayer::new(builder.build().unwrap()).layer(tower::service_fn(inner))
}

/// Sends `request` through `service` `iterations` times; the time per request. Every answer
/// must be a 200.
async fn run<S>(service: &mut S, request: &Request<Full<Bytes>>, iterations: u32) -> Duration
where
    S: Service<Request<Full<Bytes>>, Response = Response<String>, Error = Infallible>,
{
    let mut start = Instant::now();
    let warm_up = iterations / 10;
    for i in 0..warm_up + iterations {
        if i == warm_up {
            start = Instant::now();
        }
        let mut req = Request::new(request.body().clone());
        *req.method_mut() = request.method().clone();
        *req.uri_mut() = request.uri().clone();
        *req.headers_mut() = request.headers().clone();
        let response = service.ready().await.unwrap().call(req).await.unwrap();
        assert_eq!(response.status(), 200);
        black_box(response);
    }
    start.elapsed() / iterations
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // Installs the crypto provider before minting.
    let _ = ApproovConfig::builder()
        .with_secret(SECRET, None)
        .unwrap()
        .build();
    let key = InstallationKey::generate().unwrap();
    let account = AccountKey::generate("bench1").unwrap();
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        + 600.0;
    let token = jsonwebtoken::encode(
        &Header::default(),
        &json!({ "exp": exp, "did": "bench", "ipk": key.ipk().unwrap(), "mskid": account.mskid() }),
        &EncodingKey::from_secret(SECRET).unwrap(),
    )
    .unwrap();
    let url = "https://api.example.com/v1/orders?page=1";
    let get = || {
        Request::get(url)
            .header("approov-token", &token)
            .body(Vec::new())
            .unwrap()
    };
    let body = vec![b'x'; 1024];
    let post = || {
        Request::post(url)
            .header("approov-token", &token)
            .header("content-type", "application/octet-stream")
            .body(body.clone())
            .unwrap()
    };
    let full = |r: Request<Vec<u8>>| r.map(|b| Full::new(Bytes::from(b)));

    let mut signed_get = get();
    RequestSigner::new(&key).sign(&mut signed_get).unwrap();
    let mut signed_post = post();
    RequestSigner::new(&key).sign(&mut signed_post).unwrap();
    let mut account_get = get();
    RequestSigner::account(&account)
        .sign(&mut account_get)
        .unwrap();
    let mut both_get = get();
    RequestSigner::new(&key)
        .with_account(&account)
        .sign(&mut both_get)
        .unwrap();

    // (name, signing mode, account key configured, request): the first is the baseline of the
    // ratios; the second the unsigned reference of the "+us" column.
    let cases = [
        (
            "signing off, GET (baseline)",
            MessageSigning::Off,
            false,
            full(get()),
        ),
        (
            "verify, unsigned GET",
            MessageSigning::Verify,
            true,
            full(get()),
        ),
        ("off, POST 1 KiB", MessageSigning::Off, false, full(post())),
        (
            "require, install-signed GET",
            MessageSigning::Require,
            true,
            full(signed_get),
        ),
        (
            "require, account-signed GET",
            MessageSigning::Require,
            true,
            full(account_get),
        ),
        (
            "require, install + account-signed GET",
            MessageSigning::Require,
            true,
            full(both_get),
        ),
        (
            "require, signed POST 1 KiB + content-digest",
            MessageSigning::Require,
            false,
            full(signed_post),
        ),
    ];
    let mut services: Vec<_> = cases
        .iter()
        .map(|(_, mode, with_account, _)| service(*mode, with_account.then_some(&account)))
        .collect();

    // For reference: one ES256 verification alone, through the same `jsonwebtoken` call.
    let es256_key = InstallationKey::generate().unwrap();
    let message = b"a signature base of a realistic length".repeat(10);
    let raw = es256_key.sign(&message).unwrap();
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let spki = base64::engine::general_purpose::STANDARD
        .decode(es256_key.ipk().unwrap())
        .unwrap();
    let decoding = jsonwebtoken::DecodingKey::from_ec_der(&spki[26..]);
    let es256_alone = || {
        let start = Instant::now();
        for _ in 0..ITERATIONS {
            let ok = jsonwebtoken::crypto::verify(
                &sig,
                &message,
                &decoding,
                jsonwebtoken::Algorithm::ES256,
            )
            .unwrap();
            assert!(black_box(ok));
        }
        start.elapsed() / ITERATIONS
    };

    // For reference too: one HMAC-SHA256 over a base of the account-signed GET's length, with a
    // key prepared once, as the layer holds the account key.
    let hmac_key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, account.as_bytes());
    let hmac_base = vec![b'x'; 200 + token.len()];
    let hmac_alone = || {
        let start = Instant::now();
        for _ in 0..ITERATIONS {
            black_box(aws_lc_rs::hmac::sign(&hmac_key, black_box(&hmac_base)));
        }
        start.elapsed() / ITERATIONS
    };

    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(7);
    // [case][round] in seconds per request; the last two rows are the ES256 and HMAC
    // references.
    let mut times = vec![Vec::with_capacity(rounds); cases.len() + 2];
    for _ in 0..rounds {
        for (i, ((_, _, _, request), service)) in cases.iter().zip(&mut services).enumerate() {
            times[i].push(run(service, request, ITERATIONS).await.as_secs_f64());
        }
        times[cases.len()].push(es256_alone().as_secs_f64());
        times[cases.len() + 1].push(hmac_alone().as_secs_f64());
    }

    let names = cases.iter().map(|(name, _, _, _)| *name).chain([
        "ES256 verification alone (reference)",
        "HMAC-SHA256 of the base alone (reference)",
    ]);
    println!("Medians of {rounds} alternated rounds of {ITERATIONS} requests each.");
    println!(
        "{:<46} {:>10} {:>12} {:>12} {:>18}",
        "case", "per req", "vs baseline", "vs ES256", "+us vs unsigned"
    );
    let per_round = |i: usize, reference: usize| {
        median(
            times[i]
                .iter()
                .zip(&times[reference])
                .map(|(t, r)| t / r)
                .collect(),
        )
    };
    // The unsigned GET in `verify` mode: the same request without a signature.
    let unsigned = 1;
    let added = |i: usize| {
        median(
            times[i]
                .iter()
                .zip(&times[unsigned])
                .map(|(t, r)| (t - r) * 1e6)
                .collect(),
        )
    };
    for (i, name) in names.enumerate() {
        // The references are not requests: nothing to add to an unsigned one.
        let added = if i < cases.len() {
            format!("{:>16.2}us", added(i))
        } else {
            format!("{:>18}", "")
        };
        println!(
            "{name:<46} {:>8.2}us {:>11.2}x {:>11.2}x {added}",
            median(times[i].clone()) * 1e6,
            per_round(i, 0),
            per_round(i, cases.len()),
        );
    }

    worst_case(&token).await;
}

/// The most a request can cost in signature verifications (three, one per URL form), as a ratio
/// to one verification. Both cases are forged (signed by another key, so refused), and are
/// interleaved over `ROUNDS` rounds; the medians are compared.
async fn worst_case(token: &str) {
    const ROUNDS: usize = 15;
    const PER_ROUND: u32 = 2_000;
    let config = ApproovConfig::builder()
        .with_secret(SECRET, None)
        .unwrap()
        .with_message_signing(MessageSigning::Require)
        .build()
        .unwrap();
    let mut service = ApproovLayer::new(config).layer(tower::service_fn(inner));
    let forger = InstallationKey::generate().unwrap();
    let forged = |url: &str| {
        let mut request = Request::get(url)
            .header("approov-token", token)
            .body(Vec::new())
            .unwrap();
        RequestSigner::new(&forger).sign(&mut request).unwrap();
        request.map(|b| Full::new(Bytes::from(b)))
    };
    // `/` before `?`, and a raw `|`: the RFC, iOS and OkHttp forms are three different bases.
    let ambiguous = forged("https://api.example.com/?q=a|b");
    // Every form gives the same base: one verification.
    let ordinary = forged("https://api.example.com/v1/orders?page=1");

    let mut time = async |request: &Request<Full<Bytes>>, n: u32| {
        let start = Instant::now();
        for _ in 0..n {
            let mut req = Request::new(request.body().clone());
            *req.uri_mut() = request.uri().clone();
            *req.headers_mut() = request.headers().clone();
            let response = service.ready().await.unwrap().call(req).await.unwrap();
            assert_eq!(response.status(), 401);
            black_box(response);
        }
        start.elapsed() / n
    };
    time(&ambiguous, 1_000).await;
    time(&ordinary, 1_000).await;
    let (mut worst, mut one) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        worst.push(time(&ambiguous, PER_ROUND).await);
        one.push(time(&ordinary, PER_ROUND).await);
    }
    worst.sort();
    one.sort();
    let (worst, one) = (worst[ROUNDS / 2], one[ROUNDS / 2]);
    println!();
    println!(
        "{:<46} {:>10} {:>8}",
        "worst case (medians of 15 interleaved rounds)", "per req", "ratio"
    );
    for (name, t) in [
        ("forged signature, ordinary URL (1 verification)", one),
        ("forged signature, ambiguous URL (3, the bound)", worst),
    ] {
        println!(
            "{name:<46} {:>8.2}us {:>7.2}x",
            t.as_secs_f64() * 1e6,
            t.as_secs_f64() / one.as_secs_f64()
        );
    }
}
