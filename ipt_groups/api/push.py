"""Web Push: the public key, devices, a test send, preferences, wording, and
who got each session's reminder."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView
from flask_login import current_user
from marshmallow import validate

from ipt_groups.api.common import ID, Language, TimeZone, conflict
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.errors import ApiError
from ipt_groups.extensions import db
from ipt_groups.i18n import SUPPORTED_LANGUAGES
from ipt_groups.messaging import messages
from ipt_groups.messaging.endpoints import policy
from ipt_groups.models import STAFF_ROLES, PushSubscription, Role
from ipt_groups.push import dispatcher
from ipt_groups.ratelimit import limited
from ipt_groups.security import current_actor, public, roles_required
from ipt_groups.services import (
    access,
    channels,
    notifications,
    outbox,
    receipts,
    reminders,
    throttle,
)
from ipt_groups.services import (
    push as push_service,
)

blp = Blueprint("push", __name__, url_prefix="/api", description="Notifications on devices")

EVERYONE = tuple(Role)
# A test push goes out to every device of the user through the push services:
# enough to try a few phones, too few to use us for flooding anyone.
PUSH_TEST = throttle.Limit("push:test", hits=5, window=timedelta(minutes=10))


class VapidKeySchema(ma.Schema):
    public_key = ma.fields.String(
        metadata={"description": "applicationServerKey for PushManager.subscribe()"}
    )


class SubscriptionKeysSchema(ma.Schema):
    p256dh = ma.fields.String(required=True, validate=validate.Length(min=80, max=128))
    auth = ma.fields.String(required=True, validate=validate.Length(min=16, max=64))


class SubscribeSchema(ma.Schema):
    """``PushSubscription.toJSON()`` as the browser gives it."""

    endpoint = ma.fields.String(required=True, validate=validate.Length(min=10, max=2048))
    keys = ma.fields.Nested(SubscriptionKeysSchema, required=True)
    expirationTime = ma.fields.Integer(allow_none=True, load_default=None)  # noqa: N815


class UnsubscribeSchema(ma.Schema):
    endpoint = ma.fields.String(required=True, validate=validate.Length(min=10, max=2048))


class DeviceSchema(ma.Schema):
    id = ma.fields.Integer()
    push_host = ma.fields.String()
    user_agent = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    last_seen_at = ma.fields.AwareDateTime()
    last_success_at = ma.fields.AwareDateTime(allow_none=True)
    last_failure = ma.fields.String(allow_none=True)


class TestOutcomeSchema(ma.Schema):
    device_id = ma.fields.Integer(allow_none=True)
    outcome = ma.fields.String()
    status_code = ma.fields.Integer(allow_none=True)


class TestSendSchema(ma.Schema):
    devices = ma.fields.Integer()
    delivered = ma.fields.Integer()
    outcomes = ma.fields.List(ma.fields.Nested(TestOutcomeSchema))


def _device(row: PushSubscription) -> dict[str, Any]:
    return {
        "id": row.id, "push_host": push_service.host_of(row), "user_agent": row.user_agent,
        "created_at": row.created_at, "last_seen_at": row.last_seen_at,
        "last_success_at": row.last_success_at, "last_failure": row.last_failure,
    }  # fmt: skip


@blp.route("/push/vapid-public-key")
class VapidPublicKey(MethodView):
    @public
    @blp.response(200, VapidKeySchema)
    def get(self) -> Any:
        """The server's VAPID public key, for subscribing a browser."""
        return {"public_key": current_app.config["VAPID_KEYS"].public_key}


@blp.route("/push/subscriptions")
class Subscriptions(MethodView):
    @roles_required(*EVERYONE)
    @blp.response(200, DeviceSchema(many=True))
    def get(self) -> Any:
        """My devices that receive notifications."""
        return [_device(r) for r in push_service.my_devices(current_user)]

    @roles_required(*EVERYONE)
    @blp.arguments(SubscribeSchema)
    @blp.response(201, DeviceSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Save this browser's subscription (send it on every app start; an
        endpoint already known is updated, not duplicated). 200 when it existed."""
        row, created = push_service.subscribe(
            current_user,
            data["endpoint"],
            data["keys"]["p256dh"],
            data["keys"]["auth"],
            request.headers.get("User-Agent"),
            allowed=policy(current_app.config["PUSH_ALLOWED_HOSTS"]),
        )
        db.session.commit()
        return _device(row), 201 if created else 200

    @roles_required(*EVERYONE)
    @blp.arguments(UnsubscribeSchema)
    @blp.response(204)
    def delete(self, data: dict[str, Any]) -> None:
        """Stop notifications to this browser (by its endpoint)."""
        if not push_service.unsubscribe(current_user, endpoint=data["endpoint"]):
            raise ApiError(404)
        db.session.commit()


@blp.route(f"/push/subscriptions/<{ID}:device_id>")
class Subscription(MethodView):
    @roles_required(*EVERYONE)
    @blp.response(204)
    def delete(self, device_id: int) -> None:
        """Remove one of my devices (e.g. a lost phone)."""
        if not push_service.unsubscribe(current_user, device_id=device_id):
            raise ApiError(404)
        db.session.commit()


@blp.route("/push/test")
class TestSend(MethodView):
    @limited(PUSH_TEST)
    @roles_required(*EVERYONE)
    @blp.response(200, TestSendSchema)
    @blp.alt_response(409, **conflict("conflict"))
    @blp.alt_response(429, description="More than 5 test sends in 10 minutes; see Retry-After")
    def post(self) -> Any:
        """Send a test notification to my own devices now, and say what happened."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        result = push_service.send_test(
            current_user, lambda ids: dispatcher.for_app(app).send_rows(ids)
        )
        db.session.commit()
        return {
            "devices": result.devices,
            "delivered": result.delivered,
            "outcomes": result.outcomes,
        }


