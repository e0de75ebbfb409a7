"""The member's feed: what has been released to their cohort, in their language
(English where an item has no translation), and recording that they opened a reading."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from ipt_groups.domain import NotFound
from ipt_groups.extensions import db
from ipt_groups.models import (
    ContentItem,
    ContentRead,
    ContentRelease,
    ContentVersion,
    Enrolment,
)
from ipt_groups.services.content.due import _session_times, due_time
from ipt_groups.services.content.items import latest_for
from ipt_groups.timesource import utcnow


@dataclass(frozen=True)
class FeedEntry:
    item: ContentItem
    version: ContentVersion
    released_at: datetime
    opened: bool


def feed(member: Enrolment, language: str, *, bodies: bool = True) -> list[FeedEntry]:
    """What has been released to the member's cohort, newest first, in their
    language (English where an item has no translation). ``bodies=False`` for a
    list: the versions come without their text (``latest_for``)."""
    now = utcnow()
    releases = list(
        db.session.scalars(
            select(ContentRelease)
            .join(ContentItem, ContentItem.id == ContentRelease.item_id)
            .where(
                ContentRelease.cohort_id == member.cohort_id,
                ContentRelease.withdrawn_at.is_(None),
                ContentItem.retired_at.is_(None),
            )
            # The item is joined already: fill ``r.item`` from it, not one SELECT per reading.
            .options(contains_eager(ContentRelease.item))
        )
    )
    sessions = _session_times([member.cohort_id])
    visible: list[tuple[ContentRelease, datetime]] = []
    for r in releases:
        when = r.released_at or due_time(r, sessions)
        if when is not None and when <= now:
            visible.append((r, when))
    versions = latest_for([r.item_id for r, _ in visible], language, bodies=bodies)
    opened = set(
        db.session.scalars(select(ContentRead.item_id).where(ContentRead.enrolment_id == member.id))
    )
    entries = [
        FeedEntry(r.item, versions[r.item_id], when, r.item_id in opened)
        for r, when in visible
        if r.item_id in versions
    ]
    return sorted(entries, key=lambda e: (e.released_at, e.item.key), reverse=True)


def open_reading(member: Enrolment, language: str, key: str, *, mark: bool = True) -> FeedEntry:
    """One released reading; records that the member opened it unless ``mark`` is
    False (the app saving it for offline reading has not opened it)."""
    entry = next((e for e in feed(member, language) if e.item.key == key), None)
    if entry is None:
        raise NotFound("No such reading for your group.")
    if not mark:
        return entry
    now = utcnow()
    read = db.session.scalar(
        select(ContentRead).where(
            ContentRead.enrolment_id == member.id, ContentRead.item_id == entry.item.id
        )
    )
    if read is None:
        db.session.add(ContentRead(enrolment_id=member.id, item_id=entry.item.id))
    else:
        read.last_opened_at = now
    return entry
