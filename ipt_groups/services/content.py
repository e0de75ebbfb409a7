"""The psychoeducation library: items and their versions, sanitised rendering,
the release plan, cohort releases, the member's feed and reading progress, and
import/export as a folder of Markdown files with front matter.

Releases are tied to a session by number, so a rescheduled session carries its
readings with it; the feed shows a release as soon as its time has come, and the
clock's job marks it released and tells the members (once).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

import markdown
import nh3
import yaml
from sqlalchemy import func, select, update
from sqlalchemy.orm import contains_eager, selectinload

from ipt_groups.domain import Conflict, DomainError, Invalid, NotFound
from ipt_groups.extensions import db
from ipt_groups.models import (
    Cohort,
    CohortStatus,
    ContentItem,
    ContentRead,
    ContentRelease,
    ContentVersion,
    Enrolment,
    EnrolmentStatus,
    GroupSession,
    NotificationKind,
    ReleaseSource,
    SessionKind,
    SessionStatus,
)
from ipt_groups.protocol.programmes import ReleaseRule, template_from_dict
from ipt_groups.services import audit, notifications
from ipt_groups.services.audit import Actor
from ipt_groups.timesource import utcnow

LIBRARY_DIR = Path(__file__).resolve().parent.parent / "content"
FALLBACK_LANGUAGE = "en"
CRISIS_PLACEHOLDER = "{{ crisis_text }}"
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")
# The reference programme the library's release tags are written for (WHO 8).
REFERENCE_SESSIONS = 8
WORDS_PER_MINUTE = 120  # slow, careful reading

# What Markdown may produce and a member's browser may receive. Everything else,
# including every attribute but these, is dropped by nh3 (an allow-list).
ALLOWED_TAGS = {
    "p", "br", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "b", "i",
    "blockquote", "a", "hr", "code",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
ALLOWED_SCHEMES = {"https", "http", "mailto"}


# -- rendering ---------------------------------------------------------------


def render(body_md: str) -> str:
    """Markdown to HTML that is safe to show: no scripts, no event handlers, no
    ``javascript:`` or ``data:`` URLs, and links that cannot reach back into the
    app (``rel="noopener noreferrer"``)."""
    html = markdown.markdown(body_md, extensions=["sane_lists"], output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        link_rel="noopener noreferrer",
    )


def with_crisis_text(body_html: str, crisis_text: str) -> str:
    """The clinic's crisis instructions where the item asks for them (escaped:
    the setting is plain text)."""
    return body_html.replace(CRISIS_PLACEHOLDER, escape(crisis_text))


def estimate_minutes(body_md: str) -> int:
    return max(1, math.ceil(len(body_md.split()) / WORDS_PER_MINUTE))


# -- items and versions ------------------------------------------------------


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


def latest_for(item_ids: Iterable[int], language: str) -> dict[int, ContentVersion]:
    """Each item's newest version in ``language``, else in English (one query)."""
    ids = list(item_ids)
    if not ids:
        return {}
    rows = db.session.scalars(
        select(ContentVersion)
        .where(
            ContentVersion.item_id.in_(ids),
            ContentVersion.language.in_({language, FALLBACK_LANGUAGE}),
        )
        .order_by(ContentVersion.version)
    )
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


# -- the release plan --------------------------------------------------------


def scale_session(reference: int, group_sessions: int) -> int:
    """Map a session of the 8-session reference onto a programme of another
    length, keeping first and last in place and the order of everything between."""
    if group_sessions == REFERENCE_SESSIONS:
        return reference
    scaled = 1 + (reference - 1) * (group_sessions - 1) / (REFERENCE_SESSIONS - 1)
    return max(1, min(group_sessions, round(scaled)))


def plan_for(programme: Mapping[str, Any]) -> list[ReleaseRule]:
    """The programme's own release plan, or the library's suggestion scaled to it."""
    template = template_from_dict(programme)
    if template.releases:
        return list(template.releases)
    rules = []
    for item in list_items():
        session = item.tags.get("release_session")
        if session:
            at = item.tags.get("release_at") or "start"
            rules.append(ReleaseRule(item.key, scale_session(session, template.group_sessions), at))
    return rules


def ensure_plan(cohort: Cohort) -> int:
    """Create the cohort's planned releases that do not exist yet (idempotent)."""
    have = set(
        db.session.scalars(
            select(ContentRelease.item_id).where(ContentRelease.cohort_id == cohort.id)
        )
    )
    items = {i.key: i for i in list_items()}
    added = 0
    for rule in plan_for(cohort.programme):
        item = items.get(rule.item)
        if item is None or item.id in have:
            continue
        db.session.add(
            ContentRelease(
                cohort_id=cohort.id, item_id=item.id, source=ReleaseSource.PLAN,
                session_number=rule.session, at=rule.at,
            )
        )  # fmt: skip
        have.add(item.id)
        added += 1
    db.session.flush()
    return added


