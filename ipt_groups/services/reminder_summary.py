"""Member session reminders counted per cohort and UTC day (reminder_day_counts),
so the Programme page's reminder figures read a small summary for days that are
over and the outbox only for the last few days.

- **Closed days.** A day is summarised once it is ``CLOSED_AFTER`` days old
  *and* no member session reminder due on or before it is still waiting to go
  out (pending or being sent): until then the dispatcher may still give it its
  final status. ``reminder_summary_mark.through`` is the last day summarised.
- **Advancing** the mark summarises every new closed day with one
  ``INSERT … SELECT``: the nightly clock job does it (clock.summarise_reminders),
  and so does the first read that finds the mark behind (a laptop without the
  clock is still right). Of two advancing at once, the second's conditional
  UPDATE of the mark matches nothing, and it inserts nothing.
- **Exact after the fact.** Whatever changes a summarised row calls
  ``resummarise`` with the cohorts it touched, in its own transaction: their
  summary rows are deleted and counted again from the outbox. The writers of
  old rows: erasure (services/privacy.py deletes a member's notifications),
  a late SMS delivery report (services/sms.handle_status), and the
  clock's prune (clock.prune deletes rows past their keeping time).
- **Reading** (``counts``): the summary for the period's days up to the mark,
  the outbox for the rest, in one statement (UNION ALL), whatever the number
  of cohorts. One summary row per cohort and day, a column per figure (due,
  sent, delivered, no channel, failed, sent per channel).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    delete,
    func,
    insert,
    select,
    union_all,
    update,
)

from ipt_groups.extensions import db
from ipt_groups.models import (
    GroupSession,
    Notification,
    NotificationKind,
    NotificationStatus,
    ReminderDayCount,
    ReminderSummaryMark,
)

# The reminders members get before each session: "reach" is about these.
REMINDER_KINDS = (NotificationKind.SESSION_24H, NotificationKind.SESSION_1H)
# Rows that were meant to go out (a cancelled row was withdrawn on purpose).
COUNTED = (
    NotificationStatus.SENT,
    NotificationStatus.FAILED,
    NotificationStatus.EXPIRED,
    NotificationStatus.NO_CHANNEL,
)
# Not yet final: a day with one of these due is not closed.
OPEN = (NotificationStatus.PENDING, NotificationStatus.SENDING)
# Days this old are summarised (late delivery reports still come in for a day
# or two; those that come later re-summarise their cohort).
CLOSED_AFTER = 3
MARK_ID = 1


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _day(column: Any) -> ColumnElement[Any]:
    """The UTC day of a UTCDateTime column (naive UTC text on SQLite)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def _member_reminders() -> tuple[ColumnElement[bool], ...]:
    return (
        Notification.ref_type == "session",
        Notification.kind.in_(REMINDER_KINDS),
        Notification.status.in_(COUNTED),
    )


FIGURES = ("due", "sent", "delivered", "no_channel", "failed", "push", "sms", "email")


def _figures() -> list[ColumnElement[Any]]:
    """The outbox rows' figures, in FIGURES order, as sums over a group."""
    n, sent = Notification.status, NotificationStatus.SENT

    def total(*when: Any) -> ColumnElement[Any]:
        return func.sum(case((and_(*when), 1), else_=0))

    return [
        func.count(),
        total(n == sent),
        total(n == sent, Notification.delivery_state == "delivered"),
        total(n == NotificationStatus.NO_CHANNEL),
        total(n.in_((NotificationStatus.FAILED, NotificationStatus.EXPIRED))),
        *(total(n == sent, Notification.channel == c) for c in ("push", "sms", "email")),
    ]


# -- the mark ----------------------------------------------------------------


def mark(lock: bool = False) -> date | None:
    """The last summarised day (None: nothing summarised). ``lock`` takes the
    mark's row lock (PostgreSQL), for the writers."""
    stmt = select(ReminderSummaryMark.through).where(ReminderSummaryMark.id == MARK_ID)
    if lock:
        stmt = stmt.with_for_update()
    found = db.session.execute(stmt).first()
    if found is None:  # a database built without the migration's row
        db.session.add(ReminderSummaryMark(id=MARK_ID, through=None))
        db.session.flush()
        return None
    return found[0]


def target(now: datetime) -> date:
    """The last day that may be summarised at ``now``, ignoring open rows."""
    return now.astimezone(UTC).date() - timedelta(days=CLOSED_AFTER)


def _closed_through(now: datetime) -> date:
    """``target(now)``, or earlier if a reminder due by then is still open."""
    last = target(now)
    oldest_open = db.session.scalar(
        select(func.min(Notification.due_at)).where(
            Notification.status.in_(OPEN),
            Notification.due_at < _instant(last + timedelta(days=1)),
            Notification.ref_type == "session",
            Notification.kind.in_(REMINDER_KINDS),
        )
    )
    if oldest_open is not None:
        last = min(last, oldest_open.astimezone(UTC).date() - timedelta(days=1))
    return last


