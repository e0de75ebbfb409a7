"""Writing rows to the outbox, and the in-app inbox that reads them back.

A row names a kind and a record, never any text: what a person sees on a lock
screen or in the app comes from neutral wording chosen by kind, so no clinical
word is ever stored for delivery or shown where others may read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from ipt_groups.domain import Invalid
from ipt_groups.extensions import db
from ipt_groups.messaging import messages
from ipt_groups.models import (
    ClinicSetting,
    Leg,
    Notification,
    NotificationKind,
    NotificationStatus,
    Role,
    User,
)
from ipt_groups.services import audit, outbox
from ipt_groups.services.audit import Actor
from ipt_groups.timesource import utcnow

# Sent both in the app and outside it (see Leg).
BOTH_LEGS = frozenset({NotificationKind.RISK_ALERT, NotificationKind.RISK_ESCALATION})


def notify(
    user_ids: Iterable[int],
    kind: NotificationKind,
    ref_type: str,
    ref_id: int,
    *,
    due_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> int:
    """One row per person who wants this kind, due outside their quiet hours;
    planning the same message twice makes no second row. Returns rows planned."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return 0
    users = db.session.scalars(
        select(User).where(User.id.in_(ids), User.disabled_at.is_(None))
    ).all()
    prefs = outbox.preferences_for(u.id for u in users)
    due = due_at or utcnow()
    rows = [
        {
            "user_id": user.id,
            "kind": kind,
            "dedupe_key": f"{kind}:{ref_type}:{ref_id}:{user.id}",
            "ref_type": ref_type,
            "ref_id": ref_id,
            "due_at": outbox.due_for(user, kind, due, expires_at, prefs[user.id]),
            "expires_at": expires_at,
        }
        for user in users
        if prefs[user.id].wants(kind)
    ]
    if kind in BOTH_LEGS:
        # A risk alert must reach a supervisor outside the app too, within one
        # tick, even when their phone app works: a second row for the first
        # channel outside the app (email, SMS), retried on its own.
        rows = [
            {**row, "leg": leg, "dedupe_key": row["dedupe_key"] + suffix}
            for row in rows
            for leg, suffix in ((Leg.PUSH, ""), (Leg.OUTSIDE, ":out"))
        ]
    outbox.insert_ignoring_duplicates(rows)
    return len(rows)


def active_admin_ids() -> list[int]:
    return list(
        db.session.scalars(
            select(User.id).where(User.role == Role.ADMIN, User.disabled_at.is_(None))
        )
    )


def _shown(user: User) -> list[Any]:
    """What the inbox lists: rows whose moment has come, not withdrawn since."""
    return [
        Notification.user_id == user.id,
        Notification.due_at <= utcnow(),
        Notification.leg != Leg.OUTSIDE,  # the same message as its push row
        Notification.status.not_in((NotificationStatus.CANCELLED, NotificationStatus.EXPIRED)),
    ]


def inbox(user: User, *, unread_only: bool, limit: int = 100) -> list[Notification]:
    stmt = select(Notification).where(*_shown(user))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(db.session.scalars(stmt.order_by(Notification.created_at.desc()).limit(limit)))


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(*_shown(user), Notification.read_at.is_(None))
    )


def mark_read(user: User, notification_id: int) -> Notification | None:
    row = db.session.get(Notification, notification_id)
    if row is None or row.user_id != user.id:
        return None
    if row.read_at is None:
        row.read_at = utcnow()
    return row


# -- wording -----------------------------------------------------------------

TEMPLATES_KEY = "push_templates"


def templates() -> dict[str, dict[str, dict[str, str]]]:
    """The clinic's notification wording: defaults with its edits laid over."""
    row = db.session.get(ClinicSetting, TEMPLATES_KEY)
    return messages.merged(row.value if row else None)


def set_templates(actor: Actor, custom: Mapping[str, Any]) -> dict[str, dict[str, dict[str, str]]]:
    """Replace the clinic's edits (422 naming each field that is not neutral)."""
    problems = messages.template_problems(custom)
    if problems:
        raise Invalid(fields={key: [why] for key, why in problems.items()})
    row = db.session.get(ClinicSetting, TEMPLATES_KEY)
    if row is None:
        row = ClinicSetting(key=TEMPLATES_KEY)
        db.session.add(row)
    row.value, row.updated_by_id = dict(custom), actor.user_id
    audit.record(actor, "settings.push_templates")
    db.session.flush()
    return templates()


def wording(
    row: Notification, user: User, clinic_templates: Mapping[str, Any] | None = None
) -> messages.Rendered:
    """What ``user`` reads for ``row`` (pass ``templates()`` when wording many)."""
    return messages.render(row, user.language, user.time_zone, clinic_templates or templates())
