#!/usr/bin/env bash
# What approov-verifier costs, in server CPU per check, against bare endpoints of the same kind
# measured in the same run, with the method of bench/load.sh (its header says it in full):
# every variant its own server process(es), all started at once; the variants alternated
# round by round; CPU per request from /proc (utime + stime of every process that serves the
# variant, all threads) over the measured run; each variant's best of the rounds.
#
#   bench/verifier.sh                      # about 6 minutes
#   ROUNDS=6 DURATION=10 bench/verifier.sh
#   ONLY=grpc-bare,grpc-hs256-fresh bench/verifier.sh
#
# Variants (reused: one token for every request, a cache hit; fresh: a pool of UNIQUE_TOKENS,
# 10x the cache, nearly every request an HS256 verification):
#   axum-plain, axum-layer-hs256-*   the library's tower layer on an axum route: the reference
#                                    for what a check may add (bench_server, as in load.sh)
#   http-bare                        an axum route answering 200 to GET /check, no check
#   check-hs256-*                    the verifier's forward auth, GET /check with the headers a
#                                    gateway adds (X-Forwarded-Uri, -Host, -Proto)
#   grpc-bare                        a tonic Authorization/Check answering OK, unread
#   grpc-hs256-*                     the verifier's Envoy gRPC door, Envoy-shaped CheckRequests
#   nginx-proxy                      nginx proxying GET / to a bare upstream (nginx's CPU)
#   nginx-auth-hs256-*               the same with auth_request to the verifier (nginx's CPU +
#                                    the verifier's)
#
# Writes every run to CSV ($CSV, default bench/results/verifier-latest.csv) in load.sh's
# columns; bench/load_table.py prints the table and bench/chart.py can draw it.
#
# Needs: cargo, nginx (apt-get install nginx-light), wrk (installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-4}
CONNECTIONS=${CONNECTIONS:-32}
UNIQUE_TOKENS=${UNIQUE_TOKENS:-100000}
PORT=${PORT:-19080}
CSV=${CSV:-bench/results/verifier-latest.csv}
ONLY=${ONLY:-}

cpus=$(nproc)
if ((cpus >= 2)); then
  half=$((cpus / 2))
  SERVER_CPUS=${SERVER_CPUS:-0-$((half - 1))}
  CLIENT_CPUS=${CLIENT_CPUS:-$half-$((cpus - 1))}
else
  SERVER_CPUS=${SERVER_CPUS:-0}
  CLIENT_CPUS=${CLIENT_CPUS:-0}
fi
THREADS=$(taskset -c "$CLIENT_CPUS" nproc)
# shellcheck source=bench/common.sh
source bench/common.sh

if ! command -v wrk >/dev/null; then
  echo "== installing wrk (apt-get)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

cargo build --release --quiet --example bench_server
cargo build --release --quiet -p approov-verifier --bin approov-verifier --example bare --example grpc_load
BENCH=target/release/examples/bench_server
VERIFIER=target/release/approov-verifier
BARE=target/release/examples/bare
GRPC_LOAD=target/release/examples/grpc_load

WORK=$(mktemp -d)
declare -a PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== minting tokens ($UNIQUE_TOKENS fresh)" >&2
"$BENCH" keys "$WORK/keys"
"$BENCH" mint "$WORK/keys" hs256 1 >"$WORK/hs256-one"
"$BENCH" mint "$WORK/keys" hs256 "$UNIQUE_TOKENS" >"$WORK/hs256-fresh"
SECRET=$(cat "$WORK/keys/hs256.private")

# The headers nginx, Traefik and Caddy add to a forward-auth call.
FORWARD=("X-Forwarded-Uri: /v1/orders" "X-Forwarded-Host: api.example.com" "X-Forwarded-Proto: https" "X-Forwarded-Method: GET")

# Each helper sets a global (no command substitution: a subshell would lose PIDS and PORT).
next_port() { PORT=$((PORT + 1)); }

# verifier PORT [GRPC_PORT]: a verifier serving HTTP on PORT (and gRPC on GRPC_PORT, else
# none); its pid in VPID.
verifier() {
  local grpc=off
  [[ -n "${2:-}" ]] && grpc=127.0.0.1:$2
  APPROOV_BASE64_SECRET=$SECRET APPROOV_VERIFIER_LISTEN=127.0.0.1:$1 \
    APPROOV_VERIFIER_GRPC_LISTEN=$grpc RUST_LOG=warn \
    taskset -c "$SERVER_CPUS" "$VERIFIER" >>"$WORK/verifier-$1.log" 2>&1 &
  VPID=$!
  PIDS+=("$VPID")
}

