"""The clock process: the only place with a scheduler.

``flask --app wsgi clock`` runs ``BlockingScheduler`` with the jobs listed in
``JOBS``. Jobs are defined in code with fixed ids and an in-memory job store: no
pickled jobs to go stale, and two overlapping clocks (a platform restart) are
safe because each job claims its work in the database. Each job is a thin call
into a service, run inside an app context with its own unit of work.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from ipt_groups.clock import utcnow
from ipt_groups.extensions import db
from ipt_groups.models import ClockHeartbeat
from ipt_groups.services import content, risk

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30


@dataclass(frozen=True)
class Job:
    id: str
    func: Callable[[], None]
    seconds: int


def heartbeat(name: str = "clock") -> None:
    """Record that the clock is alive, for /readyz."""
    row = db.session.get(ClockHeartbeat, name)
    if row is None:
        row = ClockHeartbeat(name=name)
        db.session.add(row)
    row.beat_at = utcnow()
    row.host = socket.gethostname()[:255]
    row.pid = os.getpid()


def escalate_alerts() -> None:
    """Tell the admins about risk alerts nobody acknowledged in time."""
    count = risk.escalate_overdue()
    if count:
        log.warning("escalated %d unacknowledged risk alert(s) to admins", count)


def release_content() -> None:
    """Release readings whose session (or chosen moment) has come."""
    count = content.release_due()
    if count:
        log.info("released %d reading(s) to cohorts", count)


JOBS: tuple[Job, ...] = (
    Job(id="heartbeat", func=heartbeat, seconds=HEARTBEAT_SECONDS),
    Job(id="escalate_alerts", func=escalate_alerts, seconds=60),
    Job(id="release_content", func=release_content, seconds=30),
)


def _in_app(app: Flask, job: Job) -> Callable[[], None]:
    """Run a job in an app context as one transaction; log, never crash the clock."""

    def run() -> None:
        with app.app_context():
            try:
                job.func()
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("job %s failed", job.id)
            finally:
                db.session.remove()

    return run


def build_scheduler(app: Flask) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC")
    for job in JOBS:
        scheduler.add_job(
            _in_app(app, job),
            IntervalTrigger(seconds=job.seconds),
            id=job.id,
            name=job.id,
            replace_existing=True,
            coalesce=True,  # after downtime run once, not once per missed tick
            max_instances=1,
            misfire_grace_time=300,  # the default of 1 s silently drops runs
            next_run_time=utcnow(),  # beat at once, so /readyz sees a fresh clock
        )
    return scheduler


def run_clock(app: Flask) -> None:
    """Run until SIGTERM / SIGINT, then finish the running job and exit cleanly."""
    scheduler = build_scheduler(app)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("clock: signal %s, shutting down", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("clock: starting with jobs %s", ", ".join(j.id for j in JOBS))
    scheduler.start()
    log.info("clock: stopped")
