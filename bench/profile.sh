#!/usr/bin/env bash
# Flame graphs of the bench server under load, for the cache-hit path and the miss path.
#
#   bench/profile.sh              # bench/profiles/{hit,miss}-hs256.svg and miss-es256.svg
#   PROFILES="miss-hs256" bench/profile.sh
#
# The server (examples/bench_server.rs, release build) runs pinned on the server CPUs as in
# bench/load.sh; wrk loads it with a reused token (hit) or fresh tokens from a pool of 100 000
# (miss), and `perf record` samples it with the software `cpu-clock` event (which works in a
# VM, unlike the hardware cycle counter), call stacks by DWARF unwinding. inferno turns the
# samples into SVG flame graphs.
#
# Needs: perf (Debian `linux-perf`), inferno (`cargo install --locked inferno`), wrk.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-8}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18180}
FREQ=${FREQ:-999}
PROFILES=${PROFILES:-hit-hs256 miss-hs256 miss-es256}
OUT=${OUT:-bench/profiles}
cpus=$(nproc)
half=$((cpus > 1 ? cpus / 2 : 1))
SERVER_CPUS=${SERVER_CPUS:-0-$((half - 1))}
CLIENT_CPUS=${CLIENT_CPUS:-$((cpus > 1 ? half : 0))-$((cpus - 1))}
THREADS=$(taskset -c "$CLIENT_CPUS" nproc)

# BENCH_SERVER=path runs an already built server (e.g. a copy of the code before a change).
if [[ -n "${BENCH_SERVER:-}" ]]; then
  BIN=$BENCH_SERVER
else
  cargo build --release --quiet --example bench_server
  BIN=target/release/examples/bench_server
fi
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
"$BIN" keys "$WORK/keys"
for alg in hs256 es256; do
  "$BIN" mint "$WORK/keys" "$alg" 1 >"$WORK/$alg-hit"
  "$BIN" mint "$WORK/keys" "$alg" 100000 >"$WORK/$alg-miss"
done
mkdir -p "$OUT"

for profile in $PROFILES; do
  alg=${profile#*-}
  PORT=$((PORT + 1))
  taskset -c "$SERVER_CPUS" "$BIN" serve "layer-$alg" "$WORK/keys" "$PORT" >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do sleep 0.1; done
  taskset -c "$CLIENT_CPUS" wrk -t"$THREADS" -c"$CONNECTIONS" -d1s -s bench/tokens.lua \
    "http://127.0.0.1:$PORT/" -- "$WORK/$alg-hit" "$THREADS" >/dev/null
  perf record -e cpu-clock -F "$FREQ" --call-graph dwarf,8192 -p "$SERVER_PID" \
    -o "$WORK/perf.data" -- sleep "$DURATION" 2>"$WORK/perf.log" &
  PERF_PID=$!
  taskset -c "$CLIENT_CPUS" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" \
    -s bench/tokens.lua "http://127.0.0.1:$PORT/" -- "$WORK/$alg-${profile%%-*}" "$THREADS" \
    >"$WORK/wrk.log" 2>&1 || true
  wait "$PERF_PID" || true
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
  grep '^RESULT' "$WORK/wrk.log" >&2 || cat "$WORK/wrk.log" >&2
  perf script -i "$WORK/perf.data" 2>/dev/null | inferno-collapse-perf >"$WORK/$profile.folded"
  inferno-flamegraph --title "bench_server layer-$alg, ${profile%%-*} path ($(date -u +%F))" \
    <"$WORK/$profile.folded" >"$OUT/$profile.svg"
  cp "$WORK/$profile.folded" "$OUT/$profile.folded"
  echo "== $OUT/$profile.svg" >&2
done
