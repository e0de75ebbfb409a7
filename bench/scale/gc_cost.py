"""What the cyclic garbage collector costs per request, with and without gc.freeze().

    python bench/scale/gc_cost.py --database ipt_scale_1 --endpoint runner [--requests 300]

In process (as profile_reads.py), the same requests twice: first as a worker
runs them without a freeze, then after ``gc.collect(); gc.freeze()`` (what
gunicorn.conf.py's post_worker_init does). gc.callbacks time every collection
by generation.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
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
    ap.add_argument("--requests", type=int, default=300)
    args = ap.parse_args()
    manifest = json.loads((HERE / "out" / f"{args.database}.json").read_text())
    from profile_reads import HTTPS, endpoints
    from run import environment

    os.environ.update(environment(manifest["url"], port=5077, workers=1))
    from wsgi import app

    c, path = endpoints(app, manifest)[args.endpoint]
    started: dict[int, float] = {}
    spent = {0: 0.0, 1: 0.0, 2: 0.0}
    count = {0: 0, 1: 0, 2: 0}

    def watch(phase: str, info: dict[str, int]) -> None:
        g = info["generation"]
        if phase == "start":
            started[g] = time.perf_counter()
        else:
            spent[g] += time.perf_counter() - started[g]
            count[g] += 1

    for label in ("no freeze", "gc.freeze()"):
        if label == "gc.freeze()":
            gc.collect()
            gc.freeze()
        for _ in range(20):
            c.get(path, **HTTPS)
        for g in spent:
            spent[g], count[g] = 0.0, 0
        gc.callbacks.append(watch)
        t = time.perf_counter()
        for _ in range(args.requests):
            c.get(path, **HTTPS)
        wall = (time.perf_counter() - t) / args.requests * 1000
        gc.callbacks.remove(watch)
        n = args.requests
        print(
            f"{args.endpoint} {label:12} wall {wall:.2f} ms/request; gc per request: "
            + ", ".join(f"gen{g} {count[g] / n:.2f}x {spent[g] / n * 1000:.3f} ms" for g in spent)
            + f"; frozen objects {gc.get_freeze_count()}"
        )


if __name__ == "__main__":
    main()
