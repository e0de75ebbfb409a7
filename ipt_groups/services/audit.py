"""The audit trail: identifiers and an action word, never clinical content."""

from __future__ import annotations

from dataclasses import dataclass

from ipt_groups.extensions import db
from ipt_groups.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who is acting, and from where; ``user_id`` is None for the system itself."""

    user_id: int | None
    ip_address: str | None = None


SYSTEM = Actor(user_id=None)


def record(
    actor: Actor, action: str, target_type: str | None = None, target_id: int | None = None
) -> None:
    db.session.add(
        AuditEvent(
            actor_id=actor.user_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            ip_address=actor.ip_address,
        )
    )
