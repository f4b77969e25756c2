//! Per-request cost of the layer through a full tower stack, against the alternatives.
//!
//! ```text
//! bench/criterion.sh                       # runs this and prints the ratio table
//! cargo bench --bench layer                # the same
//! cargo bench --bench layer -- layer_hit   # only the cases whose name contains a filter
//! ROUNDS=15 cargo bench --bench layer      # more rounds (default 9)
//! ```
//!
//! Like with like: every case, the references (`stack/no_layer`, `decode_alone/ALG`)
//! included, is measured once per round, one after the other, over several rounds; so a
//! change in the machine's load during the run hits the case and its reference alike. The
//! table gives each case's median over the rounds, and the added cost and the ratio as the
//! median of the per-round figures (the case minus `stack/no_layer` of the same round, over
//! `decode_alone` of the same round), never against a reference measured once at the start.
//!
//! Every case sends a real `http::Request` through `ready().call()` over the same trivial inner
//! service (an `async` block that answers 200 with an empty body):
//!
//! - `stack/no_layer`: the inner service alone;
//! - `stack/baseline_from_fn/ALG`: what a user would otherwise write, an axum `from_fn`
//!   middleware calling `jsonwebtoken::decode` on every request (key and `Validation` prepared
//!   once, claims put in the extensions like the layer does), on the same token stream as
//!   `layer_miss`;
//! - `stack/layer_miss/ALG`: the layer, with its default cache of 10 000 tokens, on tokens it
//!   has never seen (cycling through a pool of pre-minted tokens several times larger than the
//!   cache, so that a token comes round again long after it was evicted);
//! - `stack/layer_hit/ALG`: the layer with the same token on every request;
//! - `bound/...`: the same with token binding on (`pay` bound to `Authorization`);
//! - `decode_alone/ALG`: `jsonwebtoken::decode` alone, the reference for the ratios;
//! - `decode_pool/ALG`: `decode` alone over the misses' token stream, against `decode_alone`:
//!   verifying the same token over and over is faster than verifying a stream of them;
//! - `flood/...`: what hostile traffic costs: malformed tokens, expired tokens, and well-formed
//!   ES256 tokens with bad signatures (each distinct, so none is cached).
//!
//! Every future here completes on its first poll, so the bench polls it once with a no-op
//! waker instead of paying for an executor. Requests are built before the clock starts; every
//! response's status is checked after it stops.

mod support;

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http::{HeaderValue, StatusCode, header};
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tower::{Layer, Service, ServiceExt};
use tower_approov::{ApproovBody, ApproovLayer};

use support::{Alg, BOUND_AUTHORIZATION, KeyMaterial, bound_pay, claims};

/// Cache size for the miss cases: the default, as a user gets it.
const MISS_CACHE_SIZE: usize = tower_approov::DEFAULT_TOKEN_CACHE_SIZE;

/// Distinct tokens pre-minted per algorithm for the miss cases, several times the cache. RS256
/// signing costs about a millisecond, hence the smaller pool.
fn pool_size(alg: Alg) -> usize {
    match alg {
        Alg::Hs256 => 10 * MISS_CACHE_SIZE,
        Alg::Rs256 => 2 * MISS_CACHE_SIZE,
        Alg::Es256 => 5 * MISS_CACHE_SIZE,
    }
}

/// Polls a future that is known to be ready at once.
fn now_or_never<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("every service in this bench answers at once"),
    }
}

/// Sends one request through `svc` and returns the status.
fn send<S>(svc: &mut S, req: Request) -> StatusCode
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let ready = now_or_never(svc.ready()).unwrap_or_else(|e| match e {});
    let response = now_or_never(ready.call(req)).unwrap_or_else(|e| match e {});
    response.status()
}

fn request(token: &HeaderValue, bound: bool) -> Request {
    let mut req = Request::new(Body::empty());
    req.headers_mut().insert("approov-token", token.clone());
    if bound {
        req.headers_mut().insert(
            header::AUTHORIZATION,
            HeaderValue::from_static(BOUND_AUTHORIZATION),
        );
    }
    req
}

async fn ok_inner<B>(_req: http::Request<B>) -> Result<Response, Infallible> {
    Ok(StatusCode::OK.into_response())
}

/// The middleware a user would write without this crate.
#[derive(Clone)]
struct Baseline {
    key: Arc<DecodingKey>,
    validation: Arc<Validation>,
    bound: bool,
}

