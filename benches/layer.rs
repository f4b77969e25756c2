//! Per-request cost of the layer through a full tower stack, against the alternatives.
//!
//! ```text
//! bench/criterion.sh            # runs this and prints the ratio table (see BENCHMARKS.md)
//! cargo bench --bench layer     # this alone
//! ```
//!
//! Every case sends a real `http::Request` through `ready().call()` over the same trivial inner
//! service (an `async` block that answers 200 with an empty body):
//!
//! - `stack/no_layer`: the inner service alone;
//! - `stack/baseline_from_fn/ALG`: what a user would otherwise write, an axum `from_fn`
//!   middleware calling `jsonwebtoken::decode` on every request (key and `Validation` prepared
//!   once, claims put in the extensions like the layer does);
//! - `stack/layer_miss/ALG`: the layer with a token it has never seen (cycling through a pool
//!   of pre-minted tokens much larger than the cache, so every request misses);
//! - `stack/layer_hit/ALG`: the layer with the same token on every request;
//! - `bound/...`: the same with token binding on (`pay` bound to `Authorization`);
//! - `decode_alone/ALG`: `jsonwebtoken::decode` alone, the reference for the ratios;
//! - `flood/...`: what hostile traffic costs: malformed tokens, expired tokens, and well-formed
//!   ES256 tokens with bad signatures (each distinct, so none is cached).
//!
//! Every future here completes on its first poll, so the bench polls it once with a no-op
//! waker instead of paying for an executor.

mod support;

use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::{HeaderValue, StatusCode, header};
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tower::{Layer, Service, ServiceExt};
use tower_approov::{ApproovBody, ApproovLayer};

use support::{Alg, BOUND_AUTHORIZATION, KeyMaterial, bound_pay, claims};

/// Cache size for the miss cases: the pools below are at least ten times larger, so a token
/// comes round again long after it was evicted (and after its ghost entry is gone too).
const MISS_CACHE_SIZE: usize = 256;

