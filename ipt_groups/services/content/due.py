"""When a release happens: its time from the session it is tied to (by number,
so a rescheduled session carries its readings with it) or its own moment, and the
clock's job that marks due releases released and tells the members (once)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import select, update

from ipt_groups.extensions import db
from ipt_groups.models import (
    Cohort,
    CohortStatus,
    ContentItem,
    ContentRelease,
    Enrolment,
    EnrolmentStatus,
    GroupSession,
    NotificationKind,
    SessionKind,
    SessionStatus,
)
from ipt_groups.services import notifications
from ipt_groups.timesource import utcnow


def _session_times(cohort_ids: Iterable[int]) -> dict[tuple[int, int], GroupSession]:
    """(cohort id, number) -> the scheduled group session with that number."""
    ids = list(cohort_ids)
    if not ids:
        return {}
    rows = db.session.scalars(
        select(GroupSession).where(
            GroupSession.cohort_id.in_(ids),
            GroupSession.kind == SessionKind.GROUP,
            GroupSession.status == SessionStatus.SCHEDULED,
        )
    )
    return {(s.cohort_id, s.number): s for s in rows if s.number is not None}


def due_time(
    release: ContentRelease, sessions: Mapping[tuple[int, int], GroupSession]
) -> datetime | None:
    """When the release happens; None if its session no longer exists."""
    if release.release_at is not None:
        return release.release_at
    session = sessions.get((release.cohort_id, release.session_number or 0))
    if session is None:
        return None
    if release.at == "end":
        return session.ends_at
    return session.starts_at


def release_due(now: datetime | None = None) -> int:
    """The clock's job: mark each release whose time has come, and write one
    discreet notification per member ("New reading from your group")."""
    now = now or utcnow()
    pending = list(
        db.session.scalars(
            select(ContentRelease)
            .join(Cohort, Cohort.id == ContentRelease.cohort_id)
            .join(ContentItem, ContentItem.id == ContentRelease.item_id)
            .where(
                ContentRelease.released_at.is_(None),
                ContentRelease.withdrawn_at.is_(None),
                ContentItem.retired_at.is_(None),
                Cohort.status == CohortStatus.ACTIVE,
            )
        )
    )
    sessions = _session_times({r.cohort_id for r in pending})
    released = 0
    for release in pending:
        when = due_time(release, sessions)
        if when is None or when > now:
            continue
        # Claimed with a conditional update: two clocks never notify twice.
        claimed = db.session.execute(
            update(ContentRelease)
            .where(ContentRelease.id == release.id, ContentRelease.released_at.is_(None))
            .values(released_at=when)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed:
            _notify_members(release.cohort_id, release.id)
            released += 1
    db.session.expire_all()
    return released


def _notify_members(cohort_id: int, release_id: int) -> None:
    user_ids = db.session.scalars(
        select(Enrolment.user_id).where(
            Enrolment.cohort_id == cohort_id,
            Enrolment.status == EnrolmentStatus.ENROLLED,
            Enrolment.user_id.is_not(None),
        )
    )
    notifications.notify(
        [u for u in user_ids if u is not None],
        NotificationKind.CONTENT_RELEASED, "content_release", release_id,
    )  # fmt: skip