# nginx_conf NAME PORT UPSTREAM_PORT [VERIFIER_PORT]: a one-worker nginx in front of a bare
# upstream, with auth_request to the verifier when its port is given.
nginx_conf() {
  local dir=$WORK/nginx-$1 auth=""
  mkdir -p "$dir"
  if [[ -n "${4:-}" ]]; then
    auth="auth_request /_approov;"
  fi
  cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir; proxy_temp_path $dir; fastcgi_temp_path $dir;
  uwsgi_temp_path $dir; scgi_temp_path $dir;
  upstream app { server 127.0.0.1:$3; keepalive 64; }
  upstream verifier { server 127.0.0.1:${4:-1}; keepalive 64; }
  server {
    listen 127.0.0.1:$2;
    location / {
      $auth
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Approov-Token "";
      proxy_pass http://app;
    }
    location = /_approov {
      internal;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://verifier/check;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-Method \$request_method;
      proxy_set_header X-Original-URI \$request_uri;
      proxy_set_header X-Forwarded-Method \$request_method;
      proxy_set_header X-Forwarded-Uri \$request_uri;
      proxy_set_header X-Forwarded-Host \$host;
      proxy_set_header X-Forwarded-Proto \$scheme;
    }
  }
}
EOF
  echo "$dir/nginx.conf"
}

# name|label|tokens|kind (http or grpc)|path|pids (filled in)|port
declare -a NAMES=() LABELS=() TOKENS=() KINDS=() PATHS=() SERVED=() PORTS=()
want() { [[ -z "$ONLY" || ",$ONLY," == *",$1,"* ]]; }
add() {
  NAMES+=("$1")
  LABELS+=("$2")
  TOKENS+=("$WORK/$3")
  KINDS+=("$4")
  PATHS+=("$5")
  SERVED+=("$6")
  PORTS+=("$7")
}

for mode in plain layer-hs256; do
  for tokens in one fresh; do
    name=axum-$mode-$([[ $tokens == one ]] && echo reused || echo fresh)
    [[ $mode == plain && $tokens == fresh ]] && continue
    [[ $mode == plain ]] && name=axum-plain
    want "$name" || continue
    next_port; port=$PORT
    taskset -c "$SERVER_CPUS" "$BENCH" serve "$mode" "$WORK/keys" "$port" >"$WORK/$name.log" 2>&1 &
    PIDS+=("$!")
    add "$name" "axum $mode ($tokens token)" "hs256-$tokens" http / "$!" "$port"
  done
done

if want http-bare; then
  next_port; port=$PORT
  taskset -c "$SERVER_CPUS" "$BARE" http "$port" >"$WORK/http-bare.log" 2>&1 &
  PIDS+=("$!")
  add http-bare "bare axum GET /check (no check)" hs256-one http /check "$!" "$port"
fi
for tokens in one fresh; do
  kind=$([[ $tokens == one ]] && echo reused || echo fresh)
  if want "check-hs256-$kind"; then
    next_port; port=$PORT
    verifier "$port"
    add "check-hs256-$kind" "verifier forward auth, $kind HS256 token" "hs256-$tokens" http /check "$VPID" "$port"
  fi
done

if want grpc-bare; then
  next_port; port=$PORT
  taskset -c "$SERVER_CPUS" "$BARE" grpc "$port" >"$WORK/grpc-bare.log" 2>&1 &
  PIDS+=("$!")
  add grpc-bare "bare tonic Authorization/Check (no check)" hs256-one grpc - "$!" "$port"
fi
for tokens in one fresh; do
  kind=$([[ $tokens == one ]] && echo reused || echo fresh)
  if want "grpc-hs256-$kind"; then
    next_port; http=$PORT
    next_port; port=$PORT
    verifier "$http" "$port"
    add "grpc-hs256-$kind" "verifier Envoy gRPC, $kind HS256 token" "hs256-$tokens" grpc - "$VPID" "$port"
  fi
done

