"""The four queries behind every figure (held sessions, members, attendance marks,
PHQ-9 totals), each for all the cohort ids at once, into plain rows: a clinic
report costs as many queries for one cohort as for fifty."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ipt_groups.extensions import db
from ipt_groups.models import (
    Assessment,
    Attendance,
    Enrolment,
    GroupSession,
    SessionStatus,
)
from ipt_groups.services.outcomes.results import NOT_MEMBERS, PHQ9, Phq9


@dataclass(frozen=True)
class _Member:
    id: int
    cohort_id: int
    display_name: str
    status: str
    joined_at: datetime
    withdrawn_at: datetime | None

    def on_cohort_at(self, at: datetime) -> bool:
        return self.joined_at <= at and (self.withdrawn_at is None or self.withdrawn_at > at)


@dataclass(frozen=True)
class _Held:
    """A held session: only the columns the figures use. Plain rows rather than
    ORM objects: a clinic report reads thousands and building entities for them
    cost more than the query itself (bench/scale)."""

    id: int
    cohort_id: int
    number: int | None
    kind: str
    starts_at: datetime


@dataclass
class _Loaded:
    """Everything the figures need, for all the cohorts at once."""

    sessions: dict[int, list[_Held]]  # cohort id -> held sessions in order
    members: dict[int, list[_Member]]  # cohort id -> members
    marks: dict[tuple[int, int], str]  # (enrolment id, session id) -> status
    phq9: dict[int, list[Phq9]]  # enrolment id -> totals, earliest first


MARKS_SLICE = 2000  # held sessions per attendance query


def _load(cohort_ids: Sequence[int], now: datetime) -> _Loaded:
    """Four queries, whatever the number of cohorts and members (one more per
    2,000 held sessions, for a clinic-wide report)."""
    held = (GroupSession.status == SessionStatus.SCHEDULED, GroupSession.starts_at <= now)
    sessions: dict[int, list[_Held]] = defaultdict(list)
    for row in db.session.execute(
        select(
            GroupSession.id,
            GroupSession.cohort_id,
            GroupSession.number,
            GroupSession.kind,
            GroupSession.starts_at,
        )
        .where(GroupSession.cohort_id.in_(cohort_ids), *held)
        .order_by(GroupSession.starts_at, GroupSession.id)
    ):
        sessions[row.cohort_id].append(_Held(*row))

    members: dict[int, list[_Member]] = defaultdict(list)
    rows = db.session.execute(
        select(
            Enrolment.id,
            Enrolment.cohort_id,
            Enrolment.display_name,
            Enrolment.status,
            Enrolment.joined_at,
            Enrolment.withdrawn_at,
        ).where(
            Enrolment.cohort_id.in_(cohort_ids),
            Enrolment.joined_at.is_not(None),
            Enrolment.status.not_in(NOT_MEMBERS),
        )
    )
    # Sorted here rather than in SQL: collations differ between backends and the
    # order should not.
    for row in sorted(rows, key=lambda r: (r.display_name.casefold(), r.id)):
        members[row.cohort_id].append(_Member(*row))

    # By the held sessions' ids, not a join on the sessions again: PostgreSQL then
    # reads the (session_id, enrolment_id) index instead of hashing the whole
    # table (a clinic of 100 cohorts: 120 -> 18 ms, bench/scale). In slices, so a
    # clinic-wide admin report stays within the drivers' parameter limits.
    # Tuples unpacked rather than attributes read: tens of thousands of rows.
    held_ids = [s.id for found in sessions.values() for s in found]
    marks: dict[tuple[int, int], str] = {}
    for start in range(0, len(held_ids), MARKS_SLICE):
        marks.update(
            ((enrolment_id, session_id), status)
            for enrolment_id, session_id, status in db.session.execute(
                select(Attendance.enrolment_id, Attendance.session_id, Attendance.status).where(
                    Attendance.session_id.in_(held_ids[start : start + MARKS_SLICE])
                )
            )
        )

    phq9: dict[int, list[Phq9]] = defaultdict(list)
    for enrolment_id, total, completed_at in db.session.execute(
        select(Assessment.enrolment_id, Assessment.total, Assessment.completed_at)
        .join(Enrolment, Enrolment.id == Assessment.enrolment_id)
        .where(Enrolment.cohort_id.in_(cohort_ids), Assessment.instrument == PHQ9)
        .order_by(Assessment.completed_at, Assessment.id)
    ):
        phq9[enrolment_id].append(Phq9(total, completed_at))
    return _Loaded(sessions, members, marks, phq9)
