#!/usr/bin/env python3
"""The table of bench/replay.sh, from the CSV it writes (one line per run).

    python3 bench/replay_table.py bench/results/replay-latest.csv

Per variant: the best (lowest) server CPU per request over its runs and their range, the CPU
it adds to the server with replay protection off (`signed-off`, the same signed requests):
best against best, and the median (and range) of the differences within each round, the
redis-server's CPU per request (median over the runs) and the app's plus Redis's (best run),
the best requests/s, the median p50 and p99 latency over the runs, and the keys the store held
after the last run. Then what replay protection adds, in words.
"""

import csv
import statistics
import sys
from collections import OrderedDict


def load(path):
    runs = OrderedDict()
    for row in csv.DictReader(open(path, newline="")):
        runs.setdefault(row["variant"], []).append(row)
    return runs


def summary(runs):
    out = OrderedDict()
    for name, rows in runs.items():
        cpu = [float(r["cpu_us_per_req"]) for r in rows]
        redis = [float(r["redis_cpu_us_per_req"]) for r in rows if r["redis_cpu_us_per_req"]]
        total = [float(r["cpu_us_per_req"]) + float(r["redis_cpu_us_per_req"] or 0) for r in rows]
        out[name] = {
            "label": rows[0]["label"],
            "cpu": min(cpu),
            "cpu_max": max(cpu),
            "redis": statistics.median(redis) if redis else None,
            "total": min(total),
            "rps": max(float(r["rps"]) for r in rows),
            "p50": statistics.median(int(r["p50_us"]) for r in rows),
            "p99": statistics.median(int(r["p99_us"]) for r in rows),
            "keys": rows[-1]["redis_keys"] or "-",
        }
    return out


def per_round(runs, name, reference):
    """The differences of CPU per request between two variants, round by round."""
    ref = {r["round"]: float(r["cpu_us_per_req"]) for r in runs.get(reference, [])}
    return [float(r["cpu_us_per_req"]) - ref[r["round"]] for r in runs[name]
            if r["round"] in ref]


def main():
    runs = load(sys.argv[1])
    best = summary(runs)
    off = best.get("signed-off")
    print("| server | CPU us/req (best) | runs' range | added us (best) "
          "| added us per round (median, range) | redis-server CPU us/req "
          "| app + Redis us/req | req/s (best) | p50 us | p99 us | keys in Redis after |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, b in best.items():
        added = paired = "-"
        if off and name != "signed-off":
            added = f"{b['cpu'] - off['cpu']:+.2f}"
            d = per_round(runs, name, "signed-off")
            if d:
                paired = f"{statistics.median(d):+.2f} ({min(d):+.2f} to {max(d):+.2f})"
        redis = "-" if b["redis"] is None else f"{b['redis']:.2f}"
        total = "-" if b["redis"] is None else f"{b['total']:.2f}"
        print(f"| {b['label']} | {b['cpu']:.2f} | {b['cpu']:.2f}-{b['cpu_max']:.2f} | {added} "
              f"| {paired} | {redis} | {total} | {b['rps']:.0f} | {b['p50']:.0f} "
              f"| {b['p99']:.0f} | {b['keys']} |")
    if not off:
        return
    print()
    memory = best.get("signed-memory")
    if memory:
        d = statistics.median(per_round(runs, "signed-memory", "signed-off"))
        print(f"In memory: {memory['cpu'] - off['cpu']:+.2f} us of server CPU per signed request "
              f"(best runs; {d:+.2f} us, the median of the per-round differences), on "
              f"{off['cpu']:.2f} us with protection off.")
    empty = best.get("signed-redis")
    full = best.get("signed-redis-full")
    if empty:
        d = statistics.median(per_round(runs, "signed-redis", "signed-off"))
        print(f"In Redis: {empty['cpu'] - off['cpu']:+.2f} us of the app server's CPU per signed "
              f"request (best runs; {d:+.2f} us per round), plus {empty['redis']:.2f} us of "
              f"redis-server's.")
    if empty and full:
        d = statistics.median(per_round(runs, "signed-redis-full", "signed-redis"))
        print(f"Redis holding {full['label'].rsplit(' holding ', 1)[-1]} against an empty one: "
              f"{full['cpu'] - empty['cpu']:+.2f} us of the app server's CPU (best runs; "
              f"{d:+.2f} us per round), {full['redis'] - empty['redis']:+.2f} us of "
              f"redis-server's per request.")


if __name__ == "__main__":
    main()
