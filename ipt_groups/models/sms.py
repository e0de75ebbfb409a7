"""SMS coming back: numbers that said STOP, and replies kept for the facilitator.

Opt-outs are per number, not per person: a shared phone that sends STOP stops
every message to that number, whoever it was meant for, as carriers require.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ipt_groups.extensions import db
from ipt_groups.models.types import UTCDateTime
from ipt_groups.timesource import utcnow


class SmsOptOut(db.Model):
    __tablename__ = "sms_opt_outs"

    number: Mapped[str] = mapped_column(String(16), primary_key=True)  # E.164
    word: Mapped[str] = mapped_column(String(20))  # what they sent: STOP, BAJA, ...
    provider: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SmsReply(db.Model):
    """A member's text that was not a command: kept for their facilitator.

    ``ambiguous`` marks a reply from a number that more than one member gave
    (a shared phone): it is attached to the member whose session is next.
    """

    __tablename__ = "sms_replies"
    __table_args__ = (
        Index("ix_sms_replies_enrolment_id_received_at", "enrolment_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    # What the message did: "cannot_come" (recorded as the app's button would),
    # "message" (kept for the facilitator), "stop" / "start" (opt-out changed).
    action: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(String(1600))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("group_sessions.id", ondelete="SET NULL")
    )
    ambiguous: Mapped[bool] = mapped_column(default=False)
    provider: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    enrolment = relationship("Enrolment", lazy="joined")
