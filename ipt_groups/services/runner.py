"""Everything the facilitator needs on one screen while running a session,
gathered in a fixed number of queries whatever the size of the group."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

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
from ipt_groups.services import attendance, audit, measures, problem_work, settings
from ipt_groups.services.attendance import Register, Row
from ipt_groups.services.audit import Actor


@dataclass(frozen=True)
class MemberLine:
    row: Row  # the member, their mark and any "I can't come"
    latest: Assessment | None  # their last score, of any instrument
    due: list[str]  # instruments due at this session not yet recorded for them
    task_to_review: MemberTask | None  # the task agreed at an earlier session
    task_here: MemberTask | None  # the task agreed at this session
    note_written: bool
    open_alerts: int
    work: ProblemWork | None  # the problem-area work recorded at this session
    guides: list[problem_work.AreaGuide]  # middle phase: the steps to suggest


@dataclass(frozen=True)
class Runner:
    session: GroupSession
    register: Register
    members: list[MemberLine]
    due: list[str]
    group_note: SessionNote | None
    open_alerts: list[RiskAlert]
    follow_ups: list[FollowUp]
    crisis_text: str


def build(actor: Actor, user: User, session: GroupSession) -> Runner:
    register = attendance.register(session)
    ids = [r.enrolment.id for r in register.rows]
    due = measures.due_at_session(session)
    recorded = measures.recorded_at_sessions([session.id])
    latest = measures.latest_by_member(ids)

    earlier: dict[int, MemberTask] = {}
    here: dict[int, MemberTask] = {}
    if ids:
        tasks = db.session.execute(
            select(MemberTask, GroupSession.starts_at)
            .join(GroupSession, GroupSession.id == MemberTask.session_id)
            .where(MemberTask.enrolment_id.in_(ids))
            .order_by(GroupSession.starts_at, MemberTask.id)
        )
        for task, starts_at in tasks:
            if task.session_id == session.id:
                here[task.enrolment_id] = task
            elif starts_at < session.starts_at:
                earlier[task.enrolment_id] = task  # ordered by time: the latest wins

    notes = {
        n.enrolment_id: n
        for n in db.session.scalars(select(SessionNote).where(SessionNote.session_id == session.id))
    }
    for note in notes.values():
        # The answer shows the note's session number after this function returns,
        # when nothing may hold ``session`` any more (the identity map is weak).
        set_committed_value(note, "session", session)
    alerts = list(
        db.session.scalars(
            select(RiskAlert)
            .options(selectinload(RiskAlert.enrolment), selectinload(RiskAlert.assessment))
            .where(RiskAlert.cohort_id == session.cohort_id, RiskAlert.acknowledged_at.is_(None))
            .order_by(RiskAlert.opened_at)
        )
    )
    work = problem_work.for_session(session)
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
        crisis_text=settings.current().crisis_text_for(user.language),
    )


@dataclass(frozen=True)
class MeetingGuide:
    """A one-to-one meeting: its agenda (read-only guidance), the measures due
    and which of them are recorded, and the member's context."""

    meeting: MemberMeeting
    items: tuple[AgendaItem, ...]
    due: list[str]
    recorded: list[str]
    latest: Assessment | None
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
        latest=measures.latest_by_member([member.id]).get(member.id),
        crisis_text=settings.current().crisis_text_for(user.language),
    )
