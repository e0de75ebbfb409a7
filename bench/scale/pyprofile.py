"""Where one endpoint's time goes: pyinstrument (a sampling profiler) in process.

    python bench/scale/pyprofile.py --database ipt_scale_1 --endpoint runner [--requests 300]

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


def main() -> None:
    from cpu_split import endpoint_table  # the same endpoints and logins
    from pyinstrument import Profiler

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database", default="ipt_scale_1")
    ap.add_argument("--endpoint", default="runner")
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--tree", action="store_true", help="also print pyinstrument's call tree")
    args = ap.parse_args()
    manifest = json.loads((HERE / "out" / f"{args.database}.json").read_text())
    from run import environment

    os.environ.update(environment(manifest["url"], port=5077, workers=1))
    from wsgi import app

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
