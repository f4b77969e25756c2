//! What replay protection costs a signed request, and what it holds in memory, measured in one
//! run: protection off, in memory, and in Redis (an empty store, and a store that already holds
//! a million keys), through `ApproovService` around a trivial inner service.
//!
//! ```text
//! cargo bench --bench replay --features test-util,redis
//! ROUNDS=21 PER_ROUND=4000 cargo bench --bench replay --features test-util,redis   # steadier
//! ```
//!
//! Settings (environment): `ROUNDS` (default 15), `PER_ROUND` (requests per case per round,
//! default 2000), `FILL_KEYS` (keys stored beforehand in the "full" Redis, default 1 000 000),
//! `MEMORY_SIGNATURES` (signatures remembered for the in-memory store's size, default
//! 1 000 000; 0 skips it), `REDIS_SERVER_BIN` (default `redis-server` from `PATH`), `PIN_CPU`
//! (the one CPU the bench and its `redis-server`s run on, default the last one; `none`: not
//! pinned). Takes about a minute with the defaults on a quiet machine.
//!
//! Method:
//! - every request is a GET signed as the SDK signs it (`RequestSigner`: `@method`,
//!   `@target-uri`, the token; `created` now, `expires` 15 s later), its token in the
//!   verified-token cache. Replay protection refuses a signature seen twice, so every round
//!   signs `PER_ROUND` new requests before its timed part, each to a URL of its own
//!   (`?page=N`: an ECDSA signature is new every time, its nonce random, but an HMAC one is the
//!   same for the same request in the same second), and every case of the round gets a copy
//!   of that same set: each store sees each signature once;
//! - the cases are alternated: each round runs every case once, starting one case later than
//!   the round before, so that a change in the machine's load hits every case alike; the table
//!   gives the medians over the rounds, and each "+us" is the median of the per-round
//!   differences with the case's reference (the same requests with replay protection off),
//!   with the range of those differences;
//! - per request: wall time, and the CPU time of the bench's one thread (a current-thread
//!   runtime: the Redis client's I/O runs on it too), so that Redis's round trip (waiting) is
//!   told from the work the app does; for the Redis cases, the `redis-server`'s own CPU
//!   (`INFO cpu`, read outside the timed part) per request;
//! - the bench and its `redis-server`s run pinned to one CPU (see [`pin`]): on a VM, where the
//!   scheduler puts two processes that ping-pong decides what a round trip costs;
//! - the Redis cases each have their own `redis-server` (`--save '' --appendonly no`, a free
//!   loopback port), started here and killed at the end; the "full" one is filled first with
//!   `FILL_KEYS` keys of the real format (`SET approov:replay:<64 hex> 1 PXAT <an hour
//!   ahead>`, pipelined): the same cost with a million stored signatures is the claim that
//!   nothing grows with them. A reference case sends one pipelined `SET NX PXAT` alone, with
//!   the same client, to that server's database 1: the round trip the Redis store adds;
//! - the account-signed pair (HMAC-SHA256, 1 to 2 us, instead of a 30 to 50 us ECDSA
//!   verification) does the same store work under a much smaller request, so that its
//!   difference is a sharper measure of the in-memory store's cost;
//! - correctness: every answer must be a 200, and before the rounds each case gets one
//!   request twice: the replay cases must answer 200 then 401 with `signature_replayed` in the
//!   response extensions, the cases with protection off 200 twice.
//!
//! Then the memory: Redis bytes per key (`used_memory` before and after the fill, and for the
//! keys the app itself wrote), the in-memory store's bytes per signature (resident memory
//! before and after remembering `MEMORY_SIGNATURES` signatures through the app, and the
//! estimate from its types), and the keys held at a given rate of signed requests.

#[path = "../tests/redis_support/mod.rs"]
mod redis_support;
#[path = "support/replay.rs"]
mod replay_support;

