"""A member's safety plan (Stanley-Brown structure), kept as versions.

Every save is a new row, never an update: the plan a member read last week,
and who wrote it, stays readable, and a save made from a stale copy is refused
instead of silently overwriting a colleague's changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ipt_groups.extensions import db
from ipt_groups.models.enrolment import Enrolment
from ipt_groups.models.types import JSONType, UTCDateTime
from ipt_groups.models.user import User
from ipt_groups.timesource import utcnow

# The six sections, in the order clinicians fill them in and the member reads them.
SAFETY_PLAN_SECTIONS = (
    "warning_signs",  # 1 thoughts, moods, situations that come before a crisis
    "coping",  # 2 what I can do on my own to take my mind off it
    "distractions",  # 3 people and places that help take my mind off it
    "people",  # 4 people I can ask for help: name and how to reach them
    "professionals",  # 5 professionals and crisis lines (prefilled: the clinic's crisis text)
    "environment",  # 6 making my surroundings safer
)


class SafetyPlanVersion(db.Model):
    __tablename__ = "safety_plan_versions"
    __table_args__ = (
        # Two saves from the same base both try version n+1: the second one fails here.
        UniqueConstraint("enrolment_id", "version"),
        CheckConstraint("version >= 1", name="version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    version: Mapped[int]
    sections: Mapped[dict[str, Any]] = mapped_column(JSONType)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    enrolment: Mapped[Enrolment] = relationship()
    # Joined: every answer that shows a version names who saved it (as the inventory's).
    author: Mapped[User | None] = relationship(lazy="joined")
