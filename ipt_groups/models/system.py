"""Operational records: the clock's heartbeat and the audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ipt_groups.extensions import db
from ipt_groups.models.types import UTCDateTime
from ipt_groups.timesource import utcnow


class ClockHeartbeat(db.Model):
    """Last sign of life from a scheduler process, read by ``/readyz``."""

    __tablename__ = "clock_heartbeats"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime())
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]


class AuditEvent(db.Model):
    """Append-only: who did what to which record, when and from where.

    Never holds clinical content, only identifiers and an action word, so the
    trail can outlive an erasure request.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_target", "target_type", "target_id"),
        Index("ix_audit_events_actor_id_at", "actor_id", "at"),
        Index("ix_audit_events_subject_id_at", "subject_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None]
    # The member (enrolment id) whose clinical record was read or changed; no
    # foreign key, so the trail survives the member's erasure.
    subject_id: Mapped[int | None]
    ip_address: Mapped[str | None] = mapped_column(String(45))
