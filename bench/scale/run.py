"""Load one seeded database under gunicorn with wrk; write the figures as JSON.

    python bench/scale/run.py --database ipt_scale_0_1

The app runs as on a platform: ``gunicorn -c gunicorn.conf.py wsgi:app`` with
APP_ENV=production, a generated SECRET_KEY and VAPID keys, WEB_CONCURRENCY=2 and
PROXY_HOPS=1 (the load generator plays the platform's router: X-Forwarded-For
and X-Forwarded-Proto). Each virtual user logs in once, from its own loopback
address so the per-address login limit is not what is measured.

Each endpoint then gets its own wrk run (after a short warm-up run) with the
same number of connections: the figures of one run belong to one endpoint, and
``/healthz`` runs first and last on the same server, so its mean is the yardstick
every ratio is taken against. Worker memory is read from /proc at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))


def environment(url: str, port: int, workers: int) -> dict[str, str]:
    from ipt_groups.push import vapid

    private, public = vapid.generate()
    return {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": url,
        "VAPID_PRIVATE_KEY": private,
        "VAPID_PUBLIC_KEY": public,
        "VAPID_SUBJECT": "mailto:ops@example.org",
        "PROXY_HOPS": "1",
        "WEB_CONCURRENCY": str(workers),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    }


def call(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes, list[str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    data = json.dumps(body).encode() if body is not None else None
    hdrs = {"X-Forwarded-Proto": "https", **(headers or {})}
    if data is not None:
        hdrs["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=hdrs)
    resp = conn.getresponse()
    payload = resp.read()
    cookies = resp.msg.get_all("Set-Cookie") or []
    conn.close()
    return resp.status, payload, cookies


def wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited; see its log")
        try:
            if call(port, "GET", "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("gunicorn did not answer /healthz")


def log_in(port: int, n: int, creds: dict[str, str]) -> str:
    """One login from loopback address 127.1.x.y; returns the Cookie header."""
    address = f"127.1.{n // 250}.{n % 250 + 1}"
    status, body, cookies = call(
        port, "POST", "/api/auth/login", creds, {"X-Forwarded-For": address}
    )
    if status != 200:
        raise SystemExit(f"login failed ({status}): {body[:200]!r}")
    return "; ".join(c.split(";", 1)[0] for c in cookies)


def request_lists(port: int, login: dict[str, Any], args: argparse.Namespace) -> dict[str, list]:
    password = login["password"]
    n = 0
    lists: dict[str, list[tuple[str, str]]] = {
        k: []
        for k in (
            "healthz",
            "me",
            "cohorts",
            "runner",
            "me_schedule",
            "me_check_in",
            "me_readings",
            "cohort_outcomes",
            "clinic_outcomes",
            "programme",
            "programme_filters",
            "programme_admin",
        )
    }
    lists["healthz"].append(("/healthz", ""))
    for email, cohorts in list(login["facilitators"].items())[: args.facilitators]:
        n += 1
        cookie = log_in(port, n, {"email": email, "password": password})
        lists["cohorts"].append(("/api/cohorts", cookie))
        for c in cohorts:
            lists["runner"].append((f"/api/sessions/{c['session_id']}/runner", cookie))
            lists["cohort_outcomes"].append((f"/api/cohorts/{c['cohort_id']}/outcomes", cookie))
    for email in list(login["supervisors"])[: args.supervisors]:
        n += 1
        cookie = log_in(port, n, {"email": email, "password": password})
        lists["clinic_outcomes"].append(("/api/outcomes", cookie))
        # The Programme page's call (issue 26): the supervisor's cohorts, all filters off.
        lists["programme"].append(("/api/programme", cookie))
        # The page's two other calls: the filter menus' facilitators and templates.
        lists["programme_filters"].append(("/api/staff?role=facilitator", cookie))
        lists["programme_filters"].append(("/api/programmes", cookie))
    n += 1
    # The same page for the admin: every cohort of the clinic (5,000 at full scale).
    admin = log_in(port, n, {"email": login["admin"], "password": password})
    lists["programme_admin"].append(("/api/programme", admin))
    for username in login["participants"][: args.participants]:
        n += 1
        cookie = log_in(port, n, {"username": username, "password": password})
        # A reference, not a target: the cheapest signed-in read (the session
        # lookup, one statement), the floor under every endpoint below.
        lists["me"].append(("/api/me", cookie))
        lists["me_schedule"].append(("/api/me/schedule", cookie))
        lists["me_check_in"].append(("/api/me/check-in", cookie))
        lists["me_readings"].append(("/api/me/readings", cookie))
    return lists


def check(port: int, lists: dict[str, list[tuple[str, str]]]) -> dict[str, Any]:
    """Every request once, by hand: all must answer 200 (else the figures would
    measure error pages). Returns each endpoint's typical response size."""
    sizes = {}
    for name, items in lists.items():
        total = 0
        for path, cookie in items:
            status, body, _ = call(port, "GET", path, headers={"Cookie": cookie} if cookie else {})
            if status != 200:
                raise SystemExit(f"{name}: GET {path} answered {status}: {body[:300]!r}")
            total += len(body)
        sizes[name] = round(total / len(items))
    return sizes


