"""Where the admin's clinic-wide ``GET /api/programme`` spends its time, in process.

    python bench/scale/profile_programme.py --database ipt_scale_1 [--requests 10] [--path ...]

The app in production settings through Flask's test client (as cpu_split.py),
logged in as the seed's admin. Prints wall time per request and its statements,
then the cProfile of the timed requests (cumulative, top 30): cProfile because it
is in the standard library (pyinstrument / py-spy are not needed to read it).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
HTTPS = {"base_url": "https://localhost", "headers": {"X-Forwarded-Proto": "https"}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database", default="ipt_scale_1")
    ap.add_argument("--requests", type=int, default=10, help="timed, after 2 warm-up")
    ap.add_argument("--path", default="/api/programme")
    ap.add_argument("--no-profile", action="store_true", help="time only")
    ap.add_argument("--save", help="write the last response body here (to compare two versions)")
    args = ap.parse_args()
    manifest = json.loads((HERE / "out" / f"{args.database}.json").read_text())
    from run import environment  # bench/scale/run.py, beside this file

    os.environ.update(environment(manifest["url"], port=5077, workers=1))  # nothing binds it
    from sqlalchemy import event

    from ipt_groups.extensions import db
    from wsgi import app

    login = manifest["login"]
    c = app.test_client()
    creds = {"email": login["admin"], "password": login["password"]}
    response = c.post("/api/auth/login", json=creds, **HTTPS)
    if response.status_code != 200:
        raise SystemExit(f"login failed ({response.status_code}): {response.data[:200]!r}")
    statements = 0
    with app.app_context():
        engine = db.engine

    sql_ms: dict[str, float] = {}
    started: list[float] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        nonlocal statements
        statements += 1
        started.append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _took(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # Time to the statement's result (rows are fetched later, in Python's share).
        key = " ".join(statement.split())[:90]
        sql_ms[key] = sql_ms.get(key, 0.0) + (time.perf_counter() - started.pop()) * 1000

    def get() -> int:
        r = c.get(args.path, **HTTPS)
        if r.status_code != 200:
            raise SystemExit(f"{r.status_code} {r.data[:300]!r}")
        if args.save:
            Path(args.save).write_bytes(r.data)
        return len(r.data)

    for _ in range(2):
        size = get()
    statements = 0
    sql_ms.clear()
    took = []
    profile = cProfile.Profile()
    for _ in range(args.requests):
        t0 = time.perf_counter()
        if args.no_profile:
            get()
        else:
            profile.runcall(get)
        took.append((time.perf_counter() - t0) * 1000)
    print(
        f"{args.path}: {args.requests} requests, {size:,} bytes, "
        f"{statements / args.requests:.1f} statements each; ms p50 {statistics.median(took):.0f}"
        f" min {min(took):.0f} max {max(took):.0f}"
        + (" (under cProfile: slower than plain)" if not args.no_profile else "")
    )
    print("statements by time to result (ms per request):")
    for key, ms in sorted(sql_ms.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {ms / args.requests:8.1f}  {key}")
    if not args.no_profile:
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("cumulative").print_stats(
            r"ipt_groups|marshmallow/schema|flask_smorest", 30
        )
        stats.sort_stats("tottime").print_stats(20)
        print(out.getvalue())


if __name__ == "__main__":
    main()
