#!/usr/bin/env bash
# Loopback load: what replay protection costs a signed request in server CPU, with protection
# off, in memory and in Redis, in the same run, beside requests/s and latency.
#
#   bench/replay.sh                          # about 5 minutes: 4 variants x 4 rounds x (mint, 1 s + 5 s)
#   ROUNDS=6 DURATION=10 bench/replay.sh     # steadier
#   ONLY=signed-memory,signed-redis bench/replay.sh
#   ROUNDS=1 DURATION=1 FILL_KEYS=100000 bench/replay.sh   # smoke run
#
# Method: bench/load.sh's (read its header): every variant has its own server process
# (examples/bench_server.rs, release, built with --features redis), all started at once, pinned
# to SERVER_CPUS, wrk on CLIENT_CPUS; the variants are alternated round by round; the figure of
# record is the server's utime + stime (/proc/PID/stat, every thread) over the wrk run divided
# by the requests served, best of the rounds; every response must be a 200. And:
# - every request is a GET signed as the SDKs sign it: an `install` signature (ECDSA P-256) over
#   `@method`, `@target-uri` and `approov-token`, `expires` 15 s after `created`, with one HS256
#   token carrying the installation key (`ipk`), reused so that it stays in the verified-token
#   cache; the layer requires message signing (`APPROOV_MESSAGE_SIGNING=require`) in every
#   variant, which differ only in replay protection;
# - replay protection refuses a signature seen twice, so no signature is ever sent twice:
#   before each run (its 1 s warm-up and its measured DURATION), `bench_server signed` mints new
#   ones (ECDSA signs with a random nonce), SIGNED_PER_SECOND for every second of the run, and
#   bench/signed.lua sends each at most once (each wrk thread its own share, in order). A run
#   that would need more than were minted fails ("exhausted"): raise SIGNED_PER_SECOND; a
#   signature is never reused. Signatures are accepted for 15 s + the skew (30 s by default)
#   after they were minted: the script checks before each run that the run ends within that
#   window, and fails otherwise (lower DURATION, or give the servers a larger skew with SKEW);
# - the Redis variants each start their own redis-server (Debian's package, or
#   REDIS_SERVER_BIN; `--save '' --appendonly no`, 127.0.0.1, a free port), pinned to REDIS_CPUS
#   (by default the server's CPUs: the store competes with the app for them, as a Redis on the
#   same host would); its CPU per request (/proc/PID/stat, over the same wrk run) is reported
#   beside the app server's. `signed-redis` starts empty; `signed-redis-full` holds FILL_KEYS
#   keys of the real format (`approov:replay:<64 hex> 1 PXAT <an hour ahead>`) from before
#   round 1, to show that nothing grows with the stored signatures;
# - before round 1 one signed request is sent twice to each variant (curl): the replay variants
#   must answer 200, then 401 with `x-bench-reason: signature_replayed` (the bench server's
#   rejection echoes the reason), `signed-off` 200 twice.
#
# Writes every run to CSV (bench/results/replay-latest.csv, or $CSV), one line per run:
#   variant,label,round,requests,duration_us,rps,p50_us,p99_us,cpu_us_per_req,
#   redis_cpu_us_per_req,redis_keys,loadavg
# and prints the table (bench/replay_table.py).
#
# Settings (environment):
#   DURATION=5          seconds of measured load per run
#   ROUNDS=4            runs per variant (best of)
#   CONNECTIONS=32      open connections
#   SIGNED_PER_SECOND=30000  signatures minted per second of a run (a server core verifies
#                       fewer ECDSA signatures than that per second)
#   FILL_KEYS=1000000   keys stored in signed-redis-full's redis-server before round 1
#   SKEW=               APPROOV_SIGNATURE_CLOCK_SKEW_SECONDS for the servers (at most 3600);
#                       unset: the default 30 s
#   SERVER_CPUS, CLIENT_CPUS, REDIS_CPUS  CPU lists for taskset (as bench/load.sh; REDIS_CPUS
#                       defaults to SERVER_CPUS)
#   PORT=18180          first port of the app servers; each gets the next one. Only 127.0.0.1.
#   ONLY=a,b            run only these variants (`signed-off`, the reference, always runs)
#   CSV=path            where the runs go
#   BENCH_SERVER=path   a bench_server binary (built with --features redis) to run instead
#   REDIS_SERVER_BIN    the redis-server to start (default: redis-server from PATH)
#
# Needs: cargo, python3, wrk (installed with apt-get when missing), curl, redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-4}
CONNECTIONS=${CONNECTIONS:-32}
SIGNED_PER_SECOND=${SIGNED_PER_SECOND:-30000}
FILL_KEYS=${FILL_KEYS:-1000000}
SKEW=${SKEW:-}
PORT=${PORT:-18180}
CSV=${CSV:-bench/results/replay-latest.csv}
ONLY=${ONLY:-}
HOST=api.example.com
REDIS_SERVER_BIN=${REDIS_SERVER_BIN:-redis-server}

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
REDIS_CPUS=${REDIS_CPUS:-$SERVER_CPUS}
# One wrk thread per client CPU.
THREADS=$(taskset -c "$CLIENT_CPUS" nproc)
# shellcheck source=bench/common.sh
source bench/common.sh
# How long a signature is accepted after `created`: the SDKs' 15 s `expires` plus the skew.
WINDOW=$((15 + ${SKEW:-30}))

