"""Session agendas: a copy of the phase's template per session, then edited,
reordered and ticked off by the facilitator while running the session."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ipt_groups.domain import Invalid
from ipt_groups.extensions import db
from ipt_groups.models import AgendaEntry, GroupSession
from ipt_groups.protocol.agendas import AgendaKind, agenda_for
from ipt_groups.services import audit
from ipt_groups.services.audit import Actor
from ipt_groups.timesource import utcnow

MAX_ITEMS = 30


def from_template(phase: str | None) -> list[AgendaEntry]:
    """Fresh entries for a session of this phase (a catch-up without one: middle)."""
    kind = AgendaKind(phase) if phase else AgendaKind.MIDDLE
    return [
        AgendaEntry(
            position=n, title=i.title, guidance=i.guidance, minutes=i.minutes, kind=i.kind.value
        )
        for n, i in enumerate(agenda_for(kind))
    ]


def replace(actor: Actor, session: GroupSession, items: Sequence[dict[str, Any]]) -> None:
    """Set the session's agenda to ``items`` in this order. Items that carry the
    ``id`` of an existing entry keep their tick; entries left out are removed."""
    if len(items) > MAX_ITEMS:
        raise Invalid(fields={"items": [f"At most {MAX_ITEMS} items."]})
    current = {e.id: e for e in session.agenda}
    unknown = sorted({i["id"] for i in items if i.get("id")} - current.keys())
    if unknown:
        raise Invalid(fields={"items": [f"Not items of this agenda: {unknown}."]})
    kept: list[AgendaEntry] = []
    for position, item in enumerate(items):
        entry = current.get(item.get("id") or 0) or AgendaEntry()
        entry.position = position
        for key in ("title", "guidance", "minutes", "kind"):
            setattr(entry, key, item[key])
        kept.append(entry)
    session.agenda = kept
    db.session.flush()
    audit.record(actor, "agenda.update", "group_session", session.id)


def tick(actor: Actor, entry: AgendaEntry, done: bool) -> AgendaEntry:
    if done and entry.done_at is None:
        entry.done_at, entry.done_by_id = utcnow(), actor.user_id
    elif not done:
        entry.done_at, entry.done_by_id = None, None
    return entry
