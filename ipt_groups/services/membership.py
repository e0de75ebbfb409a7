"""Who is in a cohort: counts by status, and a participant's live enrolment.

Below both ``cohorts`` and ``enrolment`` (and ``channels``), which all read it:
it imports no other service.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from ipt_groups.extensions import db
from ipt_groups.models import CURRENT_STATUSES, Cohort, Enrolment, EnrolmentStatus, User


def member_counts(cohort_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Members per cohort and status, for many cohorts in one query."""
    stmt = (
        select(Enrolment.cohort_id, Enrolment.status, func.count(Enrolment.id))
        .where(Enrolment.cohort_id.in_(cohort_ids))
        .group_by(Enrolment.cohort_id, Enrolment.status)
    )
    counts: dict[int, dict[str, int]] = {cid: {} for cid in cohort_ids}
    for cohort_id, status, n in db.session.execute(stmt):
        counts[cohort_id][status] = n
    return counts


def enrolled_count(cohort: Cohort) -> int:
    return member_counts([cohort.id])[cohort.id].get(EnrolmentStatus.ENROLLED, 0)


def current_enrolment(user: User) -> Enrolment | None:
    """A participant's live enrolment (enrolled or waitlisted), if any."""
    stmt = (
        select(Enrolment)
        .where(Enrolment.user_id == user.id, Enrolment.status.in_(CURRENT_STATUSES))
        .order_by(Enrolment.id.desc())
    )
    return db.session.scalars(stmt).first()
