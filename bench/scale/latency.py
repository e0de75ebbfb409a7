"""Latency of the page-level calls one at a time, for a machine without wrk.

    python bench/scale/latency.py --database ipt_scale_1 --only programme,clinic_outcomes

The same server and virtual users as run.py (its request lists), but each
request is sent alone and timed from the client (connect to last byte), round
after round over each endpoint's list; prints and writes p50 / p95 / max per
endpoint. One connection, no queueing: the figure is the cost of one request,
the number the 300 ms budget is about. ``/healthz`` is timed the same way as
the floor.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import time
from typing import Any

from run import BIN, OUT, ROOT, call, environment, request_lists, wait_ready


def timed(port: int, items: list[tuple[str, str]], rounds: int) -> dict[str, Any]:
    took = []
    for _ in range(rounds):
        for path, cookie in items:
            t0 = time.perf_counter()
            status, body, _ = call(port, "GET", path, headers={"Cookie": cookie} if cookie else {})
            took.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                raise SystemExit(f"GET {path} answered {status}: {body[:300]!r}")
    took.sort()
    return {
        "requests": len(took),
        "p50_ms": round(statistics.median(took), 1),
        "p95_ms": round(took[max(0, int(len(took) * 0.95) - 1)], 1),
        "max_ms": round(took[-1], 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database", default="ipt_scale")
    ap.add_argument("--port", type=int, default=5078)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=20, help="passes over each endpoint's list")
    ap.add_argument("--facilitators", type=int, default=20)
    ap.add_argument("--supervisors", type=int, default=5)
    ap.add_argument("--participants", type=int, default=100)
    ap.add_argument("--only", help="comma-separated endpoint names (default: all)")
    args = ap.parse_args()
    manifest = json.loads((OUT / f"{args.database}.json").read_text())
    env = environment(manifest["url"], args.port, args.workers)
    log = (OUT / f"gunicorn-latency-{args.database}.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    results: dict[str, Any] = {"database": args.database, "rounds": args.rounds, "endpoints": {}}
    try:
        wait_ready(args.port, proc)
        lists = request_lists(args.port, manifest["login"], args)
        names = list(lists)
        if args.only:
            names = ["healthz", *(n for n in names if n in args.only.split(","))]
        for name in names:
            timed(args.port, lists[name], 1)  # warm-up: caches filled, workers loaded
            figures = timed(args.port, lists[name], args.rounds)
            print(f"{name:16} {json.dumps(figures)}", flush=True)
            results["endpoints"][name] = figures
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=40)
        log.close()
    (OUT / f"{args.database}-latency.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
