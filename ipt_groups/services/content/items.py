"""The library's items and their versions: look-up, tags, a new version (or
translation) only when something changed, retiring an item, and each item's
newest version in a language with the English fallback."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import defer

from ipt_groups.domain import Conflict, Invalid, NotFound
from ipt_groups.extensions import db
from ipt_groups.models import (
    ContentItem,
    ContentVersion,
)
from ipt_groups.services import audit
from ipt_groups.services.audit import Actor
from ipt_groups.services.content.rendering import estimate_minutes, render
from ipt_groups.timesource import utcnow

FALLBACK_LANGUAGE = "en"
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")


def get_item(key: str) -> ContentItem:
    item = db.session.scalar(select(ContentItem).where(ContentItem.key == key))
    if item is None:
        raise NotFound(f"No reading {key!r}.")
    return item


def live_keys() -> set[str]:
    return set(db.session.scalars(select(ContentItem.key).where(ContentItem.retired_at.is_(None))))


def latest(item: ContentItem, language: str) -> ContentVersion | None:
    return db.session.scalar(
        select(ContentVersion)
        .where(ContentVersion.item_id == item.id, ContentVersion.language == language)
        .order_by(ContentVersion.version.desc())
        .limit(1)
    )


def latest_for(
    item_ids: Iterable[int], language: str, *, bodies: bool = True
) -> dict[int, ContentVersion]:
    """Each item's newest version in ``language``, else in English (one query).

    ``bodies=False`` leaves out the Markdown and HTML (a few KB a version, every
    version of every item read to pick the newest): a list shows titles and
    summaries only. Touching a body then raises instead of loading it row by row."""
    ids = list(item_ids)
    if not ids:
        return {}
    stmt = (
        select(ContentVersion)
        .where(
            ContentVersion.item_id.in_(ids),
            ContentVersion.language.in_({language, FALLBACK_LANGUAGE}),
        )
        .order_by(ContentVersion.version)
    )
    if not bodies:
        stmt = stmt.options(
            defer(ContentVersion.body_md, raiseload=True),
            defer(ContentVersion.body_html, raiseload=True),
        )
    rows = db.session.scalars(stmt)
    best: dict[int, ContentVersion] = {}
    for row in rows:  # ascending versions: later ones replace earlier ones
        current = best.get(row.item_id)
        if current is None or row.language == language or current.language != language:
            best[row.item_id] = row
    return best


def _validate_tags(tags: Mapping[str, Any]) -> dict[str, Any]:
    clean = {
        "phase": tags.get("phase"),
        "problem_area": tags.get("problem_area"),
        "release_session": tags.get("release_session"),
        "release_at": tags.get("release_at") or "start",
    }
    problems = []
    if clean["phase"] not in (None, "initial", "middle", "termination"):
        problems.append("phase must be initial, middle or termination.")
    if clean["problem_area"] not in (None, "grief", "disputes", "life_changes", "loneliness"):
        problems.append("problem_area must be grief, disputes, life_changes or loneliness.")
    session = clean["release_session"]
    if session is not None and (
        isinstance(session, bool) or not isinstance(session, int) or not 1 <= session <= 52
    ):
        problems.append("release_session must be a session number.")
    if clean["release_at"] not in ("start", "end"):
        problems.append("release_at must be start or end.")
    if problems:
        raise Invalid("The tags are not valid.", fields={"tags": problems})
    return clean


def create_item(actor: Actor, key: str, tags: Mapping[str, Any]) -> ContentItem:
    if not KEY_PATTERN.match(key):
        raise Invalid(fields={"key": ["Lower-case letters, digits and hyphens."]})
    if db.session.scalar(select(ContentItem.id).where(ContentItem.key == key)) is not None:
        raise Conflict(f"A reading {key!r} exists already.", code="key_taken")
    item = ContentItem(key=key, tags=_validate_tags(tags))
    db.session.add(item)
    db.session.flush()
    audit.record(actor, "content.create", "content_item", item.id)
    return item


def set_tags(actor: Actor, item: ContentItem, tags: Mapping[str, Any]) -> bool:
    clean = _validate_tags(tags)
    if clean == item.tags:
        return False
    item.tags = clean
    audit.record(actor, "content.tags", "content_item", item.id)
    return True


def save_version(
    actor: Actor,
    item: ContentItem,
    language: str,
    *,
    title: str,
    summary: str,
    body_md: str,
    reading_minutes: int | None = None,
) -> tuple[ContentVersion, bool]:
    """A new version (or a first translation) unless nothing changed; returns
    (the latest version, whether one was added). Members see the new one."""
    current = latest(item, language)
    minutes = reading_minutes or estimate_minutes(body_md)
    same = current is not None and (
        (current.title, current.summary, current.body_md, current.reading_minutes)
        == (title, summary, body_md, minutes)
    )
    if same:
        return current, False
    version = ContentVersion(
        item_id=item.id,
        language=language,
        version=(current.version + 1) if current else 1,
        title=title,
        summary=summary,
        body_md=body_md,
        body_html=render(body_md),
        reading_minutes=minutes,
        created_by_id=actor.user_id,
        created_at=utcnow(),
    )
    db.session.add(version)
    db.session.flush()
    audit.record(actor, f"content.version.{language}", "content_item", item.id)
    return version, True


def retire(actor: Actor, item: ContentItem) -> None:
    """Take an item out of use: no new releases, and members no longer see it."""
    if item.retired_at is None:
        item.retired_at = utcnow()
        audit.record(actor, "content.retire", "content_item", item.id)


def list_items(*, include_retired: bool = False) -> list[ContentItem]:
    stmt = select(ContentItem).order_by(ContentItem.key)
    if not include_retired:
        stmt = stmt.where(ContentItem.retired_at.is_(None))
    return list(db.session.scalars(stmt))


def languages_of(item_ids: Sequence[int]) -> dict[int, list[str]]:
    rows = db.session.execute(
        select(ContentVersion.item_id, ContentVersion.language)
        .where(ContentVersion.item_id.in_(item_ids))
        .distinct()
    )
    found: dict[int, list[str]] = {}
    for item_id, language in rows:
        found.setdefault(item_id, []).append(language)
    return {k: sorted(v) for k, v in found.items()}