impl Baseline {
    fn new(keys: &KeyMaterial, bound: bool) -> Self {
        let validation = keys.validation();
        Baseline {
            key: Arc::new(keys.decoding()),
            validation: Arc::new(validation),
            bound,
        }
    }
}

async fn baseline_middleware(
    State(baseline): State<Baseline>,
    mut req: Request,
    next: Next,
) -> Response {
    let unauthorized = || {
        (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "application/json")],
            "{}",
        )
            .into_response()
    };
    let Some(token) = req
        .headers()
        .get("approov-token")
        .and_then(|v| v.to_str().ok())
    else {
        return unauthorized();
    };
    let claims = match jsonwebtoken::decode::<Value>(token, &baseline.key, &baseline.validation) {
        Ok(data) => data.claims,
        Err(_) => return unauthorized(),
    };
    if baseline.bound {
        let Some(value) = req.headers().get(header::AUTHORIZATION) else {
            return unauthorized();
        };
        let expected =
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(value.as_bytes()));
        let Some(pay) = claims.get("pay").and_then(Value::as_str) else {
            return unauthorized();
        };
        if !bool::from(expected.as_bytes().ct_eq(pay.as_bytes())) {
            return unauthorized();
        }
    }
    req.extensions_mut().insert(Arc::new(claims));
    next.run(req).await
}

/// A cycling source of header values; each case walks it with its own cursor, so that two
/// cases given the same pool see the same token stream.
#[derive(Clone)]
struct Pool {
    tokens: Rc<[HeaderValue]>,
    next: usize,
}

impl Pool {
    fn new(tokens: impl IntoIterator<Item = String>) -> Self {
        Pool {
            tokens: tokens
                .into_iter()
                .map(|t| HeaderValue::try_from(t).expect("token is a header value"))
                .collect(),
            next: 0,
        }
    }

    fn next(&mut self) -> &HeaderValue {
        let i = self.next;
        self.next = (i + 1) % self.tokens.len();
        &self.tokens[i]
    }
}

fn mint_pool(keys: &KeyMaterial, count: usize, exp_in: f64, pay: Option<&str>) -> Pool {
    Pool::new((0..count as u64).map(|n| keys.mint(&claims(n, exp_in, pay))))
}

/// One measured case: runs `n` iterations and returns the time they took.
struct Case {
    name: String,
    run: Box<dyn FnMut(usize) -> Duration>,
}

/// `svc` on requests carrying tokens from `pool`, every answer expected to be `status`.
fn stack<S>(name: &str, mut svc: S, mut pool: Pool, bound: bool, status: StatusCode) -> Case
where
    S: Service<Request, Response = Response, Error = Infallible> + 'static,
{
    // A wrong setup must not be measured as a fast rejection.
    assert_eq!(
        send(&mut svc, request(pool.next(), bound)),
        status,
        "{name}"
    );
    let label = name.to_owned();
    Case {
        name: name.to_owned(),
        run: Box::new(move |n| {
            let requests: Vec<Request> = (0..n).map(|_| request(pool.next(), bound)).collect();
            let mut statuses = Vec::with_capacity(n);
            let start = Instant::now();
            for req in requests {
                statuses.push(black_box(send(&mut svc, req)));
            }
            let elapsed = start.elapsed();
            let wrong = statuses.iter().filter(|s| **s != status).count();
            assert_eq!(
                wrong, 0,
                "{label}: {wrong} of {n} answers were not {status}"
            );
            elapsed
        }),
    }
}

fn layered(
    keys: &KeyMaterial,
    cache_size: usize,
    bound: bool,
) -> impl Service<Request, Response = Response, Error = Infallible> + use<> {
    let mut builder = keys.builder().with_token_cache_size(cache_size);
    if bound {
        builder = builder
            .with_token_binding(["authorization"])
            .expect("binding header");
    }
    let layer = ApproovLayer::new(builder.build().expect("config"));
    layer.layer(tower::service_fn(ok_inner::<ApproovBody<Body>>))
}

fn baseline(
    keys: &KeyMaterial,
    bound: bool,
) -> impl Service<Request, Response = Response, Error = Infallible> + use<> {
    from_fn_with_state(Baseline::new(keys, bound), baseline_middleware)
        .layer(tower::service_fn(ok_inner::<Body>))
}

/// Medians, per-round added costs and ratios; see the module documentation.
struct Results {
    names: Vec<String>,
    /// Nanoseconds per iteration, `[case][round]`.
    samples: Vec<Vec<f64>>,
}

