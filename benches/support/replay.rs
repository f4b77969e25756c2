//! Redis helpers of the replay benches, shared by `benches/replay.rs` and
//! `examples/bench_server.rs` (feature `redis`, through `#[path]`): filling a store with keys
//! of the real format, fast, and reading what it holds and spends.

#![allow(dead_code)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

type Error = Box<dyn std::error::Error>;

/// Keys per pipeline when filling.
const BATCH: u64 = 10_000;

/// The `n`th key of a fill: `prefix` and 64 lowercase hex digits, as the replay store writes a
/// signature's SHA-256 key. Deterministic (splitmix64 of `n` and `seed`), distinct for every
/// `n` of one seed.
pub fn fill_key(prefix: &str, seed: u64, n: u64) -> String {
    let mut state = seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut key = String::with_capacity(prefix.len() + 64);
    key.push_str(prefix);
    // The first 64 bits are `n` itself, mixed: distinct for distinct `n`.
    for _ in 0..4 {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        key.push_str(&format!("{z:016x}"));
    }
    key
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Stores `count` keys of the real format (`SET <prefix><64 hex> 1 PXAT <an hour ahead>`, as
/// the replay store writes them, but without `NX`: they are new anyway), pipelined
/// `BATCH` at a time, over one connection closed at the end (so that its buffers are not
/// counted by a later `used_memory`). How long it took.
pub fn fill(url: &str, prefix: &str, count: u64) -> redis::RedisResult<Duration> {
    let start = Instant::now();
    let mut connection = redis::Client::open(url)?.get_connection()?;
    let until = now_ms() + 3_600_000;
    let mut n = 0;
    while n < count {
        let mut pipe = redis::pipe();
        for i in n..(n + BATCH).min(count) {
            pipe.cmd("SET")
                .arg(fill_key(prefix, 0x5eed, i))
                .arg(1)
                .arg("PXAT")
                .arg(until)
                .ignore();
        }
        pipe.query::<()>(&mut connection)?;
        n += BATCH;
    }
    Ok(start.elapsed())
}

/// One field of `INFO <section>`, as text.
pub fn info_field(url: &str, section: &str, field: &str) -> Result<String, Error> {
    let mut connection = redis::Client::open(url)?.get_connection()?;
    let info: String = redis::cmd("INFO").arg(section).query(&mut connection)?;
    info.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .map(|value| value.trim().to_owned())
        .ok_or_else(|| format!("no {field} in INFO {section}").into())
}

/// `used_memory` from `INFO memory`: the bytes Redis has allocated.
pub fn used_memory(url: &str) -> Result<u64, Error> {
    Ok(info_field(url, "memory", "used_memory")?.parse()?)
}

/// The keys of the database `url` names.
pub fn dbsize(url: &str) -> redis::RedisResult<u64> {
    let mut connection = redis::Client::open(url)?.get_connection()?;
    redis::cmd("DBSIZE").query(&mut connection)
}
