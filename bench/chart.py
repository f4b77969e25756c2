#!/usr/bin/env python3
"""An SVG bar chart of a bench/load.sh run, from the CSV it writes.

    python3 bench/chart.py bench/results/load-latest.csv -o bench/results/load.svg
    python3 bench/chart.py after.csv --before before.csv -o load.svg   # both, side by side

Two panels, each on a log scale: the server's CPU time per request (best of the runs, the
figure of record) and the requests/s (best of the runs). Standard library only.
"""

import argparse
import math
from xml.sax.saxutils import escape

from load_table import load, summary

ORDER = [
    "plain",
    "layer-hs256-reused",
    "layer-hs256-fresh",
    "baseline-hs256-fresh",
    "layer-es256-reused",
    "layer-es256-fresh",
    "python-hs256-fresh",
    "actix-plain",
    "actix-hs256-reused",
    "actix-hs256-fresh",
]
COLOURS = {"after": "#2a6fb0", "before": "#b0b8c4"}


def log_x(value, lo, hi, width):
    return width * (math.log10(value) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))


def panel(out, x0, y0, width, rows, key, unit, title, series):
    values = [b[key] for _, s in series for b in s.values()]
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    out.append(f'<text x="{x0}" y="{y0 - 28}" font-weight="bold">{escape(title)}</text>')
    decade = lo
    while decade <= hi:
        x = x0 + log_x(decade, lo, hi, width)
        out.append(f'<line x1="{x:.1f}" y1="{y0 - 8}" x2="{x:.1f}" '
                   f'y2="{y0 + 34 * len(rows)}" stroke="#ddd"/>')
        label = f"{decade:g}"
        out.append(f'<text x="{x:.1f}" y="{y0 - 12}" font-size="10" text-anchor="middle" '
                   f'fill="#666">{label}</text>')
        decade *= 10
    bar = 26 / len(series)
    for i, name in enumerate(rows):
        for j, (which, s) in enumerate(series):
            b = s.get(name)
            if not b:
                continue
            y = y0 + 34 * i + j * bar
            w = max(1.0, log_x(b[key], lo, hi, width))
            out.append(f'<rect x="{x0}" y="{y:.1f}" width="{w:.1f}" height="{bar - 2:.1f}" '
                       f'fill="{COLOURS[which]}"/>')
            text = f"{b[key]:.2f} {unit}" if key == "cpu" else f"{b[key]:,.0f} {unit}"
            out.append(f'<text x="{x0 + w + 4:.1f}" y="{y + bar - 5:.1f}" font-size="10">'
                       f'{escape(text)}</text>')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("csv")
    parser.add_argument("--before")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--title", default="Loopback load, axum on one core (bench/load.sh)")
    args = parser.parse_args()
    after = summary(load(args.csv))
    series = []
    if args.before:
        series.append(("before", summary(load(args.before))))
    series.append(("after", after))
    rows = [n for n in ORDER if n in after] + [n for n in after if n not in ORDER]

    label_w, panel_w, gap = 330, 250, 120
    height = 90 + 34 * len(rows) + 30
    width = label_w + 2 * panel_w + 2 * gap
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(args.title)}</text>']
    y0 = 80
    for i, name in enumerate(rows):
        out.append(f'<text x="{label_w - 10}" y="{y0 + 34 * i + 17}" text-anchor="end">'
                   f'{escape(after[name]["label"])}</text>')
    panel(out, label_w, y0, panel_w, rows, "cpu", "us",
          "server CPU per request, us (lower is better)", series)
    panel(out, label_w + panel_w + gap, y0, panel_w, rows, "rps", "/s",
          "requests/s (higher is better)", series)
    legend_y = height - 14
    x = 10
    for which, _ in series:
        out.append(f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" '
                   f'fill="{COLOURS[which]}"/>')
        out.append(f'<text x="{x + 16}" y="{legend_y}">{which}</text>')
        x += 80
    out.append(f'<text x="{x}" y="{legend_y}" fill="#666">best of each variant\'s alternated '
               'runs; log scales</text>')
    out.append("</svg>")
    with open(args.output, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