/// Distinct tokens pre-minted per algorithm for the miss cases. RS256 signing costs about a
/// millisecond, hence the smaller pool.
fn pool_size(alg: Alg) -> usize {
    match alg {
        Alg::Hs256 => 100_000,
        Alg::Rs256 => 4_000,
        Alg::Es256 => 20_000,
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
        let mut validation = Validation::new(keys.alg.jwt());
        validation.leeway = 0;
        validation.validate_aud = false;
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

/// A cycling source of distinct header values.
struct Pool {
    tokens: Vec<HeaderValue>,
    next: Cell<usize>,
}

impl Pool {
    fn new(tokens: impl IntoIterator<Item = String>) -> Self {
        Pool {
            tokens: tokens
                .into_iter()
                .map(|t| HeaderValue::try_from(t).expect("token is a header value"))
                .collect(),
            next: Cell::new(0),
        }
    }

    fn next(&self) -> &HeaderValue {
        let i = self.next.get();
        self.next.set((i + 1) % self.tokens.len());
        &self.tokens[i]
    }
}

fn mint_pool(keys: &KeyMaterial, count: usize, exp_in: f64, pay: Option<&str>) -> Pool {
    Pool::new((0..count as u64).map(|n| keys.mint(&claims(n, exp_in, pay))))
}

/// Runs `svc` on requests carrying tokens from `pool`, expecting `status`.
fn bench_stack<S>(
    c: &mut Criterion,
    name: &str,
    mut svc: S,
    pool: &Pool,
    bound: bool,
    status: StatusCode,
) where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    // A wrong setup must not be measured as a fast rejection.
    assert_eq!(
        send(&mut svc, request(pool.next(), bound)),
        status,
        "{name}"
    );
    c.bench_function(name, |b| {
        b.iter_batched(
            || request(pool.next(), bound),
            |req| black_box(send(&mut svc, req)),
            BatchSize::SmallInput,
        )
    });
}

fn layered(
    keys: &KeyMaterial,
    cache_size: usize,
    bound: bool,
) -> impl Service<Request, Response = Response, Error = Infallible> {
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
) -> impl Service<Request, Response = Response, Error = Infallible> {
    from_fn_with_state(Baseline::new(keys, bound), baseline_middleware)
        .layer(tower::service_fn(ok_inner::<Body>))
}

fn benches(c: &mut Criterion) {
    let keys: Vec<KeyMaterial> = Alg::ALL.into_iter().map(KeyMaterial::generate).collect();
    let hs = &keys[0];
    let pay = bound_pay();

    // The reference: one `jsonwebtoken::decode`, per algorithm.
    for k in &keys {
        let token = k.mint(&claims(0, 3600.0, None));
        let key = k.decoding();
        let mut validation = Validation::new(k.alg.jwt());
        validation.leeway = 0;
        validation.validate_aud = false;
        jsonwebtoken::decode::<Value>(&token, &key, &validation).expect("decodes");
        c.bench_function(&format!("decode_alone/{}", k.alg.name()), |b| {
            b.iter(|| jsonwebtoken::decode::<Value>(black_box(&token), &key, &validation))
        });
    }

    let one_hs = Pool::new([hs.mint(&claims(0, 3600.0, None))]);
    bench_stack(
        c,
        "stack/no_layer",
        tower::service_fn(ok_inner::<Body>),
        &one_hs,
        false,
        StatusCode::OK,
    );

    for k in &keys {
        let alg = k.alg.name();
        let one = Pool::new([k.mint(&claims(0, 3600.0, None))]);
        let fresh = mint_pool(k, pool_size(k.alg), 3600.0, None);
        bench_stack(
            c,
            &format!("stack/baseline_from_fn/{alg}"),
            baseline(k, false),
            &one,
            false,
            StatusCode::OK,
        );
        bench_stack(
            c,
            &format!("stack/layer_miss/{alg}"),
            layered(k, MISS_CACHE_SIZE, false),
            &fresh,
            false,
            StatusCode::OK,
        );
        bench_stack(
            c,
            &format!("stack/layer_hit/{alg}"),
            layered(k, tower_approov::DEFAULT_TOKEN_CACHE_SIZE, false),
            &one,
            false,
            StatusCode::OK,
        );
    }

    // Token binding on: the `pay` claim is checked against `Authorization` on every request.
    let one_bound = Pool::new([hs.mint(&claims(0, 3600.0, Some(&pay)))]);
    let fresh_bound = mint_pool(hs, pool_size(Alg::Hs256), 3600.0, Some(&pay));
    bench_stack(
        c,
        "bound/no_layer",
        tower::service_fn(ok_inner::<Body>),
        &one_bound,
        true,
        StatusCode::OK,
    );
    bench_stack(
        c,
        "bound/baseline_from_fn/HS256",
        baseline(hs, true),
        &one_bound,
        true,
        StatusCode::OK,
    );
    bench_stack(
        c,
        "bound/layer_miss/HS256",
        layered(hs, MISS_CACHE_SIZE, true),
        &fresh_bound,
        true,
        StatusCode::OK,
    );
    bench_stack(
        c,
        "bound/layer_hit/HS256",
        layered(hs, tower_approov::DEFAULT_TOKEN_CACHE_SIZE, true),
        &one_bound,
        true,
        StatusCode::OK,
    );

    // Floods of hostile tokens, each distinct so that nothing is served from the cache.
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
    bench_stack(
        c,
        "flood/malformed",
        layered(es, tower_approov::DEFAULT_TOKEN_CACHE_SIZE, false),
        &malformed,
        false,
        StatusCode::UNAUTHORIZED,
    );
    let expired = mint_pool(es, 10_000, -60.0, None);
    bench_stack(
        c,
        "flood/expired",
        layered(es, tower_approov::DEFAULT_TOKEN_CACHE_SIZE, false),
        &expired,
        false,
        StatusCode::UNAUTHORIZED,
    );
    // Signed by another ES256 key: well-formed, unexpired, the signature fails.
    let impostor = KeyMaterial::generate(Alg::Es256);
    let bad_signature = mint_pool(&impostor, 10_000, 3600.0, None);
    bench_stack(
        c,
        "flood/bad_signature_es256",
        layered(es, tower_approov::DEFAULT_TOKEN_CACHE_SIZE, false),
        &bad_signature,
        false,
        StatusCode::UNAUTHORIZED,
    );
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
}

criterion_group! {
    name = layer;
    config = config();
    targets = benches
}
criterion_main!(layer);
