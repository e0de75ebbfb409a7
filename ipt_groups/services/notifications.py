"""Writing rows to the outbox, and the in-app inbox that reads them back.

A row names a kind and a record, never any text: what a person sees on a lock
screen or in the app comes from neutral wording chosen by kind, so no clinical
word is ever stored for delivery or shown where others may read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select

from ipt_groups.clock import utcnow
from ipt_groups.extensions import db
from ipt_groups.models import Notification, NotificationKind, NotificationStatus, Role, User

# Staff wording is the same for every kind: the app shows the detail after login.
STAFF_TEXT = {
    "en": "You have an item that needs attention.",
    "es": "Tiene un asunto que requiere su atención.",
}


# What a member's lock screen may show: nothing about therapy or health.
MEMBER_TEXT = {
    NotificationKind.CONTENT_RELEASED: {
        "en": "New reading from your group.",
        "es": "Nueva lectura de su grupo.",
    },
}


def text_for(kind: str, language: str) -> str:
    if kind in (NotificationKind.RISK_ALERT, NotificationKind.RISK_ESCALATION):
        return STAFF_TEXT.get(language, STAFF_TEXT["en"])
    if kind in MEMBER_TEXT:
        texts = MEMBER_TEXT[NotificationKind(kind)]
        return texts.get(language, texts["en"])
    raise ValueError(f"no wording for notification kind {kind!r}")


def notify(
    user_ids: Iterable[int],
    kind: NotificationKind,
    ref_type: str,
    ref_id: int,
    *,
    due_at: datetime | None = None,
) -> list[Notification]:
    """One row per person; planning the same message twice makes no second row."""
    user_ids = list(dict.fromkeys(user_ids))
    keys = {uid: f"{kind}:{ref_type}:{ref_id}:{uid}" for uid in user_ids}
    existing = set(
        db.session.scalars(
            select(Notification.dedupe_key).where(Notification.dedupe_key.in_(keys.values()))
        )
    )
    rows = [
        Notification(
            user_id=uid,
            kind=kind,
            dedupe_key=key,
            ref_type=ref_type,
            ref_id=ref_id,
            due_at=due_at or utcnow(),
            status=NotificationStatus.PENDING,
        )
        for uid, key in keys.items()
        if key not in existing
    ]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def active_admin_ids() -> list[int]:
    return list(
        db.session.scalars(
            select(User.id).where(User.role == Role.ADMIN, User.disabled_at.is_(None))
        )
    )


def inbox(user: User, *, unread_only: bool, limit: int = 100) -> list[Notification]:
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(db.session.scalars(stmt.order_by(Notification.created_at.desc()).limit(limit)))


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )


def mark_read(user: User, notification_id: int) -> Notification | None:
    row = db.session.get(Notification, notification_id)
    if row is None or row.user_id != user.id:
        return None
    if row.read_at is None:
        row.read_at = utcnow()
    return row
