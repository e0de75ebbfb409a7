"""Outcomes: attendance per session, the retention funnel, each member's PHQ-9
change and dropouts, for one cohort and pooled over many.

Definitions (the API and the CSV show exactly these):

- a **held** session is a scheduled (not cancelled) session that has started
  (``starts_at <= now``), group or catch-up alike;
- **members** are enrolments that actually held a place in the group
  (``joined_at`` set) and were not moved away or referred: a member who only
  ever waited is not one, and a moved member counts in the cohort they moved to.
  Withdrawn members who had joined stay in: leaving is an outcome too. Only
  members' marks are counted anywhere, so per-session counts, the funnel and
  the attendance rate agree with each other;
- **not recorded** at a session: members on the cohort then (joined before it
  started, not withdrawn before it started) with no mark;
- **attended** means present or late; absent and excused are both absences;
- the **funnel**: members -> started (attended at least one held session) ->
  reached the midpoint (attended a session numbered ``(N + 1) // 2`` or later,
  N = the programme's group sessions) -> completed (attended session N); a
  catch-up session counts as the numbered session it makes up for;
- a member's **first** PHQ-9 is their earliest (whatever the source), the
  **latest** their most recent, shown only when they have two or more, and
  **change** = latest - first (negative is improvement);
- a **dropout** has two or more absences in a row among the held sessions
  (sessions with no mark are skipped) with no present or late after them: a
  member who came back after two absences is not a dropout;
- **attendance rate** = attended marks / recorded marks over held sessions.

Pooled figures (per facilitator, the clinic) add up raw counts and sums across
cohorts and recompute every mean and share from them: a mean of the pooled
members, never a mean of cohort means.

Every figure is computed in Python from a fixed number of queries (held
sessions, members, attendance marks and PHQ-9 totals, each loaded for all the
cohort ids at once), so a clinic report costs as many queries for one cohort as
for fifty. The clinic report keeps each cohort's tally between reads
(services/outcome_cache.py) and recomputes only cohorts whose data changed or
whose next session has started since.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import load_only, selectinload

from ipt_groups.extensions import db
from ipt_groups.models import (
    FACILITATING,
    Assessment,
    Attendance,
    AttendanceStatus,
    Cohort,
    CohortStaff,
    Enrolment,
    EnrolmentStatus,
    GroupSession,
    SessionKind,
    SessionStatus,
    User,
)
from ipt_groups.services import outcome_cache
from ipt_groups.services.access import visible_cohorts
from ipt_groups.timesource import utcnow

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


def _cohorts(user: User, facilitator_id: int | None) -> list[Cohort]:
    # Only what the dashboard shows: staff (with their users' names, joined) come
    # with the list, one query, not one per cohort; the programme (a JSON snapshot)
    # is read only for cohorts whose tally must be computed (_cohort_tallies).
    stmt = visible_cohorts(user).options(
        load_only(Cohort.id, Cohort.name, Cohort.status, Cohort.programme_key, Cohort.start_date),
        selectinload(Cohort.staff)
        .joinedload(CohortStaff.user)
        .load_only(User.id, User.display_name),
    )
    if facilitator_id is not None:
        theirs = select(CohortStaff.cohort_id).where(
            CohortStaff.user_id == facilitator_id, CohortStaff.role.in_(FACILITATING)
        )
        stmt = stmt.where(Cohort.id.in_(theirs))
    return list(db.session.scalars(stmt.order_by(Cohort.start_date, Cohort.id)))


def _cohort_tallies(cohorts: Sequence[Cohort], now: datetime) -> dict[int, CohortTally]:
    """Each cohort's tally: from the cache where it is still good, computed (and
    kept) for the rest. See services/outcome_cache.py for why a kept tally is right."""
    snapshot = outcome_cache.read([c.id for c in cohorts], now)
    found = {
        cohort.id: CohortTally(cohort, hit.held_sessions, Tally(**hit.tally))
        for cohort in cohorts
        if (hit := snapshot.fresh.get(cohort.id)) is not None
    }
    missing = [c for c in cohorts if c.id not in found]
    if not missing:
        return found
    ids = [c.id for c in missing]
    data = _load(ids, now)
    upcoming = outcome_cache.next_starts(ids, now)
    finals = {
        cohort_id: int(programme["group_sessions"])
        for cohort_id, programme in db.session.execute(
            select(Cohort.id, Cohort.programme).where(Cohort.id.in_(ids))
        )
    }
    computed = []
    for cohort in missing:
        held = data.sessions.get(cohort.id, [])
        tally = _compute(cohort, data, finals[cohort.id]).tally
        found[cohort.id] = CohortTally(cohort, len(held), tally)
        computed.append(
            outcome_cache.Computed(
                cohort_id=cohort.id,
                tally=asdict(tally),
                held_sessions=len(held),
                valid_from=held[-1].starts_at if held else None,
                valid_until=upcoming.get(cohort.id),
            )
        )
    outcome_cache.store(computed, snapshot.versions, now)
    return found


def cohort_tallies(cohorts: Sequence[Cohort], now: datetime) -> dict[int, CohortTally]:
    """Each cohort's pooled figures (cached), for other dashboards (services/programme.py)."""
    return _cohort_tallies(cohorts, now)


