"""A session's agenda: read, edit (reorder, add, remove) and tick off."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from marshmallow import validate

from ipt_groups.api.common import ID
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.errors import ApiError
from ipt_groups.extensions import db
from ipt_groups.models import STAFF_ROLES, AgendaEntry, GroupSession, Role
from ipt_groups.protocol.agendas import ItemKind
from ipt_groups.security import current_actor, roles_required
from ipt_groups.services import access, agenda

blp = Blueprint("agenda", __name__, url_prefix="/api", description="Session agendas")

STAFF = tuple(STAFF_ROLES)
MANAGERS = (Role.ADMIN, Role.FACILITATOR)


class AgendaEntrySchema(ma.Schema):
    id = ma.fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "Keep an existing item (and its tick); omit for a new one"},
    )
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    guidance = ma.fields.String(load_default="", validate=validate.Length(max=2000))
    minutes = ma.fields.Integer(required=True, validate=validate.Range(min=0, max=240))
    kind = ma.fields.String(required=True, validate=validate.OneOf([k.value for k in ItemKind]))
    done = ma.fields.Boolean(dump_only=True)
    done_at = ma.fields.AwareDateTime(dump_only=True, allow_none=True)


class AgendaSchema(ma.Schema):
    session_id = ma.fields.Integer(dump_only=True)
    total_minutes = ma.fields.Integer(dump_only=True)
    items = ma.fields.List(ma.fields.Nested(AgendaEntrySchema), required=True)


class TickSchema(ma.Schema):
    done = ma.fields.Boolean(required=True)


def present(session: GroupSession) -> dict[str, Any]:
    items = [
        {
            "id": e.id, "title": e.title, "guidance": e.guidance, "minutes": e.minutes,
            "kind": e.kind, "done": e.done_at is not None, "done_at": e.done_at,
        }
        for e in session.agenda
    ]  # fmt: skip
    return {
        "session_id": session.id,
        "total_minutes": sum(e.minutes for e in session.agenda),
        "items": items,
    }


@blp.route(f"/sessions/<{ID}:session_id>/agenda")
class SessionAgenda(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, AgendaSchema)
    def get(self, session_id: int) -> Any:
        """The session's agenda in order, with what has been ticked off."""
        return present(access.get_session(current_user, session_id))

    @roles_required(*MANAGERS)
    @blp.arguments(AgendaSchema)
    @blp.response(200, AgendaSchema)
    def put(self, data: dict[str, Any], session_id: int) -> Any:
        """Replace the agenda: items in the new order; send ``id`` to keep an item."""
        session = access.get_session(current_user, session_id, manage=True)
        agenda.replace(current_actor(), session, data["items"])
        db.session.commit()
        return present(session)


@blp.route(f"/agenda-items/<{ID}:item_id>/tick")
class AgendaTick(MethodView):
    @roles_required(*MANAGERS)
    @blp.arguments(TickSchema)
    @blp.response(200, AgendaSchema)
    def post(self, data: dict[str, Any], item_id: int) -> Any:
        """Tick an item off (or un-tick it) while running the session."""
        entry = db.session.get(AgendaEntry, item_id)
        if entry is None:
            raise ApiError(404)
        session = access.get_session(current_user, entry.session_id, manage=True)
        agenda.tick(current_actor(), entry, data["done"])
        db.session.commit()
        return present(session)
