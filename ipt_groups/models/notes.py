"""What the facilitator writes down: notes (written once, never edited) and
each member's interpersonal task between sessions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ipt_groups.extensions import db
from ipt_groups.models.cohort import GroupSession
from ipt_groups.models.enrolment import Enrolment
from ipt_groups.models.types import UTCDateTime
from ipt_groups.timesource import utcnow


class SessionNote(db.Model):
    """The group note (no member) or a note about one member, for one session.

    Notes are clinical records: once written they are not changed, so the record
    reads the same to everyone who opens it later.
    """

    __tablename__ = "session_notes"
    __table_args__ = (
        UniqueConstraint("session_id", "enrolment_id"),
        # NULLs never clash in a unique constraint: one group note per session.
        Index(
            "uq_session_notes_group",
            "session_id",
            unique=True,
            sqlite_where=text("enrolment_id IS NULL"),
            postgresql_where=text("enrolment_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("group_sessions.id", ondelete="CASCADE"))
    enrolment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrolments.id", ondelete="CASCADE"), index=True
    )
    body: Mapped[str] = mapped_column(Text())
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    session: Mapped[GroupSession] = relationship()


class TaskReview(enum.StrEnum):
    DONE = "done"
    PARTLY = "partly"
    NOT_DONE = "not_done"


class MemberTask(db.Model):
    """An interpersonal task agreed at one session, reviewed at the next."""

    __tablename__ = "member_tasks"
    __table_args__ = (
        UniqueConstraint("session_id", "enrolment_id"),
        CheckConstraint(
            "review IS NULL OR review IN ('done', 'partly', 'not_done')", name="review"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("group_sessions.id", ondelete="CASCADE"))
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolments.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(String(500))
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    review: Mapped[str | None] = mapped_column(String(10))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("group_sessions.id", ondelete="SET NULL")
    )

    enrolment: Mapped[Enrolment] = relationship()
