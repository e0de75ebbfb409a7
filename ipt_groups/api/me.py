"""The logged-in user's own account."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from marshmallow import validate

from ipt_groups.api import plain
from ipt_groups.api.common import Language, TimeZone, UserSchema
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.extensions import db
from ipt_groups.security import current_actor, session_token
from ipt_groups.services import users

blp = Blueprint("me", __name__, url_prefix="/api/me", description="My account")


class MeUpdateSchema(ma.Schema):
    display_name = ma.fields.String(validate=validate.Length(min=1, max=120))
    language = Language()
    time_zone = TimeZone()


class PasswordChangeSchema(ma.Schema):
    current_password = ma.fields.String(
        required=True, load_only=True, validate=validate.Length(max=256)
    )
    new_password = ma.fields.String(
        required=True, load_only=True, validate=validate.Length(max=256)
    )


@blp.route("")
class Me(MethodView):
    @blp.response(200, UserSchema)
    def get(self) -> Any:
        """Who am I."""
        # The signed-in floor every client reads first: a plain dict, not a dump.
        return plain.answer(plain.user(current_user))

    @blp.arguments(MeUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, changes: dict[str, Any]) -> Any:
        """Change my display name, language or time zone."""
        user = users.update_user(current_actor(), current_user, changes)
        db.session.commit()
        return user


@blp.route("/password")
class MyPassword(MethodView):
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    def post(self, data: dict[str, str]) -> None:
        """Change my password; my other sessions end, this one stays."""
        users.change_own_password(
            current_actor(),
            current_user,
            data["current_password"],
            data["new_password"],
            keep_token=session_token(),
        )
        db.session.commit()
