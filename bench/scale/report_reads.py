# ruff: noqa: E501  (markdown and SVG lines are long by nature)
"""Issue 24's tables and plot from the bench-reads outputs (``make bench-reads``).

    python bench/scale/report_reads.py --database ipt_scale_1

Reads bench/scale/out/<db>-reads-cpu-*.json (cpu_split.py, repeated),
<db>-results.json (run.py under wrk) and <db>-openloop.json (openloop.py), and
rewrites the part of docs/benchmarks.md between the bench-reads markers, and
docs/bench-reads.svg (p95 per endpoint against the arrival rate). Written
without matplotlib (not installed here): the plot is a hand-made SVG.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = HERE / "out"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench-reads:start -->", "<!-- bench-reads:end -->"
LABELS = {
    "healthz": "/healthz",
    "me": "GET /api/me",
    "cohorts": "GET /api/cohorts (facilitator)",
    "runner": "GET /api/sessions/{id}/runner",
    "attendance_put": "PUT /api/sessions/{id}/attendance",  # the runner's commonest write
    "me_schedule": "GET /api/me/schedule",
    "me_check_in": "GET /api/me/check-in",
    "me_readings": "GET /api/me/readings",
    "cohort_outcomes": "GET /api/cohorts/{id}/outcomes",
    "clinic_outcomes": "GET /api/outcomes (supervisor)",
}
# (figure, endpoints, target) of issue 24; throughput ratios against /api/me.
TARGETS = [
    ("session runner / `/api/me`", ["runner"], 0.33),
    ("participant home (schedule) / `/api/me`", ["me_schedule"], 0.50),
    (
        "check-in, readings, cohort list / `/api/me`",
        ["me_check_in", "me_readings", "cohorts"],
        0.40,
    ),
    ("clinic dashboard / `/api/me`", ["clinic_outcomes"], 0.15),
]


def spread(values: list[float], fmt: str = "{:.3f}") -> str:
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def cpu_section(db: str) -> tuple[list[str], dict[str, list[float]]]:
    runs = [json.loads(p.read_text()) for p in sorted(OUT.glob(f"{db}-reads-cpu-*.json"))]
    if not runs:
        return ["(no cpu_split runs)"], {}
    lines = [
        f"In process (`cpu_split.py`, {len(runs)} runs; median and range). CPU = Python + PostgreSQL "
        "per request (PostgreSQL's the least of the runs: it is read from every postgres process on "
        "the machine, other people's included); the last two columns are `/healthz`'s CPU over the endpoint's, and `/api/me`'s "
        "over the endpoint's (what throughput ratios would be on a CPU-bound machine).",
        "",
        "| endpoint | Python CPU ms | PostgreSQL CPU ms | statements | CPU ratio to /healthz | CPU ratio to /api/me |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    ratios: dict[str, list[float]] = {}
    for name in runs[0]:
        py = [r[name]["python_cpu_ms"] for r in runs]
        pg = [max(0.0, r[name]["postgres_cpu_ms"]) for r in runs]
        # PostgreSQL's CPU is read for every postgres process on the machine, so other
        # people's databases add to it: the least of the runs is the cleanest figure.
        tot = [a + min(pg) for a in py]
        to_h = [r["healthz"]["python_cpu_ms"] / t for r, t in zip(runs, tot, strict=True)]
        me_pg = min(max(0.0, r["me"]["postgres_cpu_ms"]) for r in runs)
        me = [r["me"]["python_cpu_ms"] + me_pg for r in runs]
        to_me = [m / t for m, t in zip(me, tot, strict=True)]
        ratios[name] = to_me
        ratios[f"{name}/healthz"] = to_h
        stmts = runs[0][name]["statements"]
        lines.append(
            f"| {LABELS.get(name, name)} | {spread(py, '{:.2f}')} | {spread(pg, '{:.2f}')} | "
            f"{stmts:.0f} | {spread(to_h)} | {spread(to_me)} |"
        )
    # The mix's CPU budget: what each request of the peak-hour mix costs on average,
    # and so how busy two cores are at a given arrival rate (load-independent,
    # unlike the open-loop latencies on this shared machine).
    from mix import SHARES

    med = {
        n: statistics.median(r[n]["python_cpu_ms"] for r in runs)
        + min(max(0.0, r[n]["postgres_cpu_ms"]) for r in runs)
        for n in SHARES
        if n in runs[0]
    }
    if len(med) == len(SHARES):
        budget = sum(SHARES[n] * med[n] for n in SHARES)
        lines += [
            "",
            f"**The mix's CPU budget**: {budget:.1f} ms of CPU (Python median + PostgreSQL least, in process, no "
            f"HTTP) per request of the peak-hour mix on average; at 60 req/s that is "
            f"{60 * budget / 1000:.2f} cores ({60 * budget / 20:.0f}% of two), and two cores "
            f"are fully busy at {2000 / budget:.0f} req/s before any HTTP, gunicorn or "
            "load-generator cost.",
        ]
    return lines, ratios


def wrk_section(db: str) -> tuple[list[str], dict[str, float]]:
    path = OUT / f"{db}-results.json"
    if not path.exists():
        return ["(no wrk run)"], {}
    res = json.loads(path.read_text())
    eps = res["endpoints"]
    me = eps["me"]["rps"]
    lines = [
        f"Closed loop under gunicorn (`run.py`, wrk, {res['settings']['connections']} connections, "
        f"{res['settings']['seconds']} s each; load average {res['loadavg_before']} before, "
        f"{res['loadavg_after']} after; worker RSS {res.get('worker_rss_mb')} MB):",
        "",
        "| endpoint | p50 ms | p95 ms | req/s | ratio to /healthz | ratio to /api/me |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    ratios = {}
    for name, f in eps.items():
        ratios[name] = f["rps"] / me
        lines.append(
            f"| {LABELS.get(name, name)} | {f['p50_ms']:.1f} | {f['p95_ms']:.1f} | {f['rps']:.1f} | "
            f"{f['ratio_to_healthz']:.3f} | {f['rps'] / me:.2f} |"
        )
    return lines, ratios


def openloop_section(db: str) -> tuple[list[str], dict[str, Any]]:
    path = OUT / f"{db}-openloop.json"
    if not path.exists():
        return ["(no open-loop run)"], {}
    res = json.loads(path.read_text())
    runs = sorted(res["runs"], key=lambda r: (r.get("capacity_step", False), r["rate"]))
    names = list(runs[0]["endpoints"])
    head = (
        "| arrival rate | achieved | " + " | ".join(LABELS[n].split(" (")[0] for n in names) + " |"
    )
    lines = [
        f"Open loop (`openloop.py`: {res['workers']} workers x {res['threads']} threads; load "
        f"average {res['loadavg_before']} before, {res.get('loadavg_after')} after). p95 ms per "
        "endpoint (samples in brackets where fewer than 20), from each request's scheduled time:",
        "",
        head,
        "|" + "---|" * (len(names) + 2),
    ]
    for run in runs:
        cells = []
        for n in names:
            e = run["endpoints"][n]
            mark = f" ({e['n']})" if e["n"] < 20 else ""
            bold = "**" if e["p95_ms"] > 50 else ""
            cells.append(f"{bold}{e['p95_ms']:.0f}{bold}{mark}")
        kind = "capacity step" if run.get("capacity_step") else f"{run['seconds']:.0f} s"
        lines.append(
            f"| {run['rate']:.0f} req/s ({kind}) | {run['achieved_rps']:.0f} | "
            + " | ".join(cells)
            + " |"
        )
    cap = res.get("capacity")
    lines += [
        "",
        f"Generator: CPU share {', '.join(str(r['generator_cpu_share']) for r in runs)}; "
        f"lag p99 {', '.join(str(r['generator_lag_p99_ms']) for r in runs)} ms.",
    ]
    if cap:
        lines.append(
            f"Capacity: **p95 first over 50 ms at {cap['rate']:.0f} req/s** ({LABELS[cap['endpoint']]}, "
            f"{cap['p95_ms']:.0f} ms); last rate within: {cap['last_within'] or 'none measured'}."
        )
    return lines, res


def plot(res: dict[str, Any], target: Path) -> None:
    """p95 against arrival rate, one line per endpoint, the 50 ms limit dashed."""
    runs = sorted(res["runs"], key=lambda r: r["rate"])
    names = [n for n in runs[0]["endpoints"] if n != "clinic_outcomes"]
    w, h, m = 720, 420, 60
    xs = [r["rate"] for r in runs]
    ymax = max(100.0, *(r["endpoints"][n]["p95_ms"] for r in runs for n in names))
    ymax = min(ymax, 400.0)
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1

    def px(x: float) -> float:
        return m + (x - x0) / (x1 - x0) * (w - 2 * m)

    def py(y: float) -> float:
        return h - m - min(y, ymax) / ymax * (h - 2 * m)

    colours = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<line x1="{m}" y1="{h - m}" x2="{w - m}" y2="{h - m}" stroke="black"/>',
        f'<line x1="{m}" y1="{m}" x2="{m}" y2="{h - m}" stroke="black"/>',
        f'<line x1="{m}" y1="{py(50):.1f}" x2="{w - m}" y2="{py(50):.1f}" stroke="red" stroke-dasharray="4 3"/>',
        f'<text x="{w - m + 4}" y="{py(50):.1f}" fill="red">50 ms</text>',
        f'<text x="{w / 2}" y="{h - 20}" text-anchor="middle">arrival rate (req/s, open loop, peak-hour mix)</text>',
        f'<text x="15" y="{h / 2}" transform="rotate(-90 15 {h / 2})" text-anchor="middle">p95 ms (capped at {ymax:.0f})</text>',
    ]
    for x in xs:
        parts.append(f'<text x="{px(x):.1f}" y="{h - m + 14}" text-anchor="middle">{x:.0f}</text>')
    for y in range(0, int(ymax) + 1, 50):
        parts.append(f'<text x="{m - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y}</text>')
    for i, n in enumerate(names):
        pts = " ".join(f"{px(r['rate']):.1f},{py(r['endpoints'][n]['p95_ms']):.1f}" for r in runs)
        c = colours[i % len(colours)]
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{c}" stroke-width="2"/>')
        parts.append(f'<text x="{m + 8}" y="{m + 14 * i}" fill="{c}">{LABELS[n]}</text>')
    parts.append("</svg>")
    target.write_text("\n".join(parts) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database", default="ipt_scale_1")
    args = ap.parse_args()
    db = args.database
    cpu_lines, cpu_ratios = cpu_section(db)
    wrk_lines, wrk_ratios = wrk_section(db)
    ol_lines, ol = openloop_section(db)
    table = ["| figure | measured | target | met |", "|---|---:|---:|---|"]
    if cpu_ratios:
        v = cpu_ratios["me/healthz"]
        table.append(
            f"| `GET /api/me` CPU / `/healthz` | {spread(v)} | >= 0.40 | {'yes' if statistics.median(v) >= 0.40 else 'no'} |"
        )
    for label, names, target in TARGETS:
        got = [wrk_ratios[n] for n in names if n in wrk_ratios]
        if got:
            worst = min(got)
            shown = ", ".join(f"{wrk_ratios[n]:.2f}" for n in names if n in wrk_ratios)
            table.append(
                f"| {label} (wrk throughput) | {shown} | >= {target:.2f} | {'yes' if worst >= target else 'no'} |"
            )
    if ol:
        first = min(
            (r for r in ol["runs"] if not r.get("capacity_step")), key=lambda r: abs(r["rate"] - 60)
        )
        worst_p95 = max(e["p95_ms"] for e in first["endpoints"].values())
        table.append(
            f"| p95, every endpoint, open loop at {first['rate']:.0f} req/s | worst {worst_p95:.0f} ms | < 50 ms | {'yes' if worst_p95 < 50 else 'no'} |"
        )
        cap = ol.get("capacity")
        if cap:
            table.append(
                f"| arrival rate where a p95 first exceeds 50 ms | {cap['rate']:.0f} req/s | >= 120 | {'yes' if cap['rate'] >= 120 else 'no'} |"
            )
        plot(ol, ROOT / "docs" / "bench-reads.svg")
    body = [
        "",
        "#### Targets (regenerated by `make bench-reads`)",
        "",
        *table,
        "",
        "#### In process",
        "",
        *cpu_lines,
        "",
        "#### Under gunicorn, closed loop",
        "",
        *wrk_lines,
        "",
        "#### Open loop, peak-hour mix",
        "",
        *ol_lines,
        "",
        "![p95 against arrival rate](bench-reads.svg)",
        "",
    ]
    doc = DOC.read_text()
    if START in doc:
        head, rest = doc.split(START, 1)
        tail = rest.split(END, 1)[1]
        doc = head + START + "\n".join(body) + END + tail
    else:
        doc = doc.rstrip() + "\n\n" + START + "\n".join(body) + END + "\n"
    DOC.write_text(doc)
    print("\n".join(body))


if __name__ == "__main__":
    main()
