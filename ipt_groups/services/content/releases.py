"""A cohort's releases as staff see them (scheduled, released, withdrawn, how
many opened), and staff releasing a reading now, scheduling it, or withdrawing it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ipt_groups.domain import Conflict, NotFound
from ipt_groups.extensions import db
from ipt_groups.models import (
    Cohort,
    CohortStatus,
    ContentItem,
    ContentRead,
    ContentRelease,
    Enrolment,
    ReleaseSource,
)
from ipt_groups.services import audit
from ipt_groups.services.audit import Actor
from ipt_groups.services.content.due import _session_times, due_time, release_due
from ipt_groups.services.content.items import FALLBACK_LANGUAGE, latest_for
from ipt_groups.timesource import utcnow


@dataclass(frozen=True)
class CohortRelease:
    release: ContentRelease
    title: str  # the English title, for staff
    due_at: datetime | None
    state: str  # scheduled, released, withdrawn
    opened: int  # how many members opened it (never who)


def _state(release: ContentRelease, due: datetime | None, now: datetime) -> str:
    if release.withdrawn_at is not None:
        return "withdrawn"
    if release.released_at is not None or (due is not None and due <= now):
        return "released"
    return "scheduled"


def cohort_releases(cohort: Cohort) -> list[CohortRelease]:
    now = utcnow()
    releases = list(
        db.session.scalars(
            select(ContentRelease)
            .options(selectinload(ContentRelease.item))
            .where(ContentRelease.cohort_id == cohort.id)
        )
    )
    titles = latest_for([r.item_id for r in releases], FALLBACK_LANGUAGE)
    sessions = _session_times([cohort.id])
    member_ids = select(Enrolment.id).where(Enrolment.cohort_id == cohort.id)
    opened = dict(
        db.session.execute(
            select(ContentRead.item_id, func.count())
            .where(ContentRead.enrolment_id.in_(member_ids))
            .group_by(ContentRead.item_id)
        ).all()
    )
    rows = []
    for r in releases:
        due = due_time(r, sessions)
        title = titles[r.item_id].title if r.item_id in titles else r.item.key
        rows.append(CohortRelease(r, title, due, _state(r, due, now), opened.get(r.item_id, 0)))
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(rows, key=lambda x: (x.due_at or far, x.release.id))


def _upsert(actor: Actor, cohort: Cohort, item: ContentItem) -> ContentRelease:
    if item.retired_at is not None:
        raise Conflict("This reading has been retired.", code="retired")
    release = db.session.scalar(
        select(ContentRelease).where(
            ContentRelease.cohort_id == cohort.id, ContentRelease.item_id == item.id
        )
    )
    if release is None:
        release = ContentRelease(cohort_id=cohort.id, item_id=item.id)
        db.session.add(release)
    release.created_by_id = actor.user_id
    release.withdrawn_at = None
    return release


def release_at(
    actor: Actor, cohort: Cohort, item: ContentItem, when: datetime | None, *, live: bool = False
) -> ContentRelease:
    """Release now (``when`` None) or schedule for a moment. Releasing now also
    notifies at once, through the same job the plan uses."""
    now = utcnow()
    release = _upsert(actor, cohort, item)
    if release.released_at is not None and when is None:
        return release  # shared already: nothing new for the members
    release.source = ReleaseSource.LIVE if live else ReleaseSource.MANUAL
    release.session_number, release.at = None, None
    release.release_at = when or now
    release.released_at = None
    db.session.flush()
    audit.record(actor, "content.release", "content_release", release.id)
    if cohort.status == CohortStatus.ACTIVE and release.release_at <= now:
        release_due(now)
    return release


def withdraw(actor: Actor, cohort: Cohort, item: ContentItem) -> ContentRelease:
    release = db.session.scalar(
        select(ContentRelease).where(
            ContentRelease.cohort_id == cohort.id, ContentRelease.item_id == item.id
        )
    )
    if release is None:
        raise NotFound("This reading was not planned or released for the cohort.")
    if release.withdrawn_at is None:
        release.withdrawn_at = utcnow()
        audit.record(actor, "content.withdraw", "content_release", release.id)
    return release