use std::convert::Infallible;
use std::hint::black_box;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use tower::{Service, ServiceExt as _};
use tower_approov::test_util::{AccountKey, InstallationKey, RequestSigner, TokenBuilder};
use tower_approov::{
    ApproovBody, ApproovConfig, ApproovError, ApproovErrorKind, ApproovLayer,
    DEFAULT_REPLAY_KEY_PREFIX, MessageSigning, ReplayConfig, SigningConfig,
};
use tower_layer::Layer as _;

use redis_support::RedisServer;
use replay_support::{dbsize, fill, fill_key, info_field, now_ms, used_memory};

const SECRET: &[u8] = b"a-bench-secret-of-sixty-four-bytes-for-the-hs256-approov-tokens!";
const URL_BASE: &str = "https://api.example.com/v1/orders";
/// How long the SDKs' signatures are accepted: `expires` 15 s after `created`, plus the
/// default skew of 30 s.
const WINDOW_SECONDS: u64 = 45;
/// Shards of the in-memory store (`src/check/replay/memory.rs`), for the estimate from types.
const MEMORY_SHARDS: u64 = 16;

type Req = Request<Full<Bytes>>;

async fn inner(_req: Request<ApproovBody<Full<Bytes>>>) -> Result<Response<String>, Infallible> {
    Ok(Response::new(String::new()))
}

/// A layer around [`inner`]: message signing required, this account key configured, the
/// signature clock skew `skew`, and replay protection as given.
fn service(
    replay: Option<ReplayConfig>,
    account: &AccountKey,
    skew: Duration,
) -> impl Service<Req, Response = Response<String>, Error = Infallible> {
    let mut builder = ApproovConfig::builder()
        .with_secret(SECRET, None)
        .unwrap()
        .with_signing_config(SigningConfig::new(MessageSigning::Require).with_clock_skew(skew))
        .with_account_key(account.as_bytes(), Some(account.mskid()))
        .unwrap();
    if let Some(replay) = replay {
        builder = builder.with_replay_protection(replay);
    }
    ApproovLayer::new(builder.build().unwrap()).layer(tower::service_fn(inner))
}

/// `n` distinct signed GETs (each signature new). An installation signature (ECDSA) is new
/// each time; an account signature (HMAC) is not: the same request signed in the same second
/// is the same signature, so every request asks for a page of its own.
fn signed(signer: &RequestSigner<'_>, token: &str, n: usize) -> Vec<Req> {
    static PAGE: AtomicU64 = AtomicU64::new(1);
    (0..n)
        .map(|_| {
            let page = PAGE.fetch_add(1, Ordering::Relaxed);
            let mut request = Request::get(format!("{URL_BASE}?page={page}"))
                .header("approov-token", token)
                .body(Vec::new())
                .unwrap();
            signer.sign(&mut request).unwrap();
            request.map(|b| Full::new(Bytes::from(b)))
        })
        .collect()
}

fn copy(request: &Req) -> Req {
    let mut copy = Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    copy
}

/// The CPU time of this thread so far.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Pins this thread (the runtime's only one) and, by inheritance, the `redis-server`s it starts
/// to one CPU: `PIN_CPU`, by default the last one this process may use; `PIN_CPU=none` leaves
/// the scheduler free. On a VM a round trip between two CPUs costs wake-ups across them that
/// depend on where the scheduler happens to put each process, which made two identical Redis
/// cases differ by 2x from one run to the next; on one CPU they agree. Which CPU, or none.
fn pin() -> Option<usize> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the calls only read and write it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    let cpu = match std::env::var("PIN_CPU") {
        Ok(v) if v.trim() == "none" => return None,
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("PIN_CPU={v}: a CPU number or `none`")),
        Err(_) => {
            // SAFETY: `set` is a valid cpu_set_t of `size` bytes.
            assert_eq!(unsafe { libc::sched_getaffinity(0, size, &mut set) }, 0);
            (0..libc::CPU_SETSIZE as usize)
                // SAFETY: `cpu` is below CPU_SETSIZE.
                .rfind(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
                .expect("a CPU this process may use")
        }
    };
    // SAFETY: as above.
    unsafe {
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        assert_eq!(
            libc::sched_setaffinity(0, size, &set),
            0,
            "PIN_CPU={cpu}: not a CPU this process may use"
        );
    }
    Some(cpu)
}

