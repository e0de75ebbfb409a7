"""The facilitator's fidelity checklist of one session.

The items come from protocol/fidelity.py for the session's phase; per-member
items are asked once for each member who came (from the register). Where the
records already answer an item (the register, scores, tasks) the answer is
suggested as ``prefill`` and the facilitator confirms or changes it. The
checklist can be sent again until a supervisor has reviewed it: after that it
is what was rated, and a change would make the rating mean something else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ipt_groups.domain import Conflict, Invalid
from ipt_groups.extensions import db
from ipt_groups.models import (
    AgendaEntry,
    Attendance,
    AttendanceStatus,
    Enrolment,
    FidelityAnswer,
    FidelityChecklist,
    GroupSession,
    MemberTask,
    ProblemWork,
    User,
)
from ipt_groups.protocol.agendas import ItemKind
from ipt_groups.protocol.fidelity import DEFAULT_PHASE, FidelityItem, Prefill, items_for
from ipt_groups.services import audit, measures
from ipt_groups.services.attendance import require_open
from ipt_groups.services.audit import Actor
from ipt_groups.timesource import utcnow

CAME = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)
# What an answer counts towards the score: partly done is half done.
WEIGHT = {FidelityAnswer.YES: 1.0, FidelityAnswer.PARTLY: 0.5, FidelityAnswer.NO: 0.0}


@dataclass(frozen=True)
class Line:
    """One question of the checklist as the facilitator sees it."""

    key: str
    text: str
    enrolment_id: int | None
    display_name: str | None
    prefill: str | None
    answer: str | None
    comment: str


@dataclass(frozen=True)
class Checklist:
    session: GroupSession
    phase: str
    lines: list[Line]
    record: FidelityChecklist | None
    # The phase's items before they are expanded per member: a tablet offline
    # asks the per-member ones for whoever it has marked present since.
    template: list[dict[str, Any]] = field(default_factory=list)


def _share(done: int, of: int) -> str | None:
    if of == 0:
        return None
    if done >= of:
        return FidelityAnswer.YES
    return FidelityAnswer.PARTLY if done else FidelityAnswer.NO


def _prefills(session: GroupSession, came: list[int]) -> dict[Prefill, str | None]:
    """What the records say, item source by source (None: they do not say)."""
    marks = list(
        db.session.scalars(select(Attendance.status).where(Attendance.session_id == session.id))
    )
    here = set(came)
    tasks_set = set(
        db.session.scalars(
            select(MemberTask.enrolment_id).where(MemberTask.session_id == session.id)
        )
    )
    reviewed = db.session.scalar(
        select(MemberTask.id).where(MemberTask.reviewed_session_id == session.id).limit(1)
    )
    recorded = measures.recorded_at_sessions([session.id])
    scored = {eid for (_, eid) in recorded if eid in here}
    mood_ticked = db.session.scalar(
        select(AgendaEntry.id)
        .where(
            AgendaEntry.session_id == session.id,
            AgendaEntry.kind == ItemKind.CHECK_IN,
            AgendaEntry.done_at.is_not(None),
        )
        .limit(1)
    )
    return {
        Prefill.ATTENDANCE: FidelityAnswer.YES if marks else FidelityAnswer.NO,
        Prefill.MOOD: FidelityAnswer.YES if mood_ticked else _share(len(scored), len(here)),
        Prefill.MEASURES: _share(len(scored), len(here)),
        Prefill.TASKS_REVIEWED: FidelityAnswer.YES if reviewed else None,
        Prefill.TASKS_SET: _share(len(tasks_set & here), len(here)),
    }


def _member_prefills(session: GroupSession, came: list[int]) -> dict[Prefill, dict[int, str]]:
    """The per-member sources: member id -> the suggested answer."""
    worked = {
        eid
        for eid, techniques, steps in db.session.execute(
            select(ProblemWork.enrolment_id, ProblemWork.techniques, ProblemWork.steps).where(
                ProblemWork.session_id == session.id
            )
        )
        if techniques or steps  # a record saved empty says nothing was done
    }
    return {
        Prefill.PROBLEM_WORK: {
            eid: FidelityAnswer.YES if eid in worked else FidelityAnswer.NO for eid in came
        }
    }


def _came(session: GroupSession) -> list[Enrolment]:
    return list(
        db.session.scalars(
            select(Enrolment)
            .join(Attendance, Attendance.enrolment_id == Enrolment.id)
            .where(Attendance.session_id == session.id, Attendance.status.in_(CAME))
            .order_by(Enrolment.display_name, Enrolment.id)
        )
    )


def _record(session: GroupSession) -> FidelityChecklist | None:
    return db.session.scalar(
        select(FidelityChecklist).where(FidelityChecklist.session_id == session.id)
    )


def _questions(
    items: Sequence[FidelityItem], members: Sequence[Enrolment]
) -> list[tuple[FidelityItem, Enrolment | None]]:
    out: list[tuple[FidelityItem, Enrolment | None]] = []
    for item in items:
        if item.per_member:
            out += [(item, m) for m in members]
        else:
            out.append((item, None))
    return out


def checklist(user: User, session: GroupSession) -> Checklist:
    """The questions for this session, each with its suggested and given answer."""
    record = _record(session)
    phase = record.phase if record else (session.phase or DEFAULT_PHASE)
    members = _came(session)
    given = {(a["key"], a.get("enrolment_id")): a for a in (record.answers if record else [])}
    pre = _prefills(session, [m.id for m in members])
    per_member = _member_prefills(session, [m.id for m in members])
    lines = []
    for item, member in _questions(items_for(phase), members):
        answer = given.get((item.key, member.id if member else None), {})
        prefill: str | None = None
        if item.prefill in per_member:
            prefill = per_member[item.prefill].get(member.id) if member else None
        elif item.prefill:
            prefill = pre.get(item.prefill)
        lines.append(
            Line(
                key=item.key,
                text=item.text_for(user.language),
                enrolment_id=member.id if member else None,
                display_name=member.display_name if member else None,
                prefill=prefill,
                answer=answer.get("answer"),
                comment=answer.get("comment", ""),
            )
        )
    template = [
        {"key": i.key, "text": i.text_for(user.language), "per_member": i.per_member,
         "prefill": i.prefill.value if i.prefill else None}
        for i in items_for(phase)
    ]  # fmt: skip
    return Checklist(session=session, phase=phase, lines=lines, record=record, template=template)


def score(answers: Sequence[dict[str, Any]]) -> float:
    if not answers:
        return 0.0
    return round(sum(WEIGHT[a["answer"]] for a in answers) / len(answers), 4)


def submit(
    actor: Actor, user: User, session: GroupSession, answers: Sequence[dict[str, Any]]
) -> FidelityChecklist:
    """Save the facilitator's answers (all questions at once). Again and again
    until the supervisor reviews it; then 409."""
    require_open(session, utcnow())
    record = _record(session)
    if record is not None and record.reviewed_at is not None:
        raise Conflict(
            "A supervisor has reviewed this checklist; it is not changed now.",
            code="fidelity_reviewed",
        )  # fmt: skip
    phase = record.phase if record else (session.phase or DEFAULT_PHASE)
    wanted = {
        (item.key, member.id if member else None)
        for item, member in _questions(items_for(phase), _came(session))
    }
    given: dict[tuple[str, int | None], dict[str, Any]] = {}
    problems: list[str] = []
    for a in answers:
        where = (a["key"], a.get("enrolment_id"))
        if where not in wanted:
            problems.append(
                f"Not a question of this checklist: {where[0]} {where[1] or ''}".strip()
            )
        elif where in given:
            problems.append(f"Answered twice: {where[0]} {where[1] or ''}".strip())
        given[where] = a
    missing = sorted(wanted - set(given), key=lambda w: (w[0], w[1] or 0))
    problems += [f"Not answered: {k} {e or ''}".strip() for k, e in missing]
    if problems:
        raise Invalid(fields={"answers": problems})
    rows = [
        {"key": k, "enrolment_id": e, "answer": a["answer"], "comment": a.get("comment", "")}
        for (k, e), a in given.items()
    ]
    if record is None:
        made = FidelityChecklist(
            session_id=session.id, cohort_id=session.cohort_id, phase=phase,
            answers=rows, score=score(rows), submitted_by_id=user.id, updated_at=utcnow(),
        )  # fmt: skip
        try:
            with db.session.begin_nested():
                db.session.add(made)
            record = made
        except IntegrityError:
            # Two facilitators' first saves at once: the other took the row
            # between our read and our insert. Ours replaces it, as a second
            # save does (not yet reviewed: it was only just made).
            record = _record(session)
            if record is None:
                raise
    record.answers, record.score = rows, score(rows)
    record.submitted_by_id, record.updated_at = user.id, utcnow()
    db.session.flush()
    audit.record(actor, "fidelity.submit", "fidelity_checklist", record.id)
    return record


def review(
    actor: Actor, user: User, session: GroupSession, rating: int, feedback: str
) -> FidelityChecklist:
    """The supervisor's rating (1-5) and feedback; a second review replaces the
    first and the facilitator sees it as unread again."""
    record = _record(session)
    if record is None:
        raise Conflict(
            "The facilitator has not filled in this session's checklist yet.",
            code="fidelity_missing",
        )  # fmt: skip
    record.rating, record.feedback = rating, feedback
    record.reviewed_by_id, record.reviewed_at = user.id, utcnow()
    record.feedback_read_at = None
    audit.record(actor, "fidelity.review", "fidelity_checklist", record.id)
    return record


def mark_read(actor: Actor, session: GroupSession) -> FidelityChecklist:
    record = _record(session)
    if record is None or record.reviewed_at is None:
        raise Conflict("There is no feedback on this session yet.", code="no_feedback")
    if record.feedback_read_at is None:
        record.feedback_read_at = utcnow()
    audit.record(actor, "fidelity.feedback_read", "fidelity_checklist", record.id)
    return record


def audit_read(actor: Actor, session: GroupSession) -> None:
    # The checklist names members and says what was done with each: read like a note.
    members = [m.id for m in _came(session)]
    audit.record(actor, "fidelity.read", "group_session", session.id)
    audit.record_reads(actor, "fidelity.read", "group_session", session.id, members)


# -- the member's own data (export and erasure) -------------------------------


def _checklists_about(enrolment_ids: Sequence[int]) -> list[FidelityChecklist]:
    cohorts = select(Enrolment.cohort_id).where(Enrolment.id.in_(list(enrolment_ids)))
    return list(
        db.session.scalars(
            select(FidelityChecklist)
            .where(FidelityChecklist.cohort_id.in_(cohorts))
            .order_by(FidelityChecklist.session_id)
        )
    )


def member_answers(member: Enrolment, *, full: bool) -> list[dict[str, Any]]:
    """The per-member questions about this member, for their export. The comment
    is the facilitator's own words about her: like an alert's notes, it is only
    in the copy an admin makes (``full``), to go through before handing it over."""
    rows = []
    for record in _checklists_about([member.id]):
        for a in record.answers:
            if a.get("enrolment_id") == member.id:
                rows.append(
                    {"session_id": record.session_id, "key": a["key"], "answer": a["answer"],
                     "comment": a.get("comment", "") if full else None}
                )  # fmt: skip
    return rows


def forget_members(enrolment_ids: Sequence[int]) -> int:
    """Erasure: drop the answers (and their comments) about these members. The
    score stays as it was rated: it says how the session went, not who was there."""
    wanted = set(enrolment_ids)
    removed = 0
    for record in _checklists_about(enrolment_ids):
        kept = [a for a in record.answers if a.get("enrolment_id") not in wanted]
        if len(kept) != len(record.answers):
            removed += len(record.answers) - len(kept)
            record.answers = kept  # a new list: the JSON column sees the change
    return removed
