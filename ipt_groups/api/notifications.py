"""The in-app inbox: the same rows the push dispatcher delivers, shown after login."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user

from ipt_groups.api.common import ID
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.errors import ApiError
from ipt_groups.extensions import db
from ipt_groups.models import Notification, Role
from ipt_groups.security import roles_required
from ipt_groups.services import notifications

blp = Blueprint("notifications", __name__, url_prefix="/api/me", description="In-app inbox")

EVERYONE = tuple(Role)


class InboxArgs(ma.Schema):
    unread = ma.fields.Boolean(load_default=False)


class NotificationSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    title = ma.fields.String(metadata={"description": "Neutral wording, no clinical words"})
    text = ma.fields.String(metadata={"description": "Neutral wording, no clinical words"})
    url = ma.fields.String(metadata={"description": "Where the app opens for it"})
    ref_type = ma.fields.String(allow_none=True)
    ref_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    read_at = ma.fields.AwareDateTime(allow_none=True)


class InboxSchema(ma.Schema):
    unread = ma.fields.Integer()
    items = ma.fields.List(ma.fields.Nested(NotificationSchema))


def present(row: Notification, templates: Any = None) -> dict[str, Any]:
    words = notifications.wording(row, current_user, templates)
    return {
        "id": row.id, "kind": row.kind, "ref_type": row.ref_type, "ref_id": row.ref_id,
        "title": words.title, "text": words.body, "url": words.url,
        "created_at": row.created_at, "read_at": row.read_at,
    }  # fmt: skip


@blp.route("/notifications")
class Inbox(MethodView):
    @roles_required(*EVERYONE)
    @blp.arguments(InboxArgs, location="query")
    @blp.response(200, InboxSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """My notifications, newest first, and how many are unread."""
        rows = notifications.inbox(current_user, unread_only=args["unread"])
        templates = notifications.templates()  # once, not per row
        items = [present(row, templates) for row in rows]
        return {"unread": notifications.unread_count(current_user), "items": items}


@blp.route(f"/notifications/<{ID}:notification_id>/read")
class InboxRead(MethodView):
    @roles_required(*EVERYONE)
    @blp.response(200, NotificationSchema)
    def post(self, notification_id: int) -> Any:
        """Mark one notification as read."""
        row = notifications.mark_read(current_user, notification_id)
        if row is None:
            raise ApiError(404)
        db.session.commit()
        return present(row)
