"""A cohort (one group run of a programme), its staff, sessions and closed dates."""

from __future__ import annotations

import enum
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ipt_groups.extensions import db
from ipt_groups.models.agenda import AgendaEntry
from ipt_groups.models.types import JSONType, UTCDateTime
from ipt_groups.models.user import User
from ipt_groups.timesource import utcnow


class CohortStatus(enum.StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class StaffRole(enum.StrEnum):
    LEAD = "lead"
    CO_FACILITATOR = "co_facilitator"
    SUPERVISOR = "supervisor"


FACILITATING = (StaffRole.LEAD, StaffRole.CO_FACILITATOR)


class SessionKind(enum.StrEnum):
    GROUP = "group"  # one of the programme's numbered sessions
    CATCH_UP = "catch_up"  # an extra session added by the facilitator


class SessionStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Cohort(db.Model):
    """One group: a programme run for a set of members on a weekly slot.

    ``name`` is internal (facilitators and supervisors only): it is never put in a
    notification, a calendar feed or anything a participant sees.
    """

    __tablename__ = "cohorts"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("capacity >= 1", name="capacity"),
        CheckConstraint("status IN ('planned', 'active', 'completed', 'cancelled')", name="status"),
        CheckConstraint("location_kind IN ('place', 'online')", name="location_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    programme_key: Mapped[str] = mapped_column(String(40))
    # The programme as it was when the cohort was created (see models.programme).
    programme: Mapped[dict[str, Any]] = mapped_column(JSONType)
    language: Mapped[str] = mapped_column(String(16))
    time_zone: Mapped[str] = mapped_column(String(64))
    weekday: Mapped[int]  # Monday = 0
    local_time: Mapped[time] = mapped_column(Time())
    start_date: Mapped[date] = mapped_column(Date())
    session_minutes: Mapped[int]
    location_kind: Mapped[str] = mapped_column(String(10), default="place")
    location: Mapped[str] = mapped_column(String(500), default="")
    capacity: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default=CohortStatus.PLANNED, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    staff: Mapped[list[CohortStaff]] = relationship(
        back_populates="cohort", cascade="all, delete-orphan", passive_deletes=True
    )
    sessions: Mapped[list[GroupSession]] = relationship(
        back_populates="cohort",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="GroupSession.starts_at",
    )

    @property
    def group_session_count(self) -> int:
        return int(self.programme["group_sessions"])

    def staff_ids(self, *roles: StaffRole) -> list[int]:
        return [s.user_id for s in self.staff if s.role in roles]

    @property
    def lead_id(self) -> int | None:
        leads = self.staff_ids(StaffRole.LEAD)
        return leads[0] if leads else None


class CohortStaff(db.Model):
    """A staff member's role in one cohort: lead, co-facilitator or supervisor."""

    __tablename__ = "cohort_staff"
    __table_args__ = (
        CheckConstraint("role IN ('lead', 'co_facilitator', 'supervisor')", name="role"),
    )

    cohort_id: Mapped[int] = mapped_column(
        ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(20))

    cohort: Mapped[Cohort] = relationship(back_populates="staff")
    user: Mapped[User] = relationship(lazy="joined")


# The longest a group session may last (the table's CHECK constraint): a
# session that began longer ago than this is over, whatever its own length.
LONGEST_SESSION_MINUTES = 600


class GroupSession(db.Model):
    """A group meeting of a cohort at a UTC instant.

    Numbered sessions (1..N) come from the programme; catch-up sessions are extra
    and carry the number of the session they make up for, if any.
    ``original_starts_at`` keeps the generated time once a session is moved.
    """

    __tablename__ = "group_sessions"
    __table_args__ = (
        Index("ix_group_sessions_cohort_id_starts_at", "cohort_id", "starts_at"),
        Index("ix_group_sessions_starts_at", "starts_at"),
        CheckConstraint("kind IN ('group', 'catch_up')", name="kind"),
        CheckConstraint("status IN ('scheduled', 'cancelled')", name="status"),
        CheckConstraint(
            f"duration_minutes BETWEEN 5 AND {LONGEST_SESSION_MINUTES}", name="duration"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10), default=SessionKind.GROUP)
    number: Mapped[int | None]
    phase: Mapped[str | None] = mapped_column(String(12))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_minutes: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), default=SessionStatus.SCHEDULED)
    original_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    cohort: Mapped[Cohort] = relationship(back_populates="sessions")
    agenda: Mapped[list[AgendaEntry]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="AgendaEntry.position"
    )

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


class ClosedDate(db.Model):
    """A date with no group sessions: clinic-wide (a holiday, ``cohort_id`` NULL) or
    skipped by one cohort. Dates are local dates in each cohort's own zone."""

    __tablename__ = "closed_dates"
    __table_args__ = (
        UniqueConstraint("day", "cohort_id"),
        # NULLs are distinct in a unique constraint: clinic-wide dates need their own.
        Index(
            "uq_closed_dates_clinic_day",
            "day",
            unique=True,
            sqlite_where=text("cohort_id IS NULL"),
            postgresql_where=text("cohort_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date(), index=True)
    cohort_id: Mapped[int | None] = mapped_column(
        ForeignKey("cohorts.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
