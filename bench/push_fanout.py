"""Push fan-out benchmark (not a test): how fast the dispatcher empties the outbox.

On PostgreSQL: N due notifications for N people with one subscription each; the
fake push service (tests/fake_push.py) runs as its own process, verifies every
VAPID header, decrypts every message and answers after LATENCY seconds. The
dispatcher (the clock's own code: claim, render, encrypt, send, record) runs
until the outbox is empty. Printed, from the same run:

- messages per second end to end, and peak resident memory of this process;
- the ratio to a naive loop of ``pywebpush.webpush()`` calls (one at a time,
  signing every message, no shared session), timed on a sample;
- the ratio to the CPU cost of encryption alone (the dispatcher's
  ``transport.encrypt``, i.e. pywebpush's ``WebPusher`` made and ``encode`` called
  per message; ``encode`` alone on ready-made pushers is printed beside it), i.e.
  how close the pipeline gets to the cost of the cryptography.

``BENCH_PROCESSES=2`` runs a second dispatcher process beside this one (the
claims make that safe), to see what a second core buys.

Then the SMS fan-out (``bench/sms_fanout.py``: the same N through the Twilio
adapter to the fake gateway at 100 ms, in a fresh process so its peak memory
is its own) and a table of the two side by side; ``BENCH_SMS=0`` skips it.

Usage: ``make bench``, or ``.venv/bin/python bench/push_fanout.py [N]`` with
``BENCH_DATABASE_URL`` (default postgresql://postgres@127.0.0.1:5432/ipt_bench;
the database is created if missing and its schema wiped).
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import flask_migrate
import psycopg
from pywebpush import WebPusher, webpush
from sqlalchemy import create_engine, insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ipt_groups import create_app  # noqa: E402
from ipt_groups.config import normalise_database_url  # noqa: E402
from ipt_groups.extensions import db  # noqa: E402
from ipt_groups.messaging.endpoints import DEFAULT_PUSH_HOSTS  # noqa: E402
from ipt_groups.models import Notification, NotificationKind, PushSubscription, User  # noqa: E402
from ipt_groups.push import dispatcher as dispatch  # noqa: E402
from ipt_groups.push.transport import encrypt  # noqa: E402

WORKER = len(sys.argv) > 1 and sys.argv[1] == "--worker"
N = int(sys.argv[1]) if len(sys.argv) > 1 and not WORKER else 10_000
PROCESSES = int(os.environ.get("BENCH_PROCESSES", "1"))
LATENCY = float(os.environ.get("BENCH_LATENCY", "0.05"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "128"))  # the PUSH_CONCURRENCY default
NAIVE_SAMPLE = 100
CRYPTO_SAMPLE = 2_000
URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/ipt_bench")


def fresh_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    engine = create_engine(normalise_database_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def start_fake_service(public_key: str, count: int, folder: Path) -> tuple[subprocess.Popen, dict]:
    out = folder / "subs.json"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "tests.fake_push", "--public-key", public_key,
            "--latency", str(LATENCY), "--subscriptions", str(count), "--out", str(out),
            "--no-record",
        ],
        cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not out.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the fake push service did not start")
        time.sleep(0.1)
    return proc, json.loads(out.read_text())


def stats(origin: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{origin}/_stats", timeout=10) as response:
        return json.loads(response.read())


def db_sent(app: Any) -> int:
    with app.app_context():
        return db.session.scalar(text("SELECT count(*) FROM notifications WHERE status = 'sent'"))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of another process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seed(subscriptions: list[dict]) -> None:
    """N participants, one device each, one due notification each (bulk inserts)."""
    db.session.execute(
        insert(User),
        [
            {"username": f"bench-{i:05d}", "display_name": f"Bench {i}", "role": "participant",
             "language": "en", "time_zone": "Europe/London"}
            for i in range(len(subscriptions))
        ],
    )  # fmt: skip
    ids = [row[0] for row in db.session.execute(text("SELECT id FROM users ORDER BY id"))]
    db.session.execute(
        insert(PushSubscription),
        [
            {"user_id": uid, "endpoint": sub["endpoint"], "endpoint_hash": f"{i:064d}",
             "p256dh": sub["keys"]["p256dh"], "auth": sub["keys"]["auth"]}
            for i, (uid, sub) in enumerate(zip(ids, subscriptions, strict=True))
        ],
    )  # fmt: skip
    db.session.execute(
        insert(Notification),
        [
            {"user_id": uid, "kind": NotificationKind.CONTENT_RELEASED,
             "dedupe_key": f"bench:{uid}", "ref_type": "bench", "ref_id": uid, "attempts": 0}
            for uid in ids
        ],
    )  # fmt: skip
    db.session.commit()


def naive_rate(app_keys, subscriptions: list[dict]) -> float:
    """Messages/second of the obvious loop: webpush() per message, signing each time."""
    started = time.perf_counter()
    for sub in subscriptions[:NAIVE_SAMPLE]:
        webpush(
            sub,
            data=json.dumps({"title": "Something new", "body": "New reading from your group."}),
            vapid_private_key=app_keys.private_key,
            vapid_claims={"sub": app_keys.subject},  # a fresh dict per call
            ttl=3600,
            timeout=10,
        )
    return NAIVE_SAMPLE / (time.perf_counter() - started)


def crypto_rates(subscriptions: list[dict]) -> tuple[float, float]:
    """Messages/second of encryption alone on one core (CPU time): the
    dispatcher's (``transport.encrypt``: a ``WebPusher`` per message) and
    pywebpush's ``encode`` alone (pushers made beforehand)."""
    payload = b'{"id":1,"title":"Something new","body":"New reading from your group."}'
    sample = subscriptions[:CRYPTO_SAMPLE]
    started = time.process_time()
    for sub in sample:
        encrypt(payload, sub["keys"]["p256dh"], sub["keys"]["auth"])
    ours = len(sample) / (time.process_time() - started)
    pushers = [WebPusher(s) for s in sample]
    started = time.process_time()
    for pusher in pushers:
        pusher.encode(payload)
    return ours, len(pushers) / (time.process_time() - started)


