"""The outbox: one row per message owed to one person.

Services write rows (a risk alert for each supervisor, a reminder before a
session); the clock's dispatcher (the push issue) delivers them. The row carries
only a kind and a reference, never text: the wording is chosen at send time from
neutral per-language templates, so nothing clinical is stored for delivery.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ipt_groups.extensions import db
from ipt_groups.models.types import UTCDateTime
from ipt_groups.timesource import utcnow


class NotificationKind(enum.StrEnum):
    RISK_ALERT = "risk_alert"  # to the cohort's supervisors
    RISK_ESCALATION = "risk_escalation"  # to the clinic admins, when nobody acted
    PUSH_REJECTED = "push_rejected"  # to admins: a push service refused our VAPID key
    CONTENT_RELEASED = "content_released"  # to members: a new reading from their group
    SESSION_24H = "session_24h"  # to members: the day before a session
    SESSION_1H = "session_1h"  # to members: an hour before a session
    CHECKIN_DUE = "checkin_due"  # to members: a short questionnaire is open
    MEETING_24H = "meeting_24h"  # to members: the day before a one-to-one meeting
    TEST = "test"  # to the caller's own devices, from "send a test"


# Kinds meant for staff: urgent, so quiet hours never hold them back.
STAFF_KINDS = frozenset(
    {NotificationKind.RISK_ALERT, NotificationKind.RISK_ESCALATION, NotificationKind.PUSH_REJECTED}
)


class Channel(enum.StrEnum):
    PUSH = "push"
    SMS = "sms"
    EMAIL = "email"


class Leg(enum.StrEnum):
    """Which of a person's channels a row may use.

    A risk alert to staff is two rows: one by push (the app) and one by the first
    channel outside the app that works (email, SMS), each retried on its own, so
    a working phone app never stands in for the message outside it.
    """

    ANY = "any"  # the person's order: the first channel that works
    PUSH = "push"  # the app only
    OUTSIDE = "outside"  # the person's order without push


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a dispatcher until lease_until
    SENT = "sent"  # at least one device's push service accepted it
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # its moment passed before it could be sent
    # Every channel in the person's order failed for good or is absent (no device,
    # no consented number or address): staff should phone them.
    NO_CHANNEL = "no_channel"


FINAL_STATUSES = frozenset(
    {
        NotificationStatus.SENT,
        NotificationStatus.FAILED,
        NotificationStatus.CANCELLED,
        NotificationStatus.EXPIRED,
        NotificationStatus.NO_CHANNEL,
    }
)


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_status_due_at", "status", "due_at"),
        Index("ix_notifications_user_id_created_at", "user_id", "created_at"),
        Index("ix_notifications_ref_type_ref_id", "ref_type", "ref_id"),
        Index("ix_notifications_claim_token", "claim_token"),
        Index("ix_notifications_channel_sent_at", "channel", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    # Unique per message, so planning the same message twice makes one row.
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    ref_type: Mapped[str | None] = mapped_column(String(32))
    ref_id: Mapped[int | None]
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default=NotificationStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # seen in the app
    # Delivery bookkeeping for the dispatcher (ipt_groups/push/dispatcher.py).
    attempts: Mapped[int] = mapped_column(default=0)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(40))
    leg: Mapped[str] = mapped_column(String(8), default=Leg.ANY, server_default=Leg.ANY)
    # The channel that delivered it (or was tried last), the provider's id for it
    # (a Twilio SID, an Africa's Talking messageId, our email Message-ID), and
    # the latest delivery report: queued, sent, delivered, undelivered, failed.
    channel: Mapped[str | None] = mapped_column(String(8))
    provider_id: Mapped[str | None] = mapped_column(String(100), index=True)
    delivery_state: Mapped[str | None] = mapped_column(String(12))
    delivery_state_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why each channel did not deliver, e.g. "push:none sms:no_consent email:smtp_5xx",
    # so staff can see why nobody was reached.
    channel_notes: Mapped[str | None] = mapped_column(String(200))
    segments: Mapped[int] = mapped_column(default=0, server_default="0")  # SMS parts billed
    # When a device's service worker displayed it (a "shown" receipt, posted
    # back with the payload's token): more than "the push service accepted it".
    shown_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
