"""Import and export of the library as a folder of Markdown files with YAML
front matter (``<folder>/<language>/<key>.md``; ipt_groups/content is the one
shipped). Re-importing changes nothing unless a file changed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from ipt_groups.domain import DomainError
from ipt_groups.extensions import db
from ipt_groups.models import (
    ContentItem,
)
from ipt_groups.services.audit import Actor
from ipt_groups.services.content.items import (
    FALLBACK_LANGUAGE,
    create_item,
    languages_of,
    latest,
    list_items,
    save_version,
    set_tags,
)
from ipt_groups.services.content.plan import plan_open_cohorts

# The library shipped with the app (ipt_groups/content: data, not code).
LIBRARY_DIR = Path(__file__).resolve().parents[2] / "content"


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
