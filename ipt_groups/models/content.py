"""The psychoeducation library and what each cohort has been given to read.

An item is language-independent (its key and tags); each language has its own
versions, and editing an item adds a version rather than changing one, so what
a member read last month can still be shown as it was. Members see the latest
version in their language, or English when there is none.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ipt_groups.extensions import db
from ipt_groups.models.types import JSONType, UTCDateTime
from ipt_groups.timesource import utcnow


class ContentItem(db.Model):
    __tablename__ = "content_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    # phase, problem_area, release_session, release_at: see ipt_groups/content/README.md
    tags: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    versions: Mapped[list[ContentVersion]] = relationship(
        back_populates="item", order_by="ContentVersion.version"
    )


class ContentVersion(db.Model):
    __tablename__ = "content_versions"
    __table_args__ = (UniqueConstraint("item_id", "language", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("content_items.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(16))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(160))
    summary: Mapped[str] = mapped_column(String(500))
    body_md: Mapped[str] = mapped_column(Text())
    body_html: Mapped[str] = mapped_column(Text())  # sanitised when the version is saved
    reading_minutes: Mapped[int]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    item: Mapped[ContentItem] = relationship(back_populates="versions")


class ReleaseSource(enum.StrEnum):
    PLAN = "plan"  # the programme's release plan
    MANUAL = "manual"  # a facilitator released it now or for a date
    LIVE = "live"  # shared from the session runner


class ContentRelease(db.Model):
    """One item given to one cohort: at a session's start or end (the plan), or
    at a moment a facilitator chose. Withdrawn releases stay, for the record."""

    __tablename__ = "content_releases"
    __table_args__ = (
        UniqueConstraint("cohort_id", "item_id"),
        Index("ix_content_releases_pending", "released_at", "withdrawn_at"),
        CheckConstraint("at IS NULL OR at IN ('start', 'end')", name="at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("content_items.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(8))
    # Tied to a session by number (so a rescheduled session carries it along) ...
    session_number: Mapped[int | None]
    at: Mapped[str | None] = mapped_column(String(5))
    # ... or to a moment.
    release_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    item: Mapped[ContentItem] = relationship()


class ContentRead(db.Model):
    """A member opened an item: kept for their own "new" markers; staff see only
    how many opened it, never who."""

    __tablename__ = "content_reads"
    __table_args__ = (UniqueConstraint("enrolment_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(
        ForeignKey("content_items.id", ondelete="CASCADE"), index=True
    )
    first_opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