/// Resident memory of this process, in bytes (`VmRSS`).
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kib * 1024
}

/// Gives the heap's free memory back to the system (glibc), so that resident memory counts
/// what is in use.
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's heap.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Sends one request; its status and, for a refusal, its reason.
async fn send<S>(service: &mut S, request: Req) -> (u16, Option<ApproovErrorKind>)
where
    S: Service<Req, Response = Response<String>, Error = Infallible>,
{
    let response = service.ready().await.unwrap().call(request).await.unwrap();
    let reason = response
        .extensions()
        .get::<ApproovError>()
        .map(ApproovError::kind);
    (response.status().as_u16(), reason)
}

/// Sends every request; wall and thread CPU time per request. Every answer must be a 200.
async fn run<S>(service: &mut S, requests: Vec<Req>, case: &str) -> (Duration, Duration)
where
    S: Service<Req, Response = Response<String>, Error = Infallible>,
{
    let n = requests.len() as u32;
    let (cpu, start) = (thread_cpu(), Instant::now());
    for request in requests {
        let response = service.ready().await.unwrap().call(request).await.unwrap();
        if response.status() != 200 {
            panic!(
                "{case}: answered {} ({:?}): the bench would measure refusals",
                response.status(),
                response
                    .extensions()
                    .get::<ApproovError>()
                    .map(|e| e.kind())
            );
        }
        black_box(response);
    }
    (start.elapsed() / n, (thread_cpu() - cpu) / n)
}

/// The server's CPU time so far (`used_cpu_user + used_cpu_sys`, every thread).
fn redis_cpu(server: &RedisServer) -> Duration {
    let url = server.url();
    let seconds = |field| {
        info_field(&url, "cpu", field)
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    Duration::from_secs_f64(seconds("used_cpu_user") + seconds("used_cpu_sys"))
}

fn env(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v}: not a whole number")),
        Err(_) => default,
    }
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

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn now_utc() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Thousands separated by spaces, as the docs write them.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// What a case sends.
#[derive(Clone, Copy, PartialEq)]
enum Load {
    Install,
    Account,
    RoundTrip,
}

/// A case: its name, what it sends, its replay protection, the redis-server it uses, and the
/// index of its reference case (itself for a reference).
type Case<'r> = (
    String,
    Load,
    Option<ReplayConfig>,
    Option<&'r RedisServer>,
    usize,
);

/// Per round, per request: wall and CPU time (us), and the redis-server's CPU (us) if any.
#[derive(Default)]
struct Times {
    wall: Vec<f64>,
    cpu: Vec<f64>,
    store: Vec<f64>,
}

impl Times {
    fn wall(&self) -> &[f64] {
        &self.wall
    }

    fn cpu(&self) -> &[f64] {
        &self.cpu
    }

