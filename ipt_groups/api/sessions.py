"""Group sessions (list, detail, reschedule, cancel, catch-up) and members'
one-to-one meetings (book, move, cancel)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from marshmallow import validate

from ipt_groups.api.common import ID, LocalDateTime, conflict
from ipt_groups.api.derived import derived
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.extensions import db
from ipt_groups.models import STAFF_ROLES, GroupSession, MemberMeeting, Role
from ipt_groups.protocol.recurrence import utc_to_local
from ipt_groups.security import current_actor, roles_required
from ipt_groups.services import access, enrolments, sessions

blp = Blueprint("sessions", __name__, url_prefix="/api", description="Sessions and meetings")

STAFF = tuple(STAFF_ROLES)
MANAGERS = (Role.ADMIN, Role.FACILITATOR)


class SessionSchema(ma.Schema):
    id = ma.fields.Integer()
    cohort_id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"description": "group (numbered) or catch_up"})
    number = ma.fields.Integer(allow_none=True)
    of = ma.fields.Integer(metadata={"description": "Number of group sessions in the programme"})
    phase = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"description": "scheduled or cancelled"})
    starts_at = ma.fields.AwareDateTime(metadata={"description": "UTC"})
    ends_at = ma.fields.AwareDateTime()
    local_starts_at = ma.fields.AwareDateTime(
        metadata={"description": "The start in the cohort's time zone, with its offset"}
    )
    time_zone = ma.fields.String()
    duration_minutes = ma.fields.Integer()
    rescheduled = ma.fields.Boolean()
    original_starts_at = ma.fields.AwareDateTime(allow_none=True)
    cancel_reason = ma.fields.String(allow_none=True)


# kept: SessionSchema is nested in the runner's and the cohort list's lean answers
# (api/lean.py), which are dumped after the view's commit (the read-audit rows); a
# schema reading ``s.cohort`` then would reload every expired cohort, one SELECT
# each (tests/test_cohorts.py counts them), so the values are read here, first.
def present_session(s: GroupSession) -> dict[str, Any]:
    zone = s.cohort.time_zone
    return {
        **{k: getattr(s, k) for k in (
            "id", "cohort_id", "kind", "number", "phase", "status", "starts_at",
            "duration_minutes", "original_starts_at", "cancel_reason",
        )},
        "of": s.cohort.group_session_count,
        "ends_at": s.ends_at,
        "local_starts_at": utc_to_local(s.starts_at, zone),
        "time_zone": zone,
        "rescheduled": s.original_starts_at is not None,
    }  # fmt: skip


class RescheduleSchema(ma.Schema):
    starts_at_local = LocalDateTime(required=True)
    scope = ma.fields.String(
        load_default="this",
        validate=validate.OneOf(["this", "this_and_later"]),
        metadata={"description": "this: only this session; this_and_later: it and every "
                  "later numbered session move by the same wall-clock shift"},
    )  # fmt: skip


class RescheduleResultSchema(ma.Schema):
    moved = ma.fields.List(ma.fields.Nested(SessionSchema))


class CancelSchema(ma.Schema):
    reason = ma.fields.String(load_default=None, validate=validate.Length(max=200))


class CatchUpSchema(ma.Schema):
    starts_at_local = LocalDateTime(required=True)
    duration_minutes = ma.fields.Integer(validate=validate.Range(min=15, max=240))
    replaces_number = ma.fields.Integer(
        metadata={"description": "The numbered session this one makes up for, if any"}
    )


def _meeting_local_start(m: MemberMeeting) -> datetime | None:
    return utc_to_local(m.starts_at, m.enrolment.cohort.time_zone) if m.starts_at else None


class MeetingSchema(ma.Schema):
    """Dumps a MemberMeeting."""

    id = ma.fields.Integer(dump_only=True)
    enrolment_id = ma.fields.Integer(dump_only=True)
    kind = ma.fields.String(dump_only=True)
    label = ma.fields.String(dump_only=True)
    after_session = ma.fields.Integer(dump_only=True)
    starts_at = ma.fields.AwareDateTime(dump_only=True, allow_none=True)
    local_starts_at = derived(
        ma.fields.AwareDateTime, _meeting_local_start, dump_only=True, allow_none=True
    )
    duration_minutes = ma.fields.Integer(dump_only=True)
    location = ma.fields.String(dump_only=True)
    status = ma.fields.String(dump_only=True)


class MeetingUpdateSchema(ma.Schema):
    starts_at_local = LocalDateTime(allow_none=True)
    duration_minutes = ma.fields.Integer(validate=validate.Range(min=10, max=180))
    location = ma.fields.String(validate=validate.Length(max=500))
    status = ma.fields.String(validate=validate.OneOf(["scheduled", "cancelled"]))


@blp.route(f"/cohorts/<{ID}:cohort_id>/sessions")
class CohortSessions(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, SessionSchema(many=True))
    def get(self, cohort_id: int) -> Any:
        """The cohort's calendar: numbered and catch-up sessions, in time order."""
        cohort = access.get_cohort(current_user, cohort_id)
        return [present_session(s) for s in cohort.sessions]

    @roles_required(*MANAGERS)
    @blp.arguments(CatchUpSchema)
    @blp.response(201, SessionSchema)
    @blp.alt_response(409, **conflict("cohort_closed"))
    def post(self, data: dict[str, Any], cohort_id: int) -> Any:
        """Add a catch-up session."""
        cohort = access.get_cohort(current_user, cohort_id, manage=True)
        session = sessions.add_catch_up(
            current_actor(),
            cohort,
            data["starts_at_local"],
            duration_minutes=data.get("duration_minutes"),
            replaces_number=data.get("replaces_number"),
        )
        db.session.commit()
        return present_session(session)