impl Results {
    fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    fn rounds(&self, name: &str) -> Option<&[f64]> {
        self.index(name).map(|i| self.samples[i].as_slice())
    }

    fn median_of(&self, name: &str) -> Option<f64> {
        self.rounds(name).map(median)
    }

    /// Median over the rounds of (case - reference) of the same round.
    fn added(&self, name: &str, reference: &str) -> Option<f64> {
        let (case, reference) = (self.rounds(name)?, self.rounds(reference)?);
        Some(median(
            &case
                .iter()
                .zip(reference)
                .map(|(c, r)| c - r)
                .collect::<Vec<_>>(),
        ))
    }

    /// Median over the rounds of (case - reference) / divisor, all of the same round.
    fn ratio(&self, name: &str, reference: &str, divisor: &[f64]) -> Option<f64> {
        let (case, reference) = (self.rounds(name)?, self.rounds(reference)?);
        Some(median(
            &case
                .iter()
                .zip(reference)
                .zip(divisor)
                .map(|((c, r), d)| (c - r) / d)
                .collect::<Vec<_>>(),
        ))
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

fn fmt_ns(ns: Option<f64>) -> String {
    match ns {
        None => "-".into(),
        Some(ns) if ns.abs() >= 1000.0 => format!("{:.2} us", ns / 1000.0),
        Some(ns) => format!("{ns:.0} ns"),
    }
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), |r| format!("{r:.3}x"))
}

/// `jsonwebtoken::decode` alone on each token of `pool` in turn.
fn decode_over(k: &KeyMaterial, mut pool: Pool) -> Case {
    let key = k.decoding();
    let validation = k.validation();
    Case {
        name: format!("decode_pool/{}", k.alg.name()),
        run: Box::new(move |n| {
            let tokens: Vec<String> = (0..n)
                .map(|_| pool.next().to_str().expect("ASCII").to_owned())
                .collect();
            let start = Instant::now();
            for token in &tokens {
                let decoded = jsonwebtoken::decode::<Value>(black_box(token), &key, &validation);
                assert!(decoded.is_ok(), "every pooled token decodes");
            }
            start.elapsed()
        }),
    }
}

