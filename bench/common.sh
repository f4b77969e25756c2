# Sourced by bench/load.sh, bench/verifier.sh and bench/replay.sh: the parts of the method they
# share (the figure of record is server CPU per request; see bench/load.sh's header).

CLK_TCK=$(getconf CLK_TCK)

# utime + stime, in clock ticks, of these processes and their children (every thread; nginx's
# workers are its master's children).
cpu_ticks() {
  local total=0 pid child
  for pid in "$@"; do
    for child in $pid $(pgrep -P "$pid" || true); do
      total=$((total + $(awk '{ print $14 + $15 }' "/proc/$child/stat")))
    done
  done
  echo "$total"
}

# wait_listening NAME PORT PID LOG: waits until 127.0.0.1:PORT accepts connections; fails with
# LOG's content if PID exits first (PID "-": a server of several processes, not watched) or
# after 30 s.
wait_listening() {
  local name=$1 port=$2 pid=$3 log=$4 tries=0
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    tries=$((tries + 1))
    if ((tries > 300)) || { [[ $pid != - ]] && ! kill -0 "$pid" 2>/dev/null; }; then
      cat $log >&2
      echo "server $name did not start" >&2
      exit 1
    fi
    sleep 0.1
  done
}

# csv_row NAME LABEL ROUND REQUESTS DURATION_US P50 P99 TICKS_BEFORE TICKS_AFTER: one run, in
# the columns bench/load_table.py reads, with the server CPU per request and the load average.
csv_row() {
  python3 - "$@" "$CLK_TCK" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import csv, sys
name, label, rnd, req, dur, p50, p99, before, after, tck, load = sys.argv[1:]
req, dur = int(req), int(dur)
cpu_us = (int(after) - int(before)) * 1e6 / int(tck)
csv.writer(sys.stdout).writerow([name, label, rnd, req, dur, f"{req * 1e6 / dur:.0f}", p50, p99,
                                 f"{cpu_us / req:.3f}", load])
PY
}

# The machine line every report starts with.
machine() {
  echo "$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(rustc --version)"
}
