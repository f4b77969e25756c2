#!/usr/bin/env python3
"""The table of bench/load.sh, from the CSV it writes (one line per run).

    python3 bench/load_table.py bench/results/load-latest.csv

Per variant: the best (lowest) server CPU per request over its runs, the CPU it adds to the
server with no layer, the ratio (no layer / variant), the best requests/s, and the median p50
and p99 latency over the runs. Then the comparison with the Python quickstart.
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
        out[name] = {
            "label": rows[0]["label"],
            "runs": len(rows),
            "cpu": min(cpu),
            "cpu_max": max(cpu),
            "rps": max(float(r["rps"]) for r in rows),
            "p50": statistics.median(int(r["p50_us"]) for r in rows),
            "p99": statistics.median(int(r["p99_us"]) for r in rows),
        }
    return out


def main():
    best = summary(load(sys.argv[1]))
    plain = best.get("plain")
    print("| server | CPU us/req (best) | runs' range | added us | ratio | req/s (best) "
          "| p50 us | p99 us |")
    print("|---|---|---|---|---|---|---|---|")
    for name, b in best.items():
        added = ratio = "-"
        if plain and name != "plain":
            added = f"{b['cpu'] - plain['cpu']:+.2f}"
            ratio = f"{plain['cpu'] / b['cpu']:.3f}"
        print(f"| {b['label']} | {b['cpu']:.2f} | {b['cpu']:.2f}-{b['cpu_max']:.2f} | {added} "
              f"| {ratio} | {b['rps']:.0f} | {b['p50']:.0f} | {b['p99']:.0f} |")
    py = best.get("python-hs256-fresh")
    fresh = best.get("layer-hs256-fresh")
    reused = best.get("layer-hs256-reused")
    if py:
        print()
        if fresh:
            print(f"Like with like, a fresh HS256 token on every request: the layer serves "
                  f"{fresh['rps'] / py['rps']:.0f}x the Python quickstart's requests/s, at "
                  f"{py['cpu'] / fresh['cpu']:.0f}x less server CPU per request.")
        if reused:
            print(f"With a reused token (the cache's effect): {reused['rps'] / py['rps']:.0f}x "
                  f"the requests/s, {py['cpu'] / reused['cpu']:.0f}x less CPU per request.")


if __name__ == "__main__":
    main()