def worker() -> None:
    """A second dispatcher process (BENCH_PROCESSES=2): the same drain, its own
    process; prints its peak memory."""
    app = create_app(
        {
            "APP_ENV": "development",
            "DATABASE_URL": URL,
            "INSTANCE_PATH": os.environ["BENCH_INSTANCE"],
            "PUSH_ALLOWED_HOSTS": os.environ["BENCH_ALLOWED"],
            "PUSH_CONCURRENCY": str(CONCURRENCY),
            "LOG_LEVEL": "WARNING",
        }
    )
    with app.app_context():
        gc.collect()
        gc.freeze()  # as the clock does before it starts (clock.run_clock)
        dispatch.for_app(app).drain(max_seconds=3600)
    print(int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), flush=True)


def main() -> None:
    fresh_database(URL)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        probe = create_app({"APP_ENV": "development", "DATABASE_URL": URL, "INSTANCE_PATH": tmp})
        keys = probe.config["VAPID_KEYS"]
        fake, info = start_fake_service(keys.public_key, N, folder)
        try:
            app = create_app(
                {
                    "APP_ENV": "development",
                    "DATABASE_URL": URL,
                    "INSTANCE_PATH": tmp,
                    "PUSH_ALLOWED_HOSTS": ",".join((*DEFAULT_PUSH_HOSTS, info["origin"])),
                    "PUSH_CONCURRENCY": str(CONCURRENCY),
                    "LOG_LEVEL": "WARNING",
                }
            )
            with app.app_context():
                flask_migrate.upgrade()
                seed(info["subscriptions"])
                sender = dispatch.for_app(app)
                extra = [
                    subprocess.Popen(
                        [sys.executable, __file__, "--worker"],
                        env={
                            **os.environ,
                            "BENCH_INSTANCE": tmp,
                            "BENCH_ALLOWED": ",".join((*DEFAULT_PUSH_HOSTS, info["origin"])),
                        },
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                    for _ in range(PROCESSES - 1)
                ]
                gc.collect()
                gc.freeze()  # as the clock does before it starts (clock.run_clock)
                started = time.perf_counter()
                cpu_started = time.process_time()
                total = sender.drain(max_seconds=3600)
                worker_mb = [int(p.communicate()[0].strip() or 0) for p in extra]
                elapsed = time.perf_counter() - started
                cpu = time.process_time() - cpu_started
                left = db.session.scalar(
                    text("SELECT count(*) FROM notifications WHERE status <> 'sent'")
                )
                sender.transport.close()
            service = stats(info["origin"])
            fake_cpu = _cpu_seconds(fake.pid)
            sent = db_sent(app)
            rate = sent / elapsed
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            naive = naive_rate(keys, info["subscriptions"][N // 2 :])
            crypto, crypto_pywebpush = crypto_rates(info["subscriptions"])
        finally:
            fake.terminate()
            fake.wait(10)

    print(f"push fan-out: {N} messages, push service latency {LATENCY * 1000:.0f} ms, "
          f"{CONCURRENCY} concurrent sends, {PROCESSES} dispatcher process(es), "
          "PostgreSQL")  # fmt: skip
    print(f"  sent {sent} ({total.sent} by this process), not sent {left}, "
          f"accepted by the service {service['ok']}, rejected {service['rejected']}")  # fmt: skip
    print(
        f"  end to end:            {rate:8.0f} messages/s  ({elapsed:.2f} s wall, {cpu:.2f} s CPU,"
        f" {cpu / max(total.sent, 1) * 1000:.2f} ms CPU per message it sent)"
    )
    print(f"  fake push service CPU: {fake_cpu:8.2f} s (its own process)")
    print(
        f"  peak resident memory:  {peak_mb:8.0f} MB"
        + (f" (other dispatchers: {', '.join(f'{m} MB' for m in worker_mb)})" if worker_mb else "")
    )
    print(f"  naive webpush() loop:  {naive:8.1f} messages/s  -> ratio {rate / naive:6.1f}x")
    print(f"  encryption alone:      {crypto:8.0f} messages/s/core -> end to end is "
          f"{rate / crypto:.2f} of it (encode alone: {crypto_pywebpush:.0f})")  # fmt: skip
    target = rate >= 1000 and peak_mb < 200
    print(f"  target (>= 1000 msg/s, < 200 MB): {'met' if target else 'NOT met'}")
    if os.environ.get("BENCH_SMS", "1") != "0":
        compare_sms(rate, peak_mb, sent)


def compare_sms(push_rate: float, push_mb: float, push_sent: int) -> None:
    """The SMS benchmark in its own process, then both channels side by side."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sms_fanout.py"), str(N), "--json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    ).stdout
    *report, figures = out.strip().splitlines()  # its report, then its figures as JSON
    sms = json.loads(figures)
    print()
    print("\n".join(line for line in report if line.startswith(("SMS", "  "))))
    print()
    print(f"{'channel':8} {'latency':>8} {'concurrent':>10} {'sent':>7} {'msg/s':>7} "
          f"{'peak RSS':>9}")  # fmt: skip
    print(f"{'push':8} {LATENCY * 1000:6.0f} ms {CONCURRENCY:10d} {push_sent:7d} "
          f"{push_rate:7.0f} {push_mb:6.0f} MB")  # fmt: skip
    print(f"{'sms':8} {sms['latency'] * 1000:6.0f} ms {sms['concurrency']:10d} {sms['sent']:7d} "
          f"{sms['rate']:7.0f} {sms['peak_mb']:6.0f} MB")  # fmt: skip


if __name__ == "__main__":
    worker() if WORKER else main()