def wrk(port: int, requests_file: Path, seconds: int, connections: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            shutil.which("wrk") or "/usr/bin/wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "-s",
            str(HERE / "requests.lua"),
            f"http://127.0.0.1:{port}",
            "--",
            str(requests_file),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("{"))
    figures = json.loads(line)
    seconds_run = figures["duration_us"] / 1e6
    return {
        "rps": round(figures["requests"] / seconds_run, 1),
        "p50_ms": figures["p50_us"] / 1000,
        "p95_ms": figures["p95_us"] / 1000,
        "p99_ms": figures["p99_us"] / 1000,
        "max_ms": figures["max_us"] / 1000,
        "requests": figures["requests"],
        "errors": figures["non_2xx_3xx"] + figures["socket_errors"],
    }


def worker_pids(master: int) -> list[str]:
    """gunicorn's workers: the children of its master process."""
    return subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()


def worker_rss_mb(master: int) -> list[float]:
    sizes = []
    for pid in worker_pids(master):
        status = Path(f"/proc/{pid}/status").read_text()
        kb = next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmRSS:"))
        sizes.append(round(kb / 1024, 1))
    return sizes


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def profile(master: int, seconds: int, name: str) -> list[str]:
    """py-spy on each worker while an endpoint is under load (see --profile)."""
    procs = []
    files = []
    for pid in worker_pids(master):
        target = OUT / f"profile-{name}-{pid}.txt"
        files.append(str(target))
        procs.append(
            subprocess.Popen(
                [
                    str(BIN / "py-spy"),
                    "record",
                    "--pid",
                    pid,
                    "--duration",
                    str(seconds),
                    "--format",
                    "raw",
                    "--nonblocking",
                    "--output",
                    str(target),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return files if procs else []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database", default="ipt_scale")
    ap.add_argument("--port", type=int, default=5077)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=15, help="each measured wrk run")
    ap.add_argument("--warmup", type=int, default=3, help="each warm-up wrk run")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--facilitators", type=int, default=20)
    ap.add_argument("--supervisors", type=int, default=5)
    ap.add_argument("--participants", type=int, default=100)
    ap.add_argument("--only", help="comma-separated endpoint names (default: all)")
    ap.add_argument("--profile", help="an endpoint to record with py-spy while it is measured")
    args = ap.parse_args()
    manifest = json.loads((OUT / f"{args.database}.json").read_text())
    env = environment(manifest["url"], args.port, args.workers)
    log = (OUT / f"gunicorn-{args.database}.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    results: dict[str, Any] = {
        "database": args.database,
        "scale": manifest["scale"],
        "counts": manifest["counts"],
        "seed_timings": manifest["seed_timings"],
        "settings": {k: getattr(args, k) for k in ("workers", "seconds", "connections")},
        "loadavg_before": loadavg(),
        "cpus": os.cpu_count(),
        "endpoints": {},
    }
    try:
        wait_ready(args.port, proc)
        t0 = time.perf_counter()
        lists = request_lists(args.port, manifest["login"], args)
        results["login_s"] = round(time.perf_counter() - t0, 1)
        results["virtual_users"] = {k: len(v) for k, v in lists.items()}
        results["response_bytes"] = check(args.port, lists)
        names = [n for n in lists if n != "healthz"]
        if args.only:
            names = [n for n in names if n in args.only.split(",")]
        order = ["healthz", *names, "healthz"]
        healthz = []
        for name in order:
            file = OUT / f"requests-{name}.txt"
            file.write_text("".join(f"{p}\t{c}\n" for p, c in lists[name]))
            wrk(args.port, file, args.warmup, args.connections)
            if name == args.profile:
                results["profiles"] = profile(proc.pid, args.seconds, name)
            figures = wrk(args.port, file, args.seconds, args.connections)
            print(f"{name:16} {json.dumps(figures)}", flush=True)
            if name == "healthz":
                healthz.append(figures)
            else:
                results["endpoints"][name] = figures
        base = sum(h["rps"] for h in healthz) / len(healthz)
        results["healthz_runs"] = healthz
        results["endpoints"] = {
            "healthz": {**healthz[0], "rps": round(base, 1)},
            **results["endpoints"],
        }
        for figures in results["endpoints"].values():
            figures["ratio_to_healthz"] = round(figures["rps"] / base, 3)
        results["worker_rss_mb"] = worker_rss_mb(proc.pid)
        results["loadavg_after"] = loadavg()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=40)
        log.close()
    (OUT / f"{args.database}-results.json").write_text(json.dumps(results, indent=1))
    print(json.dumps({k: results[k] for k in ("worker_rss_mb", "loadavg_before", "loadavg_after")}))


if __name__ == "__main__":
    main()
