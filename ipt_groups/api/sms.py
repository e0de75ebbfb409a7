"""SMS webhooks (providers call these), members' SMS replies, and SMS cost.

The webhooks carry no session: what proves a call came from the provider is
Twilio's ``X-Twilio-Signature`` over our public URL and the form, or, for
Africa's Talking (which signs nothing), the long random key in the callback
URL, compared in constant time. A forged call gets 403 and changes nothing.
"""

from __future__ import annotations

import hmac
from typing import Any

import marshmallow as ma
from flask import Response, current_app, request
from flask.views import MethodView
from flask_login import current_user
from marshmallow import validate

from ipt_groups.api.common import ID, public_base_url
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.channels_config import ChannelSettings
from ipt_groups.errors import ApiError
from ipt_groups.extensions import db
from ipt_groups.models import STAFF_ROLES, ClinicSetting, Role, SmsReply
from ipt_groups.push.sms import SmsAdapter, make_sms_transport
from ipt_groups.security import current_actor, form_body, public, roles_required
from ipt_groups.services import access, audit, channels, sms

blp = Blueprint("sms", __name__, url_prefix="/api", description="SMS replies, webhooks and cost")

STAFF = tuple(STAFF_ROLES)
# Twilio replies to an incoming message with whatever TwiML we answer: an empty
# response sends nothing back (an automatic answer could start a reply loop).
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _adapter(provider: str) -> SmsAdapter:
    settings: ChannelSettings = current_app.config["CHANNELS"]
    if settings.sms_provider != provider:
        raise ApiError(404)
    cached = current_app.extensions.get("sms_adapter")
    if cached is None or cached[0] != settings:
        transport = make_sms_transport(settings)
        assert transport is not None  # noqa: S101 (the provider is set)
        cached = (settings, transport.adapter)
        current_app.extensions["sms_adapter"] = cached
    return cached[1]


def _twilio() -> SmsAdapter:
    adapter = _adapter("twilio")
    # Twilio signs the URL it called: ours as the public knows it, with the query.
    query = request.query_string.decode()
    url = public_base_url() + request.path + (f"?{query}" if query else "")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not adapter.verify(url, request.form.to_dict(), signature):
        raise ApiError(403, "The request signature does not match.", code="bad_signature")
    return adapter


def _africastalking(key: str) -> SmsAdapter:
    adapter = _adapter("africastalking")
    expected = current_app.config["CHANNELS"].at_callback_key
    if not expected or not hmac.compare_digest(key.encode(), expected.encode()):
        raise ApiError(403, "Unknown callback key.", code="bad_signature")
    return adapter


def _status(adapter: SmsAdapter) -> Response:
    report = adapter.parse_status(request.form.to_dict())
    if report is not None:
        sms.handle_status(report)
        db.session.commit()
    return Response(status=204)


def _incoming(adapter: SmsAdapter, provider: str) -> None:
    try:
        incoming = adapter.parse_incoming(request.form.to_dict())
    except ValueError:
        raise ApiError(422, "Not an incoming message.", code="bad_message") from None
    sms.handle_incoming(provider, incoming, secret=current_app.config["SECRET_KEY"].encode())
    db.session.commit()


@blp.route("/sms/twilio/status")
class TwilioStatus(MethodView):
    @public
    @form_body
    @blp.response(204)
    @blp.alt_response(403, description="Bad signature")
    def post(self) -> Response:
        """Twilio's delivery report for a message we sent (signed)."""
        return _status(_twilio())


@blp.route("/sms/twilio/incoming")
class TwilioIncoming(MethodView):
    @public
    @form_body
    @blp.response(200, content_type="text/xml")
    @blp.alt_response(403, description="Bad signature")
    def post(self) -> Response:
        """A text a person sent to our Twilio number (signed); answers empty TwiML."""
        _incoming(_twilio(), "twilio")
        return Response(EMPTY_TWIML, mimetype="text/xml")


@blp.route("/sms/africastalking/<string:key>/delivery")
class AfricasTalkingDelivery(MethodView):
    @public
    @form_body
    @blp.response(204)
    @blp.alt_response(403, description="Wrong key")
    def post(self, key: str) -> Response:
        """Africa's Talking's delivery report (the key in the URL proves the caller)."""
        return _status(_africastalking(key))


