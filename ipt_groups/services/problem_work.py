"""Problem-area work: per member and session, the techniques used, the steps
worked on and a 0-4 rating of progress on the member's goal; and, for a
middle-phase session, the steps to suggest for each member next.

The suggestion follows what was recorded at the member's earlier sessions: a
member whose grief work covered "the story of the death" last week is offered
"feelings about the loss" this week. The guidance itself is data
(``protocol.problem_areas``), in the facilitator's language.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ipt_groups.domain import Invalid
from ipt_groups.extensions import db
from ipt_groups.models import Enrolment, EnrolmentStatus, GroupSession, ProblemWork, User
from ipt_groups.protocol.agendas import AgendaKind
from ipt_groups.protocol.problem_areas import STEP_KEYS, Step, next_step, steps_for
from ipt_groups.services import audit
from ipt_groups.services.attendance import require_open
from ipt_groups.services.audit import Actor
from ipt_groups.timesource import utcnow


@dataclass(frozen=True)
class AreaGuide:
    """One of a member's problem areas: its steps, which were worked on at
    earlier sessions, and the one to suggest now."""

    area: str
    steps: tuple[Step, ...]
    done: frozenset[str]
    next: Step | None

    @property
    def all_done(self) -> bool:
        return bool(self.steps) and all(s.key in self.done for s in self.steps)


def is_middle(session: GroupSession) -> bool:
    # A catch-up session has no phase; its agenda is the middle one (services/agenda.py).
    return session.phase in (None, AgendaKind.MIDDLE)


def for_session(session: GroupSession) -> dict[int, ProblemWork]:
    """This session's records by enrolment id."""
    rows = db.session.scalars(select(ProblemWork).where(ProblemWork.session_id == session.id))
    return {w.enrolment_id: w for w in rows}


def guidance(session: GroupSession, members: Sequence[Enrolment]) -> dict[int, list[AreaGuide]]:
    """Per member, a guide for each of their problem areas, in one query.
    Only middle-phase sessions work on the problem areas step by step; any
    other session gets no suggestions."""
    if not is_middle(session) or not members:
        return {}
    done: dict[int, set[str]] = {m.id: set() for m in members}
    earlier = db.session.execute(
        select(ProblemWork.enrolment_id, ProblemWork.steps)
        .join(GroupSession, GroupSession.id == ProblemWork.session_id)
        .where(
            ProblemWork.enrolment_id.in_(done),
            GroupSession.cohort_id == session.cohort_id,
            GroupSession.starts_at < session.starts_at,
        )
    )
    for enrolment_id, steps in earlier:
        done[enrolment_id].update(steps or [])
    return {
        m.id: [
            AreaGuide(area, steps_for(area), frozenset(done[m.id]), next_step(area, done[m.id]))
            for area in m.problem_areas or []
            if steps_for(area)
        ]
        for m in members
    }


def _member_of(session: GroupSession, enrolment_id: int) -> Enrolment:
    member = db.session.get(Enrolment, enrolment_id)
    if (
        member is None
        or member.cohort_id != session.cohort_id
        or member.status != EnrolmentStatus.ENROLLED
    ):
        raise Invalid(fields={"enrolment_id": ["Not a member of this session's cohort."]})
    return member


def _check_steps(member: Enrolment, steps: Iterable[str]) -> list[str]:
    areas = set(member.problem_areas or [])
    # The schema has refused keys that are no step at all; here, steps of an
    # area the member is not working on (their areas may have been changed).
    foreign = sorted({s for s in steps if STEP_KEYS[s][0] not in areas})
    if foreign:
        raise Invalid(fields={"steps": [f"Not steps of this member's problem areas: {foreign}."]})
    return list(dict.fromkeys(steps))


def record(
    actor: Actor,
    user: User,
    session: GroupSession,
    enrolment_id: int,
    *,
    techniques: Sequence[str],
    steps: Sequence[str],
    progress: int | None,
) -> ProblemWork:
    """Create or replace the record for this session and member. Sending it
    again while the session can be recorded corrects it; who and when is the
    latest writer, and every write is in the audit trail."""
    require_open(session, utcnow())
    member = _member_of(session, enrolment_id)
    clean_steps = _check_steps(member, steps)
    values = {
        "techniques": list(dict.fromkeys(techniques)), "steps": clean_steps,
        "progress": progress, "recorded_by_id": user.id, "recorded_at": utcnow(),
    }  # fmt: skip
    work = _find(session.id, member.id)
    action = "problem_work.update"
    if work is None:
        try:
            with db.session.begin_nested():
                work = ProblemWork(session_id=session.id, enrolment_id=member.id, **values)
                db.session.add(work)
            action = "problem_work.create"
        except IntegrityError:
            # Two tablets' first saves for this member at once: the other one
            # took the row between our read and our insert. Ours is then a
            # correction of it, as if sent a moment later (no 500).
            work = _find(session.id, member.id)
            if work is None:
                raise
    for name, value in values.items():
        setattr(work, name, value)
    db.session.flush()
    audit.record(actor, action, "problem_work", work.id, subject_id=member.id)
    return work


def _find(session_id: int, enrolment_id: int) -> ProblemWork | None:
    return db.session.scalar(
        select(ProblemWork).where(
            ProblemWork.session_id == session_id, ProblemWork.enrolment_id == enrolment_id
        )
    )


def audit_read(actor: Actor, session: GroupSession, member_ids: Iterable[int]) -> None:
    """One row per member whose work the read showed."""
    audit.record_reads(actor, "problem_work.read", "group_session", session.id, member_ids)


def member_rows(enrolment_id: int) -> list[tuple[ProblemWork, GroupSession]]:
    """A member's records with their sessions, oldest first (their export)."""
    rows = db.session.execute(
        select(ProblemWork, GroupSession)
        .join(GroupSession, GroupSession.id == ProblemWork.session_id)
        .where(ProblemWork.enrolment_id == enrolment_id)
        .order_by(GroupSession.starts_at, ProblemWork.id)
    )
    return [(work, session) for work, session in rows]
