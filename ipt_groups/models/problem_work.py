"""Problem-area work: what the facilitator did with each member at a session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ipt_groups.extensions import db
from ipt_groups.models.types import JSONType, UTCDateTime
from ipt_groups.timesource import utcnow


class ProblemWork(db.Model):
    """One record per session and member: the techniques used with them, the
    problem-area steps worked on (keys of ``protocol.problem_areas.STEPS``) and a
    0-4 rating of progress on their goal. A clinical record: reads and writes are
    audited. It stays editable while the session can still be recorded
    (``attendance.require_open``), so the facilitator can correct it in the room.
    """

    __tablename__ = "problem_work"
    __table_args__ = (
        UniqueConstraint("session_id", "enrolment_id"),
        CheckConstraint("progress IS NULL OR (progress >= 0 AND progress <= 4)", name="progress"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("group_sessions.id", ondelete="CASCADE"))
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolments.id", ondelete="CASCADE"), index=True
    )
    # Technique values (protocol.problem_areas.Technique); a list, so no CHECK:
    # the service refuses unknown ones.
    techniques: Mapped[list[str]] = mapped_column(JSONType, default=list)
    steps: Mapped[list[str]] = mapped_column(JSONType, default=list)
    progress: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
