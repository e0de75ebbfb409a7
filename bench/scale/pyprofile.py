"""Where one endpoint's time goes: pyinstrument (a sampling profiler) in process.

    python bench/scale/pyprofile.py --database ipt_scale_1 --endpoint runner [--requests 300]
    python bench/scale/pyprofile.py --table me,runner,me_schedule [--requests 300]

``--table`` profiles each named endpoint twice in one process, once on the thread's
CPU clock (``time.thread_time``: what the process itself burns, immune to the other
work on a loaded machine) and once on the wall clock (which adds the waits on
PostgreSQL), and prints one markdown table: a row per bucket, a column per
endpoint, CPU share / wall share, and the statements per request.

Same set-up as cpu_split.py (production settings, Flask's test client, the
manifest's logins). Unlike cProfile it does not slow each Python call, so its
shares are closer to the unprofiled run's. Prints, per request:
- the share of wall time by package (where the sampled frame's own code lives:
  sqlalchemy, psycopg, flask/werkzeug, marshmallow, our code, ...);
- the share *under* a few frames issue 24 asks about (user loader, SQL, dumps, JSON);
- the functions with the most self time, and pyinstrument's own call tree (--tree).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
HTTPS = {"base_url": "https://localhost", "headers": {"X-Forwarded-Proto": "https"}}

# (label, function name, a piece of its file path): time spent under the first match.
UNDER = [
    ("user loader (security.sessions.resolve_session)", "resolve_session", "sessions.py"),
    ("cookie decode (open_session)", "open_session", "sessions.py"),
    ("SQL statements (Session._execute_internal)", "_execute_internal", "orm/session.py"),
    ("  of which psycopg execute (round trips)", "execute", "psycopg/cursor.py"),
    ("ORM rows to objects (loading.instances)", "instances", "orm/loading.py"),
    ("flush (Session.flush)", "flush", "orm/session.py"),
    ("commit (Session.commit)", "commit", "orm/session.py"),
    ("schema dump (marshmallow Schema.dump)", "dump", "marshmallow/schema.py"),
    ("lean dump (api/lean.py)", "dump", "api/lean.py"),
    ("request parsing (webargs/marshmallow load)", "load", "marshmallow/schema.py"),
    ("JSON encode (json.dumps)", "dumps", "json/__init__.py"),
    ("read audit (audit.record_reads + commit_reads)", "record_reads", "services/audit.py"),
]
PACKAGES = [
    "sqlalchemy",
    "psycopg",
    "marshmallow",
    "webargs",
    "flask_smorest",
    "flask_login",
    "flask_sqlalchemy",
    "flask",
    "werkzeug",
    "itsdangerous",
    "json",
    "ipt_groups",
]


def package(path: str) -> str:
    for p in PACKAGES:
        if f"/{p}/" in path:
            return "our code (ipt_groups)" if p == "ipt_groups" else p
    return "other (stdlib, C, glue)"


def walk(frame: Any, stack: tuple[Any, ...], acc: dict[str, Any]) -> None:
    key = (frame.function, frame.file_path or "")
    # pyinstrument keeps a frame's own time in synthetic "[self]"-like children.
    real = [c for c in frame.children if not c.function.startswith("[")]
    own = frame.time - sum(c.time for c in real)
    acc["self"][key] += own
    acc["pkg"][package(frame.file_path or "")] += own
    for label, fn, where in UNDER:
        if (
            key[0] == fn
            and where in key[1]
            and not any(s[0] == fn and where in s[1] for s in stack)
        ):
            acc["under"][label] += frame.time
    for child in real:
        walk(child, (*stack, key), acc)


# The --table rows. "layer" rows are self time by package (they sum, with "other",
# to 100%); "phase" rows are inclusive time under a frame (they overlap the layers).
LAYERS = [
    (
        "Flask/Werkzeug request handling (self)",
        (
            "flask",
            "werkzeug",
            "flask_smorest",
            "flask_login",
            "flask_sqlalchemy",
            "itsdangerous",
            "webargs",
        ),
    ),
    ("SQLAlchemy compile/execute/results (self, outside ORM loading)", ("sqlalchemy",)),
    ("psycopg waiting on PostgreSQL (self in wait)", ("psycopg-wait",)),
    ("psycopg send, fetch, adapt (self)", ("psycopg",)),
    ("our code (self)", ("our code (ipt_groups)",)),
]
PHASES = [
    ("cookie decode (Flask open_session)", "open_session", "flask/sessions.py"),
    ("user loader (incl. its SQL)", "_load_user", "ipt_groups/security.py"),
    ("all SQL statements (Session._execute_internal + Connection.execute)", None, None),
    ("ORM loading (rows to objects: any frame in orm/loading.py)", None, None),
    ("dump (lean / plain / marshmallow)", None, None),
    ("JSON encode", "dumps", "json/__init__.py"),
    ("read audit insert + commit", None, None),
]
MULTI = {
    "all SQL statements (Session._execute_internal + Connection.execute)": [
        ("_execute_internal", "orm/session.py"),
        ("execute", "engine/base.py"),
    ],
    "dump (lean / plain / marshmallow)": [
        ("dump", "api/lean.py"),
        ("dump", "marshmallow/schema.py"),
        ("answer", "api/plain.py"),
    ],
    "ORM loading (rows to objects: any frame in orm/loading.py)": [(None, "orm/loading.py")],
    "read audit insert + commit": [
        ("record_reads", "services/audit.py"),
        ("commit_reads", "services/audit.py"),
    ],
}


def buckets(root: Any) -> dict[str, float]:
    """Shares (of root.time) for the --table rows."""
    out: dict[str, float] = defaultdict(float)
    layer_of = {}
    for label, pkgs in LAYERS:
        for p in pkgs:
            layer_of[p] = label

    def visit(frame: Any, stack: tuple[tuple[str, str], ...], in_orm: bool) -> None:
        key = (frame.function, frame.file_path or "")
        real = [c for c in frame.children if not c.function.startswith("[")]
        own = frame.time - sum(c.time for c in real)
        here_orm = in_orm or "orm/loading.py" in key[1]
        pkg = package(key[1])
        name = "psycopg-wait" if pkg == "psycopg" and key[0].startswith("wait") else pkg
        label = layer_of.get(name)
        if label and label.startswith("SQLAlchemy") and here_orm:
            label = None  # counted in ORM loading
        out[label or "other (stdlib, C, glue; SQLAlchemy inside ORM loading)"] += own
        for plabel, fn, where in PHASES:
            pairs = MULTI.get(plabel, [(fn, where)])
            for f, w in pairs:
                if f in (None, key[0]) and w in key[1]:
                    if not any(
                        f2 in (None, s[0]) and w2 in s[1] for s in stack for f2, w2 in pairs
                    ):
                        out[plabel] += frame.time
                    break
        for child in real:
            visit(child, (*stack, key), here_orm)

    visit(root, (), False)
    return {k: v / root.time for k, v in out.items()}


def table(app: Any, manifest: dict[str, Any], names: list[str], n: int) -> None:
    import time

    from cpu_split import endpoint_table
    from pyinstrument import Profiler
    from pyinstrument.stack_sampler import get_stack_sampler
    from sqlalchemy import event

    from ipt_groups.extensions import db

    calls = endpoint_table(app, manifest)
    with app.app_context():
        engine = db.engine
    count = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        count[0] += 1

    sampler = get_stack_sampler()
    cols = {}
    for name in names:
        call = calls[name]
        for _ in range(20):
            call()
        count[0] = 0
        res = {}
        for clock in ("cpu", "wall"):
            sampler.timer_func = time.thread_time if clock == "cpu" else None
            profiler = Profiler(interval=0.0002, async_mode="disabled")
            profiler.start()
            for _ in range(n):
                call()
            profiler.stop()
            root = profiler.last_session.root_frame()
            res[clock] = (root.time / n * 1000, buckets(root))
        sampler.timer_func = None
        cols[name] = (res, count[0] / (2 * n))
        print(f"{name}: done", file=sys.stderr)
    rows = [label for label, _ in LAYERS]
    rows.append("other (stdlib, C, glue; SQLAlchemy inside ORM loading)")
    rows += [label for label, *_ in PHASES]
    print(f"{n} requests per endpoint and clock; share of CPU / share of wall, %")
    print("| | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    ms = [f"{c[0]['cpu'][0]:.1f} / {c[0]['wall'][0]:.1f}" for c in cols.values()]
    print("| ms a request under the profiler (CPU / wall) | " + " | ".join(ms) + " |")
    print("| statements a request | " + " | ".join(f"{c[1]:.0f}" for c in cols.values()) + " |")
    for i, label in enumerate(rows):
        if i == len(LAYERS) + 1:
            print("| *inclusive, under these frames:* |" + " |" * len(names))
        vals = [
            f"{c[0]['cpu'][1].get(label, 0) * 100:.0f} / {c[0]['wall'][1].get(label, 0) * 100:.0f}"
            for c in cols.values()
        ]
        print(f"| {label} | " + " | ".join(vals) + " |")


def main() -> None:
    from cpu_split import endpoint_table  # the same endpoints and logins
    from pyinstrument import Profiler

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database", default="ipt_scale_1")
    ap.add_argument("--endpoint", default="runner")
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--tree", action="store_true", help="also print pyinstrument's call tree")
    ap.add_argument("--table", help="comma-separated endpoints: one CPU/wall share table")
    args = ap.parse_args()
    manifest = json.loads((HERE / "out" / f"{args.database}.json").read_text())
    from run import environment

    os.environ.update(environment(manifest["url"], port=5077, workers=1))
    from wsgi import app

    if args.table:
        table(app, manifest, args.table.split(","), args.requests)
        return
    call = endpoint_table(app, manifest)[args.endpoint]
    for _ in range(20):
        call()
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for _ in range(args.requests):
        call()
    profiler.stop()
    root = profiler.last_session.root_frame()
    total = root.time
    acc: dict[str, Any] = {"self": defaultdict(float), "pkg": defaultdict(float)}
    acc["under"] = defaultdict(float)
    walk(root, (), acc)
    n = args.requests
    print(f"{args.endpoint}: {n} requests, {total / n * 1000:.2f} ms wall each under pyinstrument")
    print("\nby package (self time):")
    for name, t in sorted(acc["pkg"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:40} {t / total * 100:5.1f}%")
    print("\nunder these frames (inclusive):")
    for label, *_ in UNDER:
        print(f"  {label:55} {acc['under'][label] / total * 100:5.1f}%")
    print(f"\ntop {args.top} functions by self time:")
    top = sorted(acc["self"].items(), key=lambda kv: -kv[1])[: args.top]
    for (fn, path), t in top:
        short = "/".join(Path(path).parts[-2:])
        print(f"  {t / total * 100:5.1f}%  {fn}  ({short})")
    if args.tree:
        print(profiler.output_text(unicode=False, color=False, show_all=False))


if __name__ == "__main__":
    main()