def _open_cohorts() -> list[Cohort]:
    return list(
        db.session.scalars(
            select(Cohort).where(Cohort.status.in_([CohortStatus.PLANNED, CohortStatus.ACTIVE]))
        )
    )


def plan_open_cohorts() -> None:
    """After the library changed: readings new to it join the plans of planned and
    running cohorts (those following the library's suggestion). Called once per
    change, not once per item, so an import costs one pass over the cohorts."""
    for cohort in _open_cohorts():
        ensure_plan(cohort)


# -- when a release happens --------------------------------------------------


def _session_times(cohort_ids: Iterable[int]) -> dict[tuple[int, int], GroupSession]:
    """(cohort id, number) -> the scheduled group session with that number."""
    ids = list(cohort_ids)
    if not ids:
        return {}
    rows = db.session.scalars(
        select(GroupSession).where(
            GroupSession.cohort_id.in_(ids),
            GroupSession.kind == SessionKind.GROUP,
            GroupSession.status == SessionStatus.SCHEDULED,
        )
    )
    return {(s.cohort_id, s.number): s for s in rows if s.number is not None}


def due_time(
    release: ContentRelease, sessions: Mapping[tuple[int, int], GroupSession]
) -> datetime | None:
    """When the release happens; None if its session no longer exists."""
    if release.release_at is not None:
        return release.release_at
    session = sessions.get((release.cohort_id, release.session_number or 0))
    if session is None:
        return None
    if release.at == "end":
        return session.ends_at
    return session.starts_at


