"""Risk alerts: a signal that a member may be at risk, open until a supervisor
has acted on it and said what they did."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ipt_groups.extensions import db
from ipt_groups.models.enrolment import Enrolment
from ipt_groups.models.measures import Assessment
from ipt_groups.models.types import UTCDateTime
from ipt_groups.timesource import utcnow


class AlertSource(enum.StrEnum):
    RISK_ITEM = "risk_item"  # e.g. PHQ-9 item 9 above 0, entered by staff
    SELF_CHECK_IN = "self_check_in"  # the same, in the member's own check-in
    WORRIED = "worried"  # a facilitator's "I am worried" flag


class AlertAction(enum.StrEnum):
    CONTACTED = "contacted"
    SAFETY_PLAN = "safety_plan"
    REFERRED = "referred"
    EMERGENCY = "emergency_services"
    OTHER = "other"


class RiskAlert(db.Model):
    __tablename__ = "risk_alerts"
    __table_args__ = (
        # The escalation job's scan: open alerts not yet escalated, oldest first.
        Index("ix_risk_alerts_open", "acknowledged_at", "escalated_at", "opened_at"),
        CheckConstraint("source IN ('risk_item', 'self_check_in', 'worried')", name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolments.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(16))
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessments.id", ondelete="SET NULL")
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("group_sessions.id", ondelete="SET NULL")
    )
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    concern: Mapped[str | None] = mapped_column(Text())  # the facilitator's words, if any
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    action: Mapped[str | None] = mapped_column(String(20))
    action_note: Mapped[str | None] = mapped_column(Text())
    # Acknowledged with "safety_plan": the plan version that was made or reviewed.
    safety_plan_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("safety_plan_versions.id", ondelete="SET NULL")
    )

    enrolment: Mapped[Enrolment] = relationship()
    assessment: Mapped[Assessment | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None
