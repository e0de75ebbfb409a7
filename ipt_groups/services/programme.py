"""The programme on one screen: how the cohorts a supervisor (or the clinic, for
an admin) runs are doing, and what needs someone's action now.

Scope: the cohorts ``visible_cohorts`` gives the caller (an admin all, a
supervisor those they supervise, a facilitator those they lead or co-facilitate,
exactly as ``GET /api/outcomes``), not cancelled, narrowed by the filters:

- **period** (``start``..``end``, inclusive dates): the cohorts that had a
  scheduled session in it, i.e. that ran then. Each cohort's outcome figures stay
  the cohort's own (every held session so far): a funder asks how the groups
  that ran in a quarter did, not how their members did on a few weeks of it.
  Reminders are counted when their due time falls in the period;
- **facilitator**: cohorts they lead or co-facilitate;
- **programme template**: the cohort's ``programme_key``.

Cost: a fixed number of statements whatever the number of cohorts. The outcome
figures come from the per-cohort tallies of services/outcome_cache.py (computed
in one batch for cohorts whose cache is stale); everything else is one GROUP BY
(or one ordered read) each over the cohorts in scope, given as a subquery so a
clinic of 5,000 cohorts sends no 5,000-id parameter lists. Cohorts and their
staff are read as plain rows (no ORM objects), each cohort's figures are one
flat tuple summed column-wise per month and facilitator
(services/programme_figures.py), and the per-cohort and per-facilitator tables
are sorted here and handed out a page at a time (``Paging``): an admin's clinic
is 5,000 cohorts and 500 facilitators, and building and sending all of them was
most of that page's time (docs/benchmarks.md). Totals and months always cover
every cohort in scope, each facilitator row all their cohorts; the CSV asks for
no paging and gets every row. Aggregates only: no member's name or score
appears anywhere here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from operator import add
from typing import Any

from sqlalchemy import Select, select

from ipt_groups.channels_config import ChannelSettings
from ipt_groups.extensions import db
from ipt_groups.models import (
    FACILITATING,
    Channel,
    Cohort,
    CohortStaff,
    CohortStatus,
    GroupSession,
    SessionStatus,
    User,
)
from ipt_groups.services import outcome_cache, outcomes, reminder_summary
from ipt_groups.services.access import visible_cohorts
from ipt_groups.services.outcomes import TALLY_FIELDS, Tally
from ipt_groups.services.programme_action import (
    OpenAlert,
    Overdue,
    Unreachable,
    alerts,
    live_sizes,
    overdue,
    unreachable,
)
from ipt_groups.services.programme_figures import (
    CHANNEL_NAMES,
    COUNTERS_AT,
    N_TALLY,
    NO_REACH,
    REACH_AT,
    sum_of,
    tally_values,
)
from ipt_groups.services.programme_paging import FACILITATOR_SORTS, Paging, page_of

# The reminders members get before each session, and the rows that count (a
# cancelled row was withdrawn on purpose): services/reminder_summary.py.
REMINDER_KINDS = reminder_summary.REMINDER_KINDS
COUNTED = reminder_summary.COUNTED

# Channel names once: iterating the enum for every one of 5,000 rows cost ~80 ms.
CHANNELS = tuple(c.value for c in Channel)


@dataclass(frozen=True)
class Filters:
    start: date | None = None
    end: date | None = None
    facilitator_id: int | None = None
    programme_key: str | None = None


@dataclass
class Reach:
    """Member reminders whose time came: how many went out, over which channel."""

    due: int = 0
    sent: int = 0
    delivered: int = 0  # the provider (SMS, email) confirmed delivery
    no_channel: int = 0
    failed: int = 0  # failed or expired
    by_channel: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHANNELS, 0))

    def add(self, other: Reach) -> None:
        if not other.due:
            return  # nothing came due: the common case for planned cohorts
        self.due += other.due
        self.sent += other.sent
        self.delivered += other.delivered
        self.no_channel += other.no_channel
        self.failed += other.failed
        for k, v in other.by_channel.items():
            self.by_channel[k] = self.by_channel.get(k, 0) + v

    @property
    def share_sent(self) -> float | None:
        return round(self.sent / self.due, 3) if self.due else None


@dataclass
class Row:
    """One cohort, one facilitator or the whole programme."""

    tally: Tally = field(default_factory=Tally)
    reach: Reach = field(default_factory=Reach)
    cohorts: int = 0
    running: int = 0
    completed: int = 0
    planned: int = 0
    open_alerts: int = 0
    overdue_follow_ups: int = 0

    @classmethod
    def of(cls, v: tuple[int, ...]) -> Row:
        """The figures of a flat tuple (services/programme_figures.py)."""
        r, c = REACH_AT, COUNTERS_AT
        channels = dict(zip(CHANNEL_NAMES, v[r + 5 : c], strict=True))
        return cls(
            tally=Tally(*v[:N_TALLY]),
            reach=Reach(*v[r : r + 5], by_channel=channels),
            cohorts=v[c],
            running=v[c + 1],
            completed=v[c + 2],
            planned=v[c + 3],
            open_alerts=v[c + 4],
            overdue_follow_ups=v[c + 5],
        )

    def add(self, other: Row) -> None:
        self.tally.add(other.tally)
        self.reach.add(other.reach)
        self.cohorts += other.cohorts
        self.running += other.running
        self.completed += other.completed
        self.planned += other.planned
        self.open_alerts += other.open_alerts
        self.overdue_follow_ups += other.overdue_follow_ups


@dataclass(frozen=True)
class CohortInfo:
    """A cohort as the page shows it: plain values read with one Core select."""

    id: int
    name: str
    status: str
    programme_key: str
    start_date: date
    facilitators: list[tuple[int, str]]  # (user_id, display_name), by user id


@dataclass(frozen=True)
class CohortRow:
    cohort: CohortInfo
    held_sessions: int
    current_members: int
    group_size_min: int | None  # None for a cohort that is no longer live
    values: tuple[int, ...]  # the figures, flat (services/programme_figures.py)

    @cached_property
    def figures(self) -> Row:
        """As objects: built only for the rows shown (a page, or the CSV)."""
        return Row.of(self.values)


@dataclass(frozen=True)
class FacilitatorRow:
    user_id: int
    display_name: str
    cohort_ids: list[int]
    values: tuple[int, ...]  # the sum of their cohorts' figures, flat

    @cached_property
    def figures(self) -> Row:
        """As objects: built only for the rows shown (a page of the table)."""
        return Row.of(self.values)


@dataclass(frozen=True)
class Programme:
    filters: Filters
    now: datetime
    total: Row
    months: list[tuple[str, Row]]  # by the cohorts' start month, oldest first
    cohorts: list[CohortRow]  # the page asked for (all of them without paging)
    cohort_count: int  # every cohort in scope
    paging: Paging | None
    names: dict[int, str]  # every cohort in scope, for the action lists
    facilitators: list[FacilitatorRow]  # the page asked for (all of them without paging)
    facilitator_count: int  # every facilitator of the cohorts in scope
    facilitator_paging: Paging | None
    open_alerts: list[OpenAlert]
    open_alert_count: int
    escalated_count: int
    overdue: list[Overdue]
    below_minimum: list[CohortRow]
    unreachable: list[Unreachable]


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _scope(user: User, filters: Filters) -> Select[tuple[Cohort]]:
    stmt = visible_cohorts(user).where(Cohort.status != CohortStatus.CANCELLED)
    if filters.facilitator_id is not None:
        stmt = stmt.where(
            Cohort.id.in_(
                select(CohortStaff.cohort_id).where(
                    CohortStaff.user_id == filters.facilitator_id,
                    CohortStaff.role.in_(FACILITATING),
                )
            )
        )
    if filters.programme_key:
        stmt = stmt.where(Cohort.programme_key == filters.programme_key)
    if filters.start is not None or filters.end is not None:
        ran = select(GroupSession.cohort_id).where(GroupSession.status == SessionStatus.SCHEDULED)
        if filters.start is not None:
            ran = ran.where(GroupSession.starts_at >= _instant(filters.start))
        if filters.end is not None:
            ran = ran.where(GroupSession.starts_at < _instant(filters.end + timedelta(days=1)))
        stmt = stmt.where(Cohort.id.in_(ran))
    return stmt


def _reach_counts(ids: Any, filters: Filters, now: datetime) -> dict[int, tuple[int, ...]]:
    """Member session reminders of these cohorts, per status and channel, as
    flat tuples (programme_figures.REACH): one statement over the day summary
    and the outbox's last few days (services/reminder_summary.py; a GROUP BY
    over the whole outbox was 0.5-1 s for a clinic)."""
    stmt = reminder_summary.counts(ids, filters.start, filters.end, now)
    found: dict[int, tuple[int, ...]] = {}
    for cohort_id, *counts in db.session.execute(stmt):
        values = tuple(int(n or 0) for n in counts)
        before = found.get(cohort_id)  # a cohort may have a summary row and an outbox row
        found[cohort_id] = values if before is None else tuple(map(add, before, values))
    return found


def _reach(ids: Any, filters: Filters, now: datetime) -> dict[int, Reach]:
    """The same counts as objects."""
    return {
        cohort_id: Row.of((0,) * REACH_AT + values + (0,) * 6).reach
        for cohort_id, values in _reach_counts(ids, filters, now).items()
    }


def _tallies(ids: Any, cohort_ids: list[int], now: datetime) -> dict[int, tuple[int, Any]]:
    """Each cohort's (held sessions, tally values as a tuple in TALLY_FIELDS order).

    The cached tallies that are good at ``now`` (``outcome_cache.good_at``, the
    rule its own read uses) are read with the ids as a subquery and
    the tally's fields extracted by the database as integers: the cache's own
    read takes a 5,000-id parameter list (psycopg splits that query anew on
    every call, ~60 ms) and parses 5,000 JSON documents into dicts and Tally
    objects. Only cohorts with no good row go through outcomes.tallies_by_id
    (computed and stored as before)."""
    cache = outcome_cache.CACHE
    found: dict[int, tuple[int, Any]] = {}
    for cohort_id, held, *values in db.session.execute(
        select(
            cache.c.cohort_id,
            cache.c.held_sessions,
            *(cache.c.tally[name].as_integer() for name in TALLY_FIELDS),
        ).where(cache.c.cohort_id.in_(ids), outcome_cache.good_at(now))
    ):
        if None not in values:  # a field missing from the document: computed again below
            found[cohort_id] = (held, tuple(values))
    missing = [i for i in cohort_ids if i not in found]
    if missing:
        for cohort_id, (held, tally) in outcomes.tallies_by_id(missing, now).items():
            found[cohort_id] = (held, tally_values(tally.__dict__))
    return found


def _load_cohorts(stmt: Select[tuple[Cohort]], ids: Any) -> list[CohortInfo]:
    """The cohorts in scope, by start date, with their facilitators: two Core
    selects (ORM objects for 5,000 cohorts and 15,000 staff rows cost ~700 ms)."""
    staff: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for cohort_id, user_id, name in db.session.execute(
        select(CohortStaff.cohort_id, CohortStaff.user_id, User.display_name)
        .join(User, User.id == CohortStaff.user_id)
        .where(CohortStaff.cohort_id.in_(ids), CohortStaff.role.in_(FACILITATING))
        .order_by(CohortStaff.cohort_id, CohortStaff.user_id)
    ):
        staff[cohort_id].append((user_id, name))
    columns = (Cohort.id, Cohort.name, Cohort.status, Cohort.programme_key, Cohort.start_date)
    rows = db.session.execute(
        stmt.with_only_columns(*columns).order_by(Cohort.start_date, Cohort.id)
    )
    return [CohortInfo(*row, facilitators=staff.get(row[0], [])) for row in rows]


def programme_view(
    user: User,
    filters: Filters,
    settings: ChannelSettings,
    now: datetime,
    paging: Paging | None = None,
    facilitator_paging: Paging | None = None,
) -> Programme:
    """Everything the Programme page shows, the per-cohort table as ``paging``
    asks and the per-facilitator table as ``facilitator_paging`` asks (every
    row without them). The caller commits: computed outcome tallies are kept
    for the next read."""
    stmt = _scope(user, filters)
    ids = stmt.with_only_columns(Cohort.id).scalar_subquery()
    cohorts = _load_cohorts(stmt, ids)
    tallies = _tallies(ids, [c.id for c in cohorts], now)
    reach = _reach_counts(ids, filters, now)
    shown, alert_count, escalated, alerts_per_cohort = alerts(ids)
    late = overdue(ids, now)
    overdue_per_cohort = {o.cohort_id: o.count for o in late}
    sizes = live_sizes(ids)
    cannot_reach = unreachable(ids, settings)

    # Each cohort's figures as one flat tuple, gathered under its month and its
    # facilitators, then summed column-wise (services/programme_figures.py):
    # 15,000 Row.add calls on objects were most of an admin's page.
    active, done, planned = CohortStatus.ACTIVE, CohortStatus.COMPLETED, CohortStatus.PLANNED
    only = filters.facilitator_id
    rows: list[CohortRow] = []
    by_month: dict[str, list[tuple[int, ...]]] = defaultdict(list)
    by_facilitator: dict[int, tuple[str, list[int], list[tuple[int, ...]]]] = {}
    for cohort in cohorts:
        cid, status = cohort.id, cohort.status
        held, tally = tallies[cid]
        values = (
            tally
            + reach.get(cid, NO_REACH)
            + (
                1,
                int(status == active),
                int(status == done),
                int(status == planned),
                alerts_per_cohort.get(cid, 0),
                overdue_per_cohort.get(cid, 0),
            )
        )
        live = sizes.get(cid)  # None: the cohort is over, its size no longer matters
        current, minimum = live if live is not None else (0, None)
        rows.append(CohortRow(cohort, held, current, minimum, values))
        by_month[cohort.start_date.isoformat()[:7]].append(values)
        for user_id, name in cohort.facilitators:
            if only is not None and user_id != only:
                continue  # a co-facilitator's figures would only be partial here
            row = by_facilitator.get(user_id)
            if row is None:
                row = by_facilitator[user_id] = (name, [], [])
            row[1].append(cid)
            row[2].append(values)
    # The total is the sum of the months: 5,000 fewer additions, the same figures.
    month_sums = sorted((month, sum_of(vs)) for month, vs in by_month.items())
    total = Row.of(sum_of([v for _, v in month_sums])) if month_sums else Row()
    facilitators = sorted(
        (
            FacilitatorRow(user_id, name, cohort_ids, sum_of(vs))
            for user_id, (name, cohort_ids, vs) in by_facilitator.items()
        ),
        key=lambda f: (f.display_name.casefold(), f.user_id),
    )
    below = [
        r for r in rows if r.group_size_min is not None and r.current_members < r.group_size_min
    ]
    return Programme(
        filters=filters,
        now=now,
        total=total,
        months=[(month, Row.of(v)) for month, v in month_sums],
        cohorts=page_of(rows, paging),
        cohort_count=len(rows),
        paging=paging,
        names={r.cohort.id: r.cohort.name for r in rows},
        facilitators=page_of(facilitators, facilitator_paging, FACILITATOR_SORTS),
        facilitator_count=len(facilitators),
        facilitator_paging=facilitator_paging,
        open_alerts=shown,
        open_alert_count=alert_count,
        escalated_count=escalated,
        overdue=late,
        below_minimum=below,
        unreachable=cannot_reach,
    )


def completers(tally: Tally) -> dict[str, Any]:
    """The PHQ-9 figures over completers (came to the last session) with two or
    more PHQ-9s: the n, their mean change, the share whose latest is below 10."""
    n = tally.completed_with_change
    return {
        "with_change": n,
        "mean_change": round(tally.completed_change_sum / n, 2) if n else None,
        "share_latest_below_10": round(tally.completed_below_10 / n, 3) if n else None,
    }


def cohort_names(found: Programme) -> dict[int, str]:
    return found.names


def facilitator_names(row: CohortRow) -> list[tuple[int, str]]:
    return sorted(row.cohort.facilitators)
