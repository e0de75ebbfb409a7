"""Where one endpoint's Python goes: cProfile in process against a seeded database.

    python bench/scale/profile_reads.py --database ipt_scale_1 --endpoint me [--requests 300]

Same set-up as cpu_split.py (production settings, Flask's test client, the
manifest's first facilitator / supervisor / participant). Prints the functions
with the most cumulative time, and the share of the request spent in the parts
issue 24 asks about (cookie, user loader, SQL, schema dump, JSON). cProfile
inflates Python-heavy code more than C calls, so read shares, not milliseconds;
the milliseconds of record come from cpu_split.py (no profiler attached).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
HTTPS = {"base_url": "https://localhost", "headers": {"X-Forwarded-Proto": "https"}}

# (label, substring of "file:function" in pstats) for the breakdown.
PARTS = [
    ("cookie decode (SecureCookieSessionInterface.open_session)", "sessions.py:open_session"),
    ("user loader (resolve_session)", "sessions.py:resolve_session"),
    ("SQL execute (Session.execute)", "session.py:execute"),
    ("connection checkout (pool _checkout)", "base.py:_checkout"),
    ("schema dump (marshmallow Schema.dump)", "schema.py:dump"),
    ("JSON encode (json.dumps)", "__init__.py:dumps"),
    ("teardown (flask_sqlalchemy remove)", "session.py:remove"),
]


def endpoints(app: Any, manifest: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    login = manifest["login"]

    def client(creds: dict[str, str]) -> Any:
        c = app.test_client()
        response = c.post("/api/auth/login", json={**creds, "password": login["password"]}, **HTTPS)
        if response.status_code != 200:
            raise SystemExit(f"login failed ({response.status_code}): {response.data[:200]!r}")
        return c

    facilitator, cohorts = next(iter(login["facilitators"].items()))
    fac = client({"email": facilitator})
    sup = client({"email": next(iter(login["supervisors"]))})
    member = client({"username": login["participants"][0]})
    first = cohorts[0]
    return {
        "healthz": (member, "/healthz"),
        "me": (member, "/api/me"),
        "cohorts": (fac, "/api/cohorts"),
        "runner": (fac, f"/api/sessions/{first['session_id']}/runner"),
        "me_schedule": (member, "/api/me/schedule"),
        "me_check_in": (member, "/api/me/check-in"),
        "me_readings": (member, "/api/me/readings"),
        "cohort_outcomes": (fac, f"/api/cohorts/{first['cohort_id']}/outcomes"),
        "clinic_outcomes": (sup, "/api/outcomes"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database", default="ipt_scale_1")
    ap.add_argument("--endpoint", default="me")
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--top", type=int, default=35)
    args = ap.parse_args()
    manifest = json.loads((HERE / "out" / f"{args.database}.json").read_text())
    from run import environment

    os.environ.update(environment(manifest["url"], port=5077, workers=1))
    from wsgi import app

    c, path = endpoints(app, manifest)[args.endpoint]
    for _ in range(20):
        response = c.get(path, **HTTPS)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.data[:200]!r}")
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(args.requests):
        c.get(path, **HTTPS)
    prof.disable()
    stats = pstats.Stats(prof)
    total = max(v[3] for v in stats.stats.values())  # the outermost cumulative time
    print(
        f"{args.endpoint} {path}: {args.requests} requests, "
        f"{total / args.requests * 1000:.2f} ms each under cProfile"
    )
    for label, needle in PARTS:
        cum = sum(
            v[3] for (f, _ln, fn), v in stats.stats.items() if needle == f"{Path(f).name}:{fn}"
        )
        print(f"  {label:60} {cum / total * 100:5.1f}%")
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
