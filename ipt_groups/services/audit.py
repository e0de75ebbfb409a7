"""The audit trail: identifiers and an action word, never clinical content."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select

from ipt_groups.extensions import db
from ipt_groups.models import AuditEvent
from ipt_groups.timesource import utcnow


@dataclass(frozen=True)
class Actor:
    """Who is acting, and from where; ``user_id`` is None for the system itself."""

    user_id: int | None
    ip_address: str | None = None


SYSTEM = Actor(user_id=None)


def record(
    actor: Actor,
    action: str,
    target_type: str | None = None,
    target_id: int | None = None,
    *,
    subject_id: int | None = None,
) -> None:
    """One audit row; ``subject_id`` is the member (enrolment) whose clinical
    record this touches, so an admin can list everything done to one member."""
    db.session.add(
        AuditEvent(
            actor_id=actor.user_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            subject_id=subject_id,
            ip_address=actor.ip_address,
        )
    )


def record_reads(
    actor: Actor, action: str, target_type: str, target_id: int | None, subject_ids: Iterable[int]
) -> None:
    """One row per member whose clinical record a read showed (a runner or a
    cohort's outcomes show several at once), written in one insert."""
    rows = [
        {
            "actor_id": actor.user_id,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "subject_id": subject_id,
            "ip_address": actor.ip_address,
            "at": utcnow(),
        }
        for subject_id in dict.fromkeys(subject_ids)
    ]
    if rows:
        db.session.execute(insert(AuditEvent), rows)


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEvent]
    total: int
    page: int
    per_page: int


def query(
    *,
    member_id: int | None = None,
    actor_id: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> AuditPage:
    """The trail, newest first, filtered by member, actor, action prefix and time."""
    stmt = select(AuditEvent)
    if member_id is not None:
        stmt = stmt.where(AuditEvent.subject_id == member_id)
    if actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action, autoescape=True))
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.at < until)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = db.session.scalars(
        stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return AuditPage(list(items), total, page, per_page)


def commit_reads() -> None:
    """Commit the audit rows a read wrote, without expiring what the read loaded.

    The response is built from those objects next; expiring them on commit would
    reload each one with its own query. Nothing else changed, so nothing is stale.
    """
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