fn cases(filter: &[String]) -> Vec<Case> {
    let wanted = |name: &str| {
        filter.is_empty()
            || filter.iter().any(|f| name.contains(f.as_str()))
            || name == "stack/no_layer"
            || name == "bound/no_layer"
            || name.starts_with("decode_alone/")
            // Only made for the algorithms whose stack cases were asked for.
            || name.starts_with("decode_pool/")
    };
    let keys: Vec<KeyMaterial> = Alg::ALL.into_iter().map(KeyMaterial::generate).collect();
    let hs = &keys[0];
    let pay = bound_pay();
    let mut cases = Vec::new();
    let asked = |names: &[&str]| {
        filter.is_empty()
            || names
                .iter()
                .any(|n| filter.iter().any(|f| n.contains(f.as_str())))
    };

    // The reference: one `jsonwebtoken::decode`, per algorithm.
    for k in &keys {
        let token = k.mint(&claims(0, 3600.0, None));
        let key = k.decoding();
        let validation = k.validation();
        jsonwebtoken::decode::<Value>(&token, &key, &validation).expect("decodes");
        cases.push(Case {
            name: format!("decode_alone/{}", k.alg.name()),
            run: Box::new(move |n| {
                let start = Instant::now();
                for _ in 0..n {
                    let decoded =
                        jsonwebtoken::decode::<Value>(black_box(&token), &key, &validation);
                    black_box(decoded.is_ok());
                }
                start.elapsed()
            }),
        });
    }

    let one_hs = Pool::new([hs.mint(&claims(0, 3600.0, None))]);
    cases.push(stack(
        "stack/no_layer",
        tower::service_fn(ok_inner::<Body>),
        one_hs,
        false,
        StatusCode::OK,
    ));

    for k in &keys {
        let alg = k.alg.name();
        let names =
            ["baseline_from_fn", "layer_miss", "layer_hit"].map(|c| format!("stack/{c}/{alg}"));
        if !asked(&names.each_ref().map(String::as_str)) {
            continue;
        }
        let one = Pool::new([k.mint(&claims(0, 3600.0, None))]);
        let fresh = mint_pool(k, pool_size(k.alg), 3600.0, None);
        // `decode` over the misses' token stream: `decode_alone` verifies one token over and
        // over, which the CPU learns (ES256 runs several % faster on it).
        cases.push(decode_over(k, fresh.clone()));
        // The same fresh token stream for the hand-written middleware and the layer.
        cases.push(stack(
            &format!("stack/baseline_from_fn/{alg}"),
            baseline(k, false),
            fresh.clone(),
            false,
            StatusCode::OK,
        ));
        cases.push(stack(
            &format!("stack/layer_miss/{alg}"),
            layered(k, MISS_CACHE_SIZE, false),
            fresh,
            false,
            StatusCode::OK,
        ));
        cases.push(stack(
            &format!("stack/layer_hit/{alg}"),
            layered(k, tower_approov::DEFAULT_TOKEN_CACHE_SIZE, false),
            one,
            false,
            StatusCode::OK,
        ));
    }

    // Token binding on: the `pay` claim is checked against `Authorization` on every request.
    if asked(&[
        "bound/baseline_from_fn/HS256",
        "bound/layer_miss/HS256",
        "bound/layer_hit/HS256",
    ]) {
        let one_bound = Pool::new([hs.mint(&claims(0, 3600.0, Some(&pay)))]);
        let fresh_bound = mint_pool(hs, pool_size(Alg::Hs256), 3600.0, Some(&pay));
        cases.push(stack(
            "bound/no_layer",
            tower::service_fn(ok_inner::<Body>),
            one_bound.clone(),
            true,
            StatusCode::OK,
        ));
        cases.push(stack(
            "bound/baseline_from_fn/HS256",
            baseline(hs, true),
            fresh_bound.clone(),
            true,
            StatusCode::OK,
        ));
        cases.push(stack(
            "bound/layer_miss/HS256",
            layered(hs, MISS_CACHE_SIZE, true),
            fresh_bound,
            true,
            StatusCode::OK,
        ));
        cases.push(stack(
            "bound/layer_hit/HS256",
            layered(hs, tower_approov::DEFAULT_TOKEN_CACHE_SIZE, true),
            one_bound,
            true,
            StatusCode::OK,
        ));
    }

    // Floods of hostile tokens, each distinct so that nothing is served from the cache.
    if asked(&[
        "flood/malformed",
        "flood/expired",
        "flood/bad_signature_es256",
    ]) {
        let es = &keys[2];
        let malformed = Pool::new((0..10_000u64).map(|n| {
            // Three base64url segments of a real token's lengths; the header is not JSON.
            let b64 = |len: usize, seed: u64| -> String {
                const ALPHABET: &[u8] =
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        ALPHABET[(x % 64) as usize] as char
                    })
                    .collect()
            };
            format!("{}.{}.{}", b64(36, n), b64(120, n + 1), b64(86, n + 2))
        }));
        cases.push(stack(
            "flood/malformed",
            layered(es, tower_approov::DEFAULT_TOKEN_CACHE_SIZE, false),
            malformed,
            false,
            StatusCode::UNAUTHORIZED,
        ));
        let expired = mint_pool(es, 10_000, -60.0, None);
        cases.push(stack(
            "flood/expired",
            layered(es, tower_approov::DEFAULT_TOKEN_CACHE_SIZE, false),
            expired,
            false,
            StatusCode::UNAUTHORIZED,
        ));
        // Signed by another ES256 key: well-formed, unexpired, the signature fails.
        let impostor = KeyMaterial::generate(Alg::Es256);
        let bad_signature = mint_pool(&impostor, 10_000, 3600.0, None);
        cases.push(stack(
            "flood/bad_signature_es256",
            layered(es, tower_approov::DEFAULT_TOKEN_CACHE_SIZE, false),
            bad_signature,
            false,
            StatusCode::UNAUTHORIZED,
        ));
    }
    cases.retain(|c| wanted(&c.name));
    cases
}

