"""Where each endpoint's time goes: Python CPU in the web process, PostgreSQL's
CPU, and statements per request, measured in process (no HTTP, no load
generator) against a seeded database. Not a test: it prints figures.

    python bench/scale/cpu_split.py --database ipt_scale_1 [--requests 200]

The app runs in production settings through Flask's test client, logged in as
the first facilitator, supervisor and participant of the seed's manifest.
PostgreSQL's CPU is the change in user + system time of every ``postgres``
process on this machine (/proc), so run it on an otherwise quiet machine with
the database on it. Ratios are to ``/healthz``'s Python CPU, which does no
database work: what the load test's throughput ratio would be if the machine
did nothing but run Python.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
TICK = os.sysconf("SC_CLK_TCK")
HTTPS = {"base_url": "https://localhost", "headers": {"X-Forwarded-Proto": "https"}}


def postgres_cpu_seconds() -> float:
    """User + system CPU of every postgres process (fields 14 and 15 of stat)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        if name.startswith("postgres"):
            fields = stat[stat.rindex(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def endpoint_table(app: Any, manifest: dict[str, Any]) -> dict[str, Any]:
    """Each endpoint's name and a function making one request (any answer but 200 stops)."""
    login = manifest["login"]

    def client(creds: dict[str, str]) -> Any:
        c = app.test_client()
        response = c.post("/api/auth/login", json={**creds, "password": login["password"]}, **HTTPS)
        if response.status_code != 200:
            raise SystemExit(f"login failed ({response.status_code}): {response.data[:200]!r}")
        c.csrf = response.json["csrf_token"]
        return c

    facilitator, cohorts = next(iter(login["facilitators"].items()))
    fac = client({"email": facilitator})
    sup = client({"email": next(iter(login["supervisors"]))})
    member = client({"username": login["participants"][0]})
    first = cohorts[0]
    paths = {
        "healthz": (member, "/healthz"),
        "me": (member, "/api/me"),
        "cohorts": (fac, "/api/cohorts"),
        "runner": (fac, f"/api/sessions/{first['session_id']}/runner"),
        "me_schedule": (member, "/api/me/schedule"),
        "me_check_in": (member, "/api/me/check-in"),
        "me_readings": (member, "/api/me/readings"),
        "cohort_outcomes": (fac, f"/api/cohorts/{first['cohort_id']}/outcomes"),
        "clinic_outcomes": (sup, "/api/outcomes"),
        # The runner's commonest write (the open-loop mix plays it): the same mark again.
        "attendance_put": (fac, f"PUT /api/sessions/{first['session_id']}/attendance"),
    }
    runner = fac.get(f"/api/sessions/{first['session_id']}/runner", **HTTPS).json
    enrolment_id = runner["members"][0]["enrolment_id"]
    put_body = {"entries": [{"enrolment_id": enrolment_id, "status": "present"}]}
    calls = {}
    for name, (c, path) in paths.items():

        def call(c: Any = c, path: str = path, name: str = name) -> None:
            if path.startswith("PUT "):
                headers = {**HTTPS["headers"], "X-CSRF-Token": c.csrf}
                response = c.put(
                    path[4:], json=put_body, base_url=HTTPS["base_url"], headers=headers
                )
            else:
                response = c.get(path, **HTTPS)
            if response.status_code != 200:
                raise SystemExit(f"{name}: {response.status_code} {response.data[:200]!r}")

        calls[name] = call
    return calls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database", default="ipt_scale_1")
    ap.add_argument("--requests", type=int, default=200, help="per endpoint, after 10 warm-up")
    ap.add_argument("--only", help="comma-separated endpoint names (healthz always runs first)")
    ap.add_argument("--json", help="also write the rows to this file (for report_reads.py)")
    args = ap.parse_args()
    manifest = json.loads((HERE / "out" / f"{args.database}.json").read_text())

    # The settings the load test gives gunicorn (production, generated keys).
    from run import environment  # bench/scale/run.py, beside this file

    os.environ.update(environment(manifest["url"], port=5077, workers=1))  # nothing binds it
    from sqlalchemy import event

    from ipt_groups.extensions import db
    from wsgi import app

    endpoints = endpoint_table(app, manifest)
    if args.only:
        keep = {"healthz", *args.only.split(",")}
        endpoints = {k: v for k, v in endpoints.items() if k in keep}
    statements = 0

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    rows = []
    for name, get in endpoints.items():
        for _ in range(10):
            get()
        n = args.requests
        statements = 0
        wall, cpu, pg = time.perf_counter(), time.process_time(), postgres_cpu_seconds()
        for _ in range(n):
            get()
        wall = (time.perf_counter() - wall) / n * 1000
        cpu = (time.process_time() - cpu) / n * 1000
        pg = (postgres_cpu_seconds() - pg) / n * 1000
        rows.append((name, wall, cpu, pg, statements / n))

    base = rows[0][2]
    print(f"{args.database}: {args.requests} requests each, in process; ms per request")
    print("| endpoint | wall | Python CPU | PostgreSQL CPU | statements | /healthz CPU ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, wall, cpu, pg, stmts in rows:
        ratio = base / (cpu + pg)
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {pg:.2f} | {stmts:.1f} | {ratio:.3f} |")
    if args.json:
        fields = ("wall_ms", "python_cpu_ms", "postgres_cpu_ms", "statements")
        Path(args.json).write_text(
            json.dumps({r[0]: dict(zip(fields, r[1:], strict=True)) for r in rows}, indent=1)
        )


if __name__ == "__main__":
    main()
