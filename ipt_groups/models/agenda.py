"""A group session's own agenda: copied from the template for its phase when the
session is created, then the facilitator's to edit, reorder and tick off."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ipt_groups.extensions import db
from ipt_groups.models.types import UTCDateTime


class AgendaEntry(db.Model):
    __tablename__ = "agenda_entries"
    __table_args__ = (
        Index("ix_agenda_entries_session_id_position", "session_id", "position"),
        CheckConstraint("minutes BETWEEN 0 AND 240", name="minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("group_sessions.id", ondelete="CASCADE"))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(120))
    guidance: Mapped[str] = mapped_column(Text(), default="")
    minutes: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
