"""Tables (Markdown) and the p95-against-size plot from the run results.

    python bench/scale/report.py ipt_scale_0_1 ipt_scale_0_5 ipt_scale_1

Reads ``bench/scale/out/<database>-results.json``; prints one table per size and
the targets check, writes ``bench/scale/out/report.md`` and ``docs/bench-scale.png``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PNG = ROOT / "docs" / "bench-scale.png"
LABELS = {
    "healthz": "/healthz",
    "me": "GET /api/me (reference: the session lookup only)",
    "cohorts": "GET /api/cohorts (facilitator)",
    "runner": "GET /api/sessions/{id}/runner",
    "me_schedule": "GET /api/me/schedule (home)",
    "me_check_in": "GET /api/me/check-in (home)",
    "me_readings": "GET /api/me/readings (home)",
    "cohort_outcomes": "GET /api/cohorts/{id}/outcomes",
    "clinic_outcomes": "GET /api/outcomes (supervisor)",
}
# p95 limits (ms) per endpoint at full size; every endpoint also needs >= 25% of /healthz.
P95_TARGETS = {
    "runner": 50,
    "me_schedule": 50,
    "me_check_in": 50,
    "me_readings": 50,
    "clinic_outcomes": 300,
}
RATIO_TARGET = 0.25
REFERENCES = ("healthz", "me")  # yardsticks, not endpoints with targets
RSS_TARGET_MB = 150


def table(r: dict[str, Any]) -> str:
    c, seeded = r["counts"], r["seed_timings"]
    head = (
        f"### Scale {r['scale']:g}: {c['cohorts']:,} cohorts, {c['enrolments']:,} participants, "
        f"{c['attendance']:,} attendance rows, {c['assessments']:,} assessments\n\n"
        f"Seeded in {seeded['total_s']} s (migrations {seeded['migrate_s']} s, "
        f"rows built {seeded['build_s']} s, COPY + ANALYZE {seeded['copy_analyze_s']} s). "
        f"wrk: {r['settings']['connections']} connections, "
        f"{r['settings']['seconds']} s per endpoint; load average before {r['loadavg_before']}, "
        f"after {r['loadavg_after']} ({r['cpus']} cores). Worker RSS at the end: "
        f"{', '.join(f'{m} MB' for m in r['worker_rss_mb'])}.\n\n"
    )
    rows = [
        "| endpoint | p50 ms | p95 ms | p99 ms | req/s | ratio to /healthz | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, f in r["endpoints"].items():
        rows.append(
            f"| {LABELS.get(name, name)} | {f['p50_ms']:.1f} | {f['p95_ms']:.1f} | "
            f"{f['p99_ms']:.1f} | {f['rps']:.1f} | {f['ratio_to_healthz']:.2f} | {f['errors']} |"
        )
    return head + "\n".join(rows) + "\n"


def targets(r: dict[str, Any]) -> list[str]:
    lines = []
    for name, limit in P95_TARGETS.items():
        p95 = r["endpoints"].get(name, {}).get("p95_ms")
        if p95 is not None:
            lines.append(
                f"- {name} p95 {p95:.1f} ms < {limit} ms: {'met' if p95 < limit else 'MISSED'}"
            )
    for name, f in r["endpoints"].items():
        if name not in REFERENCES:
            ok = f["ratio_to_healthz"] >= RATIO_TARGET
            lines.append(
                f"- {name} at {f['ratio_to_healthz']:.2f} of /healthz: {'met' if ok else 'MISSED'}"
            )
    worst = max(r["worker_rss_mb"])
    verdict = "met" if worst < RSS_TARGET_MB else "MISSED"
    lines.append(f"- largest worker {worst} MB < {RSS_TARGET_MB} MB: {verdict}")
    return lines


def plot(results: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=110)
    sizes = [r["counts"]["attendance"] for r in results]
    for name, label in LABELS.items():
        ys = [r["endpoints"].get(name, {}).get("p95_ms") for r in results]
        if all(y is not None for y in ys):
            ax.plot(sizes, ys, marker="o", label=label)
    for limit, text in (
        (50, "runner / home target 50 ms"),
        (300, "clinic dashboard target 300 ms"),
    ):
        ax.axhline(limit, linestyle="--", linewidth=0.8, color="grey")
        ax.annotate(text, (sizes[0], limit), textcoords="offset points", xytext=(2, 3), fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("attendance rows in the database (1/10, 1/2 and full programme scale)")
    ax.set_ylabel("p95 latency, ms (log)")
    ax.set_title("ipt_groups under gunicorn (2 workers) with wrk: p95 latency against data size")
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(PNG)


def main() -> None:
    names = sys.argv[1:] or ["ipt_scale_0_1", "ipt_scale_0_5", "ipt_scale_1"]
    found = [HERE / "out" / f"{n}-results.json" for n in names]
    results = sorted(
        (json.loads(p.read_text()) for p in found if p.exists()), key=lambda r: r["scale"]
    )
    if not results:
        raise SystemExit("no results: run bench/scale/run.py first")
    text = "\n".join(table(r) + "\n" + "\n".join(targets(r)) + "\n" for r in results)
    (HERE / "out" / "report.md").write_text(text)
    print(text)
    plot(results)
    print(f"plot: {PNG.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
