"""The audit trail, for admins: who read or changed which member's records."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import validate

from ipt_groups.api.common import PageArgsSchema, PageMetaSchema
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.models import Role
from ipt_groups.security import roles_required
from ipt_groups.services import audit

blp = Blueprint("audit", __name__, url_prefix="/api/audit", description="Audit trail")

ROW_ID = validate.Range(min=1, max=2**31 - 1)


class AuditArgsSchema(PageArgsSchema):
    member_id = ma.fields.Integer(
        validate=ROW_ID, metadata={"description": "The member (enrolment id) whose record"}
    )
    actor_id = ma.fields.Integer(validate=ROW_ID, metadata={"description": "Who acted"})
    action = ma.fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Action or prefix, e.g. risk_alert or assessment.read"},
    )
    since = ma.fields.AwareDateTime(metadata={"description": "From this time (inclusive)"})
    until = ma.fields.AwareDateTime(metadata={"description": "Before this time"})


class AuditEventSchema(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.AwareDateTime()
    actor_id = ma.fields.Integer(allow_none=True, metadata={"description": "None: the system"})
    action = ma.fields.String()
    target_type = ma.fields.String(allow_none=True)
    target_id = ma.fields.Integer(allow_none=True)
    member_id = ma.fields.Integer(attribute="subject_id", allow_none=True)
    ip_address = ma.fields.String(allow_none=True)


class AuditPageSchema(PageMetaSchema):
    items = ma.fields.List(ma.fields.Nested(AuditEventSchema), required=True)


@blp.route("")
class AuditTrail(MethodView):
    @roles_required(Role.ADMIN)
    @blp.arguments(AuditArgsSchema, location="query")
    @blp.response(200, AuditPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Search the trail by member, actor, action and time, newest first."""
        return audit.query(**args)
