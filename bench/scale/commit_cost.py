"""What the read-audit commit's WAL flush costs: the runner with PostgreSQL's
``synchronous_commit`` on (the default), ``local`` and ``off``, alternated.

    python bench/scale/commit_cost.py --database ipt_scale_1 [--requests 150 --rounds 3]

In process (as profile_reads.py). Each setting is applied with ``SET`` on the
pooled connections for the batch of requests. Not a proposal to change it: the
figures say what turning it down would buy (docs/benchmarks.md, issue 24).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database", default="ipt_scale_1")
    ap.add_argument("--endpoint", default="runner")
    ap.add_argument("--requests", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    manifest = json.loads((HERE / "out" / f"{args.database}.json").read_text())
    from profile_reads import HTTPS, endpoints
    from run import environment
    from sqlalchemy import event

    os.environ.update(environment(manifest["url"], port=5077, workers=1))
    from ipt_groups.extensions import db
    from wsgi import app

    c, path = endpoints(app, manifest)[args.endpoint]
    with app.app_context():
        engine = db.engine
    setting = {"value": "on"}

    @event.listens_for(engine, "begin")
    def _set(conn: object) -> None:
        conn.exec_driver_sql(f"SET LOCAL synchronous_commit = {setting['value']}")  # type: ignore[attr-defined]

    wall: dict[str, list[float]] = {"on": [], "local": [], "off": []}
    for _ in range(args.rounds):
        for value in wall:
            setting["value"] = value
            for _ in range(10):
                c.get(path, **HTTPS)
            t = time.perf_counter()
            for _ in range(args.requests):
                c.get(path, **HTTPS)
            wall[value].append((time.perf_counter() - t) / args.requests * 1000)
    for value, ms in wall.items():
        print(
            f"{args.endpoint} synchronous_commit={value:5} wall ms/request: median "
            f"{statistics.median(ms):.2f} (runs {', '.join(f'{m:.2f}' for m in ms)})"
        )


if __name__ == "__main__":
    main()
