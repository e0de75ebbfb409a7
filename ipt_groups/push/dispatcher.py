"""Emptying the outbox: claim due rows, send them, record what happened.

Two clocks can overlap for a while (a platform starts the new one before the
old one has exited), and a clock can be killed at any moment. So a batch is
*claimed* in one statement: each row gets this batch's token and a lease. On
PostgreSQL the candidate rows are locked with ``FOR UPDATE SKIP LOCKED``, so a
second dispatcher takes the next rows instead of waiting; on SQLite the single
UPDATE runs under the database's write lock. A row whose lease ran out (its
dispatcher died) is due again and is taken over. Every later write to a row is
conditional on the batch's token, so a dispatcher that lost its lease cannot
overwrite the one that took over.

The claim is committed before any network traffic: no transaction stays open
while we wait for push services.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import (
    ARRAY,
    and_,
    any_,
    bindparam,
    delete,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from ipt_groups.clock import utcnow
from ipt_groups.extensions import db
from ipt_groups.models import (
    DeliveryAttempt,
    Notification,
    NotificationKind,
    NotificationStatus,
    PushSubscription,
    User,
)
from ipt_groups.models.types import UTCDateTime
from ipt_groups.push import messages
from ipt_groups.push.endpoints import policy
from ipt_groups.push.transport import RETRYABLE, Outcome, Outgoing, Result, Transport

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
LEASE = timedelta(minutes=2)  # far longer than a batch takes (timeouts are 10 s)
# Push services have outages of hours, not minutes. With the backoff below, 22
# attempts are about 8 hours of retrying, so a reminder outlives an outage and
# is sent once the service recovers; one whose moment passes first expires.
MAX_ATTEMPTS = 22
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(minutes=30)
DEFAULT_TTL = 24 * 3600  # a phone that is off for a day still gets it
URGENCY = {
    NotificationKind.RISK_ALERT: "high",
    NotificationKind.RISK_ESCALATION: "high",
    NotificationKind.SESSION_1H: "high",
    NotificationKind.CONTENT_RELEASED: "low",
}

_table = Notification.__table__
_attempts = DeliveryAttempt.__table__
_ATTEMPT_COLUMNS = (
    "notification_id",
    "subscription_id",
    "push_host",
    "status_code",
    "outcome",
    "error",
    "duration_ms",
)
# PostgreSQL: a batch's attempts in one statement, each column one array, instead
# of an executemany of a thousand rows (psycopg pipelines those, but still binds,
# sends and acknowledges each row).
_INSERT_ATTEMPTS = text(
    "INSERT INTO delivery_attempts (notification_id, subscription_id, push_host,"
    " status_code, outcome, error, duration_ms, at)"
    " SELECT a.*, :at FROM unnest("
    "CAST(:notification_id AS integer[]), CAST(:subscription_id AS integer[]),"
    " CAST(:push_host AS varchar[]), CAST(:status_code AS integer[]),"
    " CAST(:outcome AS varchar[]), CAST(:error AS varchar[]),"
    " CAST(:duration_ms AS integer[])) AS a"
).bindparams(bindparam("at", type_=UTCDateTime()))


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _among(column: Any, values: Any) -> ColumnElement[bool]:
    """``column IN (values)``. On PostgreSQL ``column = ANY(:array)``: one bound
    parameter instead of one per value. A batch's thousand ids as a thousand
    parameters cost SQLAlchemy a thousand renderings and psycopg a parse of a
    statement too long for its cache, on every statement that named them."""
    values = list(values)
    if _postgres():
        return column == any_(literal(values, ARRAY(column.type)))
    return column.in_(values)


@dataclass
class Report:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    no_channel: int = 0
    cancelled: int = 0
    expired: int = 0
    released: int = 0
    attempts: int = 0

    def add(self, other: Report) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def backoff(attempt: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 30 min, with jitter so retries spread out."""
    # Capped after the jitter, so a waiting row comes back at least every half hour.
    delay = BACKOFF_BASE * (2 ** min(max(attempt - 1, 0), 16)) * random.uniform(0.8, 1.2)  # noqa: S311 (jitter, not a secret)
    return min(delay, BACKOFF_CAP)


@dataclass
class _Batch:
    """One claimed batch between preparing it and settling it."""

    token: str
    report: Report = field(default_factory=Report)
    outgoing: list[Outgoing] = field(default_factory=list)
    rows: dict[int, _Row] = field(default_factory=dict)
    finals: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Row:
    """What the dispatcher needs of a claimed row, read while the claim is fresh."""

    id: int
    kind: str
    attempts: int
    expires_at: datetime | None
    user_id: int
    results: list[Result] = field(default_factory=list)


