"""My schedule, and private iCalendar feeds for calendar apps."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, current_app
from flask.views import MethodView
from flask_login import current_user

from ipt_groups.api.common import public_base_url
from ipt_groups.api.lean import lean_response
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.errors import ApiError
from ipt_groups.extensions import db
from ipt_groups.security import current_actor, public
from ipt_groups.services import audit, calendar
from ipt_groups.services.calendar import CalendarEvent

blp = Blueprint("calendar", __name__, url_prefix="/api", description="Schedules and calendar feeds")


class EventSchema(ma.Schema):
    kind = ma.fields.String(metadata={"description": "group, catch_up or individual"})
    title = ma.fields.String(metadata={"description": "Neutral wording, in my language"})
    session_id = ma.fields.Integer(allow_none=True)
    meeting_id = ma.fields.Integer(allow_none=True)
    cohort_id = ma.fields.Integer()
    number = ma.fields.Integer(allow_none=True)
    of = ma.fields.Integer(allow_none=True)
    starts_at = ma.fields.AwareDateTime(metadata={"description": "UTC"})
    ends_at = ma.fields.AwareDateTime()
    local_starts_at = ma.fields.AwareDateTime(
        metadata={"description": "The start in my own time zone, with its offset"}
    )
    time_zone = ma.fields.String(metadata={"description": "The zone the meeting is planned in"})
    location = ma.fields.String()
    status = ma.fields.String(metadata={"description": "scheduled or cancelled"})
    cannot_come = ma.fields.Boolean(
        metadata={"description": "I have told the facilitator I cannot come (members)"}
    )


class MyGroupSchema(ma.Schema):
    """What a member may know about their group: no internal name, no other members."""

    id = ma.fields.Integer()
    time_zone = ma.fields.String()
    weekday = ma.fields.Integer()
    local_time = ma.fields.Time(format="%H:%M")
    location_kind = ma.fields.String()
    location = ma.fields.String()
    group_sessions = ma.fields.Integer(attribute="group_session_count")
    status = ma.fields.String()


class ScheduleSchema(ma.Schema):
    status = ma.fields.String(
        metadata={"description": "enrolled, waitlisted or none (members); staff"}
    )
    group = ma.fields.Nested(MyGroupSchema, allow_none=True)
    facilitators = ma.fields.List(ma.fields.String())
    waitlist_position = ma.fields.Integer(allow_none=True)
    next = ma.fields.Nested(EventSchema, allow_none=True)
    events = ma.fields.List(ma.fields.Nested(EventSchema))


class FeedSchema(ma.Schema):
    active = ma.fields.Boolean()
    url = ma.fields.String(
        allow_none=True, metadata={"description": "Only in the response that creates it"}
    )
    created_at = ma.fields.AwareDateTime(allow_none=True)
    last_used_at = ma.fields.AwareDateTime(allow_none=True)


def _event(e: CalendarEvent, zone: str, apologised: set[int]) -> dict[str, Any]:
    return {
        **e.__dict__,
        "local_starts_at": e.local_start(zone),
        "cannot_come": e.session_id in apologised,
    }


@blp.route("/me/schedule")
class MySchedule(MethodView):
    @lean_response(blp, 200, ScheduleSchema)
    def get(self) -> Any:
        """My sessions and meetings, past and future, with the next one first-class.

        Members see their own group's sessions and their own one-to-one meetings;
        staff see the cohorts they work in."""
        found = calendar.schedule_for(current_user)
        zone = current_user.time_zone
        apologised = found.apologised
        return {
            "status": found.status,
            "group": found.cohort,
            "facilitators": found.facilitators,
            "waitlist_position": found.waitlist_position,
            "next": _event(found.next, zone, apologised) if found.next else None,
            "events": [_event(e, zone, apologised) for e in found.events],
        }


@blp.route("/me/calendar-feed")
class MyCalendarFeed(MethodView):
    @blp.response(200, FeedSchema)
    def get(self) -> Any:
        """Whether I have a calendar feed (its secret URL is shown only when created)."""
        feed = calendar.active_feed(current_user)
        if feed is None:
            return {"active": False}
        return {"active": True, "created_at": feed.created_at, "last_used_at": feed.last_used_at}

    @blp.response(201, FeedSchema)
    def post(self) -> Any:
        """Create my private feed URL, or replace it (the old URL stops working)."""
        feed, token = calendar.issue_feed(current_user)
        audit.record(current_actor(), "calendar_feed.issue", "user", current_user.id)
        db.session.commit()
        return {
            "active": True,
            "url": calendar.feed_url(public_base_url(), token),
            "created_at": feed.created_at,
        }

    @blp.response(204)
    def delete(self) -> None:
        """Turn my feed off: calendar apps stop receiving updates."""
        calendar.revoke_feeds(current_user)
        audit.record(current_actor(), "calendar_feed.revoke", "user", current_user.id)
        db.session.commit()


@blp.route("/calendar/<string(length=43):token>.ics")
class CalendarFeedFile(MethodView):
    @public
    @blp.response(200, content_type="text/calendar")
    @blp.alt_response(404, description="Unknown or revoked feed")
    def get(self, token: str) -> Response:
        """A private iCalendar feed (the secret in the URL is the credential)."""
        user = calendar.resolve_feed(token)
        if user is None:
            raise ApiError(404)
        body = calendar.render_ics(
            user,
            calendar.events_for(user),
            public_base_url(),
            uid_key=current_app.config["SECRET_KEY"],
        )
        db.session.commit()
        return Response(body, content_type="text/calendar; charset=utf-8")
