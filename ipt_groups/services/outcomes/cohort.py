"""One cohort's figures from the loaded rows: per-session counts and their CSV
labels, each member's outcome (dropout, midpoint, completion, PHQ-9 change) and
the cohort's tally."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime

from ipt_groups.models import (
    AttendanceStatus,
    Cohort,
    SessionKind,
)
from ipt_groups.services.outcomes.loading import _Held, _load, _Loaded, _Member
from ipt_groups.services.outcomes.results import (
    ABSENCES,
    ATTENDED,
    BELOW_MILD,
    BELOW_MODERATE,
    CohortOutcomes,
    MemberOutcome,
    SessionCount,
    Tally,
)
from ipt_groups.timesource import utcnow


def _labels(sessions: Sequence[_Held]) -> list[str]:
    """Column names: s<number> for numbered sessions, unique even if numbers repeat."""
    labels: list[str] = []
    seen: Counter[str] = Counter()
    for s in sessions:
        if s.number is None:
            base = "catch-up"
        elif s.kind == SessionKind.CATCH_UP:
            base = f"s{s.number}-catch-up"
        else:
            base = f"s{s.number}"
        seen[base] += 1
        labels.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return labels


def _is_dropout(marks: Iterable[str | None]) -> bool:
    """Two or more absences in a row, with no attendance after them."""
    run = 0
    for mark in marks:
        if mark in ATTENDED:
            run = 0
        elif mark in ABSENCES:
            run += 1
    return run >= 2


def _member(
    m: _Member, sessions: Sequence[_Held], data: _Loaded, midpoint: int, final: int
) -> MemberOutcome:
    marks = tuple(data.marks.get((m.id, s.id)) for s in sessions)
    attended = [s for s, mark in zip(sessions, marks, strict=True) if mark in ATTENDED]
    numbers = {s.number for s in attended if s.number is not None}
    scores = data.phq9.get(m.id, [])
    return MemberOutcome(
        enrolment_id=m.id,
        display_name=m.display_name,
        status=m.status,
        sessions_attended=len(attended),
        first_phq9=scores[0] if scores else None,
        latest_phq9=scores[-1] if len(scores) >= 2 else None,
        dropout=_is_dropout(marks),
        marks=marks,
        reached_midpoint=any(n >= midpoint for n in numbers),
        completed=final in numbers,
    )


def _session_count(s: _Held, label: str, members: Sequence[_Member], data: _Loaded) -> SessionCount:
    counts: Counter[str] = Counter()
    not_recorded = 0
    for m in members:
        mark = data.marks.get((m.id, s.id))
        if mark is not None:
            counts[mark] += 1
        elif m.on_cohort_at(s.starts_at):
            not_recorded += 1
    return SessionCount(
        session_id=s.id,
        number=s.number,
        kind=s.kind,
        label=label,
        starts_at=s.starts_at,
        present=counts[AttendanceStatus.PRESENT],
        late=counts[AttendanceStatus.LATE],
        excused=counts[AttendanceStatus.EXCUSED],
        absent=counts[AttendanceStatus.ABSENT],
        not_recorded=not_recorded,
    )


def _tally(members: Sequence[MemberOutcome]) -> Tally:
    t = Tally(members=len(members))
    for m in members:
        t.started += m.sessions_attended > 0
        t.reached_midpoint += m.reached_midpoint
        t.completed += m.completed
        t.dropouts += m.dropout
        t.attended_marks += m.sessions_attended
        t.recorded_marks += sum(1 for mark in m.marks if mark is not None)
        if m.latest_phq9 is not None and m.change is not None:
            t.with_change += 1
            t.change_sum += m.change
            t.latest_below_10 += m.latest_phq9.total < BELOW_MODERATE
            t.latest_below_5 += m.latest_phq9.total < BELOW_MILD
            if m.completed:
                t.completed_with_change += 1
                t.completed_change_sum += m.change
                t.completed_below_10 += m.latest_phq9.total < BELOW_MODERATE
    return t


def _compute(cohort: Cohort, data: _Loaded, final: int | None = None) -> CohortOutcomes:
    final = cohort.group_session_count if final is None else final
    midpoint = (final + 1) // 2
    sessions = data.sessions.get(cohort.id, [])
    members = data.members.get(cohort.id, [])
    outcomes = [_member(m, sessions, data, midpoint, final) for m in members]
    counts = [
        _session_count(s, label, members, data)
        for s, label in zip(sessions, _labels(sessions), strict=True)
    ]
    return CohortOutcomes(cohort, midpoint, final, counts, outcomes, _tally(outcomes))


def cohort_outcomes(cohort: Cohort, now: datetime | None = None) -> CohortOutcomes:
    """One cohort's figures, member by member (the caller checked access)."""
    return _compute(cohort, _load([cohort.id], now or utcnow()))
