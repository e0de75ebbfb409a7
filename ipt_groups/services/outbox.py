"""The outbox's common ground: each person's preferences, quiet hours, and
writing rows.

Both writers of the outbox use it: ``reminders`` (session and meeting
reminders, planned) and ``notifications.notify`` (a reading released, a risk
alert, written by the service that caused it). It imports no other service, so
either can import it; the preferences it reads are changed through
``reminders.save_preferences``, which replans what it touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from ipt_groups.extensions import db
from ipt_groups.models import (
    STAFF_KINDS,
    Notification,
    NotificationKind,
    NotificationPreference,
    NotificationStatus,
    User,
)
from ipt_groups.protocol.recurrence import local_to_utc
from ipt_groups.timesource import utcnow

DEFAULT_QUIET = (time(22, 0), time(7, 0))


# -- preferences -------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    session_24h: bool = True
    session_1h: bool = True
    content_released: bool = True
    checkin_due: bool = True
    quiet_start: time | None = DEFAULT_QUIET[0]
    quiet_end: time | None = DEFAULT_QUIET[1]

    def wants(self, kind: str) -> bool:
        flag = {
            NotificationKind.SESSION_24H: self.session_24h,
            NotificationKind.SESSION_1H: self.session_1h,
            NotificationKind.CONTENT_RELEASED: self.content_released,
            NotificationKind.CHECKIN_DUE: self.checkin_due,
            # A one-to-one meeting's reminder is a day-before reminder too.
            NotificationKind.MEETING_24H: self.session_24h,
        }.get(NotificationKind(kind))
        return True if flag is None else flag  # staff kinds and tests: always


def preferences_from_row(row: NotificationPreference | None) -> Preferences:
    if row is None:
        return Preferences()
    return Preferences(
        session_24h=row.session_24h,
        session_1h=row.session_1h,
        content_released=row.content_released,
        checkin_due=row.checkin_due,
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
    )


def preferences_for(user_ids: Iterable[int]) -> dict[int, Preferences]:
    ids = list(set(user_ids))
    rows = {
        r.user_id: r
        for r in db.session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id.in_(ids))
        )
    }
    return {uid: preferences_from_row(rows.get(uid)) for uid in ids}


def new_preference_row(user_id: int) -> NotificationPreference:
    """A row holding the defaults (no row means the same), for a first change."""
    return NotificationPreference(user_id=user_id, **asdict(Preferences()))


# -- quiet hours -------------------------------------------------------------


def quiet_window(
    at: datetime, zone: str, start: time, end: time
) -> tuple[datetime, datetime] | None:
    """The quiet span (UTC start, UTC end) that contains ``at``, if any.

    Worked out on the person's wall clock, so 22:00-07:00 stays 22:00-07:00
    across a DST change (that night is simply an hour shorter or longer).
    """
    if start == end:
        return None
    local = at.astimezone(ZoneInfo(zone))
    day, now = local.date(), local.time().replace(tzinfo=None)
    if start < end:  # e.g. 13:00-15:00, within one day
        if not start <= now < end:
            return None
        begin_day, end_day = day, day
    elif now >= start:  # e.g. 22:00-07:00: this evening until tomorrow morning
        begin_day, end_day = day, day + timedelta(days=1)
    elif now < end:  # ...or last evening until this morning
        begin_day, end_day = day - timedelta(days=1), day
    else:
        return None
    return local_to_utc(begin_day, start, zone), local_to_utc(end_day, end, zone)


def respect_quiet_hours(
    due: datetime, expires: datetime | None, zone: str, prefs: Preferences
) -> datetime:
    """Move a due time out of quiet hours: to when they end, or, if that would
    be too late (the session has begun), to just before they start."""
    if prefs.quiet_start is None or prefs.quiet_end is None:
        return due
    window = quiet_window(due, zone, prefs.quiet_start, prefs.quiet_end)
    if window is None:
        return due
    begin, end = window
    if expires is None or end < expires:
        return end
    return begin - timedelta(minutes=1)


def due_for(
    user: User, kind: str, due: datetime, expires: datetime | None, prefs: Preferences
) -> datetime:
    if kind in STAFF_KINDS or kind == NotificationKind.TEST:
        return due  # a risk alert is not held until morning
    return respect_quiet_hours(due, expires, user.time_zone, prefs)


# -- writing rows ------------------------------------------------------------


def insert_ignoring_duplicates(rows: Sequence[dict[str, Any]]) -> None:
    """Insert outbox rows; a row whose dedupe key exists already is skipped.

    Two planners (the clock's and a web request's) may plan the same message at
    the same moment: the unique key decides, without an error.
    """
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(Notification).on_conflict_do_nothing(index_elements=["dedupe_key"])
    now = utcnow()
    db.session.execute(
        stmt,
        [
            {"status": NotificationStatus.PENDING, "created_at": now, "attempts": 0, **row}
            for row in rows
        ],
    )