    fn store(&self) -> &[f64] {
        &self.store
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let rounds = env("ROUNDS", 15) as usize;
    let per_round = env("PER_ROUND", 2000) as usize;
    let fill_keys = env("FILL_KEYS", 1_000_000);
    let memory_signatures = env("MEMORY_SIGNATURES", 1_000_000);
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let pinned = pin();
    let load_start = loadavg();
    println!(
        "Replay protection, cost per signed request (benches/replay.rs), {}; {cpus} CPUs, \
         load average {load_start} at the start; {}",
        now_utc(),
        match pinned {
            Some(cpu) => format!("the bench and its redis-servers pinned to CPU {cpu}"),
            None => "not pinned (PIN_CPU=none)".to_owned(),
        }
    );

    let skew = Duration::from_secs(30);
    let key = InstallationKey::generate().unwrap();
    let account = AccountKey::generate("bench1").unwrap();
    let token = TokenBuilder::hs256(SECRET)
        .ipk(key.ipk().unwrap())
        .mskid(account.mskid())
        .did("replay-bench")
        .expires_in(Duration::from_secs(3600))
        .build()
        .unwrap();
    let install_signer = RequestSigner::new(&key);
    let account_signer = RequestSigner::account(&account);

    // The stores.
    let empty = RedisServer::start();
    let full = RedisServer::start();
    let prefix = DEFAULT_REPLAY_KEY_PREFIX;
    let before_fill = used_memory(&full.url()).unwrap();
    let took = fill(&full.url(), prefix, fill_keys).unwrap();
    let after_fill = used_memory(&full.url()).unwrap();
    assert_eq!(
        dbsize(&full.url()).unwrap(),
        fill_keys,
        "every fill key stored"
    );
    let redis_per_key = (after_fill - before_fill) as f64 / fill_keys.max(1) as f64;
    println!(
        "Filled a redis-server with {} keys ({prefix}<64 hex> 1 PXAT <an hour ahead>) in {:.1} s; \
         used_memory {} -> {} bytes",
        grouped(fill_keys),
        took.as_secs_f64(),
        grouped(before_fill),
        grouped(after_fill)
    );
    let empty_memory_start = used_memory(&empty.url()).unwrap();

    let full_label = format!("replay in Redis, {} keys stored", grouped(fill_keys));
    let cases: Vec<Case<'_>> = vec![
        (
            "install-signed GET, replay off (reference)".into(),
            Load::Install,
            None,
            None,
            0,
        ),
        (
            "install-signed GET, replay in memory".into(),
            Load::Install,
            Some(ReplayConfig::memory()),
            None,
            0,
        ),
        (
            "install-signed GET, replay in Redis, empty store".into(),
            Load::Install,
            Some(ReplayConfig::redis(&empty.url())),
            Some(&empty),
            0,
        ),
        (
            format!("install-signed GET, {full_label}"),
            Load::Install,
            Some(ReplayConfig::redis(&full.url())),
            Some(&full),
            0,
        ),
        (
            "account-signed GET, replay off (reference)".into(),
            Load::Account,
            None,
            None,
            4,
        ),
        (
            "account-signed GET, replay in memory".into(),
            Load::Account,
            Some(ReplayConfig::memory()),
            None,
            4,
        ),
        (
            "Redis round trip alone: one pipelined SET NX PXAT".into(),
            Load::RoundTrip,
            None,
            Some(&full),
            6,
        ),
    ];
    let mut services: Vec<_> = cases
        .iter()
        .map(|(_, _, replay, _, _)| service(replay.clone(), &account, skew))
        .collect();
    // The reference round trip: the same client, to the full server's database 1 (its own
    // keyspace, empty), keys of the real format.
    let mut roundtrip = redis::Client::open(format!("redis://127.0.0.1:{}/1", full.port))
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap();
    let mut roundtrip_n = 0u64;
    let mut set_nx = async |keys: Vec<String>| {
        let n = keys.len() as u32;
        let (cpu, start) = (thread_cpu(), Instant::now());
        for key in keys {
            let mut pipe = redis::pipe();
            pipe.cmd("SET")
                .arg(key)
                .arg(1)
                .arg("NX")
                .arg("PXAT")
                .arg(now_ms() + WINDOW_SECONDS * 1000);
            let replies: Vec<Option<String>> = pipe.query_async(&mut roundtrip).await.unwrap();
            assert_eq!(replies, [Some("OK".to_owned())], "a fresh key is set");
        }
        (start.elapsed() / n, (thread_cpu() - cpu) / n)
    };
    let mut roundtrip_keys = |n: usize| -> Vec<String> {
        (0..n)
            .map(|_| {
                roundtrip_n += 1;
                fill_key(prefix, 0x7007, roundtrip_n)
            })
            .collect()
    };

