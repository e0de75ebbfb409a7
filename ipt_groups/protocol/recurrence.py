"""Calendar arithmetic: weekly sessions in local time, stored in UTC.

A group meets "Thursdays at 17:00" in its own time zone. The UTC instant is
computed per date from the wall-clock time, so a 17:00 session stays at 17:00
when daylight saving starts or ends (its UTC time moves instead).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEK = timedelta(weeks=1)


def first_meeting_date(start: date, weekday: int) -> date:
    """The first date on or after ``start`` that falls on ``weekday`` (Monday=0)."""
    if not 0 <= weekday <= 6:
        raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
    return start + timedelta(days=(weekday - start.weekday()) % 7)


def weekly_dates(first: date, count: int, skipped: Collection[date] = ()) -> list[date]:
    """``count`` weekly dates from ``first``; a skipped date (a clinic holiday or a
    date the cohort skips) pushes that session and all later ones back a week."""
    dates: list[date] = []
    day = first
    while len(dates) < count:
        if day not in skipped:
            dates.append(day)
        day += WEEK
    return dates


def local_to_utc(day: date, at: time, zone: str) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in ``zone``.

    A time that does not exist locally (inside a spring-forward gap, such as 02:30)
    moves forward by the gap, as a wall clock would show it; an ambiguous time
    (the repeated hour in autumn) takes its first occurrence.
    """
    # PEP 495: with fold=0 a gap time is read with the offset from before the
    # transition (so it lands later by the gap) and an ambiguous time is its
    # first occurrence: exactly the two rules above.
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone)).replace(fold=0).astimezone(UTC)


def utc_to_local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone))