class ShownSchema(ma.Schema):
    token = ma.fields.String(
        required=True,
        validate=validate.Length(min=24, max=41),
        metadata={"description": "The push payload's `receipt`, as received"},
    )


@blp.route("/push/shown")
class Shown(MethodView):
    @public
    @limited(receipts.SHOWN)
    @blp.arguments(ShownSchema)
    @blp.response(204)
    @blp.alt_response(404, description="Not a receipt we issued (code receipt_unknown)")
    @blp.alt_response(429, description="Too many receipts, or too many bad ones, from here")
    def post(self, data: dict[str, Any]) -> None:
        """A service worker has shown a notification: its receipt token says which.

        No login: the token (only in the encrypted payload) is the credential
        and marks that one notification. Send it without cookies."""
        receipts.mark_shown(
            data["token"],
            current_app.config["SECRET_KEY"].encode(),
            subject=f"addr:{request.remote_addr or 'unknown'}",
        )
        db.session.commit()


# -- preferences -------------------------------------------------------------


class QuietHoursSchema(ma.Schema):
    start = ma.fields.Time(required=True, format="%H:%M")
    end = ma.fields.Time(required=True, format="%H:%M")

    @ma.validates_schema
    def _different(self, data: dict[str, time], **_: Any) -> None:
        if data["start"] == data["end"]:
            raise ma.ValidationError("Start and end must differ; send null for no quiet hours.")


class PreferencesSchema(ma.Schema):
    session_24h = ma.fields.Boolean(metadata={"description": "A reminder the day before"})
    session_1h = ma.fields.Boolean(metadata={"description": "A reminder an hour before"})
    content_released = ma.fields.Boolean(metadata={"description": "A new reading"})
    checkin_due = ma.fields.Boolean(metadata={"description": "A few questions are waiting"})
    quiet_hours = ma.fields.Nested(
        QuietHoursSchema,
        allow_none=True,
        metadata={"description": "Local times; messages due inside are moved, never dropped"},
    )
    language = Language()
    time_zone = TimeZone()


def _preferences(prefs: outbox.Preferences) -> dict[str, Any]:
    quiet = None
    if prefs.quiet_start is not None and prefs.quiet_end is not None:
        quiet = {"start": prefs.quiet_start, "end": prefs.quiet_end}
    return {
        "session_24h": prefs.session_24h, "session_1h": prefs.session_1h,
        "content_released": prefs.content_released, "checkin_due": prefs.checkin_due,
        "quiet_hours": quiet, "language": current_user.language,
        "time_zone": current_user.time_zone,
    }  # fmt: skip


@blp.route("/me/notification-preferences")
class Preferences(MethodView):
    @roles_required(*EVERYONE)
    @blp.response(200, PreferencesSchema)
    def get(self) -> Any:
        """Which notifications I get, my quiet hours, language and time zone."""
        return _preferences(outbox.preferences_for([current_user.id])[current_user.id])

    @roles_required(*EVERYONE)
    @blp.arguments(PreferencesSchema)
    @blp.response(200, PreferencesSchema)
    def put(self, data: dict[str, Any]) -> Any:
        """Change them; fields left out keep their value. Pending messages are
        re-planned at once (switched-off kinds cancelled, quiet hours applied)."""
        prefs = reminders.save_preferences(current_user, data)
        db.session.commit()
        return _preferences(prefs)


# -- wording -----------------------------------------------------------------


class TemplateSchema(ma.Schema):
    title = ma.fields.String(validate=validate.Length(min=1, max=messages.MAX_TEXT_LENGTH))
    body = ma.fields.String(validate=validate.Length(min=1, max=messages.MAX_TEXT_LENGTH))


