"""Open-loop load: the peak-hour mix (mix.py) at a constant arrival rate.

    python bench/scale/openloop.py --database ipt_scale_1 --rates 60 --seconds 60
    python bench/scale/openloop.py --database ipt_scale_1 --capacity   # step the rate up

Requests are *scheduled* at fixed times (one every 1/rate seconds, endpoints
interleaved in the mix's shares) and sent at those times whether or not earlier
answers have come back; each latency runs from the scheduled time to the last
byte, so a slow answer neither slows the offered load nor hides the queue
behind it (no coordinated omission). wrk and locust's ``constant_throughput``
are closed loops (a user waits for its answer before the next request); Debian
has no wrk2. Every request opens its own connection (``Connection: close``,
as bench/scale/requests.lua does) so the kernel spreads them over the workers.

The server is started as run.py starts it (gunicorn.conf.py, production
settings); the generator runs on the same two cores, and its own CPU and its
lag behind the schedule are reported so it can be seen not to be the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import signal
import subprocess
import time
from typing import Any

import aiohttp
from mix import SHARES
from run import BIN, OUT, ROOT, call, environment, loadavg, log_in, wait_ready, worker_rss_mb

LIMIT_MS = 50.0


def log_in_staff(port: int, n: int, email: str, password: str) -> tuple[str, str]:
    """(Cookie header, CSRF token) for a staff login from its own address."""
    address = f"127.2.{n // 250}.{n % 250 + 1}"
    status, body, cookies = call(
        port,
        "POST",
        "/api/auth/login",
        {"email": email, "password": password},
        {"X-Forwarded-For": address},
    )
    if status != 200:
        raise SystemExit(f"login failed ({status}): {body[:200]!r}")
    return "; ".join(c.split(";", 1)[0] for c in cookies), json.loads(body)["csrf_token"]


Request = tuple[str, str, dict[str, str], bytes | None]  # method, path, headers, body


def build(port: int, login: dict[str, Any], args: argparse.Namespace) -> dict[str, list[Request]]:
    password = login["password"]
    lists: dict[str, list[Request]] = {name: [] for name in SHARES}
    n = 0
    for email, cohorts in list(login["facilitators"].items())[: args.facilitators]:
        n += 1
        cookie, csrf = log_in_staff(port, n, email, password)
        lists["cohorts"].append(("GET", "/api/cohorts", {"Cookie": cookie}, None))
        for c in cohorts:
            sid = c["session_id"]
            lists["runner"].append(("GET", f"/api/sessions/{sid}/runner", {"Cookie": cookie}, None))
            status, body, _ = call(
                port, "GET", f"/api/sessions/{sid}/runner", headers={"Cookie": cookie}
            )
            if status != 200:
                raise SystemExit(f"runner {sid}: {status}")
            for member in json.loads(body)["members"][:3]:
                # The same mark again: a real write (audit row, cache invalidation),
                # and the data stays as seeded.
                entry = {"enrolment_id": member["enrolment_id"], "status": "present"}
                lists["attendance_put"].append(
                    (
                        "PUT",
                        f"/api/sessions/{sid}/attendance",
                        {
                            "Cookie": cookie,
                            "X-CSRF-Token": csrf,
                            "Content-Type": "application/json",
                        },
                        json.dumps({"entries": [entry]}).encode(),
                    )
                )
    for email in list(login["supervisors"])[: args.supervisors]:
        n += 1
        cookie, _ = log_in_staff(port, n, email, password)
        lists["clinic_outcomes"].append(("GET", "/api/outcomes", {"Cookie": cookie}, None))
    for username in login["participants"][: args.participants]:
        n += 1
        cookie = log_in(port, n, {"username": username, "password": password})
        for name, path in (
            ("me", "/api/me"),
            ("me_schedule", "/api/me/schedule"),
            ("me_check_in", "/api/me/check-in"),
            ("me_readings", "/api/me/readings"),
        ):
            lists[name].append(("GET", path, {"Cookie": cookie}, None))
    for name, items in lists.items():  # each once by hand: all must succeed
        method, path, headers, body = items[0]
        status, payload, _ = call(port, method, path, json.loads(body) if body else None, headers)
        if status != 200:
            raise SystemExit(f"{name}: {method} {path} answered {status}: {payload[:300]!r}")
    return lists


def schedule(rate: float, seconds: float) -> list[str]:
    """The endpoint of each arrival: smooth weighted round robin, so every window
    of the run has the mix's shares (not just the whole run on average)."""
    credit = dict.fromkeys(SHARES, 0.0)
    order = []
    for _ in range(int(rate * seconds)):
        for name, share in SHARES.items():
            credit[name] += share
        pick = max(credit, key=credit.__getitem__)
        credit[pick] -= 1.0
        order.append(pick)
    return order


