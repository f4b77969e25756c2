#!/usr/bin/env python3
"""The table of bench/load.sh, from the CSV it writes (one line per run).

    python3 bench/load_table.py bench/results/load-latest.csv

Per variant: the best (lowest) server CPU per request over its runs, the CPU it adds to the
server with no layer (for the `actix-*` variants: to the actix-web server with no middleware,
`actix-plain`), the ratio (no layer / variant), the best requests/s, and the median p50 and p99
latency over the runs. Then the comparison with the Python quickstart, and what the actix-web
middleware adds to actix-web beside what the layer adds to axum.
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

    def baseline(name):
        return best.get("actix-plain" if name.startswith("actix-") else "plain")

    print("| server | CPU us/req (best) | runs' range | added us | ratio | req/s (best) "
          "| p50 us | p99 us |")
    print("|---|---|---|---|---|---|---|---|")
    for name, b in best.items():
        added = ratio = "-"
        plain = baseline(name)
        if plain and name not in ("plain", "actix-plain"):
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
    if best.get("plain") and best.get("actix-plain"):
        print()
        for token in ("reused", "fresh"):
            layer = best.get(f"layer-hs256-{token}")
            middleware = best.get(f"actix-hs256-{token}")
            if layer and middleware:
                print(f"HS256, {token} token: the actix-web middleware adds "
                      f"{middleware['cpu'] - best['actix-plain']['cpu']:+.2f} us of server CPU "
                      f"per request to actix-web; the layer adds "
                      f"{layer['cpu'] - best['plain']['cpu']:+.2f} us to axum.")


if __name__ == "__main__":
    main()
