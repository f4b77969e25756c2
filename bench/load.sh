#!/usr/bin/env bash
# Loopback load comparison: what the layer costs in server CPU per request, beside requests/s
# and latency, against an axum server with no layer, against the middleware a user would
# otherwise write and against a server doing what Approov's Python quickstart does; and what
# the actix-web middleware costs against an actix-web server with no middleware (`actix-*`).
#
#   bench/load.sh                        # about 6 minutes: 10 variants x 4 rounds x (1 s + 5 s)
#   ROUNDS=6 DURATION=10 bench/load.sh   # steadier
#   ONLY=plain,layer-hs256-fresh bench/load.sh
#   ONLY=layer-hs256-reused,layer-hs256-fresh,actix-plain,actix-hs256-reused,actix-hs256-fresh \
#     bench/load.sh                      # the actix-web middleware beside the layer
#
# Method (the figure of record is server CPU per request):
# - every variant has its own server process, all started at once and left running;
# - the variants are alternated: round 1 runs each variant once, then round 2, ... so that a
#   change in the machine's load hits every variant alike;
# - for each run, the server's utime + stime (/proc/PID/stat, every thread) over the wrk run,
#   divided by the requests served, is its CPU microseconds per request; the table keeps each
#   variant's best (lowest) CPU per request and best (highest) requests/s over the rounds;
# - "fresh" variants draw tokens round robin from a pool of UNIQUE_TOKENS (10x the layer's
#   default cache of 10 000), every wrk thread starting at its own offset: a token comes round
#   again only after UNIQUE_TOKENS / threads others, long after it was evicted, so nearly
#   every request is a cache miss (an HMAC or ECDSA verification per request, as PyJWT does);
# - every response must be a 200, or the script fails.
#
# Writes every run to CSV (bench/results/load-latest.csv, or $CSV), one line per run:
#   variant,label,round,requests,duration_us,rps,p50_us,p99_us,cpu_us_per_req,loadavg
# bench/chart.py draws the chart from it.
#
# Settings (environment):
#   DURATION=5          seconds of measured load per run
#   ROUNDS=4            runs per variant (best of)
#   CONNECTIONS=32      open connections
#   UNIQUE_TOKENS=100000  pool of fresh tokens per algorithm
#   SERVER_CPUS, CLIENT_CPUS  CPU lists for taskset; by default the server gets the first half
#                       of the CPUs and wrk the other half, so they do not fight over cores.
#   PORT=18080          first port; each server gets the next one. Only 127.0.0.1 is used.
#   ONLY=a,b            run only these variants (names as in the CSV; `plain` is always run)
#   CSV=path            where the runs go
#   BENCH_SERVER=path   a bench_server binary to run instead of building one
#   ACTIX_SERVER=path   a bench_actix binary to run instead of building one (--features actix)
#   BEFORE_SERVER=path  another bench_server binary (e.g. built from the code before a change):
#                       its layer HS256 variants run in the same rounds, alternated with the rest
#
# Needs: cargo, python3 with pip; installs wrk (apt-get) and PyJWT (pip) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-4}
CONNECTIONS=${CONNECTIONS:-32}
UNIQUE_TOKENS=${UNIQUE_TOKENS:-100000}
PORT=${PORT:-18080}
CSV=${CSV:-bench/results/load-latest.csv}
ONLY=${ONLY:-}

cpus=$(nproc)
if [[ -z "${SERVER_CPUS:-}" || -z "${CLIENT_CPUS:-}" ]]; then
  if ((cpus >= 2)); then
    half=$((cpus / 2))
    SERVER_CPUS=${SERVER_CPUS:-0-$((half - 1))}
    CLIENT_CPUS=${CLIENT_CPUS:-$half-$((cpus - 1))}
  else
    SERVER_CPUS=${SERVER_CPUS:-0}
    CLIENT_CPUS=${CLIENT_CPUS:-0}
  fi
fi
# One wrk thread per client CPU.
THREADS=$(taskset -c "$CLIENT_CPUS" nproc)
# shellcheck source=bench/common.sh
source bench/common.sh

# --- tools -------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
  echo "== installing wrk (apt-get)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
if ! python3 -c 'import jwt' 2>/dev/null; then
  echo "== installing PyJWT (pip)" >&2
  python3 -m pip install --quiet 'PyJWT>=2,<3'
fi

# BENCH_SERVER=path runs an already built server (e.g. a copy of the code before a change).
TARGET=${CARGO_TARGET_DIR:-target}
if [[ -n "${BENCH_SERVER:-}" ]]; then
  BIN=$BENCH_SERVER
else
  cargo build --release --quiet --example bench_server
  BIN=$TARGET/release/examples/bench_server
fi
# The actix-web servers, built with the `actix` feature only when one of their variants runs.
if [[ -n "${ACTIX_SERVER:-}" ]]; then
  ACTIX_BIN=$ACTIX_SERVER
elif [[ -z "$ONLY" || ",$ONLY," == *",actix-"* ]]; then
  cargo build --release --quiet --features actix --example bench_actix
  ACTIX_BIN=$TARGET/release/examples/bench_actix
else
  ACTIX_BIN=false
fi

WORK=$(mktemp -d)
declare -a PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== minting tokens ($UNIQUE_TOKENS fresh per algorithm)" >&2
"$BIN" keys "$WORK/keys"
"$BIN" mint "$WORK/keys" hs256 1 >"$WORK/hs256-one"
"$BIN" mint "$WORK/keys" es256 1 >"$WORK/es256-one"
"$BIN" mint "$WORK/keys" hs256 "$UNIQUE_TOKENS" >"$WORK/hs256-fresh"
"$BIN" mint "$WORK/keys" es256 "$UNIQUE_TOKENS" >"$WORK/es256-fresh"

