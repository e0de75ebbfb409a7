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
import queue
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

from ipt_groups.channels_config import ChannelSettings
from ipt_groups.extensions import db
from ipt_groups.messaging import messages
from ipt_groups.messaging.endpoints import policy
from ipt_groups.models import (
    Channel,
    DeliveryAttempt,
    Notification,
    NotificationKind,
    NotificationStatus,
    PushSubscription,
    User,
)
from ipt_groups.models.types import UTCDateTime
from ipt_groups.push import routing
from ipt_groups.push.email import EmailTransport, make_email_transport
from ipt_groups.push.routing import Builder, Round, Route
from ipt_groups.push.sms import ChannelResult, SmsTransport, make_sms_transport
from ipt_groups.push.transport import RETRYABLE, Outcome, Result, Transport
from ipt_groups.services import channels, notifications, reminders
from ipt_groups.services import sms as sms_service
from ipt_groups.timesource import utcnow

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
LEASE = timedelta(minutes=2)  # far longer than a batch takes (timeouts are 10 s)
# Push services have outages of hours, not minutes. With the backoff below, 22
# attempts are about 8 hours of retrying, so a reminder outlives an outage and
# is sent once the service recovers; one whose moment passes first expires.
MAX_ATTEMPTS = 22
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(minutes=30)
# How often deliveries are written down while a batch is on the wire (seconds).
EARLY_FLUSH = 0.2
_table = Notification.__table__
_attempts = DeliveryAttempt.__table__
_ATTEMPT_COLUMNS = (
    "notification_id",
    "subscription_id",
    "push_host",
    "channel",
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
    " channel, status_code, outcome, error, duration_ms, at)"
    " SELECT a.*, :at FROM unnest("
    "CAST(:notification_id AS integer[]), CAST(:subscription_id AS integer[]),"
    " CAST(:push_host AS varchar[]), CAST(:channel AS varchar[]),"
    " CAST(:status_code AS integer[]),"
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
    by_channel: dict[str, int] = field(default_factory=dict)  # sent, per channel

    def add(self, other: Report) -> None:
        for name in self.__dataclass_fields__:
            if name == "by_channel":
                for channel, n in other.by_channel.items():
                    self.by_channel[channel] = self.by_channel.get(channel, 0) + n
            else:
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
    round: Round = field(default_factory=Round)
    finals: list[dict[str, Any]] = field(default_factory=list)
    builder: Builder | None = None


class _Flight:
    """One round on the wire: push, SMS and email at once. Each answer is also
    put on ``completed`` as it comes in, so a delivery is recorded within a
    moment of happening, not when the whole batch is done."""

    def __init__(self, dispatcher: Dispatcher, out: Round) -> None:
        stop = dispatcher.stop
        self.completed: queue.SimpleQueue[Any] = queue.SimpleQueue()
        put = self.completed.put
        self.push = dispatcher.transport.submit(out.push, stop, put)
        self.sms = dispatcher.sms.submit(out.sms, stop, put) if out.sms and dispatcher.sms else None
        self.email = (
            dispatcher.email.submit(out.email, stop, put)
            if out.email and dispatcher.email
            else None
        )
        # A channel the settings name but whose transport is missing cannot happen
        # (for_app builds both from the same settings); say so rather than hang.
        self.missing = [m.notification_id for m in out.sms] if out.sms and not self.sms else []
        if out.email and not self.email:
            self.missing += [m.notification_id for m in out.email]

    def done(self) -> bool:
        # Every transport puts a result on the queue before its future completes.
        futures = [f for f in (self.push, self.sms, self.email) if f is not None]
        return all(f.done() for f in futures) and self.completed.empty()

    def result(self) -> tuple[list[Result], list[ChannelResult]]:
        other = [
            *(self.sms.result() if self.sms else []),
            *(self.email.result() if self.email else []),
        ]
        other += [ChannelResult(i, Outcome.RETRY, error="no_transport") for i in self.missing]
        return self.push.result(), other


class Dispatcher:
    def __init__(
        self,
        transport: Transport,
        secret: bytes,
        *,
        sms: SmsTransport | None = None,
        email: EmailTransport | None = None,
        settings: ChannelSettings | None = None,
        status_callback: str | None = None,
        batch_size: int = BATCH_SIZE,
        lease: timedelta = LEASE,
    ) -> None:
        self.transport = transport
        self.sms = sms
        self.email = email
        self.settings = settings or ChannelSettings()
        self.status_callback = status_callback  # where Twilio reports delivery
        self.secret = secret
        self.batch_size = batch_size
        self.lease = lease
        self.stop = threading.Event()  # set on SIGTERM: finish in-flight, hand back the rest

    def close_channels(self) -> None:
        for transport in (self.sms, self.email):
            if transport is not None:
                transport.close()
        self.sms = self.email = None

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
        report = self._finish(batch, _Flight(self, batch.round))
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
        in_flight = _Flight(self, current.round) if current else None
        while current is not None and in_flight is not None:
            upcoming = None
            if not self.stop.is_set() and time.monotonic() - started < max_seconds:
                upcoming = self._next_batch(expire=False)  # once per drain is enough
            upcoming_flight = _Flight(self, upcoming.round) if upcoming else None
            total.add(self._finish(current, in_flight))
            db.session.commit()
            current, in_flight = upcoming, upcoming_flight
        return total

    def send_rows(self, ids: list[int]) -> Report:
        """Claim and send these rows now (``POST /api/push/test``)."""
        now = utcnow()
        token, claimed = self.claim(now, only=ids)
        return self._send(self._prepare(token, claimed, now, 0)) if claimed else Report()

    def _prepare(self, token: str, ids: list[int], now: datetime, expired: int) -> _Batch:
        """Read the claimed rows, decide which are stale or cannot be reached,
        and build each row's message for its first channel. Commits, so no
        transaction stays open while the batch is on the wire."""
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
        reach = channels.reach_for(users)
        budget = None
        if self.settings.sms and (cap := channels.sms_cap()) is not None:
            budget = max(cap - channels.sms_segments_this_month(now), 0)

        templates = notifications.templates()
        routes: list[Route] = []
        finals: list[dict[str, Any]] = []
        for note in notes:
            if note.id in stale:
                finals.append(_final(note.id, NotificationStatus.CANCELLED, stale[note.id]))
                report.cancelled += 1
                continue
            usable, skipped = channels.plan(
                note, reach[note.user_id], len(devices[note.user_id]), self.settings
            )
            if not usable:
                finals.append(_unreached(note.id, skipped, note.attempts))
                report.no_channel += 1
                continue
            user = users[note.user_id]
            words = messages.render(note, user.language, user.time_zone, templates)
            routes.append(
                Route(
                    note.id, note.kind, note.attempts, note.expires_at, note.user_id,
                    user.language, words, usable, skipped,
                )
            )  # fmt: skip
        builder = Builder(
            secret=self.secret,
            settings=self.settings,
            reach=reach,
            devices=devices,
            now=now,
            status_callback=self.status_callback,
            sms_budget=budget,
            rows={n.id: n for n in notes},
        )
        out = builder.build(routes)
        finals += self._dropped(routes, out, report)
        db.session.commit()  # nothing stays open while we wait on the network
        return _Batch(token, report, out, finals, builder)

    @staticmethod
    def _dropped(routes: list[Route], out: Round, report: Report) -> list[dict[str, Any]]:
        """Rows the builder found nowhere to send (the SMS cap took the last channel)."""
        kept = {r.id for r in out.routes}
        gone = [r for r in routes if r.id not in kept]
        report.no_channel += len(gone)
        return [_unreached(r.id, r.notes, r.attempts) for r in gone]

    def _finish(self, batch: _Batch, flight: _Flight) -> Report:
        """Settle each row from its channel's answer. A row whose channel refused
        for good (a 410, an invalid number, a 550) goes out on its next channel in
        the same tick, round after round, until one works or none is left."""
        report = batch.report
        finals = batch.finals
        current = batch.round
        while True:
            by_id = {r.id: r for r in current.routes}
            settled = self._record_as_they_come(batch.token, flight, by_id, report)
            push_results, other = flight.result()
            done = utcnow()
            for route in current.routes:
                route.push_results = []
            for result in push_results:
                by_id[result.notification_id].push_results.append(result)
            for answer in other:
                by_id[answer.notification_id].result = answer
            channel_of = {r.id: r.channel for r in current.routes}  # before any moves on
            moved: list[Route] = []
            for route in current.routes:
                if route.id in settled:
                    continue  # recorded as sent the moment it was
                verdict = self._judge(route, done, report)
                if verdict is None:
                    moved.append(route)
                else:
                    finals.append(verdict)
            self._record(push_results, other, current, channel_of, done, report)
            if not moved:
                break
            if self.stop.is_set() or batch.builder is None:
                for route in moved:  # not tried on its next channel: hand it back
                    finals.append(_final(route.id, NotificationStatus.PENDING, None))
                    report.released += 1
                break
            current = batch.builder.build(moved)
            finals += self._dropped(moved, current, report)
            if not current:
                break
            flight = _Flight(self, current)
        self._write(batch.token, finals)
        return report

    def _record_as_they_come(
        self, token: str, flight: _Flight, by_id: dict[int, Route], report: Report
    ) -> set[int]:
        """Mark rows sent as their answers arrive, committing every fraction of a
        second: a clock killed mid-batch then re-sends only what was on the wire
        (and the last moment's answers), not the whole batch. Everything else
        about the round (attempts, fallbacks, retries) is settled at its end."""
        settled: set[int] = set()
        pending: list[dict[str, Any]] = []
        flushed = time.monotonic()
        while True:
            finished = flight.done()
            try:
                answer = flight.completed.get(timeout=EARLY_FLUSH) if not finished else None
            except queue.Empty:
                answer = None
            if answer is not None and answer.outcome is Outcome.SENT:
                route = by_id.get(answer.notification_id)
                if route is not None and route.id not in settled:
                    if isinstance(answer, ChannelResult):
                        route.result = answer
                    settled.add(route.id)
                    pending.append(self._sent(route, utcnow(), report))
            if pending and (finished or time.monotonic() - flushed >= EARLY_FLUSH):
                self._write(token, pending)
                db.session.commit()
                pending, flushed = [], time.monotonic()
            if finished:
                return settled

    def _judge(self, route: Route, now: datetime, report: Report) -> dict[str, Any] | None:
        """What the row becomes after this round, or None: try its next channel."""
        channel = route.channel
        if channel == Channel.PUSH:
            outcomes = {r.outcome for r in route.push_results}
            attempted = outcomes - {Outcome.SKIPPED}
            if Outcome.SENT in outcomes:
                return self._sent(route, now, report)
            if not attempted:  # stopping: not tried at all, hand it back untouched
                report.released += 1
                return _final(route.id, NotificationStatus.PENDING, None, attempts=route.attempts)
            if attempted & RETRYABLE or Outcome.SKIPPED in outcomes:
                waits = [r.retry_after for r in route.push_results if r.retry_after]
                error = str(next(iter(sorted(attempted & RETRYABLE)), "skipped"))
                if any(r.error == "timeout" for r in route.push_results):
                    # A push service slower than our timeout may have taken it:
                    # the retry reuses the Topic, so the phone shows one.
                    error = "timeout"
                return self._retry(route, now, report, error, waits)
            if attempted <= {Outcome.GONE}:
                reason = "gone"
            else:  # rejected (400/413) or refused by the allow-list: our request is wrong
                reason = str(sorted(attempted - {Outcome.GONE})[0])
                route.our_fault = reason
        else:
            answer = route.result
            if answer is None or answer.outcome is Outcome.SKIPPED:
                report.released += 1
                return _final(route.id, NotificationStatus.PENDING, None, attempts=route.attempts)
            if answer.outcome is Outcome.SENT:
                return self._sent(route, now, report)
            if answer.outcome in RETRYABLE:
                waits = [answer.retry_after] if answer.retry_after else []
                return self._retry(route, now, report, answer.error or str(answer.outcome), waits)
            reason = answer.error or str(answer.outcome)
        route.notes.append(f"{channel}:{reason}")
        route.plan.pop(0)
        if route.plan:
            return None
        if route.our_fault:
            report.failed += 1
            return _final(
                route.id,
                NotificationStatus.FAILED,
                route.our_fault,
                attempts=route.attempts + 1,
                channel_notes=routing.notes_column(route.notes),
            )
        report.no_channel += 1
        return _unreached(route.id, route.notes, route.attempts + 1, reason)

    def _sent(self, route: Route, now: datetime, report: Report) -> dict[str, Any]:
        report.sent += 1
        report.by_channel[route.channel] = report.by_channel.get(route.channel, 0) + 1
        answer = route.result if route.channel != Channel.PUSH else None
        return _final(
            route.id,
            NotificationStatus.SENT,
            None,
            attempts=route.attempts + 1,
            sent_at=now,
            channel=route.channel,
            provider_id=answer.provider_id if answer else None,
            # SMS: the provider has queued it; its delivery reports move it on.
            delivery_state="queued" if route.channel == Channel.SMS else "sent",
            delivery_state_at=now,
            segments=route.segments if route.channel == Channel.SMS else 0,
            channel_notes=routing.notes_column(route.notes),
        )

    def _retry(
        self, route: Route, now: datetime, report: Report, error: str, waits: list[float]
    ) -> dict[str, Any]:
        attempts = route.attempts + 1
        delay = max([backoff(attempts), *(timedelta(seconds=w) for w in waits)])
        due = now + delay
        # Said in the delivery status: why it is waiting, or why it gave up.
        notes = routing.notes_column([*route.notes, f"{route.channel}:{error}"])
        if attempts >= MAX_ATTEMPTS:
            report.failed += 1
            return _final(
                route.id, NotificationStatus.FAILED, "retry_limit", attempts=attempts,
                channel=route.channel, channel_notes=notes,
            )  # fmt: skip
        if route.expires_at is not None and due >= route.expires_at:
            report.expired += 1
            return _final(
                route.id, NotificationStatus.EXPIRED, error[:40], attempts=attempts,
                channel=route.channel, channel_notes=notes,
            )  # fmt: skip
        report.retrying += 1
        return _final(
            route.id, NotificationStatus.PENDING, error[:40], attempts=attempts, due_at=due,
            channel=route.channel, channel_notes=notes,
        )  # fmt: skip

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

    def _record(
        self,
        results: list[Result],
        other: list[ChannelResult],
        current: Round,
        channel_of: dict[int, str],
        now: datetime,
        report: Report,
    ) -> None:
        """Attempts, subscriptions that are gone, numbers the provider says
        opted out, and a word to the admins if a push service refuses our key."""
        attempted = [r for r in results if r.outcome is not Outcome.SKIPPED]
        tried = [a for a in other if a.outcome is not Outcome.SKIPPED]
        report.attempts += len(attempted) + len(tried)
        rows = [
            {
                "notification_id": r.notification_id,
                "subscription_id": r.subscription_id,
                "push_host": r.host[:255] or "-",
                "channel": Channel.PUSH.value,
                "status_code": r.status_code,
                "outcome": r.outcome.value,
                "error": r.error,
                "duration_ms": r.duration_ms,
            }
            for r in attempted
        ] + [
            {
                "notification_id": a.notification_id,
                "subscription_id": None,
                "push_host": a.host[:255] or "-",
                "channel": str(channel_of.get(a.notification_id, Channel.SMS)),
                "status_code": a.status_code,
                "outcome": a.outcome.value,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in tried
        ]
        if rows:
            if _postgres():
                columns = {name: [row[name] for row in rows] for name in _ATTEMPT_COLUMNS}
                db.session.execute(_INSERT_ATTEMPTS, {**columns, "at": now})
            else:
                db.session.execute(insert(_attempts), [{**row, "at": now} for row in rows])
        stopped = {
            route.id: route
            for route in current.routes
            if route.result is not None and route.result.opted_out
        }
        if stopped:
            numbers = {m.notification_id: m.to for m in current.sms}
            for rid in stopped:
                if numbers.get(rid):
                    sms_service.record_opt_out(
                        numbers[rid], "provider", self.settings.sms_provider, now
                    )
        if any(a.outcome is Outcome.AUTH for a in tried):
            log.error("the SMS provider or mail server refused our credentials: check the settings")
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


def _unreached(
    row_id: int, notes: list[str], attempts: int, reason: str = "no_channel"
) -> dict[str, Any]:
    """No channel in the person's order could carry it: staff should phone them."""
    return _final(
        row_id,
        NotificationStatus.NO_CHANNEL,
        reason[:40],
        attempts=attempts,
        channel_notes=routing.notes_column(notes),
    )


def _tell_admins_key_refused(now: datetime) -> None:
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
    # Read each time: the allow-list and the channels are settings (tests point
    # them at local services).
    dispatcher.transport.policy = policy(app.config["PUSH_ALLOWED_HOSTS"])
    settings: ChannelSettings = app.config["CHANNELS"]
    if settings != dispatcher.settings:
        dispatcher.close_channels()
        dispatcher.settings = settings
        dispatcher.sms = make_sms_transport(settings)
        dispatcher.email = make_email_transport(settings)
    public = app.config.get("PUBLIC_URL") or ""
    dispatcher.status_callback = (
        f"{public.rstrip('/')}/api/sms/twilio/status"
        if public and settings.sms_provider == "twilio"
        else None
    )
    return dispatcher