@blp.route(f"/sessions/<{ID}:session_id>")
class SessionDetail(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, SessionSchema)
    def get(self, session_id: int) -> Any:
        """One session."""
        return present_session(access.get_session(current_user, session_id))


@blp.route(f"/sessions/<{ID}:session_id>/reschedule")
class SessionReschedule(MethodView):
    @roles_required(*MANAGERS)
    @blp.arguments(RescheduleSchema)
    @blp.response(200, RescheduleResultSchema)
    @blp.alt_response(409, **conflict("cohort_closed", "session_cancelled", "session_started"))
    def post(self, data: dict[str, Any], session_id: int) -> Any:
        """Move a session, or it and all later ones, to a new local date and time."""
        session = access.get_session(current_user, session_id, manage=True)
        moved = sessions.reschedule(
            current_actor(), session, data["starts_at_local"], data["scope"]
        )
        db.session.commit()
        return {"moved": [present_session(s) for s in moved]}


@blp.route(f"/sessions/<{ID}:session_id>/cancel")
class SessionCancel(MethodView):
    @roles_required(*MANAGERS)
    @blp.arguments(CancelSchema)
    @blp.response(200, SessionSchema)
    @blp.alt_response(409, **conflict("cohort_closed", "session_cancelled", "session_started"))
    def post(self, data: dict[str, Any], session_id: int) -> Any:
        """Cancel a session (add a catch-up session to make up for it)."""
        session = access.get_session(current_user, session_id, manage=True)
        sessions.cancel(current_actor(), session, data["reason"])
        db.session.commit()
        return present_session(session)


@blp.route(f"/meetings/<{ID}:meeting_id>")
class MeetingDetail(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, MeetingSchema)
    def get(self, meeting_id: int) -> Any:
        """A member's one-to-one meeting."""
        return access.get_meeting(current_user, meeting_id)

    @roles_required(*MANAGERS)
    @blp.arguments(MeetingUpdateSchema)
    @blp.response(200, MeetingSchema)
    @blp.alt_response(409, **conflict("not_current"))
    def patch(self, changes: dict[str, Any], meeting_id: int) -> Any:
        """Book, move or cancel a one-to-one meeting (time in the cohort's zone)."""
        meeting = access.get_meeting(current_user, meeting_id, manage=True)
        enrolments.update_meeting(current_actor(), meeting, changes)
        db.session.commit()
        return meeting
