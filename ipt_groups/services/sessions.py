"""The session calendar of a cohort: generate, reflow around closed dates,
reschedule, cancel and add catch-up sessions.

Sessions are stored in UTC but every rule here works on the cohort's local
wall clock: "move this and later ones by a week" means the same local time a
week later, whatever daylight saving does in between.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta
from itertools import pairwise

from sqlalchemy import func, or_, select

from ipt_groups.domain import Conflict, Invalid
from ipt_groups.extensions import db
from ipt_groups.models import (
    ClosedDate,
    Cohort,
    CohortStatus,
    GroupSession,
    SessionKind,
    SessionStatus,
)
from ipt_groups.models.cohort import LONGEST_SESSION_MINUTES
from ipt_groups.protocol.programmes import ProgrammeTemplate
from ipt_groups.protocol.recurrence import (
    WEEK,
    first_meeting_date,
    local_to_utc,
    utc_to_local,
    weekly_dates,
)
from ipt_groups.services import agenda, audit, reminders
from ipt_groups.services.audit import Actor
from ipt_groups.timesource import utcnow

EDITABLE = (CohortStatus.PLANNED, CohortStatus.ACTIVE)


def local_start(session: GroupSession, zone: str) -> datetime:
    """The session's start on the cohort's wall clock (naive)."""
    return utc_to_local(session.starts_at, zone).replace(tzinfo=None)


def _to_utc(local: datetime, zone: str) -> datetime:
    return local_to_utc(local.date(), local.time(), zone)


def closed_days(cohort_id: int | None) -> set[date]:
    """Clinic-wide closed dates plus the cohort's own skipped dates."""
    stmt = select(ClosedDate.day).where(
        or_(ClosedDate.cohort_id.is_(None), ClosedDate.cohort_id == cohort_id)
    )
    return set(db.session.scalars(stmt))


def generate_sessions(cohort: Cohort, template: ProgrammeTemplate) -> list[GroupSession]:
    """The programme's numbered weekly sessions from the cohort's start date."""
    first = first_meeting_date(cohort.start_date, cohort.weekday)
    days = weekly_dates(first, template.group_sessions, closed_days(cohort.id))
    return [
        GroupSession(
            cohort=cohort,
            kind=SessionKind.GROUP,
            number=number,
            phase=template.phase_of(number).value,
            starts_at=local_to_utc(day, cohort.local_time, cohort.time_zone),
            duration_minutes=cohort.session_minutes,
            status=SessionStatus.SCHEDULED,
            agenda=agenda.from_template(template.phase_of(number).value),
        )
        for number, day in enumerate(days, start=1)
    ]


def numbered_sessions(cohort: Cohort) -> list[GroupSession]:
    return sorted(
        (s for s in cohort.sessions if s.kind == SessionKind.GROUP),
        key=lambda s: s.number or 0,
    )


def _move(session: GroupSession, local: datetime, zone: str) -> None:
    new = _to_utc(local, zone)
    if new != session.starts_at:
        if session.original_starts_at is None:
            session.original_starts_at = session.starts_at
        session.starts_at = new


def reflow(cohort: Cohort, *, now: datetime | None = None) -> int:
    """Push sessions off closed dates, a week at a time, and push each later session
    only as far as it must go to stay after the one before. Sessions already begun
    never move. Returns how many moved."""
    if cohort.status not in EDITABLE:
        return 0
    now = now or utcnow()
    closed = closed_days(cohort.id)
    previous: datetime | None = None
    moved = 0
    for session in numbered_sessions(cohort):
        if session.status != SessionStatus.SCHEDULED:
            continue
        local = local_start(session, cohort.time_zone)
        if session.starts_at > now:
            while previous is not None and local <= previous:
                local += WEEK
            while local.date() in closed:
                local += WEEK
            if local != local_start(session, cohort.time_zone):
                _move(session, local, cohort.time_zone)
                moved += 1
        previous = local
    if moved:
        db.session.flush()
        reminders.replan_cohort(cohort.id)
    return moved