async def offer(
    port: int, lists: dict[str, list[Request]], rate: float, seconds: float
) -> dict[str, Any]:
    order = schedule(rate, seconds)
    rng = random.Random(24)  # noqa: S311  (which user sends each request, not a secret)
    base = f"http://127.0.0.1:{port}"
    common = {"Connection": "close", "X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "https"}
    latencies: dict[str, list[float]] = {name: [] for name in SHARES}
    errors: dict[str, int] = dict.fromkeys(SHARES, 0)
    lag: list[float] = []
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=30)
    tasks = []
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def fire(name: str, due: float) -> None:
            method, path, headers, body = rng.choice(lists[name])
            lag.append(time.perf_counter() - due)
            try:
                async with http.request(
                    method, base + path, headers={**common, **headers}, data=body
                ) as r:
                    await r.read()
                    ok = r.status == 200
            except (TimeoutError, aiohttp.ClientError):
                ok = False
            latencies[name].append((time.perf_counter() - due) * 1000)
            errors[name] += not ok

        start = time.perf_counter() + 0.05
        cpu0 = time.process_time()
        for i, name in enumerate(order):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(fire(name, due)))
        await asyncio.gather(*tasks)
        cpu = time.process_time() - cpu0
    wall = time.perf_counter() - start
    return {
        "rate": rate,
        "seconds": seconds,
        "achieved_rps": round(len(order) / wall, 1),
        "generator_cpu_share": round(cpu / wall, 3),
        "generator_lag_p99_ms": round(percentile(lag, 99) * 1000, 2),
        "endpoints": {
            name: {
                "n": len(v),
                "p50_ms": round(percentile(v, 50), 1),
                "p95_ms": round(percentile(v, 95), 1),
                "p99_ms": round(percentile(v, 99), 1),
                "max_ms": round(max(v), 1) if v else None,
                "errors": errors[name],
            }
            for name, v in latencies.items()
        },
    }


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def worst(result: dict[str, Any], min_n: int) -> tuple[str, float]:
    """The endpoint with the highest p95 among those with enough samples."""
    rows = [(v["p95_ms"], k) for k, v in result["endpoints"].items() if v["n"] >= min_n]
    p95, name = max(rows)
    return name, p95


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database", default="ipt_scale_1")
    ap.add_argument("--port", type=int, default=5093)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--rates", default="60", help="comma-separated arrival rates (req/s)")
    ap.add_argument("--seconds", type=float, default=60.0, help="each measured rate")
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument(
        "--capacity",
        action="store_true",
        help="after --rates, from --capacity-from up by --step until an endpoint's p95 > 50 ms",
    )
    ap.add_argument("--step", type=float, default=15.0)
    ap.add_argument("--capacity-from", type=float, default=15.0)
    ap.add_argument("--step-seconds", type=float, default=20.0)
    ap.add_argument("--max-rate", type=float, default=400.0)
    ap.add_argument("--min-n", type=int, default=20, help="samples an endpoint needs to count")
    ap.add_argument("--facilitators", type=int, default=20)
    ap.add_argument("--supervisors", type=int, default=5)
    ap.add_argument("--participants", type=int, default=100)
    ap.add_argument("--label", default="", help="suffix of the results file")
    args = ap.parse_args()
    manifest = json.loads((OUT / f"{args.database}.json").read_text())
    env = environment(manifest["url"], args.port, args.workers)
    env["GUNICORN_THREADS"] = str(args.threads)
    log = (OUT / f"gunicorn-openloop-{args.database}.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    results: dict[str, Any] = {
        "database": args.database,
        "workers": args.workers,
        "threads": args.threads,
        "shares": SHARES,
        "loadavg_before": loadavg(),
        "runs": [],
    }
    try:
        wait_ready(args.port, proc)
        lists = build(args.port, manifest["login"], args)
        rates = [float(r) for r in args.rates.split(",")]
        for rate in rates:
            asyncio.run(offer(args.port, lists, rate, args.warmup))
            run = asyncio.run(offer(args.port, lists, rate, args.seconds))
            results["runs"].append(run)
            print(json.dumps(run), flush=True)
        if args.capacity:
            # From a low rate up, so the first rate over the limit is found even
            # when the measured rates above already miss it.
            rate = args.capacity_from
            while rate <= args.max_rate:
                asyncio.run(offer(args.port, lists, rate, args.warmup))
                run = asyncio.run(offer(args.port, lists, rate, args.step_seconds))
                results["runs"].append({**run, "capacity_step": True})
                name, p95 = worst(run, args.min_n)
                print(json.dumps(run), flush=True)
                if p95 > LIMIT_MS:
                    results["capacity"] = {
                        "rate": rate,
                        "endpoint": name,
                        "p95_ms": p95,
                        "last_within": rate - args.step if rate > args.capacity_from else None,
                    }
                    break
                rate += args.step
        results["worker_rss_mb"] = worker_rss_mb(proc.pid)
        results["loadavg_after"] = loadavg()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=40)
        log.close()
    target = OUT / f"{args.database}-openloop{args.label}.json"
    target.write_text(json.dumps(results, indent=1))
    print(json.dumps({k: results.get(k) for k in ("capacity", "worker_rss_mb", "loadavg_after")}))


if __name__ == "__main__":
    main()