    // Correctness first: a replay is refused where protection is on, and only there.
    let install_one = signed(&install_signer, &token, 1).remove(0);
    let account_one = signed(&account_signer, &token, 1).remove(0);
    for ((name, load, replay, _, _), service) in cases.iter().zip(&mut services) {
        let request = match load {
            Load::Install => &install_one,
            Load::Account => &account_one,
            Load::RoundTrip => continue,
        };
        let first = send(service, copy(request)).await;
        let second = send(service, copy(request)).await;
        assert_eq!(first, (200, None), "{name}: the first request");
        if replay.is_some() {
            assert_eq!(
                second,
                (401, Some(ApproovErrorKind::SignatureReplayed)),
                "{name}: the replayed request"
            );
        } else {
            assert_eq!(second, (200, None), "{name}: protection off");
        }
    }
    println!(
        "Checked: each replay case refused a replayed request (401, signature_replayed); \
         the cases with protection off accepted it."
    );

    // Warm-up: connections, the token cache, the allocator.
    let warm = per_round.min(500);
    let install_warm = signed(&install_signer, &token, warm);
    let account_warm = signed(&account_signer, &token, warm);
    for ((name, load, _, _, _), service) in cases.iter().zip(&mut services) {
        match load {
            Load::Install => run(service, install_warm.iter().map(copy).collect(), name).await,
            Load::Account => run(service, account_warm.iter().map(copy).collect(), name).await,
            Load::RoundTrip => set_nx(roundtrip_keys(warm)).await,
        };
    }

    let mut times: Vec<Times> = cases.iter().map(|_| Times::default()).collect();
    let bench_start = Instant::now();
    for round in 0..rounds {
        // New signatures for this round, outside the timed part.
        let install = signed(&install_signer, &token, per_round);
        let account_requests = signed(&account_signer, &token, per_round);
        for k in 0..cases.len() {
            let c = (round + k) % cases.len();
            let (name, load, _, redis, _) = &cases[c];
            let store_before = redis.map(redis_cpu);
            let (wall, cpu) = match load {
                Load::Install => {
                    let requests = install.iter().map(copy).collect();
                    run(&mut services[c], requests, name).await
                }
                Load::Account => {
                    let requests = account_requests.iter().map(copy).collect();
                    run(&mut services[c], requests, name).await
                }
                Load::RoundTrip => set_nx(roundtrip_keys(per_round)).await,
            };
            if let (Some(redis), Some(before)) = (redis, store_before) {
                let used = redis_cpu(redis) - before;
                times[c]
                    .store
                    .push(used.as_secs_f64() * 1e6 / per_round as f64);
            }
            times[c].wall.push(wall.as_secs_f64() * 1e6);
            times[c].cpu.push(cpu.as_secs_f64() * 1e6);
        }
    }
    let bench_took = bench_start.elapsed();
    let load_end = loadavg();

