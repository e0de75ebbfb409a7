"""Everything the facilitator needs on one screen while running a session,
gathered in a fixed number of queries whatever the size of the group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ipt_groups.extensions import db
from ipt_groups.models import (
    Assessment,
    FollowUp,
    GroupSession,
    MemberMeeting,
    MemberTask,
    ProblemWork,
    RiskAlert,
    SessionNote,
    User,
)
from ipt_groups.protocol.agendas import AgendaItem
from ipt_groups.protocol.meetings import guide_for
from ipt_groups.protocol.programmes import MeetingKind
from ipt_groups.services import attendance, audit, clinic, measures, problem_work
from ipt_groups.services.attendance import Register, Row
from ipt_groups.services.audit import Actor


@dataclass(frozen=True)
class MemberLine:
    row: Row  # the member, their mark and any "I can't come"
    latest: dict[str, Any] | None  # their last score, of any instrument
    due: list[str]  # instruments due at this session not yet recorded for them
    task_to_review: dict[str, Any] | None  # the task agreed at an earlier session
    task_here: dict[str, Any] | None  # the task agreed at this session
    note_written: bool
    open_alerts: int
    work: dict[str, Any] | None  # the problem-area work recorded at this session
    guides: list[problem_work.AreaGuide]  # middle phase: the steps to suggest


@dataclass(frozen=True)
class Runner:
    session: GroupSession
    register: Register
    members: list[MemberLine]
    due: list[str]
    group_note: dict[str, Any] | None
    open_alerts: list[RiskAlert]
    follow_ups: list[FollowUp]
    crisis_text: str


Plain = dict[str, Any]


def _plain(stmt: Any) -> list[Plain]:
    """The statement's rows as plain dicts keyed by column name (issue 24: the
    runner shows these records and changes none, so no ORM entity is built,
    identity-mapped and tracked for them; the answer's schemas dump dicts alike)."""
    return [dict(row) for row in db.session.execute(stmt).mappings()]


def latest_scores(enrolment_ids: list[int]) -> dict[int, Plain]:
    """Each member's most recent assessment of any instrument, as the columns the
    runner shows (``measures.latest_by_member`` without the answers)."""
    if not enrolment_ids:
        return {}
    latest: dict[int, Plain] = {}
    rows = _plain(
        select(
            Assessment.enrolment_id,
            Assessment.id,
            Assessment.instrument,
            Assessment.instrument_name,
            Assessment.total,
            Assessment.band,
            Assessment.completed_at,
        )
        .where(Assessment.enrolment_id.in_(enrolment_ids))
        .order_by(Assessment.completed_at, Assessment.id)
    )
    for row in rows:  # ascending, so the last one seen wins
        latest[row["enrolment_id"]] = row
    return latest


def build(actor: Actor, user: User, session: GroupSession) -> Runner:
    register = attendance.register(session)
    ids = [r.enrolment.id for r in register.rows]
    due = measures.due_at_session(session)
    recorded = measures.recorded_at_sessions([session.id])
    latest = latest_scores(ids)

    earlier: dict[int, Plain] = {}
    here: dict[int, Plain] = {}
    if ids:
        tasks = _plain(
            select(
                MemberTask.id,
                MemberTask.session_id,
                MemberTask.enrolment_id,
                MemberTask.text,
                MemberTask.review,
                MemberTask.reviewed_at,
                MemberTask.reviewed_session_id,
                GroupSession.starts_at,
            )
            .join(GroupSession, GroupSession.id == MemberTask.session_id)
            .where(MemberTask.enrolment_id.in_(ids))
            .order_by(GroupSession.starts_at, MemberTask.id)
        )
        for task in tasks:
            starts_at = task.pop("starts_at")
            if task["session_id"] == session.id:
                here[task["enrolment_id"]] = task
            elif starts_at < session.starts_at:
                earlier[task["enrolment_id"]] = task  # ordered by time: the latest wins

    number = {"number": session.number}  # each note shows its session's number
    notes = {
        n["enrolment_id"]: {**n, "session": number}
        for n in _plain(
            select(
                SessionNote.id,
                SessionNote.session_id,
                SessionNote.enrolment_id,
                SessionNote.body,
                SessionNote.author_id,
                SessionNote.created_at,
            ).where(SessionNote.session_id == session.id)
        )
    }
    alerts = list(
        db.session.scalars(
            select(RiskAlert)
            .options(selectinload(RiskAlert.enrolment), selectinload(RiskAlert.assessment))
            .where(RiskAlert.cohort_id == session.cohort_id, RiskAlert.acknowledged_at.is_(None))
            .order_by(RiskAlert.opened_at)
        )
    )
    work = {  # problem_work.for_session's records, as plain rows
        w["enrolment_id"]: w
        for w in _plain(
            select(
                ProblemWork.id,
                ProblemWork.session_id,
                ProblemWork.enrolment_id,
                ProblemWork.techniques,
                ProblemWork.steps,
                ProblemWork.progress,
                ProblemWork.recorded_by_id,
                ProblemWork.recorded_at,
                ProblemWork.created_at,
            ).where(ProblemWork.session_id == session.id)
        )
    }
    guides = problem_work.guidance(session, [r.enrolment for r in register.rows])
    open_by_member: dict[int, int] = {}
    for alert in alerts:
        open_by_member[alert.enrolment_id] = open_by_member.get(alert.enrolment_id, 0) + 1

    lines = [
        MemberLine(
            row=row,
            latest=latest.get(row.enrolment.id),
            due=[k for k in due if k not in recorded.get((session.id, row.enrolment.id), set())],
            task_to_review=earlier.get(row.enrolment.id),
            task_here=here.get(row.enrolment.id),
            note_written=row.enrolment.id in notes,
            open_alerts=open_by_member.get(row.enrolment.id, 0),
            work=work.get(row.enrolment.id),
            guides=guides.get(row.enrolment.id, []),
        )
        for row in register.rows
    ]
    audit.record_reads(actor, "runner.read", "group_session", session.id, ids)
    return Runner(
        session=session,
        register=register,
        members=lines,
        due=due,
        group_note=notes.get(None),
        open_alerts=alerts,
        follow_ups=attendance.open_follow_ups([session.cohort_id]),
        crisis_text=clinic.current().crisis_text_for(user.language),
    )


@dataclass(frozen=True)
class MeetingGuide:
    """A one-to-one meeting: its agenda (read-only guidance), the measures due
    and which of them are recorded, and the member's context."""

    meeting: MemberMeeting
    items: tuple[AgendaItem, ...]
    due: list[str]
    recorded: list[str]
    latest: dict[str, Any] | None
    crisis_text: str


def meeting_guide(actor: Actor, user: User, meeting: MemberMeeting) -> MeetingGuide:
    member = meeting.enrolment
    recorded = db.session.scalars(
        select(Assessment.instrument).where(Assessment.meeting_id == meeting.id)
    )
    audit.record(actor, "meeting_guide.read", "member_meeting", meeting.id, subject_id=member.id)
    return MeetingGuide(
        meeting=meeting,
        items=guide_for(MeetingKind(meeting.kind), user.language),
        due=measures.due_at_meeting(meeting),
        recorded=sorted(set(recorded)),
        latest=latest_scores([member.id]).get(member.id),
        crisis_text=clinic.current().crisis_text_for(user.language),
    )