# name|label|token file|server command (the port is appended)
VARIANTS=(
  "plain|axum, no layer|hs256-one|$BIN serve plain $WORK/keys"
  "layer-hs256-reused|layer HS256, reused token|hs256-one|$BIN serve layer-hs256 $WORK/keys"
  "layer-hs256-fresh|layer HS256, fresh token per request|hs256-fresh|$BIN serve layer-hs256 $WORK/keys"
  "baseline-hs256-fresh|from_fn + jsonwebtoken::decode HS256, fresh token|hs256-fresh|$BIN serve baseline-hs256 $WORK/keys"
  "layer-es256-reused|layer ES256, reused token|es256-one|$BIN serve layer-es256 $WORK/keys"
  "layer-es256-fresh|layer ES256, fresh token per request|es256-fresh|$BIN serve layer-es256 $WORK/keys"
  "python-hs256-fresh|Python quickstart (http.server + PyJWT HS256), fresh token|hs256-fresh|python3 bench/python_quickstart.py $WORK/keys/hs256.private"
  "actix-plain|actix-web, no middleware|hs256-one|$ACTIX_BIN serve plain $WORK/keys"
  "actix-hs256-reused|actix-web middleware HS256, reused token|hs256-one|$ACTIX_BIN serve middleware-hs256 $WORK/keys"
  "actix-hs256-fresh|actix-web middleware HS256, fresh token per request|hs256-fresh|$ACTIX_BIN serve middleware-hs256 $WORK/keys"
)

if [[ -n "${BEFORE_SERVER:-}" ]]; then
  VARIANTS+=(
    "before-layer-hs256-reused|before: layer HS256, reused token|hs256-one|$BEFORE_SERVER serve layer-hs256 $WORK/keys"
    "before-layer-hs256-fresh|before: layer HS256, fresh token per request|hs256-fresh|$BEFORE_SERVER serve layer-hs256 $WORK/keys"
  )
fi

declare -a NAMES=() LABELS=() TOKENS=() PORTS=()
for v in "${VARIANTS[@]}"; do
  IFS='|' read -r name label tokens command <<<"$v"
  # `plain` always runs, and `actix-plain` whenever an `actix-*` variant does: each is the
  # reference of its framework's rows.
  if [[ -n "$ONLY" && "$name" != plain && ",$ONLY," != *",$name,"* ]] \
    && ! [[ "$name" == actix-plain && ",$ONLY," == *",actix-"* ]]; then continue; fi
  PORT=$((PORT + 1))
  # shellcheck disable=SC2086 # the command is split on purpose
  taskset -c "$SERVER_CPUS" $command "$PORT" >"$WORK/$name.log" 2>&1 &
  PIDS+=("$!")
  NAMES+=("$name")
  LABELS+=("$label")
  TOKENS+=("$WORK/$tokens")
  PORTS+=("$PORT")
done

for i in "${!NAMES[@]}"; do
  wait_listening "${NAMES[$i]}" "${PORTS[$i]}" "${PIDS[$i]}" "$WORK/${NAMES[$i]}.log"
done

mkdir -p "$(dirname "$CSV")"
echo "variant,label,round,requests,duration_us,rps,p50_us,p99_us,cpu_us_per_req,loadavg" >"$CSV"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# run INDEX ROUND
run() {
  local i=$1 round=$2
  local name=${NAMES[$i]} pid=${PIDS[$i]} port=${PORTS[$i]} tokens=${TOKENS[$i]}
  echo "== round $round: $name (port $port)" >&2
  # A warm-up on the reused token only, so that a fresh run starts with nothing of its pool
  # cached (and the connections and the runtime are warm).
  local one=${tokens/-fresh/-one}
  taskset -c "$CLIENT_CPUS" wrk -t"$THREADS" -c"$CONNECTIONS" -d1s -s bench/tokens.lua \
    "http://127.0.0.1:$port/" -- "$one" "$THREADS" >/dev/null
  local before after out
  before=$(cpu_ticks "$pid")
  out=$(taskset -c "$CLIENT_CPUS" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" \
    -s bench/tokens.lua "http://127.0.0.1:$port/" -- "$tokens" "$THREADS")
  after=$(cpu_ticks "$pid")
  local result
  result=$(grep '^RESULT ' <<<"$out") || {
    echo "$out" >&2
    exit 1
  }
  local field requests duration p50 p99 non2xx socket
  field() { sed -E "s/.* $1=([0-9]+).*/\\1/" <<<"$result"; }
  requests=$(field requests)
  duration=$(field duration_us)
  p50=$(field p50_us)
  p99=$(field p99_us)
  non2xx=$(field non_2xx)
  socket=$(field socket_errors)
  if ((non2xx > 0 || socket > 0)); then
    echo "$name: $non2xx non-2xx responses, $socket socket errors" >&2
    exit 1
  fi
  csv_row "$name" "${LABELS[$i]}" "$round" "$requests" "$duration" "$p50" "$p99" \
    "$before" "$after" >>"$CSV"
}

for round in $(seq 1 "$ROUNDS"); do
  for i in "${!NAMES[@]}"; do run "$i" "$round"; done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "Loopback load, $(date -u +%Y-%m-%dT%H:%MZ), best of $ROUNDS alternated runs of ${DURATION}s per variant," \
  "$CONNECTIONS connections, wrk $THREADS thread(s) on CPUs $CLIENT_CPUS, server on CPUs $SERVER_CPUS"
echo "Machine: $(machine);" \
  "load average $LOAD_START at the start, $LOAD_END at the end"
echo "Fresh tokens: a pool of $UNIQUE_TOKENS per algorithm (the layer caches 10 000)."
echo
python3 bench/load_table.py "$CSV"
