"""What needs someone's action now, over the Programme page's cohorts
(services/programme.py): open risk alerts, overdue first-absence follow-ups,
live cohorts below the programme's minimum group size, and members no reminder
can reach. Each is one statement (two for the unreachable) over the cohorts in
scope, given as a subquery, whatever their number; aggregates and ids only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, false, func, or_, select

from ipt_groups.channels_config import ChannelSettings
from ipt_groups.extensions import db
from ipt_groups.models import (
    Channel,
    Cohort,
    CohortStatus,
    Enrolment,
    EnrolmentStatus,
    FollowUp,
    NotificationPreference,
    PushSubscription,
    RiskAlert,
)
from ipt_groups.services import channels

# Cohorts whose group size and reach still matter (a completed group is over).
LIVE = (CohortStatus.PLANNED, CohortStatus.ACTIVE)
ALERTS_SHOWN = 100  # open alerts listed (oldest first); the counts are always whole


@dataclass(frozen=True)
class OpenAlert:
    alert_id: int
    cohort_id: int
    source: str
    opened_at: datetime
    escalated_at: datetime | None


@dataclass(frozen=True)
class Overdue:
    cohort_id: int
    count: int
    oldest_due_at: datetime


@dataclass(frozen=True)
class Unreachable:
    cohort_id: int
    count: int


def alerts(ids: Any) -> tuple[list[OpenAlert], int, int, dict[int, int]]:
    """Open alerts, oldest first (the first ALERTS_SHOWN), and their counts."""
    open_ = and_(RiskAlert.acknowledged_at.is_(None), RiskAlert.cohort_id.in_(ids))
    per_cohort: dict[int, int] = {}
    escalated = 0
    for cohort_id, count, up in db.session.execute(
        select(
            RiskAlert.cohort_id,
            func.count(),
            func.count(RiskAlert.escalated_at),
        )
        .where(open_)
        .group_by(RiskAlert.cohort_id)
    ):
        per_cohort[cohort_id] = count
        escalated += up
    shown = [
        OpenAlert(*row)
        for row in db.session.execute(
            select(
                RiskAlert.id,
                RiskAlert.cohort_id,
                RiskAlert.source,
                RiskAlert.opened_at,
                RiskAlert.escalated_at,
            )
            .where(open_)
            .order_by(RiskAlert.opened_at, RiskAlert.id)
            .limit(ALERTS_SHOWN)
        )
    ]
    return shown, sum(per_cohort.values()), escalated, per_cohort


def overdue(ids: Any, now: datetime) -> list[Overdue]:
    """First-absence follow-ups still open after the moment they were due."""
    rows = db.session.execute(
        select(FollowUp.cohort_id, func.count(), func.min(FollowUp.due_at))
        .join(Enrolment, Enrolment.id == FollowUp.enrolment_id)
        .where(
            FollowUp.cohort_id.in_(ids),
            FollowUp.done_at.is_(None),
            FollowUp.due_at < now,
            Enrolment.status == EnrolmentStatus.ENROLLED,
        )
        .group_by(FollowUp.cohort_id)
    )
    found = [Overdue(cohort_id, count, oldest) for cohort_id, count, oldest in rows]
    return sorted(found, key=lambda o: (o.oldest_due_at, o.cohort_id))


def live_sizes(ids: Any) -> dict[int, tuple[int, int]]:
    """Live cohorts: (current members, the programme's minimum group size).

    One statement: each live cohort with its enrolled count as a correlated
    count over ``ix_enrolments_cohort_id_status``. A GROUP BY joining all 60,000
    enrolments of a clinic to its cohorts, then a second read for the minimums,
    was ~70 ms of the admin's page (docs/benchmarks.md, issue 26)."""
    enrolled = (
        select(func.count())
        .where(Enrolment.cohort_id == Cohort.id, Enrolment.status == EnrolmentStatus.ENROLLED)
        .correlate(Cohort)
        .scalar_subquery()
    )
    # The minimum lives in the cohort's programme snapshot (JSON): extracted by the
    # database (JSON_EXTRACT on SQLite, ->> on PostgreSQL), since parsing 2,500
    # whole snapshots in Python cost ~200 ms on the clinic-wide page.
    minimum = Cohort.programme["group_size_min"].as_integer()
    return {
        cohort_id: (int(current or 0), int(least or 1))
        for cohort_id, least, current in db.session.execute(
            select(Cohort.id, minimum, enrolled).where(Cohort.id.in_(ids), Cohort.status.in_(LIVE))
        )
    }


def unreachable(ids: Any, settings: ChannelSettings) -> list[Unreachable]:
    """Members of live cohorts no reminder can reach, by the rules of
    channels.reach_for: no account in the app (reminders go to a person), or no
    push device and no other channel in their order that is usable (a consented
    number or address, the channel switched on, the number not opted out).

    Two statements whatever the size: a GROUP BY counts the members with no
    device and no consented contact at all (most of the unreachable, and no
    per-person work); only those without a device who do have a consented
    contact are read one by one, through reach_for (which also knows their
    channel order and the SMS opt-outs). Going through reach_for for every
    member of a 5,000-cohort clinic cost 1.7 s (bench/scale)."""
    usable = []
    if settings.sms:
        usable.append(
            and_(
                NotificationPreference.sms_consent_at.is_not(None),
                Enrolment.contact_phone.is_not(None),
                Enrolment.contact_phone != "",
            )
        )
    if settings.email:
        usable.append(
            and_(
                NotificationPreference.email_consent_at.is_not(None),
                Enrolment.contact_email.is_not(None),
                Enrolment.contact_email != "",
            )
        )
    maybe = or_(*usable) if usable else false()
    device = exists().where(PushSubscription.user_id == Enrolment.user_id)
    base = (
        select(Enrolment.cohort_id)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .outerjoin(NotificationPreference, NotificationPreference.user_id == Enrolment.user_id)
        .where(
            Enrolment.cohort_id.in_(ids),
            Enrolment.status == EnrolmentStatus.ENROLLED,
            Cohort.status.in_(LIVE),
            ~device,
        )
    )
    counts: dict[int, int] = defaultdict(int)
    no_way = or_(Enrolment.user_id.is_(None), ~maybe)
    for cohort_id, n in db.session.execute(
        base.add_columns(func.count()).where(no_way).group_by(Enrolment.cohort_id)
    ):
        counts[cohort_id] += n
    rows = db.session.execute(
        base.add_columns(Enrolment.user_id).where(Enrolment.user_id.is_not(None), maybe)
    ).all()
    reach = channels.reach_for(user_id for _, user_id in rows)
    for cohort_id, user_id in rows:
        r = reach.get(user_id)
        if r is None or not [
            c for c in r.order if c != Channel.PUSH and r.absent(c, settings) is None
        ]:
            counts[cohort_id] += 1
    return [Unreachable(cid, n) for cid, n in sorted(counts.items())]