@blp.route("/sms/africastalking/<string:key>/incoming")
class AfricasTalkingIncoming(MethodView):
    @public
    @form_body
    @blp.response(204)
    @blp.alt_response(403, description="Wrong key")
    def post(self, key: str) -> Response:
        """A text a person sent to our Africa's Talking number or short code."""
        _incoming(_africastalking(key), "africastalking")
        return Response(status=204)


# -- replies, for the facilitator ---------------------------------------------


class SmsReplySchema(ma.Schema):
    id = ma.fields.Integer()
    enrolment_id = ma.fields.Integer()
    display_name = ma.fields.String()
    action = ma.fields.String(
        metadata={"description": "cannot_come (recorded), message, stop or start"}
    )
    text = ma.fields.String()
    session_id = ma.fields.Integer(allow_none=True)
    ambiguous = ma.fields.Boolean(
        metadata={"description": "The number is shared by several members: check who wrote"}
    )
    received_at = ma.fields.AwareDateTime()
    read_at = ma.fields.AwareDateTime(allow_none=True)


def _present(reply: SmsReply) -> dict[str, Any]:
    return {
        **{k: getattr(reply, k) for k in (
            "id", "enrolment_id", "action", "text", "session_id", "ambiguous", "received_at",
            "read_at",
        )},
        "display_name": reply.enrolment.display_name if reply.enrolment else "",
    }  # fmt: skip


@blp.route(f"/cohorts/<{ID}:cohort_id>/sms-replies")
class CohortSmsReplies(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, SmsReplySchema(many=True))
    def get(self, cohort_id: int) -> Any:
        """Texts members sent back to their reminders, newest first (the read is audited)."""
        cohort = access.get_cohort(current_user, cohort_id)
        found = [_present(r) for r in sms.replies(cohort.id)]  # before the commit
        audit.record_reads(
            current_actor(),
            "sms_reply.read",
            "cohort",
            cohort.id,
            {r["enrolment_id"] for r in found},
        )
        db.session.commit()
        return found


@blp.route(f"/sms-replies/<{ID}:reply_id>/read")
class SmsReplyRead(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, SmsReplySchema)
    def post(self, reply_id: int) -> Any:
        """Mark a reply as read."""
        reply = db.session.get(SmsReply, reply_id)
        if reply is None:
            raise ApiError(404)
        access.get_enrolment(current_user, reply.enrolment_id)  # 404 outside my cohorts
        sms.mark_read(current_actor(), reply)
        db.session.commit()
        return _present(reply)


# -- cost ----------------------------------------------------------------------


class UsageSchema(ma.Schema):
    month = ma.fields.String(metadata={"description": "YYYY-MM (UTC)"})
    sms_segments = ma.fields.Integer(metadata={"description": "SMS parts sent this month"})
    sms_cap = ma.fields.Integer(
        allow_none=True, metadata={"description": "Monthly cap for reminders; none: no cap"}
    )
    reminders_stopped = ma.fields.Boolean(
        metadata={"description": "The cap is reached: reminders stop, risk alerts still go"}
    )


class CapSchema(ma.Schema):
    sms_cap = ma.fields.Integer(
        required=True, allow_none=True, validate=validate.Range(min=0, max=10_000_000)
    )


@blp.route("/clinic/sms-usage")
class SmsUsage(MethodView):
    @roles_required(Role.ADMIN)
    @blp.response(200, UsageSchema)
    def get(self) -> Any:
        """SMS parts sent this month against the clinic's cap."""
        return channels.usage()

    @roles_required(Role.ADMIN)
    @blp.arguments(CapSchema)
    @blp.response(200, UsageSchema)
    def put(self, data: dict[str, Any]) -> Any:
        """Set (or clear, with null) the monthly cap on SMS parts for reminders."""
        row = db.session.get(ClinicSetting, channels.SMS_CAP_KEY)
        if row is None:
            row = ClinicSetting(key=channels.SMS_CAP_KEY)
            db.session.add(row)
        row.value = data["sms_cap"]
        audit.record(current_actor(), "clinic.sms_cap")
        db.session.commit()
        return channels.usage()
