"""The release plan: which reading is released at which session number, from
the programme's own plan or the library's suggestion (tagged for the 8-session
reference programme) scaled to the programme's length."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from ipt_groups.extensions import db
from ipt_groups.models import (
    Cohort,
    CohortStatus,
    ContentRelease,
    ReleaseSource,
)
from ipt_groups.protocol.programmes import ReleaseRule, template_from_dict
from ipt_groups.services.content.items import list_items

# The reference programme the library's release tags are written for (WHO 8).
REFERENCE_SESSIONS = 8


def scale_session(reference: int, group_sessions: int) -> int:
    """Map a session of the 8-session reference onto a programme of another
    length, keeping first and last in place and the order of everything between."""
    if group_sessions == REFERENCE_SESSIONS:
        return reference
    scaled = 1 + (reference - 1) * (group_sessions - 1) / (REFERENCE_SESSIONS - 1)
    return max(1, min(group_sessions, round(scaled)))


def plan_for(programme: Mapping[str, Any]) -> list[ReleaseRule]:
    """The programme's own release plan, or the library's suggestion scaled to it."""
    template = template_from_dict(programme)
    if template.releases:
        return list(template.releases)
    rules = []
    for item in list_items():
        session = item.tags.get("release_session")
        if session:
            at = item.tags.get("release_at") or "start"
            rules.append(ReleaseRule(item.key, scale_session(session, template.group_sessions), at))
    return rules


def ensure_plan(cohort: Cohort) -> int:
    """Create the cohort's planned releases that do not exist yet (idempotent)."""
    have = set(
        db.session.scalars(
            select(ContentRelease.item_id).where(ContentRelease.cohort_id == cohort.id)
        )
    )
    items = {i.key: i for i in list_items()}
    added = 0
    for rule in plan_for(cohort.programme):
        item = items.get(rule.item)
        if item is None or item.id in have:
            continue
        db.session.add(
            ContentRelease(
                cohort_id=cohort.id, item_id=item.id, source=ReleaseSource.PLAN,
                session_number=rule.session, at=rule.at,
            )
        )  # fmt: skip
        have.add(item.id)
        added += 1
    db.session.flush()
    return added


def _open_cohorts() -> list[Cohort]:
    return list(
        db.session.scalars(
            select(Cohort).where(Cohort.status.in_([CohortStatus.PLANNED, CohortStatus.ACTIVE]))
        )
    )


def plan_open_cohorts() -> None:
    """After the library changed: readings new to it join the plans of planned and
    running cohorts (those following the library's suggestion). Called once per
    change, not once per item, so an import costs one pass over the cohorts."""
    for cohort in _open_cohorts():
        ensure_plan(cohort)
