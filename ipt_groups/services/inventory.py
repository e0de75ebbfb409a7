"""The interpersonal inventory: who matters in a member's life, version by version.

A save never changes a stored version: it inserts the next one with all the
people as they now stand, and a summary of who was added, removed or edited.
The client says which version it edited (``base_version``); if someone saved
in between, the write is refused (409 ``inventory_stale``) instead of
silently replacing their work: two facilitators on two tablets both see what
the other wrote before deciding what stays.

Reads are audited like the rest of the clinical record; so is every save.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from ipt_groups.domain import Conflict, Invalid
from ipt_groups.extensions import db
from ipt_groups.models import Enrolment, GroupSession, InventoryPerson, InventoryVersion, User
from ipt_groups.services import attendance, audit, versioning
from ipt_groups.services.audit import Actor

# What a person's entry holds besides its key; a change in any is an "edit".
FIELDS = ("name", "relation", "closeness", "good", "difficult", "recent_change", "concerns")
CHANGE_KINDS = ("added", "removed", "edited")


@dataclass(frozen=True)
class Snapshot:
    """A version and the names of who it removed (they are in the one before)."""

    version: InventoryVersion
    removed_names: dict[int, str]


def _versions(enrolment_ids: Sequence[int], newest: int | None = None) -> list[InventoryVersion]:
    stmt = (
        select(InventoryVersion)
        .options(selectinload(InventoryVersion.people))
        .where(InventoryVersion.enrolment_id.in_(enrolment_ids))
        .order_by(InventoryVersion.enrolment_id, InventoryVersion.version.desc())
    )
    if newest is not None:
        stmt = stmt.limit(newest)
    return list(db.session.scalars(stmt))


def _snapshots(versions: list[InventoryVersion]) -> list[Snapshot]:
    """Versions of one member, newest first, each with the names it removed."""
    out = []
    for i, version in enumerate(versions):
        before = versions[i + 1] if i + 1 < len(versions) else None
        names = {p.person_key: p.name for p in before.people} if before else {}
        removed = version.changes.get("removed", [])
        out.append(Snapshot(version, {k: names.get(k, "") for k in removed}))
    return out


def current(actor: Actor, member: Enrolment) -> Snapshot | None:
    """The member's inventory as it stands (None if never filled). Audited."""
    audit.record(actor, "inventory.read", "enrolment", member.id, subject_id=member.id)
    snapshots = _snapshots(_versions([member.id], newest=2))
    return snapshots[0] if snapshots else None


def history(actor: Actor, member: Enrolment) -> list[Snapshot]:
    """Every version, newest first. Audited."""
    audit.record(actor, "inventory.history.read", "enrolment", member.id, subject_id=member.id)
    return _snapshots(_versions([member.id]))


def for_session(actor: Actor, session: GroupSession) -> dict[int, InventoryVersion]:
    """The current inventory of each member on the session's register, for the
    runner's summary beside each member; one audit row per member shown."""
    ids = [row.enrolment.id for row in attendance.register(session).rows]
    if not ids:
        return {}
    latest = (
        select(InventoryVersion.enrolment_id, func.max(InventoryVersion.version).label("v"))
        .where(InventoryVersion.enrolment_id.in_(ids))
        .group_by(InventoryVersion.enrolment_id)
        .subquery()
    )
    rows = db.session.scalars(
        select(InventoryVersion)
        .options(selectinload(InventoryVersion.people))
        .join(
            latest,
            (latest.c.enrolment_id == InventoryVersion.enrolment_id)
            & (latest.c.v == InventoryVersion.version),
        )
    )
    found = {v.enrolment_id: v for v in rows}
    audit.record_reads(actor, "inventory.read", "group_session", session.id, list(found))
    return found


# -- saving ------------------------------------------------------------------


def _stale(now: int) -> Conflict:
    return Conflict(
        f"Someone saved this inventory since you opened it (it is now version {now}). "
        "Reload it, then make your changes again.",
        code="inventory_stale",
    )


def _check(member: Enrolment, people: Sequence[dict[str, Any]], known: set[int]) -> None:
    """Each sent key is a person of the version edited, once; each problem area
    a person is marked with is one of the member's own."""
    # Shaped like the schema's own errors: {"people": {"0": {"id": [...]}}}.
    problems: dict[str, dict[str, list[str]]] = {}
    seen: set[int] = set()
    for i, person in enumerate(people):
        key = person.get("id")
        if key is not None:
            if key not in known:
                problems.setdefault(str(i), {})["id"] = ["Not a person in the version you edited."]
            elif key in seen:
                problems.setdefault(str(i), {})["id"] = ["The same person twice."]
            seen.add(key)
        area = person.get("concerns")
        if area is not None and area not in member.problem_areas:
            areas = ", ".join(member.problem_areas) or "none recorded"
            problems.setdefault(str(i), {})["concerns"] = [
                f"Not one of this member's problem areas ({areas})."
            ]
    if problems:
        raise Invalid(fields={"people": problems})


