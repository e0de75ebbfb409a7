"""Invites: issue, list and revoke (staff); check and redeem (the member's phone)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView
from flask_login import current_user
from marshmallow import validate

from ipt_groups.api.common import ID, UserSchema, conflict, public_base_url
from ipt_groups.api.derived import derived
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.extensions import db
from ipt_groups.models import STAFF_ROLES, Role
from ipt_groups.security import current_actor, log_in, public, roles_required
from ipt_groups.services import access, invites
from ipt_groups.timesource import utcnow

blp = Blueprint("invites", __name__, url_prefix="/api", description="Invites and joining")

STAFF = tuple(STAFF_ROLES)
MANAGERS = (Role.ADMIN, Role.FACILITATOR)


class InviteSchema(ma.Schema):
    """Dumps an Invite."""

    id = ma.fields.Integer()
    enrolment_id = ma.fields.Integer()
    state = derived(
        ma.fields.String,
        lambda invite: invite.state(utcnow()),
        metadata={"description": "pending, used, revoked or expired"},
    )
    expires_at = ma.fields.AwareDateTime()
    used_at = ma.fields.AwareDateTime(allow_none=True)
    revoked_at = ma.fields.AwareDateTime(allow_none=True)
    created_at = ma.fields.AwareDateTime()


class IssuedInviteSchema(InviteSchema):
    """Dumps an IssuedInvite: its invite's fields, and the code shown once."""

    code = ma.fields.String(metadata={"description": "Shown once; the member types it"})
    url = ma.fields.String(metadata={"description": "Opens the app at the join screen"})
    qr_svg = ma.fields.String(metadata={"description": "The URL as an SVG QR code"})

    @ma.pre_dump
    def _invite_fields(self, issued: invites.IssuedInvite, **_: Any) -> Any:
        return _Issued(issued)


class _Issued:
    """An IssuedInvite read as its invite, with the code, URL and QR code on top."""

    def __init__(self, issued: invites.IssuedInvite) -> None:
        self.issued = issued

    def __getattr__(self, name: str) -> Any:
        if name in ("code", "url", "qr_svg"):
            return getattr(self.issued, name)
        return getattr(self.issued.invite, name)


CODE = ma.fields.String(
    required=True, validate=validate.Length(min=1, max=32), metadata={"example": "K7QM-R4XP"}
)


class CheckSchema(ma.Schema):
    code = CODE


class CheckResultSchema(ma.Schema):
    display_name = ma.fields.String()
    username = ma.fields.String(metadata={"description": "The member logs in with this later"})
    expires_at = ma.fields.AwareDateTime()


class RedeemSchema(ma.Schema):
    code = CODE
    pin = ma.fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=1, max=256),
        metadata={"description": "A PIN of 6+ digits or a passphrase of 12+ characters"},
    )


class RedeemResultSchema(ma.Schema):
    user = ma.fields.Nested(UserSchema, required=True)
    csrf_token = ma.fields.String(required=True)


@blp.route(f"/enrolments/<{ID}:enrolment_id>/invites")
class EnrolmentInvites(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, InviteSchema(many=True))
    def get(self, enrolment_id: int) -> Any:
        """A member's invites, newest first (codes are never shown again)."""
        member = access.get_enrolment(current_user, enrolment_id)
        return invites.list_for(member)

    @roles_required(*MANAGERS)
    @blp.response(201, IssuedInviteSchema)
    @blp.alt_response(409, **conflict("not_current"))
    def post(self, enrolment_id: int) -> Any:
        """Issue a new invite (lost code, expired): the previous unused one stops working."""
        member = access.get_enrolment(current_user, enrolment_id, manage=True)
        issued = invites.issue(
            current_actor(),
            member,
            ttl=current_app.config["INVITE_TTL"],
            base_url=public_base_url(),
        )
        db.session.commit()
        return issued


@blp.route(f"/invites/<{ID}:invite_id>/revoke")
class InviteRevoke(MethodView):
    @roles_required(*MANAGERS)
    @blp.response(200, InviteSchema)
    @blp.alt_response(409, **conflict("invite_used"))
    def post(self, invite_id: int) -> Any:
        """Revoke an unused invite."""
        invite = access.get_invite(current_user, invite_id, manage=True)
        invites.revoke(current_actor(), invite)
        db.session.commit()
        return invite


@blp.route("/invites/check")
class InviteCheck(MethodView):
    @public
    @blp.arguments(CheckSchema)
    @blp.response(200, CheckResultSchema)
    @blp.alt_response(404, description="No invite has this code")
    @blp.alt_response(410, description="Used, revoked or expired")
    @blp.alt_response(429, description="Too many attempts; see Retry-After")
    def post(self, data: dict[str, Any]) -> Any:
        """Is this code usable? Answers with the name it was issued for (rate limited)."""
        invite = invites.find_usable(data["code"], address=request.remote_addr)
        user = invite.enrolment.user
        return {
            "display_name": invite.enrolment.display_name,
            "username": user.username if user else None,
            "expires_at": invite.expires_at,
        }


@blp.route("/invites/redeem")
class InviteRedeem(MethodView):
    @public
    @blp.arguments(RedeemSchema)
    @blp.response(200, RedeemResultSchema)
    @blp.alt_response(404, description="No invite has this code")
    @blp.alt_response(410, description="Used, revoked or expired")
    @blp.alt_response(429, description="Too many attempts; see Retry-After")
    def post(self, data: dict[str, Any]) -> Any:
        """Use an invite: choose a PIN or passphrase and be logged in.

        Later logins use the username (in ``user.username``) and that PIN."""
        user = invites.redeem(data["code"], data["pin"], address=request.remote_addr)
        # The phone that redeemed is the member's own: it gets a device cookie.
        token = log_in(user, user.username)
        db.session.commit()
        return {"user": user, "csrf_token": token}
