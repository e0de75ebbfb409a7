"""Members of a cohort: enrolment, individual meetings, invites, calendar feeds."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ipt_groups.extensions import db
from ipt_groups.models.cohort import Cohort
from ipt_groups.models.types import JSONType, UTCDateTime
from ipt_groups.models.user import User
from ipt_groups.timesource import utcnow


class EnrolmentStatus(enum.StrEnum):
    ENROLLED = "enrolled"
    WAITLISTED = "waitlisted"
    WITHDRAWN = "withdrawn"
    REFERRED = "referred"  # screened out: referred elsewhere, never in the group
    MOVED = "moved"  # moved to another cohort (see moved_to_id)


class MeetingStatus(enum.StrEnum):
    """A one-to-one meeting's status (``MemberMeeting.status``)."""

    SCHEDULED = "scheduled"  # booked or still to book (``starts_at`` NULL)
    CANCELLED = "cancelled"  # the member left, or the cohort was cancelled


# Statuses that hold a place or a queue position in the cohort.
CURRENT_STATUSES = (EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITLISTED)


class Enrolment(db.Model):
    """One person's membership of one cohort, and what was recorded at enrolment.

    A person who is enrolled or waitlisted has a participant account (``user_id``);
    a person referred at screening does not, so the display name lives here too.
    ``screening`` and ``problem_areas`` are clinical: reads are audited.
    """

    __tablename__ = "enrolments"
    __table_args__ = (
        Index("ix_enrolments_cohort_id_status", "cohort_id", "status"),
        CheckConstraint(
            "status IN ('enrolled', 'waitlisted', 'withdrawn', 'referred', 'moved')",
            name="status",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    display_name: Mapped[str] = mapped_column(String(120))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    problem_areas: Mapped[list[str]] = mapped_column(JSONType, default=list)
    screening: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    goal: Mapped[str | None] = mapped_column(String(500))  # agreed at the pre-group meeting
    referral_note: Mapped[str | None] = mapped_column(String(500))
    consent_version: Mapped[str | None] = mapped_column(String(40))
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    consent_taken_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(12))
    # Waitlist order: earliest first; also set for enrolled members (when they joined).
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the member first held a place (enrolled); None while only waitlisted.
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawal_reason: Mapped[str | None] = mapped_column(String(500))
    moved_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrolments.id", ondelete="SET NULL")
    )
    # Set when the person's data was erased (services/privacy.py): the row stays,
    # nameless, so the cohort's figures stay whole.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    cohort: Mapped[Cohort] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    meetings: Mapped[list[MemberMeeting]] = relationship(
        back_populates="enrolment",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="MemberMeeting.after_session, MemberMeeting.id",
    )


class MemberMeeting(db.Model):
    """An individual meeting with one member (pre-group, mid-programme,
    post-group, follow-up).

    Created from the programme when a member is enrolled, unscheduled
    (``starts_at`` NULL) until the facilitator books it with the member. The
    follow-up is created later, booked at the programme's interval after the
    last session, for each member who completed (services/follow_up.py).
    """

    __tablename__ = "member_meetings"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('pre_group', 'mid_programme', 'post_group', 'follow_up')", name="kind"
        ),
        CheckConstraint("status IN ('scheduled', 'cancelled')", name="status"),
        # One follow-up per member, whoever books it: the clock's run and the
        # completion hook (or two overlapping clock processes) may race.
        Index(
            "uq_member_meetings_follow_up",
            "enrolment_id",
            unique=True,
            sqlite_where=text("kind = 'follow_up'"),
            postgresql_where=text("kind = 'follow_up'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolments.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(120))
    after_session: Mapped[int]
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    duration_minutes: Mapped[int] = mapped_column(default=45)
    location: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(10), default=MeetingStatus.SCHEDULED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    enrolment: Mapped[Enrolment] = relationship(back_populates="meetings")


class Invite(db.Model):
    """A single-use code that lets a member set a PIN and log in on their phone.

    Only the code's SHA-256 is stored: the code is shown once, when it is issued.
    """

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolments.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    enrolment: Mapped[Enrolment] = relationship()

    def state(self, now: datetime) -> str:
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        if now >= self.expires_at:
            return "expired"
        return "pending"


class CalendarFeed(db.Model):
    """A private iCalendar feed URL for one user; only the token's hash is stored."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
