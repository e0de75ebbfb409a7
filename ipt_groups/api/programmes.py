"""Programme templates: the five shipped ones and a clinic's own (admins)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import validate

from ipt_groups.api.common import conflict
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.extensions import db
from ipt_groups.models import STAFF_ROLES, Role
from ipt_groups.protocol.programmes import (
    DEFAULT_FOLLOW_UP_WEEKS,
    MAX_FOLLOW_UP_WEEKS,
    MeetingKind,
    ProgrammeTemplate,
    template_to_dict,
)
from ipt_groups.security import current_actor, roles_required
from ipt_groups.services import programmes

blp = Blueprint(
    "programmes", __name__, url_prefix="/api/programmes", description="Programme templates"
)

STAFF = tuple(STAFF_ROLES)
KEY = r"^[a-z0-9][a-z0-9-]{1,39}$"


class MeetingSpecSchema(ma.Schema):
    # The follow-up is not listed here: follow_up_weeks sets it.
    kind = ma.fields.String(
        required=True,
        validate=validate.OneOf([k.value for k in MeetingKind if k != MeetingKind.FOLLOW_UP]),
    )
    after_session = ma.fields.Integer(
        required=True,
        validate=validate.Range(min=0, max=52),
        metadata={"description": "0 for pre-group; N to hold it after group session N"},
    )
    label = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))


class MeasureRuleSchema(ma.Schema):
    instrument = ma.fields.String(
        required=True, validate=validate.Regexp(r"^[a-z0-9_]{1,40}$"), metadata={"example": "phq9"}
    )
    every_session = ma.fields.Boolean(load_default=False)
    sessions = ma.fields.List(
        ma.fields.Integer(validate=validate.Range(min=1, max=52)), load_default=list
    )
    meetings = ma.fields.List(
        ma.fields.String(validate=validate.OneOf([k.value for k in MeetingKind])),
        load_default=list,
    )


class ReleaseRuleSchema(ma.Schema):
    item = ma.fields.String(
        required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,79}$"),
        metadata={"description": "A library item's key", "example": "what-is-depression"},
    )  # fmt: skip
    session = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=52))
    at = ma.fields.String(load_default="start", validate=validate.OneOf(["start", "end"]))


class PhasesSchema(ma.Schema):
    initial = ma.fields.List(ma.fields.Integer(), required=True)
    middle = ma.fields.List(ma.fields.Integer(), required=True)
    termination = ma.fields.List(ma.fields.Integer(), required=True)


class ProgrammeSchema(ma.Schema):
    key = ma.fields.String(required=True, validate=validate.Regexp(KEY, error="Use a-z, 0-9, -."))
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    description = ma.fields.String(load_default="", validate=validate.Length(max=1000))
    group_sessions = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=52))
    session_minutes = ma.fields.Integer(required=True, validate=validate.Range(min=15, max=240))
    phases = ma.fields.Nested(
        PhasesSchema,
        required=True,
        metadata={"description": "Session numbers of each phase; every session exactly once"},
    )
    meetings = ma.fields.List(ma.fields.Nested(MeetingSpecSchema), required=True)
    group_size_min = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=50))
    group_size_max = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=50))
    late_join_sessions = ma.fields.Integer(
        load_default=2,
        validate=validate.Range(min=1, max=52),
        metadata={
            "description": "The last session a new member can start at: 1 means joining "
            "only before the group starts; 2 (the default) means until session 2 begins"
        },
    )
    follow_up_weeks = ma.fields.Integer(
        load_default=DEFAULT_FOLLOW_UP_WEEKS,
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_FOLLOW_UP_WEEKS),
        metadata={
            "description": "Weeks from the last session to the follow-up contact (full "
            "PHQ-9), at the last session's wall-clock time in the cohort's time zone; null "
            "for no follow-up",
            "example": DEFAULT_FOLLOW_UP_WEEKS,
        },
    )
    measures = ma.fields.List(
        ma.fields.Nested(MeasureRuleSchema),
        load_default=None,
        allow_none=True,
        metadata={"description": "Omit for the default schedule (mood each session, PHQ-9 "
                  "at individual meetings, the midpoint and the end)"},
    )  # fmt: skip
    releases = ma.fields.List(
        ma.fields.Nested(ReleaseRuleSchema),
        load_default=list,
        validate=validate.Length(max=200),
        metadata={"description": "Readings released at a session's start or end; empty for "
                  "the library's suggested plan, scaled to the programme's length"},
    )  # fmt: skip
    shipped = ma.fields.Boolean(dump_only=True)


class ProgrammeUpdateSchema(ProgrammeSchema):
    class Meta:
        exclude = ("key",)


class ProgrammeListArgs(ma.Schema):
    include_archived = ma.fields.Boolean(load_default=False)


def _present(template: ProgrammeTemplate, shipped: bool) -> dict[str, Any]:
    return {**template_to_dict(template), "shipped": shipped}


@blp.route("")
class Programmes(MethodView):
    @roles_required(*STAFF)
    @blp.arguments(ProgrammeListArgs, location="query")
    @blp.response(200, ProgrammeSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """Every programme a cohort can be created from."""
        rows = programmes.list_programmes(include_archived=args["include_archived"])
        return [_present(t, shipped) for t, shipped in rows]

    @roles_required(Role.ADMIN)
    @blp.arguments(ProgrammeSchema)
    @blp.response(201, ProgrammeSchema)
    @blp.alt_response(409, **conflict("key_taken"))
    def post(self, data: dict[str, Any]) -> Any:
        """Create a custom programme. The phase map must cover every session once."""
        template = programmes.create_programme(current_actor(), data)
        db.session.commit()
        return _present(template, False)


@blp.route("/<string(maxlength=40):key>")
class ProgrammeDetail(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, ProgrammeSchema)
    def get(self, key: str) -> Any:
        """One programme."""
        return _present(*programmes.get_template(key))

    @roles_required(Role.ADMIN)
    @blp.arguments(ProgrammeUpdateSchema(partial=True))
    @blp.response(200, ProgrammeSchema)
    @blp.alt_response(409, **conflict("shipped_programme"))
    def patch(self, changes: dict[str, Any], key: str) -> Any:
        """Change a custom programme; cohorts already created keep their copy."""
        template = programmes.update_programme(current_actor(), key, changes)
        db.session.commit()
        return _present(template, False)

    @roles_required(Role.ADMIN)
    @blp.response(204)
    @blp.alt_response(409, **conflict("shipped_programme"))
    def delete(self, key: str) -> None:
        """Archive a custom programme: no new cohorts; existing ones are unaffected."""
        programmes.archive_programme(current_actor(), key)
        db.session.commit()
