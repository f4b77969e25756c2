#!/usr/bin/env bash
# Loopback load comparison: requests/s and latency of an axum server with and without
# ApproovLayer, against the middleware a user would otherwise write and against a server doing
# what Approov's Python quickstart does. All servers are measured in one run, one after the
# other, with the same load generator settings; the table gives ratios against the server with
# no layer.
#
#   bench/load.sh                 # about 2 minutes: 7 servers x (1 s warm-up + 10 s)
#   DURATION=30 bench/load.sh     # longer runs
#
# Settings (environment):
#   DURATION=10        seconds of measured load per server
#   CONNECTIONS=32     open connections
#   UNIQUE_TOKENS=100000  distinct tokens per "unique" run; wrk cycles through them. The pool is
#                      ten times the layer's cache (10 000), so a token comes round again long
#                      after it was evicted: every request of a unique run is a cache miss.
#   SERVER_CPUS, CLIENT_CPUS  CPU lists for taskset; by default the server gets the first half of
#                      the CPUs and wrk the other half, so they do not fight over cores.
#   PORT=18080         first port; each server gets the next one. Only 127.0.0.1 is used.
#
# Needs: cargo, python3 with pip; installs wrk (apt-get) and PyJWT (pip) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
UNIQUE_TOKENS=${UNIQUE_TOKENS:-100000}
PORT=${PORT:-18080}

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

# --- tools -------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
  echo "== installing wrk (apt-get)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
if ! python3 -c 'import jwt' 2>/dev/null; then
  echo "== installing PyJWT (pip)" >&2
  python3 -m pip install --quiet 'PyJWT>=2,<3'
fi

echo "== building the bench server (release)" >&2
cargo build --release --quiet --example bench_server
BIN=target/release/examples/bench_server

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== minting tokens ($UNIQUE_TOKENS unique per algorithm)" >&2
"$BIN" keys "$WORK/keys"
"$BIN" mint "$WORK/keys" hs256 1 >"$WORK/hs256-one"
"$BIN" mint "$WORK/keys" es256 1 >"$WORK/es256-one"
"$BIN" mint "$WORK/keys" hs256 "$UNIQUE_TOKENS" >"$WORK/hs256-unique"
"$BIN" mint "$WORK/keys" es256 "$UNIQUE_TOKENS" >"$WORK/es256-unique"

# run NAME TOKEN_FILE SERVER_COMMAND...
declare -a NAMES RPS P50 P99 NOTES
run() {
  local name=$1 tokens=$2
  shift 2
  PORT=$((PORT + 1))
  echo "== $name (port $PORT, server on CPUs $SERVER_CPUS, wrk on CPUs $CLIENT_CPUS)" >&2
  taskset -c "$SERVER_CPUS" "$@" "$PORT" >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  local tries=0
  until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
    tries=$((tries + 1))
    if ((tries > 300)) || ! kill -0 "$SERVER_PID" 2>/dev/null; then
      cat "$WORK/server.log" >&2
      echo "server $name did not start" >&2
      exit 1
    fi
    sleep 0.1
  done
  # Warm-up on the reused token only, so that a unique run starts with nothing cached.
  local one=${tokens/-unique/-one}
  taskset -c "$CLIENT_CPUS" wrk -t"$THREADS" -c"$CONNECTIONS" -d1s -s bench/tokens.lua \
    "http://127.0.0.1:$PORT/" -- "$one" "$THREADS" >/dev/null
  local out
  out=$(taskset -c "$CLIENT_CPUS" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" \
    -s bench/tokens.lua "http://127.0.0.1:$PORT/" -- "$tokens" "$THREADS")
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
  local result
  result=$(grep '^RESULT ' <<<"$out") || {
    echo "$out" >&2
    exit 1
  }
  local requests duration p50 p99 non2xx socket wrapped
  requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$result")
  duration=$(sed -E 's/.*duration_us=([0-9]+).*/\1/' <<<"$result")
  p50=$(sed -E 's/.*p50_us=([0-9]+).*/\1/' <<<"$result")
  p99=$(sed -E 's/.*p99_us=([0-9]+).*/\1/' <<<"$result")
  non2xx=$(sed -E 's/.*non_2xx=([0-9]+).*/\1/' <<<"$result")
  socket=$(sed -E 's/.*socket_errors=([0-9]+).*/\1/' <<<"$result")
  wrapped=$(sed -E 's/.*wrapped=([0-9]+).*/\1/' <<<"$result")
  if ((non2xx > 0 || socket > 0)); then
    echo "$name: $non2xx non-2xx responses, $socket socket errors" >&2
    exit 1
  fi
  local note=""
  if [[ "$tokens" == *-unique ]]; then
    note="each token sent $(python3 -c "print(f'{$requests / $UNIQUE_TOKENS:.1f}')")x, pool 10x cache"
  fi
  NAMES+=("$name")
  RPS+=("$(python3 -c "print(f'{$requests * 1e6 / $duration:.0f}')")")
  P50+=("$p50")
  P99+=("$p99")
  NOTES+=("$note")
}

run "axum, no layer" "$WORK/hs256-one" "$BIN" serve plain "$WORK/keys"
run "layer HS256, reused token" "$WORK/hs256-one" "$BIN" serve layer-hs256 "$WORK/keys"
run "layer HS256, unique tokens" "$WORK/hs256-unique" "$BIN" serve layer-hs256 "$WORK/keys"
run "layer ES256, reused token" "$WORK/es256-one" "$BIN" serve layer-es256 "$WORK/keys"
run "layer ES256, unique tokens" "$WORK/es256-unique" "$BIN" serve layer-es256 "$WORK/keys"
run "baseline from_fn + jsonwebtoken::decode HS256" "$WORK/hs256-one" "$BIN" serve baseline-hs256 "$WORK/keys"
run "Python quickstart (http.server + PyJWT HS256)" "$WORK/hs256-one" \
  sh -c "exec python3 bench/python_quickstart.py \"\$0\" '$WORK/keys/hs256.private'"

echo
echo "Loopback load, $(date -u +%Y-%m-%dT%H:%MZ), ${DURATION}s per server, $CONNECTIONS connections," \
  "wrk $THREADS thread(s) on CPUs $CLIENT_CPUS, server on CPUs $SERVER_CPUS"
echo "Machine: $cpus CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(rustc --version)"
echo
printf '| %-46s | %9s | %8s | %8s | %9s | %-36s |\n' server "req/s" "p50 us" "p99 us" "vs plain" notes
printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..48})" "$(printf -- '-%.0s' {1..11})" \
  "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..11})" \
  "$(printf -- '-%.0s' {1..38})"
for i in "${!NAMES[@]}"; do
  ratio=$(python3 -c "print(f'{${RPS[$i]} / ${RPS[0]}:.3f}x')")
  printf '| %-46s | %9s | %8s | %8s | %9s | %-36s |\n' "${NAMES[$i]}" "${RPS[$i]}" "${P50[$i]}" \
    "${P99[$i]}" "$ratio" "${NOTES[$i]}"
done
last=$((${#NAMES[@]} - 1))
echo
python3 -c "print(f'Layer HS256 reused vs the Python quickstart: {${RPS[1]} / ${RPS[$last]}:.0f}x the requests/s')"
