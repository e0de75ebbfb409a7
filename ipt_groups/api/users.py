"""Admin management of staff accounts."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import validate

from ipt_groups.api.common import (
    Language,
    PageArgsSchema,
    PageMetaSchema,
    TimeZone,
    UserSchema,
    conflict,
)
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.extensions import db
from ipt_groups.models import STAFF_ROLES, Role
from ipt_groups.security import current_actor, roles_required
from ipt_groups.services import users

blp = Blueprint("users", __name__, url_prefix="/api/users", description="Staff accounts (admin)")

STAFF_ROLE_NAMES = sorted(r.value for r in STAFF_ROLES)


class UserListArgsSchema(PageArgsSchema):
    role = ma.fields.String(validate=validate.OneOf([r.value for r in Role]))
    include_disabled = ma.fields.Boolean(load_default=False)


class UserPageSchema(PageMetaSchema):
    items = ma.fields.List(ma.fields.Nested(UserSchema), required=True)


class UserCreateSchema(ma.Schema):
    email = ma.fields.Email(required=True, validate=validate.Length(max=254))
    display_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    role = ma.fields.String(required=True, validate=validate.OneOf(STAFF_ROLE_NAMES))
    password = ma.fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=users.MIN_PASSWORD_LENGTH, max=256),
    )
    language = Language(load_default="en")
    time_zone = TimeZone(load_default="UTC")


class UserUpdateSchema(ma.Schema):
    email = ma.fields.Email(validate=validate.Length(max=254))
    display_name = ma.fields.String(validate=validate.Length(min=1, max=120))
    role = ma.fields.String(validate=validate.OneOf(STAFF_ROLE_NAMES))
    password = ma.fields.String(
        load_only=True,
        validate=validate.Length(min=users.MIN_PASSWORD_LENGTH, max=256),
        metadata={"description": "Reset the password; the user's sessions end"},
    )
    language = Language()
    time_zone = TimeZone()


@blp.route("")
class Users(MethodView):
    @roles_required(Role.ADMIN)
    @blp.arguments(UserListArgsSchema, location="query")
    @blp.response(200, UserPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List staff accounts (participants with ``role=participant``)."""
        return users.list_users(
            role=args.get("role"),
            include_disabled=args["include_disabled"],
            page=args["page"],
            per_page=args["per_page"],
        )

    @roles_required(Role.ADMIN)
    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    @blp.alt_response(409, **conflict("email_taken"))
    def post(self, data: dict[str, Any]) -> Any:
        """Create a staff account."""
        user = users.create_staff_user(current_actor(), **data)
        db.session.commit()
        return user


@blp.route("/<int(min=1, max=2147483647):user_id>")
class UserDetail(MethodView):
    @roles_required(Role.ADMIN)
    @blp.response(200, UserSchema)
    def get(self, user_id: int) -> Any:
        """One account."""
        return users.get_user(user_id)

    @roles_required(Role.ADMIN)
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    @blp.alt_response(409, **conflict("email_taken", "participant_role", "last_admin"))
    def patch(self, changes: dict[str, Any], user_id: int) -> Any:
        """Update an account; a role change or password reset ends its sessions."""
        user = users.update_user(current_actor(), users.get_user(user_id), changes)
        db.session.commit()
        return user


@blp.route("/<int(min=1, max=2147483647):user_id>/disable")
class UserDisable(MethodView):
    @roles_required(Role.ADMIN)
    @blp.response(200, UserSchema)
    @blp.alt_response(409, **conflict("self_disable", "last_admin"))
    def post(self, user_id: int) -> Any:
        """Disable an account and end all its sessions at once."""
        user = users.disable_user(current_actor(), users.get_user(user_id))
        db.session.commit()
        return user


@blp.route("/<int(min=1, max=2147483647):user_id>/enable")
class UserEnable(MethodView):
    @roles_required(Role.ADMIN)
    @blp.response(200, UserSchema)
    @blp.alt_response(409, **conflict("erased"))
    def post(self, user_id: int) -> Any:
        """Enable a disabled account (the user logs in again)."""
        user = users.enable_user(current_actor(), users.get_user(user_id))
        db.session.commit()
        return user
