"""The interpersonal inventory: the important people in a member's life.

Filled at the pre-group meeting and revised later. Every save is a new
version; nothing is changed in place, so the record shows how the picture of
the member's relationships changed and who changed it.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ipt_groups.extensions import db
from ipt_groups.models.types import JSONType, UTCDateTime
from ipt_groups.models.user import User
from ipt_groups.timesource import utcnow


class Relationship(enum.StrEnum):
    PARTNER = "partner"
    PARENT = "parent"
    CHILD = "child"
    SIBLING = "sibling"
    OTHER_FAMILY = "other_family"
    FRIEND = "friend"
    NEIGHBOUR = "neighbour"
    COLLEAGUE = "colleague"
    OTHER = "other"


class Closeness(enum.StrEnum):
    """Where the person sits in the member's circles of closeness.

    Three concentric circles around the member (closest in the middle) rather
    than a 1-5 number: IPT draws the inventory this way (the "interpersonal
    circle" of the IPT literature, e.g. Stuart & Robertson), lay facilitators
    and members place a person in a circle more easily than they score a
    relationship, and the paper drawing and the screen say the same thing. The
    WHO Group IPT manual (2016) has the inventory at the pre-group meeting; the
    copies of it we could search did not show a numeric scale, so none is
    invented here.
    """

    INNER = "inner"
    MIDDLE = "middle"
    OUTER = "outer"


def _in(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


# The problem areas a person can be what the member's problem is about
# (the one they grieve, the one the dispute is with, the one the change is about).
CONCERNS_CHECK = (
    "concerns IS NULL OR concerns IN ('grief', 'disputes', 'life_changes', 'loneliness')"
)


class InventoryVersion(db.Model):
    """One saved state of a member's inventory; ``version`` counts from 1.

    The unique (enrolment, version) pair is the concurrency guard: of two
    facilitators saving on top of the same version, only one insert succeeds.
    ``changes`` names people by their ``person_key`` only, never by name, so
    erasing the people rows leaves no name behind in a summary.
    """

    __tablename__ = "inventory_versions"
    __table_args__ = (UniqueConstraint("enrolment_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolments.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    # {"added": [keys], "removed": [keys], "edited": [keys]}
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # Joined: every answer says who saved the version.
    author: Mapped[User | None] = relationship(lazy="joined")
    people: Mapped[list[InventoryPerson]] = relationship(
        back_populates="inventory",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="InventoryPerson.position",
    )


class InventoryPerson(db.Model):
    """One person as a version records them. ``person_key`` is stable across
    versions, so a later version can say this person was edited or removed."""

    __tablename__ = "inventory_people"
    __table_args__ = (
        UniqueConstraint("version_id", "person_key"),
        CheckConstraint(_in("relation", Relationship), name="relation"),
        CheckConstraint(_in("closeness", Closeness), name="closeness"),
        CheckConstraint(CONCERNS_CHECK, name="concerns"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("inventory_versions.id", ondelete="CASCADE"), index=True
    )
    person_key: Mapped[int]
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(40))  # a first name or an initial only
    # Not "relationship": that name is the ORM's, used below in this class.
    relation: Mapped[str] = mapped_column(String(16))
    closeness: Mapped[str] = mapped_column(String(8))
    good: Mapped[str] = mapped_column(Text(), default="")
    difficult: Mapped[str] = mapped_column(Text(), default="")
    recent_change: Mapped[str] = mapped_column(Text(), default="")
    concerns: Mapped[str | None] = mapped_column(String(16))  # a problem area, or None

    inventory: Mapped[InventoryVersion] = relationship(back_populates="people")
