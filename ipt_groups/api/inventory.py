"""The interpersonal inventory of a member: current version, history, saving,
and the runner's summary of every member's (services/inventory.py)."""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from marshmallow import validate

from ipt_groups.api.common import ID, conflict, save_version
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.models import STAFF_ROLES, Closeness, Enrolment, Relationship, Role
from ipt_groups.security import current_actor, roles_required
from ipt_groups.services import access, audit, inventory
from ipt_groups.services.enrolments import PROBLEM_AREAS

blp = Blueprint("inventory", __name__, url_prefix="/api", description="The interpersonal inventory")

STAFF = tuple(STAFF_ROLES)
MANAGERS = (Role.ADMIN, Role.FACILITATOR)
F = ma.fields
# A first name or an initial, nothing that could reach the person: no digits
# (a phone number) and no "@" (an email address).
NOT_A_NAME = re.compile(r"[0-9@]")


def _name(value: str) -> None:
    if not value.strip():
        raise ma.ValidationError("Give a first name or an initial.")
    if NOT_A_NAME.search(value):
        raise ma.ValidationError("A first name or an initial only: no numbers or addresses.")


def Text(**kwargs: Any) -> F.String:  # noqa: N802 - reads as a field class
    return F.String(load_default="", validate=validate.Length(max=1000), **kwargs)


class PersonWriteSchema(ma.Schema):
    id = F.Integer(
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "Leave out for a new person; give it to keep one"},
    )
    name = F.String(
        required=True,
        validate=[validate.Length(min=1, max=40), _name],
        metadata={"description": "A first name or an initial only"},
    )
    relation = F.String(
        data_key="relationship", required=True, validate=validate.OneOf(list(Relationship))
    )
    closeness = F.String(
        required=True,
        validate=validate.OneOf(list(Closeness)),
        metadata={"description": "Circle of closeness: inner (closest), middle or outer"},
    )
    good = Text(metadata={"description": "What is good with them"})
    difficult = Text(metadata={"description": "What is difficult with them"})
    recent_change = Text(metadata={"description": "Any recent change"})
    concerns = F.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(PROBLEM_AREAS),
        metadata={"description": "The member's problem area this person is what it is about"},
    )

    @ma.post_load
    def strip(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["name"] = data["name"].strip()
        return data


class InventoryWriteSchema(ma.Schema):
    base_version = F.Integer(
        required=True,
        validate=validate.Range(min=0, max=2**31 - 1),
        metadata={"description": "The version you edited (0 when there was none)"},
    )
    people = F.List(F.Nested(PersonWriteSchema), required=True, validate=validate.Length(max=30))


class InventoryPersonSchema(ma.Schema):
    id = F.Integer(metadata={"description": "Stable across versions"})
    name = F.String()
    relationship = F.String(attribute="relation")
    closeness = F.String()
    good = F.String()
    difficult = F.String()
    recent_change = F.String()
    concerns = F.String(allow_none=True)


class ChangedPersonSchema(ma.Schema):
    id = F.Integer()
    name = F.String()


class ChangesSchema(ma.Schema):
    added = F.List(F.Nested(ChangedPersonSchema))
    removed = F.List(F.Nested(ChangedPersonSchema))
    edited = F.List(F.Nested(ChangedPersonSchema))


class InventorySchema(ma.Schema):
    enrolment_id = F.Integer()
    problem_areas = F.List(
        F.String(), metadata={"description": "The member's, which a person can be marked with"}
    )
    version = F.Integer(metadata={"description": "0: not filled in yet"})
    created_at = F.AwareDateTime(allow_none=True)
    author_id = F.Integer(allow_none=True)
    author_name = F.String(allow_none=True)
    changes = F.Nested(ChangesSchema, metadata={"description": "Against the version before"})
    people = F.List(F.Nested(InventoryPersonSchema))


class SummaryPersonSchema(ma.Schema):
    id = F.Integer()
    name = F.String()
    relationship = F.String()
    closeness = F.String()
    concerns = F.String(allow_none=True)


class SummarySchema(ma.Schema):
    enrolment_id = F.Integer()
    version = F.Integer()
    people = F.List(F.Nested(SummaryPersonSchema))


EMPTY = {kind: [] for kind in inventory.CHANGE_KINDS}


def present(member: Enrolment, snapshot: inventory.Snapshot | None) -> dict[str, Any]:
    head = {"enrolment_id": member.id, "problem_areas": member.problem_areas}
    if snapshot is None:
        return {**head, "version": 0, "created_at": None, "author_id": None,
                "author_name": None, "changes": EMPTY, "people": []}  # fmt: skip
    v = snapshot.version
    return {
        **head,
        "version": v.version,
        "created_at": v.created_at,
        "author_id": v.author_id,
        "author_name": v.author.display_name if v.author else None,
        "changes": inventory.describe(snapshot),
        "people": [inventory.person_row(p) for p in v.people],
    }


@blp.route(f"/enrolments/<{ID}:enrolment_id>/inventory")
class MemberInventory(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, InventorySchema)
    def get(self, enrolment_id: int) -> Any:
        """The member's interpersonal inventory as it stands (version 0 and nobody
        when it was never filled). Audited."""
        member = access.get_enrolment(current_user, enrolment_id)
        snapshot = inventory.current(current_actor(), member)
        audit.commit_reads()
        return present(member, snapshot)

    @roles_required(*MANAGERS)
    @blp.arguments(InventoryWriteSchema)
    @blp.response(200, InventorySchema)
    @blp.alt_response(409, **conflict("inventory_stale", "erased"))
    def put(self, data: dict[str, Any], enrolment_id: int) -> Any:
        """Save the inventory as a new version, on top of ``base_version``. Send
        everyone who stays (with their ``id``), new people without one; whoever is
        left out is removed. If someone saved since, 409 ``inventory_stale``."""
        member = access.get_enrolment(current_user, enrolment_id, manage=True)
        return present(member, save_version(inventory.save, member, data, "people"))


@blp.route(f"/enrolments/<{ID}:enrolment_id>/inventory/versions")
class MemberInventoryVersions(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, InventorySchema(many=True))
    def get(self, enrolment_id: int) -> Any:
        """Every version, newest first: who saved it, when, and who was added,
        removed or edited. Audited."""
        member = access.get_enrolment(current_user, enrolment_id)
        snapshots = inventory.history(current_actor(), member)
        audit.commit_reads()
        return [present(member, s) for s in snapshots]


@blp.route(f"/sessions/<{ID}:session_id>/inventories")
class SessionInventories(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, SummarySchema(many=True))
    def get(self, session_id: int) -> Any:
        """For the runner: each member's inventory in short (names, relationship,
        circle, and whom the problem area concerns). Audited per member shown."""
        session = access.get_session(current_user, session_id)
        found = inventory.for_session(current_actor(), session)
        audit.commit_reads()
        return [
            {
                "enrolment_id": eid,
                "version": v.version,
                "people": [
                    {
                        "id": p.person_key,
                        "name": p.name,
                        "relationship": p.relation,
                        "closeness": p.closeness,
                        "concerns": p.concerns,
                    }
                    for p in v.people
                ],
            }
            for eid, v in found.items()
        ]
