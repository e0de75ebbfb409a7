"""Supervision: a cohort's log (its sessions' checklists and reviews, and the
supervision meetings) and the supervisor's overview of facilitators whose
checklists are missing or low."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select

from ipt_groups.domain import Invalid
from ipt_groups.extensions import db
from ipt_groups.models import (
    FACILITATING,
    Cohort,
    CohortStaff,
    FidelityChecklist,
    GroupSession,
    SessionStatus,
    SupervisionMeeting,
    User,
)
from ipt_groups.protocol.recurrence import utc_to_local
from ipt_groups.services import access, audit
from ipt_groups.services.audit import Actor
from ipt_groups.timesource import utcnow

# A checklist scoring under this is "low" (the share of items done).
LOW_SCORE = 0.7
# A supervision meeting may be logged up to a year before the group's first session.
EARLIEST_DAYS = 365


def held(session: GroupSession, now: datetime) -> bool:
    """A session that took place and is over: its checklist is now due."""
    return session.status == SessionStatus.SCHEDULED and session.ends_at <= now


@dataclass(frozen=True)
class CohortLog:
    cohort: Cohort
    sessions: list[tuple[GroupSession, FidelityChecklist | None]]
    meetings: list[SupervisionMeeting]


def cohort_log(actor: Actor, cohort: Cohort) -> CohortLog:
    checklists = {
        c.session_id: c
        for c in db.session.scalars(
            select(FidelityChecklist).where(FidelityChecklist.cohort_id == cohort.id)
        )
    }
    meetings = db.session.scalars(
        select(SupervisionMeeting)
        .where(SupervisionMeeting.cohort_id == cohort.id)
        .order_by(SupervisionMeeting.held_on.desc(), SupervisionMeeting.id.desc())
    )
    # Feedback and meeting notes are records about staff's work: reads are audited.
    audit.record(actor, "supervision.read", "cohort", cohort.id)
    return CohortLog(
        cohort=cohort,
        sessions=[(s, checklists.get(s.id)) for s in cohort.sessions],
        meetings=list(meetings),
    )


def record_meeting(
    actor: Actor,
    user: User,
    cohort: Cohort,
    held_on: date,
    duration_minutes: int,
    facilitator_ids: Sequence[int],
    notes: str,
    actions: str,
) -> SupervisionMeeting:
    staff = set(cohort.staff_ids(*FACILITATING))
    strangers = sorted(set(facilitator_ids) - staff)
    if strangers:
        raise Invalid(
            fields={"facilitator_ids": [f"Not facilitators of this cohort: {strangers}."]}
        )
    # "Today" where the group meets: a supervisor in Auckland recording this
    # morning's meeting is already on a date UTC has not reached.
    if held_on > utc_to_local(utcnow(), cohort.time_zone).date():
        raise Invalid(fields={"held_on": ["Record a meeting once it has happened."]})
    earliest = _earliest_meeting_day(cohort)
    if held_on < earliest:
        # A typo (2006 for 2026) would sit first in the log for ever.
        raise Invalid(fields={"held_on": [f"Too early for this cohort: not before {earliest}."]})
    meeting = SupervisionMeeting(
        cohort_id=cohort.id,
        held_on=held_on,
        duration_minutes=duration_minutes,
        facilitator_ids=sorted(set(facilitator_ids)),
        notes=notes,
        actions=actions,
        supervisor_id=user.id,
    )
    db.session.add(meeting)
    db.session.flush()
    audit.record(actor, "supervision.meeting", "supervision_meeting", meeting.id)
    return meeting


def _earliest_meeting_day(cohort: Cohort) -> date:
    """A year before the cohort's first session (or its start date, if earlier):
    supervision may start while the group is planned, not years before it."""
    starts = [utc_to_local(s.starts_at, cohort.time_zone).date() for s in cohort.sessions]
    first = min([cohort.start_date, *starts])
    return first - timedelta(days=EARLIEST_DAYS)


@dataclass
class FacilitatorRow:
    facilitator: User
    cohorts: list[Cohort] = field(default_factory=list)
    sessions_held: int = 0
    checklists_missing: int = 0
    scores: list[float] = field(default_factory=list)
    below_threshold: int = 0
    unreviewed: int = 0
    last_meeting_on: date | None = None

    @property
    def mean_score(self) -> float | None:
        return round(sum(self.scores) / len(self.scores), 4) if self.scores else None


def overview(user: User, threshold: float = LOW_SCORE) -> list[FacilitatorRow]:
    """Per facilitator, over the cohorts the caller supervises (an admin: all):
    held sessions, missing checklists, mean score, low ones, last meeting.

    A session counts for each facilitator of its cohort: co-facilitators share
    the responsibility for the checklist.
    """
    now = utcnow()
    cohorts = list(db.session.scalars(access.visible_cohorts(user)))
    ids = [c.id for c in cohorts]
    if not ids:
        return []
    by_id = {c.id: c for c in cohorts}
    sessions = db.session.scalars(select(GroupSession).where(GroupSession.cohort_id.in_(ids)))
    checklists = {
        c.session_id: c
        for c in db.session.scalars(
            select(FidelityChecklist).where(FidelityChecklist.cohort_id.in_(ids))
        )
    }
    staff = db.session.scalars(
        select(CohortStaff).where(
            CohortStaff.cohort_id.in_(ids), CohortStaff.role.in_(tuple(FACILITATING))
        )
    )
    rows: dict[int, FacilitatorRow] = {}
    by_cohort: dict[int, list[FacilitatorRow]] = {}
    for s in staff:
        row = rows.setdefault(s.user_id, FacilitatorRow(facilitator=s.user))
        row.cohorts.append(by_id[s.cohort_id])
        by_cohort.setdefault(s.cohort_id, []).append(row)
    for session in sessions:
        record = checklists.get(session.id)
        for row in by_cohort.get(session.cohort_id, []):
            if held(session, now):
                row.sessions_held += 1
                if record is None:
                    row.checklists_missing += 1
            if record is not None:
                row.scores.append(record.score)
                row.below_threshold += record.score < threshold
                row.unreviewed += record.reviewed_at is None
    meetings = db.session.scalars(
        select(SupervisionMeeting).where(SupervisionMeeting.cohort_id.in_(ids))
    )
    for meeting in meetings:
        for fid in meeting.facilitator_ids:
            row = rows.get(fid)
            if row and (row.last_meeting_on is None or meeting.held_on > row.last_meeting_on):
                row.last_meeting_on = meeting.held_on
    for row in rows.values():
        row.cohorts.sort(key=lambda c: c.name)
    # Who needs attention first: most missing, then lowest mean.
    return sorted(
        rows.values(),
        key=lambda r: (-r.checklists_missing, r.mean_score if r.mean_score is not None else 2,
                       r.facilitator.display_name),
    )  # fmt: skip
