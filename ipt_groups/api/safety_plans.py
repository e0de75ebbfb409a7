"""Safety plans: staff read, save (as a new version) and review the history of
a member's plan; the member reads their own current plan."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from marshmallow import validate

from ipt_groups.api.common import ID, conflict, save_version
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.models import STAFF_ROLES, Enrolment, Role, SafetyPlanVersion
from ipt_groups.security import current_actor, roles_required
from ipt_groups.services import access, audit, clinic, safety_plans

blp = Blueprint("safety_plans", __name__, url_prefix="/api", description="Safety plans")

STAFF = tuple(STAFF_ROLES)
WRITERS = (Role.ADMIN, Role.FACILITATOR, Role.SUPERVISOR)
MAX_ITEMS = 10


class Item(ma.fields.String):
    """A short line of the plan; spaces around it are dropped, so a blank line is
    refused rather than saved."""

    def __init__(self, max_length: int = 200, **kwargs: Any) -> None:
        super().__init__(validate=validate.Length(min=1, max=max_length), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()


def _items(field: ma.fields.Field) -> ma.fields.List:
    return ma.fields.List(field, load_default=list, validate=validate.Length(max=MAX_ITEMS))


class SupportPersonSchema(ma.Schema):
    name = Item(80, required=True, metadata={"description": "A first name or how they know them"})
    contact = Item(120, required=True, metadata={"description": "How to reach them"})


class SectionsSchema(ma.Schema):
    warning_signs = _items(Item())
    coping = _items(Item())
    distractions = _items(Item())
    people = _items(ma.fields.Nested(SupportPersonSchema))
    # Long enough for the clinic's crisis text, which a first plan starts with.
    professionals = _items(Item(2000))
    environment = _items(Item())


class SaveSchema(ma.Schema):
    base_version = ma.fields.Integer(
        required=True,
        validate=validate.Range(min=0, max=2**31 - 1),
        metadata={"description": "The version you edited (0 for the first plan); else 409"},
    )
    sections = ma.fields.Nested(SectionsSchema, required=True)


class PlanSchema(ma.Schema):
    enrolment_id = ma.fields.Integer()
    display_name = ma.fields.String(metadata={"description": "The member"})
    version = ma.fields.Integer(metadata={"description": "0: no plan saved yet (a draft)"})
    id = ma.fields.Integer(allow_none=True, metadata={"description": "The version's id"})
    sections = ma.fields.Nested(SectionsSchema)
    author_id = ma.fields.Integer(allow_none=True)
    author_name = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime(allow_none=True)
    language = ma.fields.String(metadata={"description": "The member's language"})
    can_edit = ma.fields.Boolean()


class VersionSchema(ma.Schema):
    id = ma.fields.Integer()
    version = ma.fields.Integer()
    sections = ma.fields.Nested(SectionsSchema)
    author_id = ma.fields.Integer(allow_none=True)
    author_name = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()


class MyPlanSchema(ma.Schema):
    version = ma.fields.Integer(metadata={"description": "0: no plan yet"})
    sections = ma.fields.Nested(SectionsSchema)
    created_at = ma.fields.AwareDateTime(allow_none=True)
    language = ma.fields.String()
    crisis_text = ma.fields.String(metadata={"description": "The clinic's crisis text, now"})


def _version(row: SafetyPlanVersion) -> dict[str, Any]:
    return {
        "id": row.id,
        "version": row.version,
        "sections": row.sections,
        "author_id": row.author_id,
        "author_name": row.author.display_name if row.author else None,
        "created_at": row.created_at,
    }


def _plan(member: Enrolment, row: SafetyPlanVersion | None) -> dict[str, Any]:
    shown = (
        _version(row)
        if row is not None
        else {"version": 0, "id": None, "sections": safety_plans.prefilled(member)}
    )
    return {
        "enrolment_id": member.id,
        "display_name": member.display_name,
        "language": safety_plans.member_language(member),
        "can_edit": access.may_write_safety_plan(current_user, member.cohort),
        **shown,
    }


@blp.route(f"/enrolments/<{ID}:enrolment_id>/safety-plan")
class MemberSafetyPlan(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, PlanSchema)
    def get(self, enrolment_id: int) -> Any:
        """The member's current safety plan; with no plan yet, a draft whose
        section 5 holds the clinic's crisis text in the member's language
        (``version`` 0). Audited."""
        member = access.get_safety_plan_member(current_user, enrolment_id)
        row = safety_plans.current(member)
        safety_plans.audit_read(current_actor(), member)
        audit.commit_reads()
        return _plan(member, row)

    @roles_required(*WRITERS)
    @blp.arguments(SaveSchema)
    @blp.response(200, PlanSchema)
    @blp.alt_response(409, **conflict("stale_safety_plan", "member_erased"))
    def put(self, data: dict[str, Any], enrolment_id: int) -> Any:
        """Save the plan as a new version on top of ``base_version``: by the
        cohort's facilitators or supervisors, or an admin."""
        member = access.get_safety_plan_member(current_user, enrolment_id, write=True)
        return _plan(member, save_version(safety_plans.save, member, data, "sections"))


@blp.route(f"/enrolments/<{ID}:enrolment_id>/safety-plan/versions")
class MemberSafetyPlanVersions(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, VersionSchema(many=True))
    def get(self, enrolment_id: int) -> Any:
        """Every saved version, newest first: what it said, who saved it, when. Audited."""
        member = access.get_safety_plan_member(current_user, enrolment_id)
        rows = safety_plans.history(member)
        safety_plans.audit_read(current_actor(), member, "safety_plan.history.read")
        audit.commit_reads()
        return [_version(r) for r in rows]


@blp.route("/me/safety-plan")
class MySafetyPlan(MethodView):
    @roles_required(Role.PARTICIPANT)
    @blp.response(200, MyPlanSchema)
    def get(self) -> Any:
        """My safety plan (the newest version), and the clinic's crisis text, in
        my language. ``version`` 0: none has been made with me yet."""
        found = safety_plans.for_member_user(current_user)
        language = current_user.language
        crisis = clinic.current().crisis_text_for(language)
        if found is None:
            return {"version": 0, "sections": safety_plans.empty_sections(),
                    "created_at": None, "language": language, "crisis_text": crisis}  # fmt: skip
        member, row = found
        safety_plans.audit_read(current_actor(), member, "safety_plan.read.own")
        audit.commit_reads()
        return {"version": row.version, "sections": row.sections, "created_at": row.created_at,
                "language": language, "crisis_text": crisis}  # fmt: skip