def release_due(now: datetime | None = None) -> int:
    """The clock's job: mark each release whose time has come, and write one
    discreet notification per member ("New reading from your group")."""
    now = now or utcnow()
    pending = list(
        db.session.scalars(
            select(ContentRelease)
            .join(Cohort, Cohort.id == ContentRelease.cohort_id)
            .join(ContentItem, ContentItem.id == ContentRelease.item_id)
            .where(
                ContentRelease.released_at.is_(None),
                ContentRelease.withdrawn_at.is_(None),
                ContentItem.retired_at.is_(None),
                Cohort.status == CohortStatus.ACTIVE,
            )
        )
    )
    sessions = _session_times({r.cohort_id for r in pending})
    released = 0
    for release in pending:
        when = due_time(release, sessions)
        if when is None or when > now:
            continue
        # Claimed with a conditional update: two clocks never notify twice.
        claimed = db.session.execute(
            update(ContentRelease)
            .where(ContentRelease.id == release.id, ContentRelease.released_at.is_(None))
            .values(released_at=when)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed:
            _notify_members(release.cohort_id, release.id)
            released += 1
    db.session.expire_all()
    return released


def _notify_members(cohort_id: int, release_id: int) -> None:
    user_ids = db.session.scalars(
        select(Enrolment.user_id).where(
            Enrolment.cohort_id == cohort_id,
            Enrolment.status == EnrolmentStatus.ENROLLED,
            Enrolment.user_id.is_not(None),
        )
    )
    notifications.notify(
        [u for u in user_ids if u is not None],
        NotificationKind.CONTENT_RELEASED, "content_release", release_id,
    )  # fmt: skip


# -- a cohort's releases -----------------------------------------------------


@dataclass(frozen=True)
class CohortRelease:
    release: ContentRelease
    title: str  # the English title, for staff
    due_at: datetime | None
    state: str  # scheduled, released, withdrawn
    opened: int  # how many members opened it (never who)


def _state(release: ContentRelease, due: datetime | None, now: datetime) -> str:
    if release.withdrawn_at is not None:
        return "withdrawn"
    if release.released_at is not None or (due is not None and due <= now):
        return "released"
    return "scheduled"


def cohort_releases(cohort: Cohort) -> list[CohortRelease]:
    now = utcnow()
    releases = list(
        db.session.scalars(
            select(ContentRelease)
            .options(selectinload(ContentRelease.item))
            .where(ContentRelease.cohort_id == cohort.id)
        )
    )
    titles = latest_for([r.item_id for r in releases], FALLBACK_LANGUAGE)
    sessions = _session_times([cohort.id])
    member_ids = select(Enrolment.id).where(Enrolment.cohort_id == cohort.id)
    opened = dict(
        db.session.execute(
            select(ContentRead.item_id, func.count())
            .where(ContentRead.enrolment_id.in_(member_ids))
            .group_by(ContentRead.item_id)
        ).all()
    )
    rows = []
    for r in releases:
        due = due_time(r, sessions)
        title = titles[r.item_id].title if r.item_id in titles else r.item.key
        rows.append(CohortRelease(r, title, due, _state(r, due, now), opened.get(r.item_id, 0)))
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(rows, key=lambda x: (x.due_at or far, x.release.id))


def _upsert(actor: Actor, cohort: Cohort, item: ContentItem) -> ContentRelease:
    if item.retired_at is not None:
        raise Conflict("This reading has been retired.", code="retired")
    release = db.session.scalar(
        select(ContentRelease).where(
            ContentRelease.cohort_id == cohort.id, ContentRelease.item_id == item.id
        )
    )
    if release is None:
        release = ContentRelease(cohort_id=cohort.id, item_id=item.id)
        db.session.add(release)
    release.created_by_id = actor.user_id
    release.withdrawn_at = None
    return release


def release_at(
    actor: Actor, cohort: Cohort, item: ContentItem, when: datetime | None, *, live: bool = False
) -> ContentRelease:
    """Release now (``when`` None) or schedule for a moment. Releasing now also
    notifies at once, through the same job the plan uses."""
    now = utcnow()
    release = _upsert(actor, cohort, item)
    if release.released_at is not None and when is None:
        return release  # shared already: nothing new for the members
    release.source = ReleaseSource.LIVE if live else ReleaseSource.MANUAL
    release.session_number, release.at = None, None
    release.release_at = when or now
    release.released_at = None
    db.session.flush()
    audit.record(actor, "content.release", "content_release", release.id)
    if cohort.status == CohortStatus.ACTIVE and release.release_at <= now:
        release_due(now)
    return release


def withdraw(actor: Actor, cohort: Cohort, item: ContentItem) -> ContentRelease:
    release = db.session.scalar(
        select(ContentRelease).where(
            ContentRelease.cohort_id == cohort.id, ContentRelease.item_id == item.id
        )
    )
    if release is None:
        raise NotFound("This reading was not planned or released for the cohort.")
    if release.withdrawn_at is None:
        release.withdrawn_at = utcnow()
        audit.record(actor, "content.withdraw", "content_release", release.id)
    return release


# -- the member's feed -------------------------------------------------------


@dataclass(frozen=True)
class FeedEntry:
    item: ContentItem
    version: ContentVersion
    released_at: datetime
    opened: bool


def feed(member: Enrolment, language: str) -> list[FeedEntry]:
    """What has been released to the member's cohort, newest first, in their
    language (English where an item has no translation)."""
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
    versions = latest_for([r.item_id for r, _ in visible], language)
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


# -- import and export -------------------------------------------------------


@dataclass
class ImportResult:
    items_created: int = 0
    versions_added: int = 0
    tags_changed: int = 0
    unchanged: int = 0
    problems: list[str] | None = None


FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", re.S)


def parse_file(text: str) -> tuple[dict[str, Any], str]:
    match = FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if not match:
        raise ValueError("no front matter (a block between --- lines at the top)")
    meta = yaml.safe_load(match.group(1)) or {}
    if not isinstance(meta, dict):
        raise ValueError("the front matter is not a mapping")
    return meta, match.group(2).strip() + "\n"


def import_library(actor: Actor, folder: Path | None = None) -> ImportResult:
    """Load ``<folder>/<language>/<key>.md`` files. Re-running it changes
    nothing unless a file changed; a changed file becomes a new version."""
    folder = folder or LIBRARY_DIR
    result = ImportResult(problems=[])
    files = sorted(folder.glob("*/*.md"), key=lambda p: (p.parent.name != "en", str(p)))
    for path in files:
        try:
            meta, body = parse_file(path.read_text(encoding="utf-8"))
            key, language = str(meta["key"]), str(meta.get("language") or path.parent.name)
            if key != path.stem:
                raise ValueError(f"key {key!r} does not match the file name")
            item = db.session.scalar(select(ContentItem).where(ContentItem.key == key))
            if item is None:
                item = create_item(actor, key, meta.get("tags") or {})
                result.items_created += 1
            elif language == FALLBACK_LANGUAGE and set_tags(actor, item, meta.get("tags") or {}):
                result.tags_changed += 1
            _, added = save_version(
                actor, item, language,
                title=str(meta["title"]), summary=str(meta.get("summary") or ""),
                body_md=body, reading_minutes=meta.get("reading_minutes"),
            )  # fmt: skip
            if added:
                result.versions_added += 1
            else:
                result.unchanged += 1
        except (KeyError, ValueError, yaml.YAMLError) as exc:
            result.problems.append(f"{path.relative_to(folder)}: {exc}")
        except DomainError as exc:
            detail = exc.fields or exc.message
            result.problems.append(f"{path.relative_to(folder)}: {detail}")
    if result.items_created or result.tags_changed:
        plan_open_cohorts()
    return result


def export_library(folder: Path) -> int:
    """Write every live item's latest version per language; returns files written."""
    written = 0
    for item in list_items():
        languages = languages_of([item.id]).get(item.id, [])
        for language in languages:
            version = latest(item, language)
            if version is None:  # languages_of() listed it: a version exists
                raise RuntimeError(f"{item.key}: no {language} version")
            meta = {
                "key": item.key,
                "language": language,
                "title": version.title,
                "summary": version.summary,
                "reading_minutes": version.reading_minutes,
                "tags": item.tags,
            }
            target = folder / language / f"{item.key}.md"
            target.parent.mkdir(parents=True, exist_ok=True)
            front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
            target.write_text(f"---\n{front}---\n\n{version.body_md}", encoding="utf-8")
            written += 1
    return written