fn main() {
    // `cargo bench` passes `--bench`; anything else not starting with `-` is a filter.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(9);
    let sample = Duration::from_millis(
        std::env::var("SAMPLE_MS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(150),
    );
    let mut cases = cases(&filter);

    // Iterations per sample: about `sample` long each, found once, then fixed for every round.
    let iterations: Vec<usize> = cases
        .iter_mut()
        .map(|case| {
            let mut n = 64;
            loop {
                let took = (case.run)(n);
                if took >= sample / 4 || n >= 1 << 24 {
                    let per = took.as_secs_f64() / n as f64;
                    break ((sample.as_secs_f64() / per) as usize).clamp(16, 1 << 24);
                }
                n *= 4;
            }
        })
        .collect();

    let mut samples = vec![Vec::with_capacity(rounds); cases.len()];
    for round in 0..rounds {
        eprintln!("round {} of {rounds}", round + 1);
        for (i, case) in cases.iter_mut().enumerate() {
            let n = iterations[i];
            let took = (case.run)(n);
            samples[i].push(took.as_secs_f64() * 1e9 / n as f64);
        }
    }
    let results = Results {
        names: cases.iter().map(|c| c.name.clone()).collect(),
        samples,
    };
    report(&results, rounds, sample);
}

fn report(r: &Results, rounds: usize, sample: Duration) {
    println!(
        "Medians of {rounds} alternated rounds ({} ms per case and round); 'added' = the case \
         minus stack/no_layer of the same round ({}), ratios against jsonwebtoken::decode of \
         the same algorithm and round. Both are medians of the per-round figures.",
        sample.as_millis(),
        fmt_ns(r.median_of("stack/no_layer"))
    );
    println!();
    println!("| case | median | added | added / decode | target |");
    println!("|---|---|---|---|---|");
    let target = |case: &str, alg: &str| match (case, alg) {
        ("layer_hit", _) => "added <= 150 ns",
        ("layer_miss", "HS256") => "<= 0.4x",
        ("layer_miss", "ES256") => "<= 1.0x",
        _ => "",
    };
    for alg in ["HS256", "RS256", "ES256"] {
        let decode_name = format!("decode_alone/{alg}");
        let Some(decode) = r.rounds(&decode_name) else {
            continue;
        };
        println!(
            "| {decode_name} | {} | | 1.000x | |",
            fmt_ns(r.median_of(&decode_name))
        );
        let pooled = format!("decode_pool/{alg}");
        if let Some(rounds) = r.rounds(&pooled) {
            let ratio = median(
                &rounds
                    .iter()
                    .zip(decode)
                    .map(|(p, d)| p / d)
                    .collect::<Vec<_>>(),
            );
            println!(
                "| {pooled} (the misses' token stream) | {} | | {} | |",
                fmt_ns(r.median_of(&pooled)),
                fmt_ratio(Some(ratio))
            );
        }
        for case in ["baseline_from_fn", "layer_miss", "layer_hit"] {
            let name = format!("stack/{case}/{alg}");
            if r.index(&name).is_none() {
                continue;
            }
            println!(
                "| {name} | {} | {} | {} | {} |",
                fmt_ns(r.median_of(&name)),
                fmt_ns(r.added(&name, "stack/no_layer")),
                fmt_ratio(r.ratio(&name, "stack/no_layer", decode)),
                target(case, alg)
            );
        }
    }
    if let Some(decode) = r.rounds("decode_alone/HS256") {
        for case in ["baseline_from_fn", "layer_miss", "layer_hit"] {
            let name = format!("bound/{case}/HS256");
            if r.index(&name).is_none() {
                continue;
            }
            println!(
                "| {name} | {} | {} | {} | |",
                fmt_ns(r.median_of(&name)),
                fmt_ns(r.added(&name, "bound/no_layer")),
                fmt_ratio(r.ratio(&name, "bound/no_layer", decode)),
            );
        }
    }
    let floods = ["malformed", "expired", "bad_signature_es256"];
    if floods
        .iter()
        .any(|f| r.index(&format!("flood/{f}")).is_some())
    {
        let hit_added: Option<Vec<f64>> = r.rounds("stack/layer_hit/ES256").map(|hit| {
            hit.iter()
                .zip(r.rounds("stack/no_layer").unwrap_or_default())
                .map(|(h, p)| h - p)
                .collect()
        });
        println!();
        println!("Floods (each token distinct, none cached); 'added' as above.");
        println!();
        println!("| flood | median | added | added / cache hit added | added / decode ES256 |");
        println!("|---|---|---|---|---|");
        for f in floods {
            let name = format!("flood/{f}");
            if r.index(&name).is_none() {
                continue;
            }
            println!(
                "| {name} | {} | {} | {} | {} |",
                fmt_ns(r.median_of(&name)),
                fmt_ns(r.added(&name, "stack/no_layer")),
                fmt_ratio(
                    hit_added
                        .as_deref()
                        .and_then(|h| r.ratio(&name, "stack/no_layer", h))
                ),
                fmt_ratio(r.rounds("decode_alone/ES256").and_then(|d| r.ratio(
                    &name,
                    "stack/no_layer",
                    d
                ))),
            );
        }
    }
}