def reflow_all(now: datetime | None = None) -> int:
    """After a clinic-wide closed date is added: reflow every running cohort."""
    cohorts = db.session.scalars(select(Cohort).where(Cohort.status.in_(EDITABLE)))
    return sum(reflow(c, now=now) for c in cohorts)


def _require_editable(cohort: Cohort) -> None:
    if cohort.status not in EDITABLE:
        raise Conflict(
            f"The cohort is {cohort.status}; its calendar can no longer change.",
            code="cohort_closed",
        )


def _require_upcoming(session: GroupSession, now: datetime) -> None:
    if session.status != SessionStatus.SCHEDULED:
        raise Conflict("This session is cancelled.", code="session_cancelled")
    if session.starts_at <= now:
        raise Conflict("This session has already started.", code="session_started")


def _check_order(cohort: Cohort) -> None:
    """Numbered sessions must stay in number order (session 3 before session 4)."""
    order = [s for s in numbered_sessions(cohort) if s.status == SessionStatus.SCHEDULED]
    for before, after in pairwise(order):
        if before.starts_at >= after.starts_at:
            raise Invalid(
                f"Session {before.number} would no longer come before session {after.number}. "
                "Move it together with the later sessions (scope this_and_later).",
                fields={"starts_at_local": ["Out of order with the other sessions."]},
            )


def reschedule(
    actor: Actor, session: GroupSession, new_local: datetime, scope: str
) -> list[GroupSession]:
    """Move one session (``scope="this"``) or it and every later numbered session
    (``"this_and_later"``, each by the same wall-clock shift). Returns those moved."""
    cohort = session.cohort
    now = utcnow()
    _require_editable(cohort)
    _require_upcoming(session, now)
    if _to_utc(new_local, cohort.time_zone) <= now:
        raise Invalid(fields={"starts_at_local": ["Choose a time in the future."]})
    zone = cohort.time_zone
    if new_local.date() in closed_days(cohort.id):
        raise Invalid(
            fields={"starts_at_local": ["This date is closed (a holiday or skipped date)."]}
        )
    shift = new_local - local_start(session, zone)
    if scope == "this" or session.kind != SessionKind.GROUP:
        moved = [session]
    else:
        moved = [
            s
            for s in numbered_sessions(cohort)
            if (s.number or 0) >= (session.number or 0)
            and s.status == SessionStatus.SCHEDULED
            and s.starts_at > now
        ]
    for s in moved:
        _move(s, local_start(s, zone) + shift, zone)
    if session.kind == SessionKind.GROUP:
        if scope != "this":
            reflow(cohort, now=now)  # later sessions that landed on closed dates move on
        _check_order(cohort)
    for s in moved:
        audit.record(actor, "session.reschedule", "group_session", s.id)
    reminders.replan_cohort(cohort.id)  # the old reminders go, new ones are planned
    return moved


def cancel(actor: Actor, session: GroupSession, reason: str | None) -> GroupSession:
    _require_editable(session.cohort)
    _require_upcoming(session, utcnow())
    session.status = SessionStatus.CANCELLED
    session.cancel_reason = reason
    audit.record(actor, "session.cancel", "group_session", session.id)
    db.session.flush()
    reminders.replan_cohort(session.cohort_id)
    return session


def add_catch_up(
    actor: Actor,
    cohort: Cohort,
    local: datetime,
    *,
    duration_minutes: int | None,
    replaces_number: int | None,
) -> GroupSession:
    """An extra session, e.g. to make up for a cancelled one."""
    _require_editable(cohort)
    starts_at = _to_utc(local, cohort.time_zone)
    if starts_at <= utcnow():
        raise Invalid(fields={"starts_at_local": ["Choose a time in the future."]})
    phase = None
    if replaces_number is not None:
        if not 1 <= replaces_number <= cohort.group_session_count:
            raise Invalid(
                fields={"replaces_number": [f"Use 1-{cohort.group_session_count}."]},
            )
        phase = next(
            (s.phase for s in numbered_sessions(cohort) if s.number == replaces_number), None
        )
    session = GroupSession(
        cohort=cohort,
        kind=SessionKind.CATCH_UP,
        number=replaces_number,
        phase=phase,
        starts_at=starts_at,
        duration_minutes=duration_minutes or cohort.session_minutes,
        status=SessionStatus.SCHEDULED,
        agenda=agenda.from_template(phase),
    )
    db.session.add(session)
    db.session.flush()
    audit.record(actor, "session.catch_up", "group_session", session.id)
    reminders.replan_cohort(cohort.id)
    return session


