"""Figures pooled over many cohorts: the cohorts a user may see, each cohort's
tally (kept between reads in services/outcome_cache.py, recomputed only where its
data changed or its next session has started), and the sums per facilitator and
for the clinic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import load_only, selectinload

from ipt_groups.extensions import db
from ipt_groups.models import (
    FACILITATING,
    Cohort,
    CohortStaff,
    User,
)
from ipt_groups.services import outcome_cache
from ipt_groups.services.access import visible_cohorts
from ipt_groups.services.outcomes.cohort import _compute
from ipt_groups.services.outcomes.loading import _load
from ipt_groups.services.outcomes.results import (
    ClinicOutcomes,
    CohortTally,
    FacilitatorOutcomes,
    Tally,
)
from ipt_groups.timesource import utcnow


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
