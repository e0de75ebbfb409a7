"""People's devices (Web Push subscriptions) and what was delivered to them."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import func, select

from ipt_groups.domain import Conflict, Invalid
from ipt_groups.extensions import db
from ipt_groups.messaging.endpoints import EndpointRefusedError
from ipt_groups.models import (
    DeliveryAttempt,
    Enrolment,
    EnrolmentStatus,
    GroupSession,
    Leg,
    Notification,
    NotificationKind,
    NotificationStatus,
    PushSubscription,
    User,
)
from ipt_groups.services import channels
from ipt_groups.timesource import utcnow

if TYPE_CHECKING:
    from ipt_groups.channels_config import ChannelSettings
    from ipt_groups.messaging.endpoints import EndpointPolicy

# One row per browser; a person rarely has more than a phone, a tablet and a
# laptop. Past the cap the device not seen for longest makes way: a member
# with a new phone must not be locked out by the old one.
MAX_DEVICES_PER_USER = 5


def _hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()


def _key_bytes(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _check_keys(p256dh: str, auth: str) -> None:
    problems: dict[str, list[str]] = {}
    try:
        point = _key_bytes(p256dh)
        if len(point) != 65 or point[0] != 4:
            raise ValueError
    except ValueError:
        problems["keys.p256dh"] = ["Must be a base64url P-256 public key (65 bytes)."]
    try:
        if len(_key_bytes(auth)) != 16:
            raise ValueError
    except ValueError:
        problems["keys.auth"] = ["Must be a base64url 16-byte secret."]
    if problems:
        raise Invalid(fields=problems)


def subscribe(
    user: User,
    endpoint: str,
    p256dh: str,
    auth: str,
    user_agent: str | None,
    *,
    allowed: EndpointPolicy,
) -> tuple[PushSubscription, bool]:
    """Save a browser's subscription (an upsert by endpoint). Returns (row, created).

    ``allowed``: the push services we send to (``PUSH_ALLOWED_HOSTS``)."""
    try:
        allowed.check(endpoint)
    except EndpointRefusedError as exc:
        raise Invalid(fields={"endpoint": [str(exc)]}) from None
    _check_keys(p256dh, auth)
    now = utcnow()
    row = db.session.scalar(
        select(PushSubscription).where(PushSubscription.endpoint_hash == _hash(endpoint))
    )
    created = row is None
    if row is None:
        row = PushSubscription(endpoint=endpoint, endpoint_hash=_hash(endpoint), created_at=now)
        db.session.add(row)
    # A shared tablet that another person logs into takes the device over.
    row.user_id, row.p256dh, row.auth = user.id, p256dh, auth
    row.user_agent = (user_agent or "")[:255] or None
    row.last_seen_at = now
    row.last_failure = row.last_failure_at = None
    db.session.flush()
    _enforce_cap(user.id)
    return row, created


def _enforce_cap(user_id: int) -> None:
    rows = db.session.scalars(
        select(PushSubscription)
        .where(PushSubscription.user_id == user_id)
        .order_by(PushSubscription.last_seen_at.desc(), PushSubscription.id.desc())
    ).all()
    for old in rows[MAX_DEVICES_PER_USER:]:
        db.session.delete(old)
    db.session.flush()


def my_devices(user: User) -> list[PushSubscription]:
    return list(
        db.session.scalars(
            select(PushSubscription)
            .where(PushSubscription.user_id == user.id)
            .order_by(PushSubscription.last_seen_at.desc())
        )
    )


def unsubscribe(user: User, *, endpoint: str | None = None, device_id: int | None = None) -> bool:
    stmt = select(PushSubscription).where(PushSubscription.user_id == user.id)
    if endpoint is not None:
        stmt = stmt.where(PushSubscription.endpoint_hash == _hash(endpoint))
    else:
        stmt = stmt.where(PushSubscription.id == device_id)
    row = db.session.scalar(stmt)
    if row is None:
        return False
    db.session.delete(row)
    db.session.flush()
    return True


def host_of(row: PushSubscription) -> str:
    return urlsplit(row.endpoint).hostname or ""


# -- "send a test" -----------------------------------------------------------


@dataclass(frozen=True)
class TestResult:
    devices: int
    delivered: int
    outcomes: list[dict[str, Any]]


def send_test(user: User, send: Callable[[list[int]], object]) -> TestResult:
    """Send a test notification to the caller's own devices, now.

    ``send`` sends outbox rows at once (the process's dispatcher's ``send_rows``)."""
    if not my_devices(user):
        raise Conflict("This account has no device set up for notifications.")
    row = Notification(
        user_id=user.id,
        kind=NotificationKind.TEST,
        dedupe_key=f"test:{uuid.uuid4().hex}",
        ref_type="test",
        due_at=utcnow(),
        status=NotificationStatus.PENDING,
    )
    db.session.add(row)
    db.session.commit()
    row_id = row.id
    send([row_id])
    attempts = db.session.scalars(
        select(DeliveryAttempt).where(DeliveryAttempt.notification_id == row_id)
    ).all()
    return TestResult(
        devices=len(attempts),
        delivered=sum(1 for a in attempts if a.outcome == "sent"),
        outcomes=[
            {"device_id": a.subscription_id, "outcome": a.outcome, "status_code": a.status_code}
            for a in attempts
        ],
    )


# -- who got their reminder --------------------------------------------------


@dataclass(frozen=True)
class MemberDelivery:
    enrolment_id: int
    display_name: str
    devices: int
    # shown | delivered | failed | no_channel | pending | not_planned | cancelled | expired
    status: str
    kind: str | None
    last_attempt_at: datetime | None
    channel: str | None = None  # the channel that delivered it (or was tried last)
    delivery_state: str | None = None  # the provider's latest report (SMS)
    why: str | None = None  # why channels did not carry it, e.g. "push:none sms:no_consent"
    shown_at: datetime | None = None  # a device displayed it (its "shown" receipt)


_STATUS_WORD = {
    NotificationStatus.SENT: "delivered",
    NotificationStatus.FAILED: "failed",
    NotificationStatus.NO_CHANNEL: "no_channel",
    NotificationStatus.PENDING: "pending",
    NotificationStatus.SENDING: "pending",
    NotificationStatus.CANCELLED: "cancelled",
    NotificationStatus.EXPIRED: "expired",
}
# Lower is more telling: one shown on the phone wins, a delivered one, then a failure.
_RANK = {
    "shown": -1,
    "delivered": 0,
    "failed": 1,
    "no_channel": 2,
    "expired": 3,
    "pending": 4,
    "cancelled": 5,
}


def _word(row: Notification) -> str:
    # "delivered" is the push service's 201; "shown" is the device's own word.
    return "shown" if row.shown_at is not None else _STATUS_WORD[row.status]


class _AnyLeg:
    """A session reminder as channels.plan sees it: any channel, not a test."""

    kind = NotificationKind.SESSION_24H
    leg = Leg.ANY


def session_deliveries(session: GroupSession, settings: ChannelSettings) -> list[MemberDelivery]:
    """Per member: was this session's reminder delivered, did it fail, or has the
    member no working device (so the facilitator knows whom to phone)."""
    members = db.session.execute(
        select(Enrolment.id, Enrolment.display_name, Enrolment.user_id)
        .where(
            Enrolment.cohort_id == session.cohort_id,
            Enrolment.status == EnrolmentStatus.ENROLLED,
        )
        .order_by(Enrolment.display_name)
    ).all()
    user_ids = [m.user_id for m in members if m.user_id]
    device_counts: Mapping[int, int] = dict(
        db.session.execute(
            select(PushSubscription.user_id, func.count())
            .where(PushSubscription.user_id.in_(user_ids))
            .group_by(PushSubscription.user_id)
        ).all()
    )
    rows = db.session.scalars(
        select(Notification).where(
            Notification.ref_type == "session",
            Notification.ref_id == session.id,
            Notification.kind.in_((NotificationKind.SESSION_24H, NotificationKind.SESSION_1H)),
            Notification.user_id.in_(user_ids),
        )
    ).all()
    last_attempt = dict(
        db.session.execute(
            select(DeliveryAttempt.notification_id, func.max(DeliveryAttempt.at))
            .where(DeliveryAttempt.notification_id.in_([r.id for r in rows]))
            .group_by(DeliveryAttempt.notification_id)
        ).all()
    )
    # Per member, the row that tells the facilitator most: by status rank,
    # then the later reminder.
    best: dict[int, Notification] = {}
    for row in sorted(rows, key=lambda r: (-_RANK[_word(r)], r.due_at)):
        best[row.user_id] = row
    reach = channels.reach_for(user_ids)
    out = []
    for m in members:
        row = best.get(m.user_id) if m.user_id else None
        devices = device_counts.get(m.user_id, 0) if m.user_id else 0
        usable, skipped = (
            channels.plan(_AnyLeg, reach[m.user_id], devices, settings) if m.user_id else ([], [])
        )
        if row is None:
            status = "no_channel" if not usable else "not_planned"
        else:
            status = _word(row)
            if status == "pending" and not usable:
                status = "no_channel"  # will not arrive unless a channel is set up
        out.append(
            MemberDelivery(
                enrolment_id=m.id,
                display_name=m.display_name,
                devices=devices,
                status=status,
                kind=row.kind if row else None,
                last_attempt_at=last_attempt.get(row.id) if row else None,
                channel=row.channel if row else None,
                delivery_state=row.delivery_state if row else None,
                why=(row.channel_notes if row else None) or (" ".join(skipped) or None),
                shown_at=row.shown_at if row else None,
            )
        )
    return out