class Dispatcher:
    def __init__(
        self,
        transport: Transport,
        secret: bytes,
        *,
        batch_size: int = BATCH_SIZE,
        lease: timedelta = LEASE,
    ) -> None:
        self.transport = transport
        self.secret = secret
        self.batch_size = batch_size
        self.lease = lease
        self.stop = threading.Event()  # set on SIGTERM: finish in-flight, hand back the rest

    # -- claiming --------------------------------------------------------

    def expire(self, now: datetime) -> int:
        """Rows whose moment passed become ``expired``: never sent late."""
        result = db.session.execute(
            update(Notification)
            .where(
                Notification.expires_at <= now,
                or_(
                    Notification.status == NotificationStatus.PENDING,
                    and_(
                        Notification.status == NotificationStatus.SENDING,
                        Notification.lease_until < now,
                    ),
                ),
            )
            .values(status=NotificationStatus.EXPIRED, claim_token=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0

    def claim(
        self, now: datetime, limit: int | None = None, only: list[int] | None = None
    ) -> tuple[str, list[int]]:
        """Claim up to ``limit`` due rows (of ``only``, when given) for this
        batch and commit the claim."""
        token = uuid.uuid4().hex
        due = or_(
            and_(Notification.status == NotificationStatus.PENDING, Notification.due_at <= now),
            and_(Notification.status == NotificationStatus.SENDING, Notification.lease_until < now),
        )
        if only is not None:
            due = and_(Notification.id.in_(only), due)
        candidates = (
            select(Notification.id)
            .where(due)
            .order_by(Notification.due_at)
            .limit(limit or self.batch_size)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite ignores it
        )
        db.session.execute(
            update(Notification)
            .where(Notification.id.in_(candidates.scalar_subquery()), due)
            .values(
                status=NotificationStatus.SENDING,
                claim_token=token,
                lease_until=now + self.lease,
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        ids = list(
            db.session.scalars(select(Notification.id).where(Notification.claim_token == token))
        )
        return token, ids

    # -- one batch -------------------------------------------------------

    def _next_batch(self, *, expire: bool = True) -> _Batch | None:
        """Expire, claim and prepare one batch (committed), or None when nothing is due."""
        now = utcnow()
        expired = self.expire(now) if expire else 0
        token, ids = self.claim(now)
        if not ids:
            return _Batch(token, Report(expired=expired)) if expired else None
        return self._prepare(token, ids, now, expired)

    def run_once(self) -> Report:
        batch = self._next_batch()
        return self._send(batch) if batch is not None else Report()

    def _send(self, batch: _Batch) -> Report:
        report = self._finish(batch, self.transport.send_all(batch.outgoing, self.stop))
        db.session.commit()
        return report

    def drain(self, max_seconds: float = 25.0) -> Report:
        """Batches until nothing is due, the time is up, or we are told to stop.

        Pipelined: while one batch is on the wire the next is claimed and
        prepared, and sent as soon as it is ready, so the database work and the
        network waits overlap instead of taking turns.
        """
        total = Report()
        started = time.monotonic()
        current = self._next_batch()
        in_flight = self.transport.submit(current.outgoing, self.stop) if current else None
        while current is not None and in_flight is not None:
            upcoming = None
            if not self.stop.is_set() and time.monotonic() - started < max_seconds:
                upcoming = self._next_batch(expire=False)  # once per drain is enough
            upcoming_flight = (
                self.transport.submit(upcoming.outgoing, self.stop) if upcoming else None
            )
            total.add(self._finish(current, in_flight.result()))
            db.session.commit()
            current, in_flight = upcoming, upcoming_flight
        return total

    def send_rows(self, ids: list[int]) -> Report:
        """Claim and send these rows now (``POST /api/push/test``)."""
        now = utcnow()
        token, claimed = self.claim(now, only=ids)
        return self._send(self._prepare(token, claimed, now, 0)) if claimed else Report()

    def _prepare(self, token: str, ids: list[int], now: datetime, expired: int) -> _Batch:
        """Read the claimed rows, decide which are stale or have no device, and
        build one message per device. Commits, so no transaction stays open
        while the batch is on the wire."""
        from ipt_groups.services import notifications, reminders  # services import push

        report = Report(claimed=len(ids), expired=expired)
        # Plain rows, not ORM objects: building hundreds of tracked objects per
        # batch was the dispatcher's biggest CPU cost after the network.
        notes = db.session.execute(select(_table).where(_among(_table.c.id, ids))).all()
        users = {
            u.id: u
            for u in db.session.execute(
                select(User.id, User.language, User.time_zone, User.disabled_at).where(
                    _among(User.id, {n.user_id for n in notes})
                )
            )
        }
        stale = reminders.stale(notes, now)
        for row in notes:
            if users[row.user_id].disabled_at is not None:
                stale[row.id] = "disabled"
        devices: dict[int, list[Any]] = defaultdict(list)
        for sub in db.session.execute(
            select(
                PushSubscription.id,
                PushSubscription.user_id,
                PushSubscription.endpoint,
                PushSubscription.p256dh,
                PushSubscription.auth,
            ).where(_among(PushSubscription.user_id, users))
        ):
            devices[sub.user_id].append(sub)

        templates = notifications.templates()
        outgoing: list[Outgoing] = []
        rows: dict[int, _Row] = {}
        finals: list[dict[str, Any]] = []
        for note in notes:
            if note.id in stale:
                finals.append(_final(note.id, NotificationStatus.CANCELLED, stale[note.id]))
                report.cancelled += 1
                continue
            if not devices[note.user_id]:
                finals.append(_final(note.id, NotificationStatus.NO_CHANNEL, "no_channel"))
                report.no_channel += 1
                continue
            user = users[note.user_id]
            words = messages.render(note, user.language, user.time_zone, templates)
            topic = messages.topic(note, self.secret)
            data = messages.payload(note, words, topic)
            ttl = DEFAULT_TTL
            if note.expires_at is not None:
                ttl = max(int((note.expires_at - now).total_seconds()), 60)
            rows[note.id] = _Row(note.id, note.kind, note.attempts, note.expires_at, note.user_id)
            outgoing.extend(
                Outgoing(
                    notification_id=note.id,
                    subscription_id=sub.id,
                    endpoint=sub.endpoint,
                    p256dh=sub.p256dh,
                    auth=sub.auth,
                    data=data,
                    ttl=min(ttl, DEFAULT_TTL),
                    urgency=URGENCY.get(note.kind, "normal"),
                    topic=topic,
                )
                for sub in devices[note.user_id]
            )
        db.session.commit()  # nothing stays open while we wait on the network
        return _Batch(token, report, outgoing, rows, finals)

    def _finish(self, batch: _Batch, results: list[Result]) -> Report:
        """Record what happened to each message and settle each row."""
        report = batch.report
        done = utcnow()
        for result in results:
            batch.rows[result.notification_id].results.append(result)
        finals = batch.finals + self._settle(batch.rows.values(), done, report)
        self._record(results, done, report)
        self._write(batch.token, finals)
        return report

    def _write(self, token: str, finals: list[dict[str, Any]]) -> None:
        """Settle the rows, one UPDATE per distinct outcome (a thousand rows that
        were all sent are one statement, not a thousand). Conditional on the
        batch's token: a dispatcher that lost its lease changes nothing."""
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for final in finals:
            rid = final.pop("rid")
            groups[tuple(sorted(final.items()))].append(rid)
        for values, ids in groups.items():
            db.session.execute(
                update(_table)
                .where(_among(_table.c.id, ids), _table.c.claim_token == token)
                .values(**dict(values), claim_token=None, lease_until=None)
            )

    def _settle(self, rows: Any, now: datetime, report: Report) -> list[dict[str, Any]]:
        """What each row becomes, from the results of its devices."""
        out: list[dict[str, Any]] = []
        for row in rows:
            outcomes = {r.outcome for r in row.results}
            attempted = outcomes - {Outcome.SKIPPED}
            if Outcome.SENT in outcomes:
                out.append(
                    _final(
                        row.id,
                        NotificationStatus.SENT,
                        None,
                        attempts=row.attempts + 1,
                        sent_at=now,
                    )
                )
                report.sent += 1
            elif not attempted:  # stopping: not tried at all, hand it back untouched
                out.append(_final(row.id, NotificationStatus.PENDING, None, attempts=row.attempts))
                report.released += 1
            elif attempted & RETRYABLE or Outcome.SKIPPED in outcomes:
                attempts = row.attempts + (1 if attempted else 0)
                waits = [r.retry_after for r in row.results if r.retry_after]
                delay = max([backoff(attempts), *(timedelta(seconds=w) for w in waits)])
                due = now + delay
                error = next(iter(sorted(attempted & RETRYABLE)), "skipped")
                if attempts >= MAX_ATTEMPTS:
                    out.append(
                        _final(row.id, NotificationStatus.FAILED, "retry_limit", attempts=attempts)
                    )
                    report.failed += 1
                elif row.expires_at is not None and due >= row.expires_at:
                    out.append(
                        _final(row.id, NotificationStatus.EXPIRED, str(error), attempts=attempts)
                    )
                    report.expired += 1
                else:
                    out.append(
                        _final(
                            row.id,
                            NotificationStatus.PENDING,
                            str(error),
                            attempts=attempts,
                            due_at=due,
                        )
                    )
                    report.retrying += 1
            elif attempted <= {Outcome.GONE}:
                out.append(
                    _final(row.id, NotificationStatus.NO_CHANNEL, "gone", attempts=row.attempts + 1)
                )
                report.no_channel += 1
            else:  # rejected (400/413) or refused by the allow-list: retrying won't help
                error = sorted(attempted - {Outcome.GONE})[0]
                out.append(
                    _final(row.id, NotificationStatus.FAILED, str(error), attempts=row.attempts + 1)
                )
                report.failed += 1
        return out

    def _record(self, results: list[Result], now: datetime, report: Report) -> None:
        """Attempts, subscriptions that are gone, and a word to the admins if a
        push service refuses our key."""
        attempted = [r for r in results if r.outcome is not Outcome.SKIPPED]
        report.attempts = len(attempted)
        if attempted:
            rows = [
                {
                    "notification_id": r.notification_id,
                    "subscription_id": r.subscription_id,
                    "push_host": r.host[:255] or "-",
                    "status_code": r.status_code,
                    "outcome": r.outcome.value,
                    "error": r.error,
                    "duration_ms": r.duration_ms,
                }
                for r in attempted
            ]
            if _postgres():
                columns = {name: [row[name] for row in rows] for name in _ATTEMPT_COLUMNS}
                db.session.execute(_INSERT_ATTEMPTS, {**columns, "at": now})
            else:
                db.session.execute(insert(_attempts), [{**row, "at": now} for row in rows])
        gone = {r.subscription_id for r in attempted if r.outcome is Outcome.GONE}
        worked = {r.subscription_id for r in attempted if r.outcome is Outcome.SENT} - gone
        failed = {
            r.subscription_id: r.outcome.value
            for r in attempted
            if r.outcome not in (Outcome.SENT, Outcome.GONE)
        }
        if gone:
            db.session.execute(delete(PushSubscription).where(_among(PushSubscription.id, gone)))
        if worked:
            db.session.execute(
                update(PushSubscription)
                .where(_among(PushSubscription.id, worked))
                .values(last_success_at=now)
                .execution_options(synchronize_session=False)
            )
        for sub_id, outcome in failed.items():
            db.session.execute(
                update(PushSubscription)
                .where(PushSubscription.id == sub_id)
                .values(last_failure_at=now, last_failure=outcome)
                .execution_options(synchronize_session=False)
            )
        if any(r.outcome is Outcome.AUTH for r in attempted):
            _tell_admins_key_refused(now)


def _final(row_id: int, status: str, error: str | None, **extra: Any) -> dict[str, Any]:
    """A row's new column values (only those that change)."""
    return {"rid": row_id, "status": status, "last_error": error, **extra}


def _tell_admins_key_refused(now: datetime) -> None:
    from ipt_groups.services import notifications

    log.error("a push service refused our VAPID key (401/403): check VAPID_* settings")
    day = int(now.strftime("%Y%m%d"))  # at most one notice per admin per day
    notifications.notify(
        notifications.active_admin_ids(), NotificationKind.PUSH_REJECTED, "push_day", day
    )


def for_app(app: Flask) -> Dispatcher:
    """The process's dispatcher (one thread pool and HTTP sessions, reused)."""
    dispatcher = app.extensions.get("push_dispatcher")
    if dispatcher is None:
        transport = Transport(
            app.config["VAPID_KEYS"],
            policy(app.config["PUSH_ALLOWED_HOSTS"]),
            concurrency=app.config["PUSH_CONCURRENCY"],
        )
        dispatcher = Dispatcher(transport, app.config["SECRET_KEY"].encode())
        app.extensions["push_dispatcher"] = dispatcher
    # Read each time: the allow-list is a setting (tests point it at a local service).
    dispatcher.transport.policy = policy(app.config["PUSH_ALLOWED_HOSTS"])
    return dispatcher