def save(
    actor: Actor,
    user: User,
    member: Enrolment,
    base_version: int,
    people: Sequence[dict[str, Any]],
) -> Snapshot:
    """Save the inventory as ``people`` now stand, on top of ``base_version``
    (0 for the first). A save that changes nothing makes no new version."""
    versioning.refuse_erased(member, "This member's data was erased.", "erased")
    last = _versions([member.id], newest=1)
    head = last[0] if last else None
    number = head.version if head else 0
    versioning.check_base(base_version, number, _stale)
    before = {p.person_key: p for p in head.people} if head else {}
    _check(member, people, set(before))

    used = db.session.scalar(
        select(func.max(InventoryPerson.person_key))
        .join(InventoryVersion, InventoryVersion.id == InventoryPerson.version_id)
        .where(InventoryVersion.enrolment_id == member.id)
    )
    next_key = (used or 0) + 1  # keys are never reused: a removed person stays removed
    rows: list[InventoryPerson] = []
    changes: dict[str, list[int]] = {kind: [] for kind in CHANGE_KINDS}
    for position, person in enumerate(people):
        key = person.get("id")
        if key is None:
            key, next_key = next_key, next_key + 1
            changes["added"].append(key)
        row = InventoryPerson(
            person_key=key,
            position=position,
            **{f: person.get(f) if f == "concerns" else person.get(f) or "" for f in FIELDS},
        )
        old = before.get(key)
        if old is not None and any(getattr(old, f) != getattr(row, f) for f in FIELDS):
            changes["edited"].append(key)
        rows.append(row)
    sent = {r.person_key for r in rows}
    changes["removed"] = [k for k in before if k not in sent]
    reordered = head is not None and [p.person_key for p in head.people] != [
        r.person_key for r in rows if r.person_key in before
    ]
    if head is not None and not any(changes.values()) and not reordered:
        return _snapshots(_versions([member.id], newest=2))[0]

    version = InventoryVersion(
        enrolment_id=member.id, version=number + 1, changes=changes, author_id=user.id
    )
    version.people = rows
    versioning.insert(actor, member, version, "inventory.save", "inventory_version", _stale)
    names = {k: p.name for k, p in before.items()}
    return Snapshot(version, {k: names[k] for k in changes["removed"]})


# -- the member's rights (services/privacy.py) --------------------------------


def export_rows(enrolment_id: int) -> list[dict[str, Any]]:
    """Every version, oldest first, as the member's export shows it."""
    snapshots = list(reversed(_snapshots(_versions([enrolment_id]))))
    return [
        {
            "version": s.version.version,
            "created_at": s.version.created_at,
            "changes": describe(s),
            "people": [person_row(p) for p in s.version.people],
        }
        for s in snapshots
    ]


def erase(enrolment_ids: Iterable[int]) -> int:
    """Delete every version (and its people) of these enrolments; the count."""
    wanted = list(enrolment_ids)
    versions = select(InventoryVersion.id).where(InventoryVersion.enrolment_id.in_(wanted))
    db.session.execute(
        delete(InventoryPerson)
        .where(InventoryPerson.version_id.in_(versions))
        .execution_options(synchronize_session=False)
    )
    result = db.session.execute(
        delete(InventoryVersion)
        .where(InventoryVersion.enrolment_id.in_(wanted))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


# -- presenting --------------------------------------------------------------


def person_row(p: InventoryPerson) -> dict[str, Any]:
    return {"id": p.person_key, **{f: getattr(p, f) for f in FIELDS}}


def describe(snapshot: Snapshot) -> dict[str, list[dict[str, Any]]]:
    """The change summary with names: added and edited people are in this
    version, removed ones in the version before."""
    here = {p.person_key: p.name for p in snapshot.version.people}
    changes = snapshot.version.changes
    return {
        kind: [
            {"id": k, "name": snapshot.removed_names.get(k, "") if kind == "removed" else here[k]}
            for k in changes.get(kind, [])
        ]
        for kind in CHANGE_KINDS
    }