# --- tools -------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
  echo "== installing wrk (apt-get)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
for tool in curl python3; do
  command -v "$tool" >/dev/null || {
    echo "$tool is needed" >&2
    exit 1
  }
done
if ! command -v "$REDIS_SERVER_BIN" >/dev/null; then
  echo "redis-server not found (REDIS_SERVER_BIN=$REDIS_SERVER_BIN): apt-get install redis-server," \
    "or set REDIS_SERVER_BIN to its path" >&2
  exit 1
fi
if [[ -n "$SKEW" ]] && ((SKEW > 3600)); then
  echo "SKEW=$SKEW: at most 3600 (the layer's limit)" >&2
  exit 1
fi

# A copy of the binary: another build of bench_server (bench/load.sh builds it without the
# `redis` feature, in the same target directory) cannot replace it under this run.
WORK=$(mktemp -d)
declare -a PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
TARGET=${CARGO_TARGET_DIR:-target}
if [[ -n "${BENCH_SERVER:-}" ]]; then
  cp "$BENCH_SERVER" "$WORK/bench_server"
else
  cargo build --release --quiet --features redis --example bench_server
  cp "$TARGET/release/examples/bench_server" "$WORK/bench_server"
fi
BIN=$WORK/bench_server
"$BIN" keys "$WORK/keys"

# A port free a moment ago (the server's own bind says if it still is).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_redis NAME: a redis-server on a free loopback port; sets REDIS_PORT and REDIS_PID.
start_redis() {
  local name=$1
  REDIS_PORT=$(free_port)
  taskset -c "$REDIS_CPUS" "$REDIS_SERVER_BIN" --port "$REDIS_PORT" --bind 127.0.0.1 \
    --save '' --appendonly no --protected-mode yes >"$WORK/$name-redis.log" 2>&1 &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  local tries=0
  until [[ "$(redis-cli -p "$REDIS_PORT" PING 2>/dev/null)" == PONG ]]; do
    tries=$((tries + 1))
    if ((tries > 200)) || ! kill -0 "$REDIS_PID" 2>/dev/null; then
      cat "$WORK/$name-redis.log" >&2
      echo "redis-server for $name did not start" >&2
      exit 1
    fi
    sleep 0.1
  done
}

# name|label|mode|redis (none, empty or full)
VARIANTS=(
  "signed-off|signed GET, replay protection off|signed-off|none"
  "signed-memory|signed GET, replay in memory|signed-memory|none"
  "signed-redis|signed GET, replay in Redis, store empty at the start|signed-redis|empty"
  "signed-redis-full|signed GET, replay in Redis holding $FILL_KEYS keys|signed-redis|full"
)