class TemplatesSchema(ma.Schema):
    templates = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.OneOf(SUPPORTED_LANGUAGES)),
        values=ma.fields.Dict(
            keys=ma.fields.String(
                validate=validate.OneOf(sorted(messages.DEFAULT_TEMPLATES["en"]))
            ),
            values=ma.fields.Nested(TemplateSchema),
        ),
        required=True,
        metadata={
            "description": "Per language and kind: title and body. Placeholders {day} and "
            "{time} only; words that name what the group is about are refused."
        },
    )


@blp.route("/push/templates")
class Templates(MethodView):
    @roles_required(Role.ADMIN)
    @blp.response(200, TemplatesSchema)
    def get(self) -> Any:
        """The wording of every notification, per language."""
        return {"templates": notifications.templates()}

    @roles_required(Role.ADMIN)
    @blp.arguments(TemplatesSchema)
    @blp.response(200, TemplatesSchema)
    def put(self, data: dict[str, Any]) -> Any:
        """Replace the clinic's edits; kinds and fields left out use the defaults."""
        result = notifications.set_templates(current_actor(), data["templates"])
        db.session.commit()
        return {"templates": result}


# -- facilitators: who got the reminder --------------------------------------


class MemberDeliverySchema(ma.Schema):
    enrolment_id = ma.fields.Integer()
    display_name = ma.fields.String()
    devices = ma.fields.Integer(metadata={"description": "Devices set up for notifications"})
    status = ma.fields.String(
        metadata={
            "description": "shown (the phone displayed it), delivered (the push service "
            "or provider accepted it), failed, no_channel (phone them), pending, not_planned, "
            "cancelled (e.g. they said they can't come) or expired"
        }
    )
    kind = ma.fields.String(allow_none=True)
    last_attempt_at = ma.fields.AwareDateTime(allow_none=True)
    channel = ma.fields.String(
        allow_none=True, metadata={"description": "push, sms or email: the one that delivered"}
    )
    delivery_state = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "SMS delivery report: queued, sent, delivered, undelivered, failed"
        },
    )
    why = ma.fields.String(
        allow_none=True,
        metadata={"description": "Why channels did not carry it, e.g. 'push:none sms:no_consent'"},
    )
    shown_at = ma.fields.AwareDateTime(
        allow_none=True,
        metadata={
            "description": "When a device of theirs displayed it (its service worker said so)"
        },
    )


@blp.route(f"/sessions/<{ID}:session_id>/reminders")
class SessionReminders(MethodView):
    @roles_required(*STAFF_ROLES)
    @blp.response(200, MemberDeliverySchema(many=True))
    def get(self, session_id: int) -> Any:
        """Per member: was the reminder for this session delivered?"""
        session = access.get_session(current_user, session_id)
        return [
            vars(d)
            for d in push_service.session_deliveries(session, current_app.config["CHANNELS"])
        ]


# -- channels ------------------------------------------------------------------


class AvailableSchema(ma.Schema):
    push = ma.fields.Boolean()
    sms = ma.fields.Boolean(metadata={"description": "The clinic has an SMS provider"})
    email = ma.fields.Boolean(metadata={"description": "The clinic has a mail server"})


class ChannelsSchema(ma.Schema):
    channels = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(("push", "sms", "email"))),
        validate=validate.Length(min=1, max=3),
        metadata={"description": 'The order to try, e.g. ["push", "sms"]'},
    )
    phone = ma.fields.String(
        allow_none=True,
        validate=validate.Length(max=30),
        metadata={"description": "Stored in E.164; local form is read in my group's country"},
    )
    email = ma.fields.Email(allow_none=True, validate=validate.Length(max=254))
    sms_consent = ma.fields.Boolean()
    email_consent = ma.fields.Boolean()
    sms_opted_out = ma.fields.Boolean(
        dump_only=True, metadata={"description": "This number sent STOP; send START to resume"}
    )
    available = ma.fields.Nested(AvailableSchema, dump_only=True)


@blp.route("/me/channels")
class MyChannels(MethodView):
    @roles_required(*EVERYONE)
    @blp.response(200, ChannelsSchema)
    def get(self) -> Any:
        """How I am reached: the channel order, my number and address, consent."""
        return channels.my_channels(current_user, current_app.config["CHANNELS"])

    @roles_required(*EVERYONE)
    @blp.arguments(ChannelsSchema)
    @blp.response(200, ChannelsSchema)
    def put(self, data: dict[str, Any]) -> Any:
        """Change them; fields left out keep their value."""
        channels.save_my_channels(current_actor(), current_user, data)
        db.session.commit()
        return channels.my_channels(current_user, current_app.config["CHANNELS"])