def _summarise(after: date | None, through: date, cohort_ids: Any = None) -> int:
    """INSERT … SELECT the counts of days in (``after``, ``through``]."""
    day = _day(Notification.due_at)
    source = (
        select(GroupSession.cohort_id, day, *_figures())
        .join(GroupSession, GroupSession.id == Notification.ref_id)
        .where(*_member_reminders(), Notification.due_at < _instant(through + timedelta(days=1)))
        .group_by(GroupSession.cohort_id, day)
    )
    if after is not None:
        source = source.where(Notification.due_at >= _instant(after + timedelta(days=1)))
    if cohort_ids is not None:
        source = source.where(GroupSession.cohort_id.in_(cohort_ids))
    columns = ["cohort_id", "day", *FIGURES]
    result = db.session.execute(insert(ReminderDayCount).from_select(columns, source))
    return result.rowcount or 0


def advance(now: datetime) -> date | None:
    """Summarise the days that closed since the mark; returns the mark after.
    Cheap when there is nothing to do (one read of the mark)."""
    through = mark()
    if through is not None and through >= target(now):
        return through
    new = _closed_through(now)
    if through is not None and new <= through:
        return through
    # Claim the step: of two callers at once only one moves the mark from
    # ``through`` (the other's UPDATE waits for it, then matches nothing).
    moved = db.session.execute(
        update(ReminderSummaryMark)
        .where(
            ReminderSummaryMark.id == MARK_ID,
            ReminderSummaryMark.through.is_(None)
            if through is None
            else ReminderSummaryMark.through == through,
        )
        .values(through=new, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        return mark()
    _summarise(through, new)
    return new


# -- keeping it exact ------------------------------------------------------------


def affected(*where: Any) -> set[int]:
    """The cohorts whose summarised rows include outbox rows matching ``where``:
    call before deleting them (or after updating them), then ``resummarise``."""
    through = mark()
    if through is None:
        return set()
    return set(
        db.session.scalars(
            select(GroupSession.cohort_id)
            .distinct()
            .join(Notification, GroupSession.id == Notification.ref_id)
            .where(
                *_member_reminders(),
                Notification.due_at < _instant(through + timedelta(days=1)),
                *where,
            )
        )
    )


def resummarise(cohort_ids: Iterable[int]) -> None:
    """Count these cohorts' summarised days again from the outbox (after rows of
    theirs were deleted or changed), in the caller's transaction."""
    ids = sorted(set(cohort_ids))
    if not ids:
        return
    through = mark(lock=True)
    if through is None:
        return
    db.session.execute(delete(ReminderDayCount).where(ReminderDayCount.cohort_id.in_(ids)))
    _summarise(None, through, ids)


# -- reading -----------------------------------------------------------------


def counts(ids: Any, start: date | None, end: date | None, now: datetime) -> Select[Any]:
    """(cohort_id, *FIGURES) of the member session reminders of cohorts ``ids``
    due in ``start``..``end`` (inclusive UTC days) and by ``now``: the summary up
    to the mark, the outbox after it (a cohort may have a row from each).
    Advances the mark first if it is behind (the caller commits)."""
    through = advance(now)
    raw = (
        select(
            GroupSession.cohort_id.label("cohort_id"),
            *(c.label(name) for c, name in zip(_figures(), FIGURES, strict=True)),
        )
        .join(GroupSession, GroupSession.id == Notification.ref_id)
        .where(*_member_reminders(), Notification.due_at <= now, GroupSession.cohort_id.in_(ids))
        .group_by(GroupSession.cohort_id)
    )
    after = start
    if through is not None and (after is None or after <= through):
        after = through + timedelta(days=1)
    if after is not None:
        raw = raw.where(Notification.due_at >= _instant(after))
    if end is not None:
        raw = raw.where(Notification.due_at < _instant(end + timedelta(days=1)))
    if through is None or (start is not None and start > through):
        return raw
    summary = (
        select(
            ReminderDayCount.cohort_id.label("cohort_id"),
            *(func.sum(getattr(ReminderDayCount, name)).label(name) for name in FIGURES),
        )
        .where(ReminderDayCount.cohort_id.in_(ids), ReminderDayCount.day <= through)
        .group_by(ReminderDayCount.cohort_id)
    )
    if start is not None:
        summary = summary.where(ReminderDayCount.day >= start)
    if end is not None:
        summary = summary.where(ReminderDayCount.day <= end)
    return select(union_all(summary, raw).subquery())
