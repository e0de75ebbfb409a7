"""Symptom measures: a clinic's own instruments, and every completed assessment.

An assessment keeps every item answer as well as the total, band and risk flags
computed when it was entered, and a copy of the instrument's key and name, so a
later change to a local instrument never rewrites what a member answered.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ipt_groups.extensions import db
from ipt_groups.models.enrolment import Enrolment
from ipt_groups.models.types import JSONType, UTCDateTime
from ipt_groups.timesource import utcnow


class LocalInstrument(db.Model):
    """An instrument a clinic added (a locally validated scale), as data."""

    __tablename__ = "local_instruments"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AssessmentSource(enum.StrEnum):
    STAFF = "staff"  # a facilitator entered it on the member's behalf
    SELF = "self"  # the member's own check-in on their phone


class Assessment(db.Model):
    __tablename__ = "assessments"
    __table_args__ = (
        Index("ix_assessments_enrolment_id_at", "enrolment_id", "completed_at"),
        CheckConstraint("source IN ('staff', 'self')", name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("group_sessions.id", ondelete="SET NULL"), index=True
    )
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("member_meetings.id", ondelete="SET NULL")
    )
    instrument: Mapped[str] = mapped_column(String(40))
    instrument_name: Mapped[str] = mapped_column(String(80))
    answers: Mapped[dict[str, int]] = mapped_column(JSONType)
    total: Mapped[int]
    band: Mapped[str | None] = mapped_column(String(40))
    risk_items: Mapped[list[str]] = mapped_column(JSONType, default=list)
    source: Mapped[str] = mapped_column(String(8))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # "<user id>:<key>" from an offline client: a replay returns the first copy.
    client_key: Mapped[str | None] = mapped_column(String(80), unique=True)

    enrolment: Mapped[Enrolment] = relationship()
