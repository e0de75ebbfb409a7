"""The follow-up contact after a programme ends, and reminders of one-to-one meetings.

Follow-up: some weeks after the last session (the programme's
``follow_up_weeks``, 13 by default), each member who completed (still enrolled
when the last session has been held) gets a booked ``follow_up`` meeting with
the full PHQ-9 due. It is created only once the last session is over, so a
withdrawn member never gets one and a cohort whose sessions moved gets the date
from where the last session really was. The clock makes them (a reconciliation,
safe to run often); completing a cohort makes them at once.

The time is the last session's wall-clock time in the **cohort's** zone, the
interval later on its calendar: a 17:00 session in October is followed up at
17:00 in January, whatever daylight saving did in between. The cohort's zone,
as for every other meeting the facilitator books: the member's own zone only
changes how the time is shown to them.

Meeting reminders: a member with a booked one-to-one meeting (any kind) gets
a neutral reminder the day before (``meeting_24h``), planned and checked
against cancellation or a move like session reminders (services/reminders.py
calls in here).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ipt_groups.extensions import db
from ipt_groups.models import (
    Cohort,
    CohortStatus,
    Enrolment,
    EnrolmentStatus,
    GroupSession,
    MeetingStatus,
    MemberMeeting,
    Notification,
    NotificationKind,
    NotificationStatus,
    SessionKind,
    SessionStatus,
    User,
)
from ipt_groups.protocol.programmes import MeetingKind, template_from_dict
from ipt_groups.protocol.recurrence import local_to_utc, utc_to_local
from ipt_groups.services import audit, outbox
from ipt_groups.timesource import utcnow

FOLLOW_UP_LABEL = "Follow-up meeting"
MEETING_REF = "member_meeting"
REMINDER_BEFORE = timedelta(hours=24)
REMINDER_UNTIL = timedelta(hours=12)  # not worth sending later than this before it
# The clock looks back this far for programmes that ended, so its minutely run
# does not re-read every cohort the clinic ever ran; completing a cohort books
# its follow-ups whenever it ended.
LOOK_BACK = timedelta(days=30)


def follow_up_at(last_session_start: datetime, weeks: int, zone: str) -> datetime:
    """``weeks`` after the last session, at its wall-clock time in ``zone``."""
    local = utc_to_local(last_session_start, zone)
    day = local.date() + timedelta(weeks=weeks)
    return local_to_utc(day, local.time().replace(tzinfo=None), zone)


def _last_sessions(now: datetime, cohort_ids: Collection[int] | None) -> dict[int, datetime]:
    """Cohorts whose last numbered group session is over: cohort id -> its start.

    Without ``cohort_ids`` (the clock's run) only sessions since LOOK_BACK are
    read: a cohort with one there has its last session there or later.
    """
    held: tuple[Any, ...] = (
        GroupSession.kind == SessionKind.GROUP,
        GroupSession.status == SessionStatus.SCHEDULED,
    )
    if cohort_ids is not None:
        held += (GroupSession.cohort_id.in_(cohort_ids),)
    else:
        held += (GroupSession.starts_at > now - LOOK_BACK,)
    last = (
        select(GroupSession.cohort_id, func.max(GroupSession.number).label("number"))
        .where(*held)
        .group_by(GroupSession.cohort_id)
        .subquery()
    )
    same = (last.c.cohort_id == GroupSession.cohort_id) & (last.c.number == GroupSession.number)
    stmt = (
        select(GroupSession)
        .join(last, same)
        .join(Cohort, Cohort.id == GroupSession.cohort_id)
        .where(
            *held,
            GroupSession.starts_at <= now,
            # Not only active or completed: reminders go to planned cohorts too,
            # so a group run without pressing "start" still ran. Cancelled did not.
            Cohort.status != CohortStatus.CANCELLED,
        )
    )
    found: dict[int, datetime] = {}
    for session in db.session.scalars(stmt):
        # Only the last of the programme (a shortened calendar has no follow-up yet).
        if session.number == session.cohort.group_session_count and session.ends_at <= now:
            found[session.cohort_id] = session.starts_at
    return found


def ensure_follow_ups(
    now: datetime | None = None, cohort_ids: Collection[int] | None = None
) -> list[MemberMeeting]:
    """Create the follow-up meetings owed (none twice); returns the new ones."""
    now = now or utcnow()
    last = _last_sessions(now, cohort_ids)
    if not last:
        return []
    have = _booked(last)
    members = db.session.scalars(
        select(Enrolment)
        .options(selectinload(Enrolment.cohort))
        .where(
            Enrolment.cohort_id.in_(last),
            Enrolment.status == EnrolmentStatus.ENROLLED,
            Enrolment.erased_at.is_(None),
        )
    )
    created: list[MemberMeeting] = []
    for member in members:
        if member.id in have:
            continue
        template = template_from_dict(member.cohort.programme)
        if template.follow_up_weeks is None:
            continue
        zone = member.cohort.time_zone
        meeting = MemberMeeting(
            enrolment_id=member.id,
            kind=MeetingKind.FOLLOW_UP.value,
            label=FOLLOW_UP_LABEL,
            after_session=template.group_sessions,
            starts_at=follow_up_at(last[member.cohort_id], template.follow_up_weeks, zone),
        )
        try:
            # Another run may have booked it since ``have`` was read (two clock
            # processes, or the clock and a cohort being completed): the unique
            # index on one follow-up per member refuses the second, and it is
            # skipped rather than failing the whole run.
            with db.session.begin_nested():
                db.session.add(meeting)
        except IntegrityError:
            continue
        created.append(meeting)
    for meeting in created:
        audit.record(
            audit.SYSTEM, "meeting.follow_up", "member_meeting", meeting.id,
            subject_id=meeting.enrolment_id,
        )  # fmt: skip
    return created


def _booked(last: Collection[int]) -> set[int]:
    """The members of these cohorts who already have a follow-up."""
    return set(
        db.session.scalars(
            select(MemberMeeting.enrolment_id)
            .join(Enrolment, Enrolment.id == MemberMeeting.enrolment_id)
            .where(Enrolment.cohort_id.in_(last), MemberMeeting.kind == MeetingKind.FOLLOW_UP)
        )
    )


# -- reminders of booked one-to-one meetings ---------------------------------


def meeting_key(meeting: MemberMeeting, user_id: int) -> str:
    # The start is in the key: a moved meeting gets a new row, the old one goes.
    return f"meeting_24h:meeting:{meeting.id}:{user_id}:{int(meeting.starts_at.timestamp())}"


def wanted_reminders(
    now: datetime, horizon: timedelta, cohort_ids: Collection[int] | None
) -> dict[str, dict[str, Any]]:
    """The meeting reminders owed now: dedupe key -> outbox row (before quiet hours)."""
    stmt = (
        select(MemberMeeting, User)
        .join(Enrolment, Enrolment.id == MemberMeeting.enrolment_id)
        .join(User, User.id == Enrolment.user_id)
        .where(
            MemberMeeting.status == MeetingStatus.SCHEDULED,
            MemberMeeting.starts_at > now + REMINDER_UNTIL,
            MemberMeeting.starts_at <= now + horizon,
            Enrolment.status == EnrolmentStatus.ENROLLED,
            User.disabled_at.is_(None),
        )
    )
    if cohort_ids is not None:
        stmt = stmt.where(Enrolment.cohort_id.in_(cohort_ids))
    rows = list(db.session.execute(stmt))
    prefs = outbox.preferences_for(u.id for _, u in rows)
    wanted: dict[str, dict[str, Any]] = {}
    kind = NotificationKind.MEETING_24H
    for meeting, user in rows:
        if not prefs[user.id].wants(kind) or meeting.starts_at is None:
            continue
        key = meeting_key(meeting, user.id)
        wanted[key] = {
            "user_id": user.id,
            "kind": kind,
            "dedupe_key": key,
            "ref_type": MEETING_REF,
            "ref_id": meeting.id,
            "due_at": outbox.due_for(
                user, kind, meeting.starts_at - REMINDER_BEFORE, meeting.starts_at, prefs[user.id]
            ),
            "expires_at": meeting.starts_at,
        }
    return wanted


def pending_reminders(cohort_ids: Collection[int] | None) -> list[Notification]:
    stmt = select(Notification).where(
        Notification.status == NotificationStatus.PENDING,
        Notification.ref_type == MEETING_REF,
        Notification.kind == NotificationKind.MEETING_24H,
    )
    if cohort_ids is not None:
        stmt = stmt.where(
            Notification.ref_id.in_(
                select(MemberMeeting.id)
                .join(Enrolment, Enrolment.id == MemberMeeting.enrolment_id)
                .where(Enrolment.cohort_id.in_(cohort_ids))
            )
        )
    return list(db.session.scalars(stmt))


def stale_reminders(rows: Sequence[Any]) -> dict[int, str]:
    """Meeting reminders not to send after all: cancelled, moved, member gone."""
    mine = [r for r in rows if r.kind == NotificationKind.MEETING_24H]
    if not mine:
        return {}
    found = {
        m.id: (m, e)
        for m, e in db.session.execute(
            select(MemberMeeting, Enrolment)
            .join(Enrolment, Enrolment.id == MemberMeeting.enrolment_id)
            .where(MemberMeeting.id.in_({r.ref_id for r in mine if r.ref_id}))
        )
    }
    reasons: dict[int, str] = {}
    for row in mine:
        meeting, member = found.get(row.ref_id or 0, (None, None))
        if meeting is None or member is None or meeting.status != MeetingStatus.SCHEDULED:
            reasons[row.id] = "meeting_cancelled"
        elif meeting.starts_at != row.expires_at:
            reasons[row.id] = "meeting_moved"
        elif member.status != EnrolmentStatus.ENROLLED or member.user_id != row.user_id:
            reasons[row.id] = "not_enrolled"
    return reasons