# nginx: the upstream's CPU is not counted (it is the same bare app in both).
nginx_variant() {
  local name=$1 label=$2 tokens=$3 auth=$4
  want "$name" || return 0
  local up port vport="" conf pids=""
  next_port; up=$PORT
  taskset -c "$SERVER_CPUS" "$BARE" http "$up" >"$WORK/$name-upstream.log" 2>&1 &
  PIDS+=("$!")
  next_port; port=$PORT
  if [[ $auth == yes ]]; then
    next_port; vport=$PORT
    verifier "$vport"
    pids=$VPID
  fi
  conf=$(nginx_conf "$name" "$port" "$up" "$vport")
  taskset -c "$SERVER_CPUS" "$NGINX" -c "$conf" -p "$WORK/nginx-$name" >"$WORK/$name.log" 2>&1 &
  PIDS+=("$!")
  pids="$! $pids"
  add "$name" "$label" "$tokens" http / "$pids" "$port"
}
nginx_variant nginx-proxy "nginx proxying alone" hs256-one no
nginx_variant nginx-auth-hs256-reused "nginx + verifier auth_request, reused HS256 token" hs256-one yes
nginx_variant nginx-auth-hs256-fresh "nginx + verifier auth_request, fresh HS256 token" hs256-fresh yes

for i in "${!NAMES[@]}"; do
  wait_listening "${NAMES[$i]}" "${PORTS[$i]}" - "$WORK/*.log"
done

mkdir -p "$(dirname "$CSV")"
echo "variant,label,round,requests,duration_us,rps,p50_us,p99_us,cpu_us_per_req,loadavg" >"$CSV"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

run() {
  local i=$1 round=$2
  local name=${NAMES[$i]} port=${PORTS[$i]} tokens=${TOKENS[$i]} path=${PATHS[$i]}
  # shellcheck disable=SC2206 # a list of pids
  local pids=(${SERVED[$i]})
  echo "== round $round: $name (port $port)" >&2
  local one=${tokens/-fresh/-one} before after out result requests duration p50=0 p99=0
  # The gateway's headers go to the forward-auth endpoints only.
  local extra=()
  [[ $path == /check ]] && extra=("${FORWARD[@]}")
  if [[ ${KINDS[$i]} == http ]]; then
    taskset -c "$CLIENT_CPUS" wrk -t"$THREADS" -c"$CONNECTIONS" -d1s -s bench/tokens.lua \
      "http://127.0.0.1:$port$path" -- "$one" "$THREADS" "$path" "${extra[@]}" >/dev/null
    before=$(cpu_ticks "${pids[@]}")
    out=$(taskset -c "$CLIENT_CPUS" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" \
      -s bench/tokens.lua "http://127.0.0.1:$port$path" -- "$tokens" "$THREADS" "$path" "${extra[@]}")
    after=$(cpu_ticks "${pids[@]}")
    result=$(grep '^RESULT ' <<<"$out") || { echo "$out" >&2; exit 1; }
    if ! grep -q ' non_2xx=0 socket_errors=0' <<<"$result"; then
      echo "$name: $result" >&2
      exit 1
    fi
    p50=$(sed -E 's/.* p50_us=([0-9]+).*/\1/' <<<"$result")
    p99=$(sed -E 's/.* p99_us=([0-9]+).*/\1/' <<<"$result")
  else
    taskset -c "$CLIENT_CPUS" "$GRPC_LOAD" "http://127.0.0.1:$port" "$one" "$CONNECTIONS" 1 >/dev/null
    before=$(cpu_ticks "${pids[@]}")
    out=$(taskset -c "$CLIENT_CPUS" "$GRPC_LOAD" "http://127.0.0.1:$port" "$tokens" "$CONNECTIONS" "$DURATION")
    after=$(cpu_ticks "${pids[@]}")
    result=$(grep '^RESULT ' <<<"$out") || { echo "$out" >&2; exit 1; }
    if ! grep -q ' not_ok=0' <<<"$result"; then
      echo "$name: $result" >&2
      exit 1
    fi
  fi
  requests=$(sed -E 's/.* requests=([0-9]+).*/\1/' <<<"$result")
  duration=$(sed -E 's/.* duration_us=([0-9]+).*/\1/' <<<"$result")
  csv_row "$name" "${LABELS[$i]}" "$round" "$requests" "$duration" "$p50" "$p99" \
    "$before" "$after" >>"$CSV"
}

for round in $(seq 1 "$ROUNDS"); do
  for i in "${!NAMES[@]}"; do run "$i" "$round"; done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "approov-verifier, $(date -u +%Y-%m-%dT%H:%MZ), best of $ROUNDS alternated runs of ${DURATION}s per variant," \
  "$CONNECTIONS connections (gRPC: $CONNECTIONS concurrent calls), client on CPUs $CLIENT_CPUS, servers on CPUs $SERVER_CPUS"
echo "Machine: $(machine);" \
  "load average $LOAD_START at the start, $LOAD_END at the end"
echo
python3 bench/load_table.py "$CSV"
