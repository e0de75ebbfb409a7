"""The clock process: the only place with a scheduler.

``flask --app wsgi clock`` runs ``BlockingScheduler`` with the jobs listed in
``JOBS``. Jobs are defined in code with fixed ids and an in-memory job store: no
pickled jobs to go stale, and two overlapping clocks (a platform restart) are
safe because each job claims its work in the database. Each job is a thin call
into a service, run inside an app context with its own unit of work.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask, current_app
from sqlalchemy import delete

from ipt_groups.extensions import db
from ipt_groups.models import (
    FINAL_STATUSES,
    AuditEvent,
    ClockHeartbeat,
    DeliveryAttempt,
    IdempotencyKey,
    Notification,
)
from ipt_groups.push import dispatcher
from ipt_groups.services import (
    alerts,
    content,
    follow_up,
    reminder_summary,
    reminders,
    throttle,
)
from ipt_groups.timesource import utcnow

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
    count = alerts.escalate_overdue()
    if count:
        log.warning("escalated %d unacknowledged risk alert(s) to admins", count)


def release_content() -> None:
    """Release readings whose session (or chosen moment) has come."""
    count = content.release_due()
    if count:
        log.info("released %d reading(s) to cohorts", count)


def plan_reminders() -> None:
    """Plan session reminders for the next two days (a reconciliation: cheap when
    nothing changed, and it catches anything a request did not plan). The
    follow-ups owed by programmes that just ended are booked first, so their
    reminders are planned with the rest."""
    follow_up.ensure_follow_ups()
    report = reminders.plan()
    if report.created or report.cancelled or report.moved:
        log.info(
            "reminders: %d planned, %d moved, %d cancelled",
            report.created, report.moved, report.cancelled,
        )  # fmt: skip


def dispatch_notifications() -> None:
    """Send what is due, batch after batch, for at most DISPATCH_BUDGET seconds;
    the next tick carries on (coalesce + max_instances=1: never two at once)."""
    report = dispatcher.for_app(current_app._get_current_object()).drain(DISPATCH_BUDGET)  # type: ignore[attr-defined]
    if report.claimed or report.expired:
        log.info("push: %s", report)


def prune() -> None:
    """Delete what is past its keeping time: finished outbox rows and their
    delivery attempts after NOTIFICATION_RETENTION_DAYS, audit entries after
    AUDIT_RETENTION_DAYS, replay keys after IDEMPOTENCY_DAYS, rate-limit counters
    once no window or lockout can need them."""
    cutoff = utcnow() - current_app.config["NOTIFICATION_RETENTION"]
    old = (Notification.status.in_(FINAL_STATUSES), Notification.created_at < cutoff)
    summarised = reminder_summary.affected(*old)  # their counts go with them
    gone = db.session.execute(delete(Notification).where(*old)).rowcount
    reminder_summary.resummarise(summarised)
    attempts = db.session.execute(
        delete(DeliveryAttempt).where(DeliveryAttempt.at < cutoff)
    ).rowcount
    # A client replays a queued write within days (a tablet back in signal), not
    # months; after that the key only says who wrote when, which the audit keeps.
    keys = db.session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.created_at < utcnow() - timedelta(days=IDEMPOTENCY_DAYS)
        )
    ).rowcount
    audit_rows = db.session.execute(
        delete(AuditEvent).where(AuditEvent.at < utcnow() - current_app.config["AUDIT_RETENTION"])
    ).rowcount
    counters = throttle.prune(utcnow())
    if gone or attempts or keys or audit_rows or counters:
        log.info(
            "prune: %d notification(s), %d attempt(s), %d idempotency key(s), %d audit entries, "
            "%d rate counter(s)",
            gone,
            attempts,
            keys,
            audit_rows,
            counters,
        )


def summarise_reminders() -> None:
    """Summarise the member session reminders of the days that closed (for the
    Programme page's reminder counts, services/reminder_summary.py): one read of
    the mark when there is nothing to do, one INSERT … SELECT once a day."""
    before = reminder_summary.mark()
    after = reminder_summary.advance(utcnow())
    if after != before:
        log.info("reminder summary: through %s (was %s)", after, before)


DISPATCH_BUDGET = 20.0
IDEMPOTENCY_DAYS = 30

JOBS: tuple[Job, ...] = (
    Job(id="heartbeat", func=heartbeat, seconds=HEARTBEAT_SECONDS),
    Job(id="dispatch_notifications", func=dispatch_notifications, seconds=5),
    Job(id="plan_reminders", func=plan_reminders, seconds=60),
    Job(id="escalate_alerts", func=escalate_alerts, seconds=60),
    Job(id="release_content", func=release_content, seconds=30),
    Job(id="prune", func=prune, seconds=6 * 3600),
    # Hourly, so a day is summarised within the hour it closes; it does work once a day.
    Job(id="summarise_reminders", func=summarise_reminders, seconds=3600),
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
        log.info("clock: signal %s, finishing sends in flight", signum)
        # Sends already on the wire finish; claimed rows not yet sent go back to
        # pending for the next clock. Then wait for running jobs to return.
        dispatcher.for_app(app).stop.set()
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("clock: starting with jobs %s", ", ".join(j.id for j in JOBS))
    # Everything loaded so far (the app, its modules) lives as long as the
    # process: out of the garbage collector's sight, its full collections stop
    # walking them again and again while the dispatcher sends (the cost per
    # message: docs/benchmarks.md, "Push fan-out", gc.freeze). Collected first, so no garbage
    # of start-up is kept for good.
    gc.collect()
    gc.freeze()
    scheduler.start()
    dispatcher.for_app(app).transport.close()
    dispatcher.for_app(app).close_channels()
    log.info("clock: stopped")
