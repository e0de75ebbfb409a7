"""Attendance, "I can't come", and the follow-up after a first absence.

Writes come from tablets that may have been offline: every write is an upsert on
(session, member), and a batch carrying a client key that was already applied
is not applied again, so a late replay cannot undo a correction made since.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ipt_groups.domain import Conflict, Invalid, NotFound
from ipt_groups.extensions import db
from ipt_groups.models import (
    Apology,
    Attendance,
    AttendanceStatus,
    Enrolment,
    EnrolmentStatus,
    FollowUp,
    GroupSession,
    IdempotencyKey,
    SessionStatus,
    User,
)
from ipt_groups.services import audit, reminders, sessions
from ipt_groups.services.audit import Actor
from ipt_groups.timesource import utcnow

# Attendance can be taken from a little before the start (people arrive early).
OPENS_BEFORE = timedelta(hours=2)


@dataclass(frozen=True)
class Member:
    """The enrolment columns a register shows, read as a plain row (issue 24: the
    register is on every runner read and attendance write, and an ``Enrolment``
    entity carries its screening, contacts and consent besides)."""

    id: int
    display_name: str
    status: str
    problem_areas: list[str]
    goal: str | None


@dataclass(frozen=True)
class Excuse:
    """A member's "I can't come" for the session: only its reason is shown."""

    reason: str | None


@dataclass(frozen=True)
class Row:
    enrolment: Member
    status: str | None
    apology: Excuse | None


@dataclass(frozen=True)
class Register:
    session: GroupSession
    rows: list[Row]
    expected: int  # enrolled members who have not sent apologies
    minimum: int  # the programme's minimum group size

    @property
    def below_minimum(self) -> bool:
        return self.expected < self.minimum


def _members(session: GroupSession) -> list[Member]:
    """Members who belong on this session's register: enrolled now, or recorded."""
    recorded = select(Attendance.enrolment_id).where(Attendance.session_id == session.id)
    stmt = (
        select(
            Enrolment.id,
            Enrolment.display_name,
            Enrolment.status,
            Enrolment.problem_areas,
            Enrolment.goal,
        )
        .where(
            Enrolment.cohort_id == session.cohort_id,
            (Enrolment.status == EnrolmentStatus.ENROLLED) | Enrolment.id.in_(recorded),
        )
        .order_by(Enrolment.display_name, Enrolment.id)
    )
    return [Member(*row) for row in db.session.execute(stmt)]


def _register(
    session: GroupSession, members: list[Member], marks: dict[int, str | None]
) -> Register:
    apologies = {
        enrolment_id: Excuse(reason)
        for enrolment_id, reason in db.session.execute(
            select(Apology.enrolment_id, Apology.reason).where(Apology.session_id == session.id)
        )
    }
    rows = [Row(m, marks.get(m.id), apologies.get(m.id)) for m in members]
    expected = sum(
        1 for r in rows if r.enrolment.status == EnrolmentStatus.ENROLLED and r.apology is None
    )
    return Register(session, rows, expected, int(session.cohort.programme["group_size_min"]))


def register(session: GroupSession) -> Register:
    members = _members(session)
    marks = {
        enrolment_id: status
        for enrolment_id, status in db.session.execute(
            select(Attendance.enrolment_id, Attendance.status).where(
                Attendance.session_id == session.id
            )
        )
    }
    return _register(session, members, marks)


def _claim_key(user: User, key: str | None) -> bool:
    """True when this client key is new (so the batch should be applied)."""
    if not key:
        return True
    scoped = f"{user.id}:{key}"
    if db.session.get(IdempotencyKey, scoped) is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(IdempotencyKey(key=scoped, user_id=user.id))
    except IntegrityError:  # the same batch arriving twice at once
        return False
    return True


def require_open(session: GroupSession, now: datetime) -> None:
    if session.status != SessionStatus.SCHEDULED:
        raise Conflict("This session was cancelled.", code="session_cancelled")
    if session.cohort.status not in sessions.EDITABLE:
        raise Conflict(f"The cohort is {session.cohort.status}.", code="cohort_closed")
    if now < session.starts_at - OPENS_BEFORE:
        raise Conflict("Attendance opens two hours before the session.", code="session_not_started")


