"""Fidelity and supervision: the facilitator's checklist of how a session was
run, the supervisor's review of it, and the supervision meetings of a cohort."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ipt_groups.extensions import db
from ipt_groups.models.types import JSONType, UTCDateTime
from ipt_groups.timesource import utcnow


class FidelityAnswer(enum.StrEnum):
    """An item's answer. The answers sit in a JSON list, so the schema (not a
    CHECK constraint) is what keeps them to these three."""

    YES = "yes"
    PARTLY = "partly"
    NO = "no"


class FidelityChecklist(db.Model):
    """One per session: the facilitator's answers, then the supervisor's review.

    ``answers`` is a list of ``{"key", "enrolment_id", "answer", "comment"}``
    (``enrolment_id`` only on per-member items). The score is kept beside it so
    the supervisor's overview is one query, not a recount of every checklist.
    Once ``reviewed_at`` is set the answers are what the supervisor rated and
    are no longer changed.
    """

    __tablename__ = "fidelity_checklists"
    __table_args__ = (
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating"),
        CheckConstraint("score BETWEEN 0 AND 1", name="score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("group_sessions.id", ondelete="CASCADE"), unique=True
    )
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    phase: Mapped[str] = mapped_column(String(12))
    answers: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    score: Mapped[float] = mapped_column(Float())
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rating: Mapped[int | None]
    feedback: Mapped[str | None] = mapped_column(Text())
    # When a facilitator of the cohort first opened the feedback: the unread marker.
    feedback_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SupervisionMeeting(db.Model):
    """A supervision meeting about one cohort: who came, how long, what was agreed."""

    __tablename__ = "supervision_meetings"
    __table_args__ = (CheckConstraint("duration_minutes BETWEEN 5 AND 600", name="duration"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    held_on: Mapped[date] = mapped_column(Date())
    duration_minutes: Mapped[int]
    facilitator_ids: Mapped[list[int]] = mapped_column(JSONType)
    notes: Mapped[str] = mapped_column(Text(), default="")
    actions: Mapped[str] = mapped_column(Text(), default="")
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