declare -a NAMES=() LABELS=() PORTS=() RPORTS=() RPIDS=()
SERVER_PIDS=()
for v in "${VARIANTS[@]}"; do
  IFS='|' read -r name label mode redis <<<"$v"
  if [[ -n "$ONLY" && "$name" != signed-off && ",$ONLY," != *",$name,"* ]]; then continue; fi
  rport=- rpid=-
  vars=()
  if [[ "$redis" != none ]]; then
    command -v redis-cli >/dev/null || {
      echo "redis-cli is needed (Debian's redis-tools)" >&2
      exit 1
    }
    start_redis "$name"
    rport=$REDIS_PORT rpid=$REDIS_PID
    if [[ "$redis" == full ]]; then
      echo "== $name: filling its redis-server with $FILL_KEYS keys" >&2
      FILL_LINE=$("$BIN" redis-fill "redis://127.0.0.1:$rport/0" "$FILL_KEYS")
      echo "   $FILL_LINE" >&2
    fi
    vars+=("APPROOV_REPLAY_REDIS_URL=redis://127.0.0.1:$rport/0")
  fi
  if [[ -n "$SKEW" ]]; then vars+=("APPROOV_SIGNATURE_CLOCK_SKEW_SECONDS=$SKEW"); fi
  PORT=$((PORT + 1))
  env "${vars[@]}" taskset -c "$SERVER_CPUS" "$BIN" serve "$mode" "$WORK/keys" "$PORT" \
    >"$WORK/$name.log" 2>&1 &
  PIDS+=("$!")
  SERVER_PIDS+=("$!")
  NAMES+=("$name")
  LABELS+=("$label")
  PORTS+=("$PORT")
  RPORTS+=("$rport")
  RPIDS+=("$rpid")
done

for i in "${!NAMES[@]}"; do
  wait_listening "${NAMES[$i]}" "${PORTS[$i]}" "${SERVER_PIDS[$i]}" "$WORK/${NAMES[$i]}.log"
done

# send PORT FILE: sends the file's one signed request; prints "STATUS REASON".
send() {
  local token input signature
  IFS=$'\t' read -r token input signature <"$2"
  curl -s -o /dev/null -D - --max-time 5 "http://127.0.0.1:$1/" -H "Host: $HOST" \
    -H "Approov-Token: $token" -H "Signature-Input: $input" -H "Signature: $signature" |
    tr -d '\r' | awk 'NR == 1 { status = $2 } tolower($1) == "x-bench-reason:" { reason = $2 }
      END { print status, (reason == "" ? "-" : reason) }'
}

echo "== checking: a replayed request is refused by the replay variants, and only by them" >&2
for i in "${!NAMES[@]}"; do
  "$BIN" signed "$WORK/keys" 1 "$HOST" >"$WORK/one"
  first=$(send "${PORTS[$i]}" "$WORK/one")
  second=$(send "${PORTS[$i]}" "$WORK/one")
  expected="401 signature_replayed"
  [[ "${NAMES[$i]}" == signed-off ]] && expected="200 -"
  if [[ "$first" != "200 -" || "$second" != "$expected" ]]; then
    echo "${NAMES[$i]}: the same signed request twice answered '$first' then '$second';" \
      "expected '200 -' then '$expected'" >&2
    exit 1
  fi
  echo "   ${NAMES[$i]}: $first, then $second" >&2
done

# utime + stime of a process, all threads, in clock ticks.

# mint FILE COUNT: COUNT new signed requests, created now.
mint() { "$BIN" signed "$WORK/keys" "$2" "$HOST" >"$1"; }

