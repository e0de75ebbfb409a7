"""Session notes (written once) and each member's interpersonal task.

A note is a clinical record: it is never edited, so everyone who opens a
member's record later reads what was written at the time. A correction is a
new note on the member (or on the next session), which the record shows too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ipt_groups.domain import Conflict, Invalid
from ipt_groups.extensions import db
from ipt_groups.models import (
    Assessment,
    Attendance,
    AttendanceStatus,
    Enrolment,
    GroupSession,
    MemberTask,
    ProblemWork,
    RiskAlert,
    SessionNote,
    User,
)
from ipt_groups.services import audit, problem_work
from ipt_groups.services.attendance import require_open
from ipt_groups.services.audit import Actor
from ipt_groups.timesource import utcnow


def _member_of(session: GroupSession, enrolment_id: int) -> Enrolment:
    member = db.session.get(Enrolment, enrolment_id)
    if member is None or member.cohort_id != session.cohort_id:
        raise Invalid(fields={"enrolment_id": ["Not a member of this session's cohort."]})
    return member


def write_note(
    actor: Actor, user: User, session: GroupSession, body: str, enrolment_id: int | None
) -> SessionNote:
    """The group note (no member) or a note about one member; once only."""
    require_open(session, utcnow())
    member = _member_of(session, enrolment_id) if enrolment_id is not None else None
    note = SessionNote(
        session_id=session.id,
        enrolment_id=member.id if member else None,
        body=body,
        author_id=user.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(note)
    except IntegrityError:
        raise Conflict(
            "A note was written for this already; notes are not changed once written.",
            code="note_exists",
        ) from None
    audit.record(
        actor, "note.create", "session_note", note.id, subject_id=member.id if member else None
    )
    return note


def session_notes(session: GroupSession) -> list[SessionNote]:
    stmt = select(SessionNote).where(SessionNote.session_id == session.id)
    return list(db.session.scalars(stmt.options(selectinload(SessionNote.session))
                                   .order_by(SessionNote.id)))  # fmt: skip


def audit_notes_read(actor: Actor, session: GroupSession, rows: Sequence[SessionNote]) -> None:
    """One row for the session, and one per member the notes are about: those
    with a note of their own, and, when there is a group note, those who came."""
    audit.record(actor, "note.read", "group_session", session.id)
    members = [n.enrolment_id for n in rows if n.enrolment_id is not None]
    if any(n.enrolment_id is None for n in rows):
        came = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)
        members += db.session.scalars(
            select(Attendance.enrolment_id).where(
                Attendance.session_id == session.id, Attendance.status.in_(came)
            )
        )
    audit.record_reads(actor, "note.read", "group_session", session.id, members)


def set_tasks(
    actor: Actor, user: User, session: GroupSession, tasks: Sequence[tuple[int, str]]
) -> list[MemberTask]:
    """Agree each member's task for the coming week (upsert per member). A task
    already reviewed at a later session is history and cannot be rewritten."""
    require_open(session, utcnow())
    members = {eid: _member_of(session, eid) for eid, _ in tasks}
    existing = {
        t.enrolment_id: t
        for t in db.session.scalars(select(MemberTask).where(MemberTask.session_id == session.id))
    }
    for enrolment_id, text in tasks:
        task = existing.get(enrolment_id)
        if task is not None and task.review is not None:
            raise Conflict(
                "That task has been reviewed already.", code="task_reviewed",
                fields={"tasks": [f"Reviewed: enrolment {enrolment_id}."]},
            )  # fmt: skip
        if task is None:
            task = MemberTask(session_id=session.id, enrolment_id=enrolment_id)
            db.session.add(task)
            existing[enrolment_id] = task
        task.text, task.set_by_id = text, user.id
    db.session.flush()
    for enrolment_id in members:
        audit.record(actor, "task.set", "member_task", existing[enrolment_id].id,
                     subject_id=enrolment_id)  # fmt: skip
    return sorted(existing.values(), key=lambda t: t.id)


def review_task(
    actor: Actor, user: User, task: MemberTask, outcome: str, at_session: GroupSession
) -> MemberTask:
    """Record at a later session how the task went: done, partly or not done."""
    set_at = db.session.get(GroupSession, task.session_id)
    if at_session.cohort_id != set_at.cohort_id or at_session.starts_at <= set_at.starts_at:
        raise Invalid(
            fields={"session_id": ["Review a task at a later session of the same cohort."]}
        )
    require_open(at_session, utcnow())
    if task.review is not None:
        raise Conflict("This task has been reviewed already.", code="task_reviewed")
    task.review, task.reviewed_at = outcome, utcnow()
    task.reviewed_by_id, task.reviewed_session_id = user.id, at_session.id
    audit.record(actor, "task.review", "member_task", task.id, subject_id=task.enrolment_id)
    return task


# -- a member's record -------------------------------------------------------


@dataclass(frozen=True)
class MemberRecord:
    member: Enrolment
    attendance: list[tuple[GroupSession, str]]
    assessments: list[Assessment]
    notes: list[SessionNote]  # their own notes and the group notes of sessions they attended
    tasks: list[MemberTask]
    alerts: list[RiskAlert]
    problem_work: list[ProblemWork]  # oldest first: progress on the goal over the sessions


def member_record(actor: Actor, member: Enrolment) -> MemberRecord:
    attended = list(
        db.session.execute(
            select(GroupSession, Attendance.status)
            .join(Attendance, Attendance.session_id == GroupSession.id)
            .where(Attendance.enrolment_id == member.id)
            .order_by(GroupSession.starts_at)
        )
    )
    present_ids = [
        s.id
        for s, status in attended
        if status in (AttendanceStatus.PRESENT, AttendanceStatus.LATE)
    ]
    notes = db.session.scalars(
        select(SessionNote)
        .options(selectinload(SessionNote.session))  # the record shows each note's number
        .join(GroupSession, GroupSession.id == SessionNote.session_id)
        .where(
            (SessionNote.enrolment_id == member.id)
            | (SessionNote.enrolment_id.is_(None) & SessionNote.session_id.in_(present_ids))
        )
        .order_by(GroupSession.starts_at, SessionNote.id)
    )
    record = MemberRecord(
        member=member,
        attendance=attended,
        assessments=list(
            db.session.scalars(
                select(Assessment)
                .where(Assessment.enrolment_id == member.id)
                .order_by(Assessment.completed_at, Assessment.id)
            )
        ),
        notes=list(notes),
        tasks=list(
            db.session.scalars(
                select(MemberTask)
                .where(MemberTask.enrolment_id == member.id)
                .order_by(MemberTask.created_at, MemberTask.id)
            )
        ),
        alerts=list(
            db.session.scalars(
                select(RiskAlert)
                .options(
                    selectinload(RiskAlert.enrolment).selectinload(Enrolment.cohort),
                    selectinload(RiskAlert.assessment),
                )
                .where(RiskAlert.enrolment_id == member.id)
                .order_by(RiskAlert.opened_at.desc())
            )
        ),
        problem_work=[w for w, _ in problem_work.member_rows(member.id)],
    )
    audit.record(actor, "member_record.read", "enrolment", member.id, subject_id=member.id)
    return record