def record(
    actor: Actor,
    user: User,
    session: GroupSession,
    marks: Sequence[tuple[int, str]],
    client_key: str | None,
) -> Register:
    """Set the status of members (enrolment id, status); returns the register."""
    now = utcnow()
    require_open(session, now)
    listed = _members(session)
    members = {m.id: m for m in listed}
    unknown = [eid for eid, _ in marks if eid not in members]
    if unknown:
        raise Invalid(
            fields={"entries": [f"Not a member of this session: {sorted(set(unknown))}."]}
        )
    if _claim_key(user, client_key):
        existing = {
            a.enrolment_id: a
            for a in db.session.scalars(
                select(Attendance).where(Attendance.session_id == session.id)
            )
        }
        for enrolment_id, status in marks:
            row = existing.get(enrolment_id)
            if row is None:
                row = Attendance(session_id=session.id, enrolment_id=enrolment_id)
                db.session.add(row)
                existing[enrolment_id] = row
            if row.status != status:
                row.status = status
                row.recorded_by_id = actor.user_id
                row.recorded_at = now
            if status == AttendanceStatus.ABSENT:
                _follow_up_first_absence(session, members[enrolment_id])
        db.session.flush()
        audit.record_reads(
            actor, "attendance.record", "group_session", session.id, [e for e, _ in marks]
        )
        # The register from what is loaded (the same members: a recorded member
        # stays on it), not read again.
        return _register(session, listed, {e: a.status for e, a in existing.items()})
    return register(session)


def all_present(
    actor: Actor, user: User, session: GroupSession, client_key: str | None
) -> Register:
    """Everyone enrolled is present, except those who sent apologies (excused)."""
    current = register(session)
    marks = [
        (r.enrolment.id, AttendanceStatus.EXCUSED if r.apology else AttendanceStatus.PRESENT)
        for r in current.rows
        if r.enrolment.status == EnrolmentStatus.ENROLLED
    ]
    return record(actor, user, session, marks, client_key)


def _follow_up_first_absence(session: GroupSession, member: Member) -> None:
    exists = db.session.scalar(
        select(FollowUp.id).where(
            FollowUp.enrolment_id == member.id, FollowUp.kind == "first_absence"
        )
    )
    if exists is not None:
        return
    following = [
        s
        for s in session.cohort.sessions
        if s.status == SessionStatus.SCHEDULED and s.starts_at > session.starts_at
    ]
    due = min((s.starts_at for s in following), default=None)
    db.session.add(
        FollowUp(
            cohort_id=session.cohort_id,
            enrolment_id=member.id,
            session_id=session.id,
            kind="first_absence",
            due_at=due,
        )
    )


def apologise(
    actor: Actor, member: Enrolment, session: GroupSession, reason: str | None
) -> Apology:
    """A member says they cannot come to an upcoming session of their own group."""
    if session.cohort_id != member.cohort_id or member.status != EnrolmentStatus.ENROLLED:
        raise NotFound()
    if session.status != SessionStatus.SCHEDULED or session.starts_at <= utcnow():
        raise Conflict("This session is not coming up.", code="session_not_upcoming")
    apology = db.session.scalar(
        select(Apology).where(Apology.session_id == session.id, Apology.enrolment_id == member.id)
    )
    if apology is None:
        apology = Apology(session_id=session.id, enrolment_id=member.id)
        db.session.add(apology)
    apology.reason = reason
    db.session.flush()
    audit.record(actor, "apology.send", "group_session", session.id, subject_id=member.id)
    reminders.replan_cohort(session.cohort_id)  # no reminder for a session they can't attend
    return apology


def withdraw_apology(actor: Actor, member: Enrolment, session: GroupSession) -> None:
    apology = db.session.scalar(
        select(Apology).where(Apology.session_id == session.id, Apology.enrolment_id == member.id)
    )
    if apology is not None:
        db.session.delete(apology)
        audit.record(actor, "apology.withdraw", "group_session", session.id, subject_id=member.id)
        db.session.flush()
        reminders.replan_cohort(session.cohort_id)


def open_follow_ups(cohort_ids: Sequence[int]) -> list[FollowUp]:
    stmt = (
        select(FollowUp)
        .options(selectinload(FollowUp.enrolment))  # each task shows the member's name
        .where(FollowUp.cohort_id.in_(cohort_ids), FollowUp.done_at.is_(None))
        .order_by(FollowUp.due_at, FollowUp.id)
    )
    return list(db.session.scalars(stmt))


def complete_follow_up(actor: Actor, task: FollowUp) -> FollowUp:
    if task.done_at is None:
        task.done_at = utcnow()
        task.done_by_id = actor.user_id
        audit.record(actor, "follow_up.done", "follow_up", task.id)
    return task
