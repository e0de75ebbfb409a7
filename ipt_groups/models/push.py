"""Web Push: the devices a person subscribed, what they want to be told, and
every delivery attempt.

A subscription is what the browser's ``PushManager.subscribe()`` returned: an
endpoint on a push service (Google, Mozilla, Apple, Microsoft) and the keys to
encrypt for that device. One row per device; the endpoint is unique, so a
browser re-sending its subscription on every start updates its row.
"""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import Boolean, ForeignKey, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column

from ipt_groups.extensions import db
from ipt_groups.models.types import JSONType, UTCDateTime
from ipt_groups.timesource import utcnow


class PushSubscription(db.Model):
    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Endpoints can be long (a few hundred characters); the unique index is on a
    # hash so it stays small on every database.
    endpoint: Mapped[str] = mapped_column(Text())
    endpoint_hash: Mapped[str] = mapped_column(String(64), unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_failure: Mapped[str | None] = mapped_column(String(40))


class NotificationPreference(db.Model):
    """What one person wants to be told, and when not to be disturbed.

    No row means the defaults (every kind on, quiet from 22:00 to 07:00 local).
    Language and time zone live on the user: the whole app uses them.
    """

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    session_24h: Mapped[bool] = mapped_column(Boolean(), default=True)
    session_1h: Mapped[bool] = mapped_column(Boolean(), default=True)
    content_released: Mapped[bool] = mapped_column(Boolean(), default=True)
    checkin_due: Mapped[bool] = mapped_column(Boolean(), default=True)
    # Both set, or both empty for "no quiet hours". The span may cross midnight.
    quiet_start: Mapped[time | None] = mapped_column(Time())
    quiet_end: Mapped[time | None] = mapped_column(Time())
    # Channel order, e.g. ["push", "sms"]; None means the default for the role.
    channels: Mapped[list[str] | None] = mapped_column(JSONType)
    # SMS and email go only to people whose consent to that channel is recorded
    # (at enrolment, or by themselves in settings); None means no consent.
    sms_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    email_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class DeliveryAttempt(db.Model):
    """One try at handing one notification to one device's push service, an SMS
    provider or the mail server (``channel``; ``push_host`` is then the provider
    or the mail host)."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    # Kept when the subscription is deleted (a 410), so the history stays whole.
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("push_subscriptions.id", ondelete="SET NULL"), index=True
    )
    push_host: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(8), default="push", server_default="push")
    status_code: Mapped[int | None]
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(String(200))
    duration_ms: Mapped[int] = mapped_column(default=0)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
