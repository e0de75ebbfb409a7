"""Per-session trends: each member's scores placed on the programme's timeline,
and the cohort's mean at each place.

A score's **position** on the timeline (the x of every chart):

- entered at a group session numbered ``n`` (or a catch-up making up for ``n``):
  ``n``;
- entered at an individual meeting: ``0`` for the pre-group meeting (before
  session 1), else ``k + 0.5`` for a meeting held after session ``k`` (the
  mid-group and post-group meetings sit between the sessions they fall between);
- the follow-up meeting (months after the programme): ``N + 1`` for a
  programme of ``N`` sessions, a place of its own after the post-group
  meeting's ``N + 0.5``, so the follow-up score never replaces the post-group one;
- anything else (a score entered on no session or meeting, say a follow-up
  contact): by its date, ``k + 0.5`` after the last numbered session ``k`` that had
  started by then, ``0`` before session 1.

One point per member, instrument and position: when a member has two scores at
the same place the later one stands (a correction, or a check-in redone), as
on the outcomes page. A position with no score is a gap: nothing is invented,
and a missed session is never a zero.

The **cohort mean** at a position is over the members with a score of that
instrument there, with that n beside it. Members are the outcomes' members
(services/outcomes/results.py): those who joined and were not moved or referred;
withdrawn members stay in, their scores up to leaving are part of the picture.

Everything is read in one statement (members outer-joined to their scores and
where each was taken), whatever the size of the group.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ipt_groups.extensions import db
from ipt_groups.models import (
    Assessment,
    Cohort,
    Enrolment,
    GroupSession,
    MemberMeeting,
    SessionKind,
    SessionStatus,
)
from ipt_groups.protocol.programmes import MeetingKind
from ipt_groups.services import audit
from ipt_groups.services.audit import Actor
from ipt_groups.services.outcomes import NOT_MEMBERS

BETWEEN = 0.5  # a meeting or loose score after session k sits at k + 0.5


@dataclass(frozen=True)
class Point:
    instrument: str
    position: float
    place: str  # "session", "meeting" or "other" (placed by its date)
    session_number: int | None  # the group session it was entered at, if any
    meeting_kind: str | None  # pre_group, mid_programme, post_group, follow_up
    total: int
    completed_at: datetime


@dataclass(frozen=True)
class MemberTrend:
    enrolment_id: int
    display_name: str
    status: str
    points: list[Point]  # by instrument, then position


@dataclass(frozen=True)
class Mean:
    instrument: str
    position: float
    mean: float  # 2 dp
    n: int


@dataclass(frozen=True)
class CohortTrends:
    cohort: Cohort
    group_sessions: int
    instruments: list[str]  # those with at least one score, phq9 and mood first
    members: list[MemberTrend]
    means: list[Mean]  # by instrument, then position


# The instruments the charts draw, in this order; any other comes after them.
CHARTED = ("phq9", "mood")


def _position(
    session_number: int | None,
    meeting_kind: str | None,
    meeting_after: int | None,
    after_session: int | None,
    group_sessions: int,
) -> tuple[float, str]:
    if session_number is not None:
        return float(session_number), "session"
    if meeting_kind == MeetingKind.FOLLOW_UP:
        # Booked "after session N" like the post-group meeting, but months later:
        # sharing N + 0.5 with it would let the later score hide the earlier.
        return float(group_sessions + 1), "meeting"
    if meeting_after is not None:
        return (0.0 if meeting_after == 0 else meeting_after + BETWEEN), "meeting"
    return (0.0 if not after_session else after_session + BETWEEN), "other"


def _instrument_order(key: str) -> tuple[int, str]:
    return (CHARTED.index(key) if key in CHARTED else len(CHARTED), key)


def cohort_trends(cohort: Cohort) -> CohortTrends:
    # For a score on no session or meeting: the last numbered session started by
    # then. Correlated, so it stays one statement and reads only such rows' cohort.
    started_by = (
        select(func.max(GroupSession.number))
        .where(
            GroupSession.cohort_id == Enrolment.cohort_id,
            GroupSession.kind == SessionKind.GROUP,
            GroupSession.status == SessionStatus.SCHEDULED,
            GroupSession.starts_at <= Assessment.completed_at,
        )
        .correlate(Enrolment, Assessment)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(
            Enrolment.id,
            Enrolment.display_name,
            Enrolment.status,
            Assessment.instrument,
            Assessment.total,
            Assessment.completed_at,
            GroupSession.number,
            MemberMeeting.kind,
            MemberMeeting.after_session,
            started_by,
        )
        .select_from(Enrolment)
        .outerjoin(Assessment, Assessment.enrolment_id == Enrolment.id)
        .outerjoin(GroupSession, GroupSession.id == Assessment.session_id)
        .outerjoin(MemberMeeting, MemberMeeting.id == Assessment.meeting_id)
        .where(
            Enrolment.cohort_id == cohort.id,
            Enrolment.joined_at.is_not(None),
            Enrolment.status.not_in(NOT_MEMBERS),
        )
        .order_by(Assessment.completed_at, Assessment.id)
    )

    names: dict[int, tuple[str, str]] = {}
    # (enrolment, instrument, position) -> point; rows come oldest first, so the
    # latest score at a place overwrites earlier ones.
    placed: dict[int, dict[tuple[str, float], Point]] = defaultdict(dict)
    for (
        enrolment_id,
        display_name,
        status,
        instrument,
        total,
        completed_at,
        number,
        meeting_kind,
        meeting_after,
        after_session,
    ) in rows:
        names[enrolment_id] = (display_name, status)
        if instrument is None:  # a member with no score yet (the outer join)
            continue
        position, place = _position(
            number, meeting_kind, meeting_after, after_session, cohort.group_session_count
        )
        placed[enrolment_id][(instrument, position)] = Point(
            instrument=instrument,
            position=position,
            place=place,
            session_number=number,
            meeting_kind=meeting_kind,
            total=total,
            completed_at=completed_at,
        )

    def point_order(p: Point) -> tuple[tuple[int, str], float]:
        return (_instrument_order(p.instrument), p.position)

    members = [
        MemberTrend(
            enrolment_id=enrolment_id,
            display_name=name,
            status=status,
            points=sorted(placed[enrolment_id].values(), key=point_order),
        )
        # Sorted here rather than in SQL, as the outcomes are: collations differ.
        for enrolment_id, (name, status) in sorted(
            names.items(), key=lambda item: (item[1][0].casefold(), item[0])
        )
    ]

    sums: dict[tuple[str, float], list[int]] = defaultdict(list)
    for m in members:
        for p in m.points:
            sums[(p.instrument, p.position)].append(p.total)
    means = [
        Mean(instrument, position, round(sum(totals) / len(totals), 2), len(totals))
        for (instrument, position), totals in sorted(
            sums.items(), key=lambda item: (_instrument_order(item[0][0]), item[0][1])
        )
    ]
    instruments = sorted({m.instrument for m in means}, key=_instrument_order)
    return CohortTrends(
        cohort=cohort,
        group_sessions=cohort.group_session_count,
        instruments=instruments,
        members=members,
        means=means,
    )


def read_cohort_trends(actor: Actor, cohort: Cohort) -> CohortTrends:
    """The trends as a staff member reads them: one audit row per member shown
    (their scores are clinical records), as the outcomes' reads are."""
    found = cohort_trends(cohort)
    audit.record_reads(
        actor, "trends.read", "cohort", cohort.id, [m.enrolment_id for m in found.members]
    )
    return found
