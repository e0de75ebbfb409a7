"""Programme templates: the shipped ones (read only) and a clinic's own."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select

from ipt_groups.domain import Conflict, Invalid, NotFound
from ipt_groups.extensions import db
from ipt_groups.models import Programme
from ipt_groups.protocol.programmes import (
    TEMPLATES,
    TEMPLATES_BY_KEY,
    ProgrammeTemplate,
    default_measures,
    template_from_dict,
    template_to_dict,
    validate_template,
)
from ipt_groups.services import audit, content, measures
from ipt_groups.services.audit import Actor
from ipt_groups.timesource import utcnow


def _custom(key: str) -> Programme | None:
    return db.session.scalar(select(Programme).where(Programme.key == key))


def list_programmes(*, include_archived: bool = False) -> list[tuple[ProgrammeTemplate, bool]]:
    """Every programme as (template, shipped), shipped first."""
    stmt = select(Programme).order_by(Programme.name)
    if not include_archived:
        stmt = stmt.where(Programme.archived_at.is_(None))
    custom = [(template_from_dict(p.definition), False) for p in db.session.scalars(stmt)]
    return [(t, True) for t in TEMPLATES] + custom


def get_template(key: str, *, allow_archived: bool = True) -> tuple[ProgrammeTemplate, bool]:
    if key in TEMPLATES_BY_KEY:
        return TEMPLATES_BY_KEY[key], True
    row = _custom(key)
    if row is None or (row.archived_at is not None and not allow_archived):
        raise NotFound("No such programme.")
    return template_from_dict(row.definition), False


def _checked(data: dict[str, Any]) -> ProgrammeTemplate:
    try:
        template = template_from_dict({**data, "measures": data.get("measures") or []})
    except (KeyError, ValueError, TypeError) as exc:  # the schema normally catches these
        raise Invalid(f"Incomplete programme: {exc}") from None
    if data.get("measures") is None:
        # No schedule given: the reference's default for this length and these meetings.
        template = replace(
            template,
            measures=default_measures(
                template.group_sessions,
                template.meetings,
                follow_up=template.follow_up_weeks is not None,
            ),
        )
    problems = validate_template(template)
    known = measures.known_keys()
    problems += [
        f"Measure {rule.instrument!r} is not an instrument of this clinic."
        for rule in template.measures
        if rule.instrument not in known
    ]
    library = content.live_keys()
    problems += [
        f"Reading {rule.item!r} is not in the library."
        for rule in template.releases
        if rule.item not in library
    ]
    if problems:
        raise Invalid("The programme is not valid.", fields={"programme": problems})
    return template


def create_programme(actor: Actor, data: dict[str, Any]) -> ProgrammeTemplate:
    key = data["key"]
    if key in TEMPLATES_BY_KEY or _custom(key) is not None:
        raise Conflict(f"A programme with key {key!r} exists already.", code="key_taken")
    template = _checked(data)
    row = Programme(
        key=key, name=template.name, definition=template_to_dict(template),
        created_by_id=actor.user_id,
    )  # fmt: skip
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "programme.create", "programme", row.id)
    return template


def update_programme(actor: Actor, key: str, changes: dict[str, Any]) -> ProgrammeTemplate:
    if key in TEMPLATES_BY_KEY:
        raise Conflict(
            "Shipped programmes cannot be changed; create your own with a new key.",
            code="shipped_programme",
        )
    row = _custom(key)
    if row is None:
        raise NotFound("No such programme.")
    merged = {**row.definition, **changes, "key": key}
    if {"group_sessions", "meetings", "follow_up_weeks"} & changes.keys() and (
        "measures" not in changes
    ):
        # A schedule pinned to the old length or meetings would be wrong: use the default.
        merged["measures"] = None
    template = _checked(merged)
    row.definition = template_to_dict(template)
    row.name = template.name
    audit.record(actor, "programme.update", "programme", row.id)
    return template


def archive_programme(actor: Actor, key: str) -> None:
    """Archived programmes stay readable (cohorts refer to them) but take no new cohorts."""
    if key in TEMPLATES_BY_KEY:
        raise Conflict("Shipped programmes cannot be archived.", code="shipped_programme")
    row = _custom(key)
    if row is None:
        raise NotFound("No such programme.")
    if row.archived_at is None:
        row.archived_at = utcnow()
        audit.record(actor, "programme.archive", "programme", row.id)
