"""What the outcome figures are made of: the definitions' constants (what counts
as attended, who is a member, the PHQ-9 cut-offs) and the result types, from one
member's outcome to the clinic's pooled tally. A ``Tally`` holds raw counts and
sums, so tallies pool by adding and every mean or share is recomputed."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime

from ipt_groups.models import (
    AttendanceStatus,
    Cohort,
    EnrolmentStatus,
)

PHQ9 = "phq9"
ATTENDED = frozenset({AttendanceStatus.PRESENT, AttendanceStatus.LATE})
ABSENCES = frozenset({AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED})
# Enrolments that never were, or no longer are, this cohort's members even though
# they may have a joined_at (a moved member joined here, then moved on).
NOT_MEMBERS = (EnrolmentStatus.MOVED, EnrolmentStatus.REFERRED)
# PHQ-9 cut-offs: below 10 is under the usual threshold for moderate depression,
# below 5 is in the minimal range ("remission" in most trials).
BELOW_MODERATE = 10
BELOW_MILD = 5


@dataclass(frozen=True)
class Phq9:
    total: int
    completed_at: datetime


@dataclass(frozen=True)
class SessionCount:
    session_id: int
    number: int | None
    kind: str
    label: str  # the column name in the CSV: s1, s2 ... (s3-catch-up, catch-up)
    starts_at: datetime
    present: int
    late: int
    excused: int
    absent: int
    not_recorded: int  # members on the cohort at the time with no mark

    @property
    def attended(self) -> int:
        return self.present + self.late


@dataclass(frozen=True)
class MemberOutcome:
    enrolment_id: int
    display_name: str
    status: str
    sessions_attended: int
    first_phq9: Phq9 | None
    latest_phq9: Phq9 | None  # only with two or more PHQ-9s
    dropout: bool
    marks: tuple[str | None, ...]  # one per held session, in order; None = no mark
    reached_midpoint: bool
    completed: bool

    @property
    def change(self) -> int | None:
        if self.first_phq9 is None or self.latest_phq9 is None:
            return None
        return self.latest_phq9.total - self.first_phq9.total


@dataclass(frozen=True)
class Funnel:
    enrolled: int
    started: int
    reached_midpoint: int
    completed: int


@dataclass(frozen=True)
class Summary:
    members: int
    with_change: int  # n: members with a first and a latest PHQ-9
    mean_change: float | None
    share_latest_below_10: float | None
    share_latest_below_5: float | None
    dropouts: int
    attended_marks: int
    recorded_marks: int
    attendance_rate: float | None


@dataclass
class Tally:
    """Raw counts and sums: they pool across cohorts by adding, and every mean or
    share is recomputed from them."""

    members: int = 0
    started: int = 0
    reached_midpoint: int = 0
    completed: int = 0
    dropouts: int = 0
    with_change: int = 0
    change_sum: int = 0
    latest_below_10: int = 0
    latest_below_5: int = 0
    attended_marks: int = 0
    recorded_marks: int = 0
    # The same PHQ-9 figures over completers only (came to the last session):
    # what a funder asks of those who finished (the Programme page).
    completed_with_change: int = 0
    completed_change_sum: int = 0
    completed_below_10: int = 0

    def add(self, other: Tally) -> None:
        # Plain attribute dicts, not dataclasses.fields(): the clinic-wide Programme
        # page adds 5,000 tallies three ways each (docs/benchmarks.md, issue 26).
        mine, theirs = self.__dict__, other.__dict__
        for name in TALLY_FIELDS:
            mine[name] += theirs[name]

    @property
    def funnel(self) -> Funnel:
        return Funnel(self.members, self.started, self.reached_midpoint, self.completed)

    @property
    def summary(self) -> Summary:
        n = self.with_change
        return Summary(
            members=self.members,
            with_change=n,
            mean_change=round(self.change_sum / n, 2) if n else None,
            share_latest_below_10=round(self.latest_below_10 / n, 3) if n else None,
            share_latest_below_5=round(self.latest_below_5 / n, 3) if n else None,
            dropouts=self.dropouts,
            attended_marks=self.attended_marks,
            recorded_marks=self.recorded_marks,
            attendance_rate=(
                round(self.attended_marks / self.recorded_marks, 3) if self.recorded_marks else None
            ),
        )


TALLY_FIELDS = tuple(f.name for f in fields(Tally))


@dataclass(frozen=True)
class CohortOutcomes:
    cohort: Cohort
    midpoint_session: int
    final_session: int
    sessions: list[SessionCount]
    members: list[MemberOutcome]
    tally: Tally


@dataclass
class FacilitatorOutcomes:
    user_id: int
    display_name: str
    cohort_ids: list[int] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)


@dataclass(frozen=True)
class CohortTally:
    """One cohort's pooled figures on the clinic dashboard (no member detail)."""

    cohort: Cohort
    held_sessions: int
    tally: Tally


@dataclass(frozen=True)
class ClinicOutcomes:
    cohorts: list[CohortTally]
    facilitators: list[FacilitatorOutcomes]
    tally: Tally