    println!(
        "\nMedians of {rounds} alternated rounds of {per_round} requests per case ({:.0} s), \
         load average {load_start} at the start, {load_end} at the end. \"+us\": the median of \
         the per-round differences with the reference (same requests, protection off), and \
         their range.",
        bench_took.as_secs_f64()
    );
    println!(
        "{:<62} {:>9} {:>9} {:>10} {:>22} {:>10}",
        "case", "wall/req", "CPU/req", "+us wall", "+us CPU [range]", "redis CPU"
    );
    let diff = |a: &[f64], b: &[f64]| -> Vec<f64> { a.iter().zip(b).map(|(x, y)| x - y).collect() };
    let range = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    };
    for (c, (name, _, _, _, reference)) in cases.iter().enumerate() {
        let t = &times[c];
        let (added_wall, added_cpu) = if *reference == c {
            ("-".to_owned(), "-".to_owned())
        } else {
            let r = &times[*reference];
            let cpu = diff(&t.cpu, &r.cpu);
            let (lo, hi) = range(&cpu);
            (
                format!("{:+.2}", median(diff(&t.wall, &r.wall))),
                format!("{:+.2} [{lo:+.2}, {hi:+.2}]", median(cpu)),
            )
        };
        let store = if t.store.is_empty() {
            "-".to_owned()
        } else {
            format!("{:.2}us", median(t.store.clone()))
        };
        println!(
            "{name:<62} {:>7.2}us {:>7.2}us {added_wall:>10} {added_cpu:>22} {store:>10}",
            median(t.wall.clone()),
            median(t.cpu.clone()),
        );
    }

    // The claims, each from per-round differences.
    let (off, memory, redis_empty, redis_full, account_off, account_memory, rt) =
        (0, 1, 2, 3, 4, 5, 6);
    let med = |a: usize, b: usize, field: fn(&Times) -> &[f64]| {
        median(diff(field(&times[a]), field(&times[b])))
    };
    println!();
    // The account-signed pair is the sharp measure: the same store work on a 3 us request
    // rather than beside a 50 us ECDSA verification, whose jitter alone is about 1 us a round.
    let memory_install = diff(&times[memory].cpu, &times[off].cpu);
    let memory_account = diff(&times[account_memory].cpu, &times[account_off].cpu);
    let (install_lo, install_hi) = range(&memory_install);
    let (account_lo, account_hi) = range(&memory_account);
    let account_added = median(memory_account.clone());
    println!(
        "Target, the in-memory store adds at most 1 us of CPU: {account_added:+.2} us per \
         account-signed GET [{account_lo:+.2}, {account_hi:+.2}]: {}; per install-signed GET \
         {:+.2} us [{install_lo:+.2}, {install_hi:+.2}], the same work beside an ECDSA \
         verification, {}.",
        if account_added <= 1.0 {
            "met"
        } else {
            "NOT met"
        },
        median(memory_install.clone()),
        if install_lo <= 1.0 {
            "consistent with it"
        } else {
            "above it in every round"
        },
    );
    let beyond: Vec<f64> = (0..rounds)
        .map(|r| times[redis_empty].wall[r] - times[off].wall[r] - times[rt].wall[r])
        .collect();
    println!(
        "Redis, empty store: +{:.2} us wall per request over protection off, of which the \
         round trip alone (SET NX PXAT, same client) is {:.2} us: {:+.2} us beyond it; \
         +{:.2} us of the app's CPU, {:.2} us of redis-server's.",
        med(redis_empty, off, Times::wall),
        median(times[rt].wall.clone()),
        median(beyond),
        med(redis_empty, off, Times::cpu),
        median(times[redis_empty].store.clone()),
    );
    let full_minus_empty = diff(&times[redis_full].wall, &times[redis_empty].wall);
    let (lo, hi) = range(&full_minus_empty);
    println!(
        "Redis holding {} keys against an empty one (per-round differences): wall {:+.2} us \
         [{lo:+.2}, {hi:+.2}], app CPU {:+.2} us, redis-server CPU {:+.2} us per request.",
        grouped(fill_keys),
        median(full_minus_empty.clone()),
        med(redis_full, redis_empty, Times::cpu),
        med(redis_full, redis_empty, Times::store),
    );

    // Memory: Redis, from the fill and from the keys the app wrote.
    let empty_keys = dbsize(&empty.url()).unwrap();
    let empty_memory_end = used_memory(&empty.url()).unwrap();
    let app_per_key = (empty_memory_end as f64 - empty_memory_start as f64) / empty_keys as f64;
    println!("\nMemory");
    println!(
        "Redis, per stored signature: {redis_per_key:.1} bytes (used_memory over {} keys of \
         the real format: {prefix} + 64 hex digits, value 1, PXAT); the keys the app wrote \
         to the empty store: {app_per_key:.1} bytes ({} keys held at the end, some of the \
         first may have expired).",
        grouped(fill_keys),
        grouped(empty_keys),
    );
    drop(empty);
    drop(full);

    if memory_signatures > 0 {
        memory_size(
            memory_signatures,
            &account_signer,
            &token,
            &account,
            per_round,
        )
        .await;
    } else {
        println!("In memory: not measured (MEMORY_SIGNATURES=0).");
    }

    println!(
        "\nKeys held: signed requests per second x {WINDOW_SECONDS} s (the SDKs' 15 s \
         `expires` plus the default 30 s skew) x signatures per request (1 here; 2 with \
         install + account):"
    );
    println!(
        "{:>14} {:>12} {:>28} {:>28}",
        "signed req/s", "keys held", "Redis (bytes per key above)", "in memory (from the types)"
    );
    for rate in [100u64, 1_000, 10_000, 22_000] {
        let keys = rate * WINDOW_SECONDS;
        println!(
            "{:>14} {:>12} {:>25.1} MB {:>25.1} MB",
            grouped(rate),
            grouped(keys),
            keys as f64 * redis_per_key / 1e6,
            estimate(keys) as f64 / 1e6,
        );
    }
    println!("\nload average {} at the end", loadavg());
}

