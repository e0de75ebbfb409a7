"""SMS fan-out benchmark (not a test): how fast the dispatcher empties the outbox by SMS.

The SMS twin of ``bench/push_fanout.py``, on the same PostgreSQL database (its
schema wiped again): N due notifications for N members, each with a consented
number on their enrolment and no device, so the real dispatcher (claim, route,
render, send, record; ``SMS_CONCURRENCY`` requests at once) sends every one
through the Twilio adapter to the fake gateway (tests/fake_sms.py, standalone,
its own process, like the fake push service) answering after LATENCY seconds.
Printed: messages per second end to end, CPU, and this process's peak resident
memory. With 32 concurrent requests at 100 ms the ceiling is 320/s.

``make bench`` runs it after the push benchmark and prints the two side by side
(``--json`` adds a last line of figures as JSON for that). Alone:
``.venv/bin/python bench/sms_fanout.py [N]`` with ``BENCH_DATABASE_URL``;
``BENCH_SMS_LATENCY`` (default 0.1 s) and ``BENCH_SMS_CONCURRENCY`` (default 32,
the ``SMS_CONCURRENCY`` default).
"""

from __future__ import annotations

import gc
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from datetime import time as clock_time
from pathlib import Path

import flask_migrate
from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from push_fanout import URL, fresh_database  # noqa: E402

from ipt_groups import create_app  # noqa: E402
from ipt_groups.extensions import db  # noqa: E402
from ipt_groups.models import (  # noqa: E402
    Cohort,
    Enrolment,
    Notification,
    NotificationKind,
    NotificationPreference,
    User,
)
from ipt_groups.push import dispatcher as dispatch  # noqa: E402

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
N = int(ARGS[0]) if ARGS else 10_000
JSON = "--json" in sys.argv
LATENCY = float(os.environ.get("BENCH_SMS_LATENCY", "0.1"))
CONCURRENCY = int(os.environ.get("BENCH_SMS_CONCURRENCY", "32"))
SID = "AC" + "0" * 32
FROM = "+15005550006"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_gateway(log: Path) -> tuple[subprocess.Popen, str]:
    """tests.fake_sms standalone (accepts any credentials, prints a line a message)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_sms", "--port", str(port), "--latency", str(LATENCY)],
        cwd=ROOT,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the fake SMS gateway did not start") from None
            time.sleep(0.1)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seed(n: int) -> None:
    """One cohort; N members, each enrolled with a number and SMS consent, no
    device; one due notification each (bulk inserts)."""
    now = datetime.now(UTC)
    db.session.execute(
        insert(Cohort),
        [
            {"name": "Bench", "programme_key": "who-8", "programme": {}, "language": "en",
             "time_zone": "Europe/London", "weekday": 1, "local_time": clock_time(17),
             "start_date": date(2026, 3, 10), "session_minutes": 90, "capacity": n,
             "status": "active"}
        ],
    )  # fmt: skip
    cohort = db.session.scalar(text("SELECT id FROM cohorts"))
    db.session.execute(
        insert(User),
        [
            {"username": f"bench-{i:05d}", "display_name": f"Bench {i}", "role": "participant",
             "language": "en", "time_zone": "Europe/London"}
            for i in range(n)
        ],
    )  # fmt: skip
    ids = [row[0] for row in db.session.execute(text("SELECT id FROM users ORDER BY id"))]
    db.session.execute(
        insert(Enrolment),
        [
            {"cohort_id": cohort, "user_id": uid, "display_name": f"Bench {i}",
             "contact_phone": f"+4474{i:08d}", "status": "enrolled", "consent_at": now}
            for i, uid in enumerate(ids)
        ],
    )  # fmt: skip
    db.session.execute(
        insert(NotificationPreference),
        [{"user_id": uid, "quiet_start": None, "quiet_end": None, "sms_consent_at": now}
         for uid in ids],
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


def run(n: int = N) -> dict[str, float]:
    fresh_database(URL)
    with tempfile.TemporaryDirectory() as tmp:
        gateway, origin = start_gateway(Path(tmp) / "gateway.log")
        try:
            app = create_app(
                {
                    "APP_ENV": "development",
                    "DATABASE_URL": URL,
                    "INSTANCE_PATH": tmp,
                    "SMS_PROVIDER": "twilio",
                    "SMS_CONCURRENCY": str(CONCURRENCY),
                    "TWILIO_ACCOUNT_SID": SID,
                    "TWILIO_AUTH_TOKEN": "bench-token",
                    "TWILIO_FROM": FROM,
                    "TWILIO_BASE_URL": origin,
                    "PUBLIC_URL": "https://ipt.bench.example",  # StatusCallback, as in production
                    "LOG_LEVEL": "WARNING",
                }
            )
            with app.app_context():
                flask_migrate.upgrade()
                seed(n)
                sender = dispatch.for_app(app)
                gc.collect()
                gc.freeze()  # as the clock does before it starts (clock.run_clock)
                started = time.perf_counter()
                cpu_started = time.process_time()
                total = sender.drain(max_seconds=3600)
                elapsed = time.perf_counter() - started
                cpu = time.process_time() - cpu_started
                sent = db.session.scalar(
                    text(
                        "SELECT count(*) FROM notifications WHERE status = 'sent' "
                        "AND channel = 'sms'"
                    )
                )
                left = db.session.scalar(
                    text("SELECT count(*) FROM notifications WHERE status <> 'sent'")
                )
                sender.close_channels()
                sender.transport.close()
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            gateway_cpu = _cpu_seconds(gateway.pid)
        finally:
            gateway.terminate()
            gateway.wait(10)
        # Threads print at once, so lines may interleave: count the markers.
        accepted = (Path(tmp) / "gateway.log").read_text().count("[twilio] to ")
    return {
        "n": n,
        "latency": LATENCY,
        "concurrency": CONCURRENCY,
        "sent": sent,
        "by_this_process": total.sent,
        "left": left,
        "accepted": accepted,
        "elapsed": elapsed,
        "cpu": cpu,
        "rate": sent / elapsed,
        "peak_mb": peak_mb,
        "gateway_cpu": gateway_cpu,
    }


def show(r: dict[str, float]) -> None:
    print(f"SMS fan-out: {r['n']} messages, gateway latency {r['latency'] * 1000:.0f} ms, "
          f"{r['concurrency']} concurrent requests, Twilio adapter, PostgreSQL")  # fmt: skip
    print(f"  sent {r['sent']}, not sent {r['left']}, accepted by the gateway {r['accepted']}")
    print(
        f"  end to end:            {r['rate']:8.0f} messages/s  ({r['elapsed']:.2f} s wall, "
        f"{r['cpu']:.2f} s CPU, {r['cpu'] / max(r['sent'], 1) * 1000:.2f} ms CPU per message; "
        f"ceiling {r['concurrency'] / r['latency']:.0f}/s)"
    )
    print(f"  fake gateway CPU:      {r['gateway_cpu']:8.2f} s (its own process)")
    print(f"  peak resident memory:  {r['peak_mb']:8.0f} MB")


if __name__ == "__main__":
    figures = run()
    show(figures)
    if JSON:  # one last line for bench/push_fanout.py's side-by-side table
        print(json.dumps(figures))