mkdir -p "$(dirname "$CSV")"
echo "variant,label,round,requests,duration_us,rps,p50_us,p99_us,cpu_us_per_req,redis_cpu_us_per_req,redis_keys,loadavg" >"$CSV"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# wrk_signed PORT SECONDS FILE: one wrk run of signed requests; prints its RESULT line.
wrk_signed() {
  local out result
  out=$(taskset -c "$CLIENT_CPUS" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2s" -s bench/signed.lua \
    "http://127.0.0.1:$1/" -- "$3" "$THREADS" "$HOST")
  result=$(grep '^RESULT ' <<<"$out") || {
    echo "$out" >&2
    return 1
  }
  echo "$result"
}

# field NAME RESULT: a number of a RESULT line.
field() { sed -E "s/.* $1=([0-9]+).*/\\1/" <<<"$2"; }

# check NAME RESULT: every request answered 200, and none needed a signature not minted.
check() {
  local exhausted non2xx socket lines
  exhausted=$(field exhausted "$2")
  lines=$(field lines "$2")
  non2xx=$(field non_2xx "$2")
  socket=$(field socket_errors "$2")
  if ((exhausted > 0)); then
    echo "$1: the run needed more signed requests than the $lines minted for it (a signature" \
      "is never sent twice): raise SIGNED_PER_SECOND (now $SIGNED_PER_SECOND)" >&2
    exit 1
  fi
  if ((non2xx > 0 || socket > 0)); then
    echo "$1: $non2xx non-2xx responses, $socket socket errors" >&2
    exit 1
  fi
}

# run INDEX ROUND
run() {
  local i=$1 round=$2
  local name=${NAMES[$i]} pid=${SERVER_PIDS[$i]} port=${PORTS[$i]}
  local rport=${RPORTS[$i]} rpid=${RPIDS[$i]}
  echo "== round $round: $name (port $port)" >&2
  local minted_at
  minted_at=$(date +%s)
  mint "$WORK/warm" "$SIGNED_PER_SECOND"
  mint "$WORK/run" $((DURATION * SIGNED_PER_SECOND))
  # The first signature minted must still be accepted when the run ends (2 s of margin).
  local ends=$(($(date +%s) + 1 + DURATION + 2))
  if ((ends > minted_at + WINDOW)); then
    echo "$name: minting took $(($(date +%s) - minted_at)) s: the signatures would expire" \
      "before the run ends (they are accepted for $WINDOW s); lower DURATION or" \
      "SIGNED_PER_SECOND, or raise SKEW" >&2
    exit 1
  fi
  # The warm-up, on signatures of its own.
  check "$name warm-up" "$(wrk_signed "$port" 1 "$WORK/warm")"
  local before after rbefore=0 rafter=0 result
  before=$(cpu_ticks "$pid")
  [[ "$rpid" != - ]] && rbefore=$(cpu_ticks "$rpid")
  result=$(wrk_signed "$port" "$DURATION" "$WORK/run")
  after=$(cpu_ticks "$pid")
  [[ "$rpid" != - ]] && rafter=$(cpu_ticks "$rpid")
  check "$name" "$result"
  local keys=-
  [[ "$rport" != - ]] && keys=$(redis-cli -p "$rport" DBSIZE)
  local requests duration p50 p99
  requests=$(field requests "$result")
  duration=$(field duration_us "$result")
  p50=$(field p50_us "$result")
  p99=$(field p99_us "$result")
  python3 - "$name" "${LABELS[$i]}" "$round" "$requests" "$duration" "$p50" "$p99" \
    "$before" "$after" "$rpid" "$rbefore" "$rafter" "$keys" "$CLK_TCK" \
    "$(cut -d' ' -f1 /proc/loadavg)" >>"$CSV" <<'EOF'
import csv, sys
(name, label, rnd, req, dur, p50, p99, before, after, rpid, rbefore, rafter, keys, tck,
 load) = sys.argv[1:]
req, dur, tck = int(req), int(dur), int(tck)
cpu_us = (int(after) - int(before)) * 1e6 / tck
redis = "" if rpid == "-" else f"{(int(rafter) - int(rbefore)) * 1e6 / tck / req:.3f}"
csv.writer(sys.stdout).writerow([name, label, rnd, req, dur, f"{req * 1e6 / dur:.0f}", p50, p99,
                                 f"{cpu_us / req:.3f}", redis, "" if keys == "-" else keys, load])
EOF
}

for round in $(seq 1 "$ROUNDS"); do
  for i in "${!NAMES[@]}"; do run "$i" "$round"; done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "Replay protection under loopback load, $(date -u +%Y-%m-%dT%H:%MZ), best of $ROUNDS alternated runs" \
  "of ${DURATION}s per variant, $CONNECTIONS connections, wrk $THREADS thread(s) on CPUs $CLIENT_CPUS," \
  "server on CPUs $SERVER_CPUS, redis-server on CPUs $REDIS_CPUS"
echo "Machine: $(machine)," \
  "$("$REDIS_SERVER_BIN" --version | cut -d' ' -f1-3); load average $LOAD_START at the start, $LOAD_END at the end"
echo "Every request an install-signed GET (ES256), one cached HS256 token; each signature sent once," \
  "minted just before its run ($SIGNED_PER_SECOND per second of run); signature clock skew" \
  "${SKEW:-30 (default)} s."
[[ -n "${FILL_LINE:-}" ]] && echo "signed-redis-full's store, before round 1: $FILL_LINE"
echo
python3 bench/replay_table.py "$CSV"