def started_group_sessions(cohort: Cohort, now: datetime) -> int:
    """How many numbered sessions have already begun (cancelled ones do not count)."""
    return sum(
        1
        for s in numbered_sessions(cohort)
        if s.status == SessionStatus.SCHEDULED and s.starts_at <= now
    )


LONGEST_SESSION = timedelta(minutes=LONGEST_SESSION_MINUTES)


def next_sessions(cohort_ids: Collection[int], now: datetime) -> dict[int, GroupSession]:
    """Each cohort's current or next scheduled session, by cohort id, in two queries.

    A session in progress (begun, not yet over) comes first: the facilitator who
    opens the list at 17:10 is looking for the session they are running, not
    next week's. Otherwise the next one to start, ranked in SQL: a facilitator's
    list of twenty cohorts used to load all their sessions (hundreds of objects)
    only to keep one each."""
    if not cohort_ids:
        return {}
    rank = (
        func.row_number()
        .over(
            partition_by=GroupSession.cohort_id,
            order_by=(GroupSession.starts_at, GroupSession.id),
        )
        .label("rank")
    )
    upcoming = (
        select(GroupSession.id, rank)
        .where(
            GroupSession.cohort_id.in_(cohort_ids),
            GroupSession.status == SessionStatus.SCHEDULED,
            GroupSession.starts_at > now,
        )
        .subquery()
    )
    found = {
        s.cohort_id: s
        for s in db.session.scalars(
            select(GroupSession)
            .join(upcoming, upcoming.c.id == GroupSession.id)
            .where(upcoming.c.rank == 1)
        )
    }
    # Begun within the longest possible session: a few rows at most, whatever
    # the number of cohorts; whether each is still running needs its own length.
    begun = db.session.scalars(
        select(GroupSession)
        .where(
            GroupSession.cohort_id.in_(cohort_ids),
            GroupSession.status == SessionStatus.SCHEDULED,
            GroupSession.starts_at <= now,
            GroupSession.starts_at > now - LONGEST_SESSION,
        )
        .order_by(GroupSession.starts_at.desc(), GroupSession.id.desc())
    )
    for s in begun:  # latest first, so the earliest still running wins
        if s.ends_at > now:
            found[s.cohort_id] = s
    return found


def list_closed_dates(cohort_id: int | None) -> list[ClosedDate]:
    """A cohort's own skipped dates, or the clinic-wide ones (``None``)."""
    scope = (
        ClosedDate.cohort_id.is_(None) if cohort_id is None else ClosedDate.cohort_id == cohort_id
    )
    return list(db.session.scalars(select(ClosedDate).where(scope).order_by(ClosedDate.day)))


def add_closed_date(actor: Actor, day: date, label: str, cohort: Cohort | None) -> ClosedDate:
    cohort_id = cohort.id if cohort else None
    if any(row.day == day for row in list_closed_dates(cohort_id)):
        raise Conflict(f"{day.isoformat()} is already closed.", code="already_closed")
    row = ClosedDate(day=day, label=label, cohort_id=cohort_id)
    db.session.add(row)
    db.session.flush()
    if cohort is None:
        reflow_all()
    else:
        _require_editable(cohort)
        reflow(cohort)
    audit.record(actor, "closed_date.add", "closed_date", row.id)
    return row


def remove_closed_date(actor: Actor, row: ClosedDate) -> None:
    """Sessions already pushed back stay where they are: people may have planned
    around the new dates, so nothing moves without the facilitator saying so."""
    audit.record(actor, "closed_date.remove", "closed_date", row.id)
    db.session.delete(row)
