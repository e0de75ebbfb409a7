"""Sustained change: was the change at the end of the programme kept at the follow-up?

Definitions (the API shows exactly these):

- a member's **follow-up** PHQ-9 is the latest one recorded at their follow-up
  meeting (``meeting_id`` of a ``follow_up`` meeting);
- their **baseline** is their earliest PHQ-9 not at the follow-up, their **end**
  the latest PHQ-9 not at the follow-up and before it, when that is not the
  baseline itself (a member scored once and then followed up has no end);
- of the members with an end and a follow-up (``with_follow_up``):
  **below_10_at_end** were below 10 at the end, and **kept_below_10** of them
  were still below 10 at the follow-up; **improved_at_end** had improved by 5 or
  more from baseline at the end, and **kept_improved** of them still had at the
  follow-up; **mean_change** is the mean of follow-up - end (positive: worse).

Pooled figures add the counts and recompute the mean, like services/outcomes/.
One query for any number of members.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from ipt_groups.extensions import db
from ipt_groups.models import Assessment, Enrolment, MemberMeeting
from ipt_groups.protocol.programmes import MeetingKind
from ipt_groups.services.outcomes import BELOW_MODERATE, NOT_MEMBERS, PHQ9, Phq9

IMPROVED_BY = 5  # a change of 5 points is the usual "clinically meaningful" step


@dataclass(frozen=True)
class MemberSustained:
    enrolment_id: int
    baseline: Phq9 | None
    end: Phq9 | None
    follow_up: Phq9 | None

    @property
    def compared(self) -> bool:
        return self.end is not None and self.follow_up is not None

    @property
    def change_since_end(self) -> int | None:
        if self.end is None or self.follow_up is None:
            return None
        return self.follow_up.total - self.end.total

    def _improved(self, score: Phq9 | None) -> bool:
        return (
            self.baseline is not None
            and score is not None
            and self.baseline.total - score.total >= IMPROVED_BY
        )

    @property
    def kept_below_10(self) -> bool | None:
        """None unless the member was below 10 at the end and was followed up."""
        if not self.compared or self.end is None or self.end.total >= BELOW_MODERATE:
            return None
        return self.follow_up is not None and self.follow_up.total < BELOW_MODERATE

    @property
    def kept_improved(self) -> bool | None:
        """None unless the member had improved by 5+ at the end and was followed up."""
        if not self.compared or not self._improved(self.end):
            return None
        return self._improved(self.follow_up)


@dataclass
class SustainedTally:
    with_follow_up: int = 0
    below_10_at_end: int = 0
    kept_below_10: int = 0
    improved_at_end: int = 0
    kept_improved: int = 0
    change_sum: int = 0

    def add(self, other: SustainedTally) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def mean_change(self) -> float | None:
        n = self.with_follow_up
        return round(self.change_sum / n, 2) if n else None


def _scores() -> Select[Any]:
    return (
        select(
            Assessment.enrolment_id,
            Assessment.total,
            Assessment.completed_at,
            MemberMeeting.kind,
            Enrolment.cohort_id,
        )
        .join(Enrolment, Enrolment.id == Assessment.enrolment_id)
        .outerjoin(MemberMeeting, MemberMeeting.id == Assessment.meeting_id)
        .where(Assessment.instrument == PHQ9)
        .order_by(Assessment.completed_at, Assessment.id)
    )


def for_members(enrolment_ids: Iterable[int]) -> dict[int, MemberSustained]:
    ids = list(set(enrolment_ids))
    scores: dict[int, list[tuple[Phq9, bool]]] = defaultdict(list)
    if ids:
        for enrolment_id, total, completed_at, kind, _ in db.session.execute(
            _scores().where(Assessment.enrolment_id.in_(ids))
        ):
            scores[enrolment_id].append((Phq9(total, completed_at), kind == MeetingKind.FOLLOW_UP))
    return {i: _member(i, scores.get(i, [])) for i in ids}


def for_cohorts(cohort_ids: Iterable[int]) -> dict[int, SustainedTally]:
    """Each cohort's pooled figures over its members (as services/outcomes/
    counts them: joined, not moved away or referred), in one query."""
    ids = list(set(cohort_ids))
    scores: dict[tuple[int, int], list[tuple[Phq9, bool]]] = defaultdict(list)
    if ids:
        stmt = _scores().where(
            Enrolment.cohort_id.in_(ids),
            Enrolment.joined_at.is_not(None),
            Enrolment.status.not_in(NOT_MEMBERS),
        )
        for enrolment_id, total, completed_at, kind, cohort_id in db.session.execute(stmt):
            scores[(cohort_id, enrolment_id)].append(
                (Phq9(total, completed_at), kind == MeetingKind.FOLLOW_UP)
            )
    found = {cid: SustainedTally() for cid in ids}
    for (cohort_id, enrolment_id), rows in scores.items():
        found[cohort_id].add(tally([_member(enrolment_id, rows)]))
    return found


def _member(enrolment_id: int, scores: list[tuple[Phq9, bool]]) -> MemberSustained:
    follow = [s for s, at_follow_up in scores if at_follow_up]
    follow_up = follow[-1] if follow else None
    cutoff: datetime | None = follow_up.completed_at if follow_up else None
    rest = [s for s, at_follow_up in scores if not at_follow_up]
    before = [s for s in rest if cutoff is None or s.completed_at <= cutoff]
    baseline = rest[0] if rest else None
    end = before[-1] if len(before) >= 2 else None
    return MemberSustained(enrolment_id, baseline, end, follow_up)


def tally(members: Iterable[MemberSustained]) -> SustainedTally:
    t = SustainedTally()
    for m in members:
        change = m.change_since_end
        if change is None:
            continue
        t.with_follow_up += 1
        t.change_sum += change
        if m.kept_below_10 is not None:
            t.below_10_at_end += 1
            t.kept_below_10 += m.kept_below_10
        if m.kept_improved is not None:
            t.improved_at_end += 1
            t.kept_improved += m.kept_improved
    return t


def pool(by_cohort: Mapping[int, SustainedTally], cohort_ids: Iterable[int]) -> SustainedTally:
    """The counts of several cohorts added together (a cohort with no follow-up
    yet adds nothing): the clinic's and each facilitator's figure."""
    total = SustainedTally()
    for cohort_id in cohort_ids:
        found = by_cohort.get(cohort_id)
        if found is not None:
            total.add(found)
    return total
