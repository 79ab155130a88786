#!/usr/bin/env python3
"""Draws benchmarks.svg for BENCHMARKS.md (run by scripts/bench): the warm latency distribution of
get-user through its handler beside a bare GetItem (cumulative, from `bench warm N SAMPLES.csv`),
and every arm64 artifact's size against the 5 MB goal. Standard library only.

    scripts/chart.py WARM_SAMPLES.csv SIZES.tsv OUT.svg

SIZES.tsv: one `function<TAB>bytes` line per artifact.
"""
import csv
import sys
from html import escape

GOAL_BYTES = 5_000_000
WIDTH = 900
HANDLER, BARE, BAR, LINE = "#1f77b4", "#ff7f0e", "#4c9a5e", "#c0392b"


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, round((len(sorted_values) - 1) * p))]


def latency_panel(samples, top):
    """Cumulative distribution, x from 0 to the 99th percentile of both."""
    handler = sorted(float(r["handler_ms"]) for r in samples)
    bare = sorted(float(r["bare_ms"]) for r in samples)
    left, right, height = 70, WIDTH - 30, 300
    x_max = max(percentile(handler, 0.99), percentile(bare, 0.99))
    x = lambda ms: left + (right - left) * min(ms, x_max) / x_max
    y = lambda frac: top + height - height * frac
    out = [f'<text x="{left}" y="{top - 12}" font-size="15" font-weight="bold">'
           f"Warm get-user: handler vs bare GetItem ({len(handler)} interleaved pairs, cumulative)</text>"]
    out.append(f'<rect x="{left}" y="{top}" width="{right - left}" height="{height}" fill="none" stroke="#999"/>')
    for i in range(6):
        ms = x_max * i / 5
        out.append(f'<line x1="{x(ms):.1f}" y1="{top + height}" x2="{x(ms):.1f}" y2="{top + height + 5}" stroke="#999"/>')
        out.append(f'<text x="{x(ms):.1f}" y="{top + height + 18}" font-size="11" text-anchor="middle">{ms:.1f}</text>')
    out.append(f'<text x="{(left + right) / 2}" y="{top + height + 36}" font-size="12" text-anchor="middle">ms (to the 99th percentile)</text>')
    for frac in (0, 0.25, 0.5, 0.75, 1):
        out.append(f'<text x="{left - 8}" y="{y(frac) + 4:.1f}" font-size="11" text-anchor="end">{frac:.2f}</text>')
        out.append(f'<line x1="{left}" y1="{y(frac):.1f}" x2="{right}" y2="{y(frac):.1f}" stroke="#eee"/>')
    for values, color, label, row in ((handler, HANDLER, "handler", 0), (bare, BARE, "bare GetItem", 1)):
        points = " ".join(f"{x(v):.1f},{y((i + 1) / len(values)):.1f}" for i, v in enumerate(values) if v <= x_max)
        out.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        p50 = percentile(values, 0.5)
        out.append(f'<line x1="{x(p50):.1f}" y1="{top}" x2="{x(p50):.1f}" y2="{top + height}" stroke="{color}" stroke-dasharray="4 3"/>')
        out.append(f'<text x="{right - 10}" y="{top + height - 40 + row * 18}" font-size="12" text-anchor="end" fill="{color}">'
                   f"{escape(label)}: p50 {p50:.3f} ms, p99 {percentile(values, 0.99):.3f} ms</text>")
    ratio = percentile(handler, 0.5) / percentile(bare, 0.5)
    out.append(f'<text x="{right - 10}" y="{top + height - 4}" font-size="12" text-anchor="end">p50 ratio {ratio:.2f} (goal ≤ 1.1)</text>')
    return out, top + height + 50


def sizes_panel(sizes, top):
    """One bar per artifact, the 5 MB goal as a line."""
    left, right, bar = 200, WIDTH - 60, 12
    x_max = max(max(b for _, b in sizes), GOAL_BYTES) * 1.05
    x = lambda b: left + (right - left) * b / x_max
    out = [f'<text x="20" y="{top - 12}" font-size="15" font-weight="bold">'
           f"Stripped arm64 bootstrap of each function ({len(sizes)}), against the 5 MB goal</text>"]
    for i, (name, size) in enumerate(sizes):
        row = top + i * (bar + 3)
        color = BAR if size <= GOAL_BYTES else LINE
        out.append(f'<text x="{left - 6}" y="{row + bar - 2}" font-size="10" text-anchor="end">{escape(name)}</text>')
        out.append(f'<rect x="{left}" y="{row}" width="{x(size) - left:.1f}" height="{bar}" fill="{color}"/>')
        out.append(f'<text x="{x(size) + 4:.1f}" y="{row + bar - 2}" font-size="10">{size / 1e6:.2f}</text>')
    bottom = top + len(sizes) * (bar + 3)
    out.append(f'<line x1="{x(GOAL_BYTES):.1f}" y1="{top - 4}" x2="{x(GOAL_BYTES):.1f}" y2="{bottom}" stroke="{LINE}" stroke-width="2" stroke-dasharray="6 3"/>')
    out.append(f'<text x="{x(GOAL_BYTES):.1f}" y="{bottom + 16}" font-size="12" text-anchor="middle" fill="{LINE}">5 MB</text>')
    return out, bottom + 30


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    samples_path, sizes_path, out_path = sys.argv[1:]
    with open(samples_path) as f:
        samples = list(csv.DictReader(f))
    sizes = []
    with open(sizes_path) as f:
        for line in f:
            if line.strip():
                name, size = line.rstrip("\n").split("\t")[:2]
                sizes.append((name, int(size)))
    if not samples or not sizes:
        sys.exit("no samples or no sizes")
    body, y = latency_panel(samples, 40)
    more, y = sizes_panel(sorted(sizes), y + 30)
    body += more
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y}" '
           f'font-family="Helvetica, Arial, sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n'
           + "\n".join(body) + "\n</svg>\n")
    with open(out_path, "w") as f:
        f.write(svg)


if __name__ == "__main__":
    main()