def tallies_by_id(cohort_ids: Sequence[int], now: datetime) -> dict[int, tuple[int, Tally]]:
    """Each cohort's (held sessions, tally) by id, for a caller that holds plain
    rows rather than Cohort objects (the clinic-wide Programme page): the cache
    is read once, and only cohorts whose tally must be computed are loaded as
    objects (one more statement, whatever their number)."""
    snapshot = outcome_cache.read(cohort_ids, now)
    found = {i: (hit.held_sessions, Tally(**hit.tally)) for i, hit in snapshot.fresh.items()}
    missing = [i for i in cohort_ids if i not in found]
    if missing:
        cohorts = list(db.session.scalars(select(Cohort).where(Cohort.id.in_(missing))))
        for cohort_id, computed in _cohort_tallies(cohorts, now).items():
            found[cohort_id] = (computed.held_sessions, computed.tally)
    return found


def clinic_outcomes(
    user: User, facilitator_id: int | None = None, now: datetime | None = None
) -> ClinicOutcomes:
    """Figures pooled over the cohorts ``user`` may see (optionally only those one
    facilitator leads or co-facilitates), per cohort, per facilitator and in total.

    Cohorts that have not held a session yet are left out: they have no outcomes,
    and counting their members as "not started" would understate retention.
    The caller commits (a computed tally is kept for the next read).
    """
    cohorts = _cohorts(user, facilitator_id)
    tallies = _cohort_tallies(cohorts, now or utcnow())
    results = [tallies[c.id] for c in cohorts if tallies[c.id].held_sessions]
    total = Tally()
    facilitators: dict[int, FacilitatorOutcomes] = {}
    for result in results:
        total.add(result.tally)
        for staff in result.cohort.staff:
            if staff.role not in FACILITATING:
                continue
            if facilitator_id is not None and staff.user_id != facilitator_id:
                continue  # a co-facilitator's figures would only be partial here
            row = facilitators.setdefault(
                staff.user_id, FacilitatorOutcomes(staff.user_id, staff.user.display_name)
            )
            row.cohort_ids.append(result.cohort.id)
            row.tally.add(result.tally)
    ordered = sorted(facilitators.values(), key=lambda f: (f.display_name.casefold(), f.user_id))
    return ClinicOutcomes(results, ordered, total)


def facilitator_ids(cohort: Cohort) -> list[int]:
    return sorted(cohort.staff_ids(*FACILITATING))


# --- The CSV export -----------------------------------------------------------------

# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def pseudonym(enrolment_id: int, key: str | bytes) -> str:
    """A stable id that names nobody: the same member gets the same id in every
    export, and without the app's secret key it cannot be traced back."""
    secret = key.encode() if isinstance(key, str) else key
    digest = hmac.new(secret, f"enrolment:{enrolment_id}".encode(), hashlib.sha256).hexdigest()
    return f"M-{digest[:8]}"


def _cell(value: str | int | None) -> str | int:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe.
    Only text is guarded: our own numbers (a change of -5) must stay numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


# The same guard for other exports (the programme CSV, services/programme_csv.py).
cell = _cell


def render_csv(found: CohortOutcomes, pseudonym_key: str | bytes | None = None) -> str:
    """One row per member; with ``pseudonym_key`` the member column holds a
    pseudonymous id instead of the name (nothing else in the file names anyone)."""
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["member", "status", "sessions_attended", "first_phq9", "latest_phq9", "change"]
    writer.writerow([*header, "dropout", *(s.label for s in found.sessions)])
    for m in found.members:
        who = pseudonym(m.enrolment_id, pseudonym_key) if pseudonym_key else m.display_name
        row: list[str | int | None] = [
            who,
            m.status,
            m.sessions_attended,
            m.first_phq9.total if m.first_phq9 else None,
            m.latest_phq9.total if m.latest_phq9 else None,
            m.change,
            "yes" if m.dropout else "no",
            *m.marks,
        ]
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()