/// The in-memory store's bytes per signature: resident memory before and after remembering
/// `n` account-signed GETs through the app (HMAC: cheap to sign and check, and the same 32-byte
/// key and expiry per signature as an install signature), beside the estimate from its types.
/// The store has room for all (nothing forgotten early) and a 600 s skew (nothing expires
/// while it fills).
async fn memory_size(
    n: u64,
    signer: &RequestSigner<'_>,
    token: &str,
    account: &AccountKey,
    batch: usize,
) {
    let skew = Duration::from_secs(600);
    let mut off = service(None, account, skew);
    let mut on = service(
        Some(ReplayConfig::memory().with_memory_entries(50_000_000)),
        account,
        skew,
    );
    let batch = batch.max(1000);
    // The allocator gets used to batches of requests first, through the same layer without
    // replay protection.
    for _ in 0..2 {
        run(&mut off, signed(signer, token, batch), "memory, priming").await;
    }
    trim_heap();
    let before = rss();
    let start = Instant::now();
    let mut sent = 0u64;
    let mut first = None;
    while sent < n {
        let now = (n - sent).min(batch as u64) as usize;
        let requests = signed(signer, token, now);
        first.get_or_insert_with(|| copy(&requests[0]));
        run(&mut on, requests, "memory, filling").await;
        sent += now as u64;
    }
    let took = start.elapsed();
    let after = rss();
    trim_heap();
    let after_trim = rss();
    // The store still holds them all: the first one is refused as a replay.
    let replayed = send(&mut on, first.expect("at least one signature")).await;
    assert_eq!(
        replayed,
        (401, Some(ApproovErrorKind::SignatureReplayed)),
        "the first signature remembered is still held"
    );
    let per_signature = (after - before) as f64 / n as f64;
    let trimmed = (after_trim as f64 - before as f64) / n as f64;
    let estimate = estimate(n);
    let at_million = if n == 1_000_000 {
        String::new()
    } else {
        let million = self::estimate(1_000_000);
        format!(", {:.1} bytes at 1 000 000", million as f64 / 1e6)
    };
    println!(
        "In memory, per stored signature: {per_signature:.1} bytes measured (resident memory \
         {} -> {} KiB over {} signatures remembered through the app in {:.1} s, the first \
         still refused as a replay at the end), {trimmed:.1} bytes once the allocator gave back \
         its free memory (malloc_trim); from the types: {:.1} bytes at {}{at_million} (the \
         tables grow by doubling: between 87 and 174 bytes a signature, depending on the count).",
        before / 1024,
        after / 1024,
        grouped(n),
        took.as_secs_f64(),
        estimate as f64 / n as f64,
        grouped(n),
    );
}

/// The in-memory store's bytes for `n` signatures, from its types: 16 shards, each a
/// `HashMap<[u8; 32], u64>` (hashbrown: buckets a power of two at most 7/8 full, one control
/// byte per bucket and 16 more) and a `VecDeque<([u8; 32], u64)>` (capacity doubling, a power
/// of two), the signatures spread evenly.
fn estimate(n: u64) -> u64 {
    let per_shard = n.div_ceil(MEMORY_SHARDS);
    let buckets = if per_shard < 8 {
        (per_shard + 1).next_power_of_two()
    } else {
        (per_shard * 8).div_ceil(7).next_power_of_two()
    };
    let map = buckets * (32 + 8 + 1) + 16;
    let queue = per_shard.next_power_of_two().max(4) * (32 + 8);
    (map + queue) * MEMORY_SHARDS
}
