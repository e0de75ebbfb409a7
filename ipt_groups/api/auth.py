"""Logging in and out, and the CSRF token."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import request
from flask.views import MethodView
from marshmallow import validate

from ipt_groups.api.common import UserSchema
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.errors import ApiError
from ipt_groups.extensions import db
from ipt_groups.security import csrf_token, known_device, log_in, log_out, public
from ipt_groups.services import auth

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Log in and out")

# The one answer to every failed login: no hint whether the account exists,
# is disabled, has no password yet, or the password was wrong.
LOGIN_FAILED = "Email, username or password is incorrect."


class LoginSchema(ma.Schema):
    email = ma.fields.Email(metadata={"description": "Staff log in with their email"})
    username = ma.fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Participants log in with their username"},
    )
    password = ma.fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=1, max=256),
        metadata={"description": "Password, PIN or passphrase"},
    )

    @ma.validates_schema
    def _one_login_name(self, data: dict[str, Any], **_: Any) -> None:
        if bool(data.get("email")) == bool(data.get("username")):
            raise ma.ValidationError("Give either email or username.", "email")


class CsrfSchema(ma.Schema):
    csrf_token = ma.fields.String(required=True)


class LoginResultSchema(CsrfSchema):
    user = ma.fields.Nested(UserSchema, required=True)


@blp.route("/login")
class Login(MethodView):
    @public
    @blp.arguments(LoginSchema)
    @blp.response(200, LoginResultSchema)
    @blp.alt_response(401, description="Login failed (always the same answer)")
    @blp.alt_response(
        429,
        description="Too many attempts, or this login name is locked out after repeated "
        "failures (the lock doubles with each further failure); see Retry-After",
    )
    def post(self, creds: dict[str, Any]) -> dict[str, Any]:
        """Log in with email (staff) or username (participants) and password."""
        name = auth.login_name(creds.get("email"), creds.get("username"))
        user = auth.authenticate(
            creds.get("email"),
            creds.get("username"),
            creds["password"],
            address=request.remote_addr,
            device=known_device(name),
        )
        if user is None:
            raise ApiError(401, LOGIN_FAILED, code="login_failed")
        token = log_in(user, name)
        db.session.commit()
        return {"user": user, "csrf_token": token}


@blp.route("/logout")
class Logout(MethodView):
    @public
    @blp.response(204)
    def post(self) -> None:
        """End this session on the server and clear the cookie (also when it had
        already expired, so the browser is always left logged out)."""
        log_out()
        db.session.commit()


@blp.route("/csrf")
class Csrf(MethodView):
    @public
    @blp.response(200, CsrfSchema)
    def get(self) -> dict[str, str]:
        """The token to send in ``X-CSRF-Token`` with every write."""
        return {"csrf_token": csrf_token()}
