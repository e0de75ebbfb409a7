"""Cohorts: create from a programme, change, lifecycle, skipped dates; the
clinic's closed dates; the staff directory used to pick co-facilitators."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from marshmallow import validate

from ipt_groups.api.common import EARLIEST, ID, LATEST, Language, TimeZone, UserId, conflict
from ipt_groups.api.lean import lean_response
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.api.sessions import SessionSchema, present_session
from ipt_groups.errors import ApiError
from ipt_groups.extensions import db
from ipt_groups.models import (
    STAFF_ROLES,
    ClosedDate,
    Cohort,
    CohortStatus,
    EnrolmentStatus,
    GroupSession,
    Role,
    StaffRole,
)
from ipt_groups.security import current_actor, roles_required
from ipt_groups.services import access, cohorts, sessions
from ipt_groups.timesource import utcnow

blp = Blueprint("cohorts", __name__, url_prefix="/api", description="Cohorts and their calendar")

STAFF = tuple(STAFF_ROLES)
STATUSES = [s.value for s in CohortStatus]


class StaffMemberSchema(ma.Schema):
    user_id = ma.fields.Integer()
    display_name = ma.fields.String()
    role = ma.fields.String(metadata={"description": "lead, co_facilitator or supervisor"})


class CohortWriteSchema(ma.Schema):
    name = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=120),
        metadata={"description": "Internal name: staff only, never in notifications"},
    )
    programme_key = ma.fields.String(required=True, validate=validate.Length(max=40))
    language = Language(load_default="en")
    time_zone = TimeZone(required=True)
    weekday = ma.fields.Integer(
        required=True,
        validate=validate.Range(min=0, max=6),
        metadata={"description": "Meeting day: 0 Monday ... 6 Sunday"},
    )
    local_time = ma.fields.Time(
        required=True, format="%H:%M", metadata={"description": "Local start time, HH:MM"}
    )
    start_date = ma.fields.Date(
        required=True,
        validate=validate.Range(min=EARLIEST.date(), max=LATEST.date()),
        metadata={"description": "Session 1 is the first meeting day from here (not in the past)"},
    )
    session_minutes = ma.fields.Integer(validate=validate.Range(min=15, max=240))
    location_kind = ma.fields.String(
        load_default="place", validate=validate.OneOf(["place", "online"])
    )
    location = ma.fields.String(load_default="", validate=validate.Length(max=500))
    capacity = ma.fields.Integer(
        validate=validate.Range(min=1, max=100),
        metadata={"description": "Defaults to the programme's maximum group size"},
    )
    lead_id = UserId(metadata={"description": "Defaults to the creator"})
    co_facilitator_ids = ma.fields.List(
        UserId(), load_default=list, validate=validate.Length(max=10)
    )
    supervisor_ids = ma.fields.List(UserId(), load_default=list, validate=validate.Length(max=10))


class CohortUpdateSchema(CohortWriteSchema):
    class Meta:
        exclude = ("programme_key",)


class CohortSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    programme_key = ma.fields.String()
    programme_name = ma.fields.String()
    group_sessions = ma.fields.Integer()
    late_join_sessions = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": ", ".join(STATUSES)})
    allowed_transitions = ma.fields.List(ma.fields.String())
    can_manage = ma.fields.Boolean()
    language = ma.fields.String()
    time_zone = ma.fields.String()
    weekday = ma.fields.Integer()
    local_time = ma.fields.Time(format="%H:%M")
    start_date = ma.fields.Date()
    session_minutes = ma.fields.Integer()
    location_kind = ma.fields.String()
    location = ma.fields.String()
    capacity = ma.fields.Integer()
    enrolled = ma.fields.Integer()
    waitlisted = ma.fields.Integer()
    below_minimum = ma.fields.Boolean(
        metadata={"description": "Fewer enrolled members than the programme's minimum"}
    )
    staff = ma.fields.List(ma.fields.Nested(StaffMemberSchema))
    next_session = ma.fields.Nested(
        SessionSchema,
        allow_none=True,
        metadata={
            "description": "The session in progress (begun, not yet over), else the next "
            "scheduled one; null when none is left"
        },
    )
    created_at = ma.fields.AwareDateTime()


class CohortListArgs(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(STATUSES))


class StatusChangeSchema(ma.Schema):
    status = ma.fields.String(required=True, validate=validate.OneOf(STATUSES))


class ClosedDateSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    day = ma.fields.Date(required=True)
    label = ma.fields.String(load_default="", validate=validate.Length(max=120))
    cohort_id = ma.fields.Integer(dump_only=True, allow_none=True)


class StaffArgs(ma.Schema):
    role = ma.fields.String(validate=validate.OneOf([r.value for r in STAFF_ROLES]))


class StaffDirectorySchema(ma.Schema):
    id = ma.fields.Integer()
    display_name = ma.fields.String()
    role = ma.fields.String()


# kept: a hot read served through api/lean.py; see docs/benchmarks.md, issue 24 section
def present_cohort(
    cohort: Cohort,
    counts: dict[str, int] | None = None,
    upcoming: dict[int, GroupSession] | None = None,
) -> dict[str, Any]:
    """``counts`` and ``upcoming`` come loaded for a whole list; alone, they are fetched."""
    if counts is None:
        counts = cohorts.member_counts([cohort.id])[cohort.id]
    if upcoming is None:
        upcoming = sessions.next_sessions([cohort.id], utcnow())
    enrolled = counts.get(EnrolmentStatus.ENROLLED, 0)
    nxt = upcoming.get(cohort.id)
    return {
        **{k: getattr(cohort, k) for k in (
            "id", "name", "programme_key", "status", "language", "time_zone", "weekday",
            "local_time", "start_date", "session_minutes", "location_kind", "location",
            "capacity", "created_at",
        )},
        "programme_name": cohort.programme["name"],
        "group_sessions": cohort.group_session_count,
        "late_join_sessions": cohort.programme["late_join_sessions"],
        "allowed_transitions": list(cohorts.TRANSITIONS[cohort.status]),
        "can_manage": access.can_manage(current_user, cohort),
        "enrolled": enrolled,
        "waitlisted": counts.get(EnrolmentStatus.WAITLISTED, 0),
        "below_minimum": enrolled < cohort.programme["group_size_min"],
        "staff": [
            {"user_id": s.user_id, "display_name": s.user.display_name, "role": s.role}
            for s in sorted(cohort.staff, key=lambda s: list(StaffRole).index(StaffRole(s.role)))
        ],
        "next_session": present_session(nxt) if nxt else None,
    }  # fmt: skip


@blp.route("/cohorts")
class Cohorts(MethodView):
    @roles_required(*STAFF)
    @blp.arguments(CohortListArgs, location="query")
    @lean_response(blp, 200, CohortSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """Cohorts I may see: admins all, facilitators theirs, supervisors those they supervise."""
        found = cohorts.list_cohorts(current_user, args.get("status"))
        ids = [c.id for c in found]
        counts = cohorts.member_counts(ids)
        upcoming = sessions.next_sessions(ids, utcnow())
        return [present_cohort(c, counts[c.id], upcoming) for c in found]

    @roles_required(Role.ADMIN, Role.FACILITATOR)
    @blp.arguments(CohortWriteSchema)
    @blp.response(201, CohortSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a cohort from a programme; its session calendar is generated at once."""
        cohort = cohorts.create_cohort(current_actor(), current_user, data)
        db.session.commit()
        return present_cohort(cohort)


@blp.route(f"/cohorts/<{ID}:cohort_id>")
class CohortDetail(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, CohortSchema)
    def get(self, cohort_id: int) -> Any:
        """One cohort."""
        return present_cohort(access.get_cohort(current_user, cohort_id))

    @roles_required(Role.ADMIN, Role.FACILITATOR)
    @blp.arguments(CohortUpdateSchema(partial=True))
    @blp.response(200, CohortSchema)
    @blp.alt_response(
        409,
        **conflict(
            "cohort_closed", "cohort_started", "capacity_below_enrolled", "supervisor_required"
        ),
    )
    def patch(self, changes: dict[str, Any], cohort_id: int) -> Any:
        """Change a cohort. The weekly slot (day, time, zone, start) only before it starts."""
        cohort = access.get_cohort(current_user, cohort_id, manage=True)
        cohorts.update_cohort(current_actor(), cohort, changes)
        db.session.commit()
        return present_cohort(cohort)


@blp.route(f"/cohorts/<{ID}:cohort_id>/status")
class CohortStatusChange(MethodView):
    @roles_required(Role.ADMIN, Role.FACILITATOR)
    @blp.arguments(StatusChangeSchema)
    @blp.response(200, CohortSchema)
    @blp.alt_response(
        409, **conflict("invalid_transition", "supervisor_required", "sessions_remaining")
    )
    def post(self, data: dict[str, Any], cohort_id: int) -> Any:
        """Move the cohort along its lifecycle: planned -> active -> completed, or cancelled."""
        cohort = access.get_cohort(current_user, cohort_id, manage=True)
        cohorts.change_status(current_actor(), cohort, data["status"])
        db.session.commit()
        return present_cohort(cohort)


@blp.route(f"/cohorts/<{ID}:cohort_id>/skipped-dates")
class SkippedDates(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, ClosedDateSchema(many=True))
    def get(self, cohort_id: int) -> Any:
        """Dates this cohort does not meet (clinic-wide closed dates are listed separately)."""
        cohort = access.get_cohort(current_user, cohort_id)
        return sessions.list_closed_dates(cohort.id)

    @roles_required(Role.ADMIN, Role.FACILITATOR)
    @blp.arguments(ClosedDateSchema)
    @blp.response(201, ClosedDateSchema)
    @blp.alt_response(409, **conflict("already_closed", "cohort_closed"))
    def post(self, data: dict[str, Any], cohort_id: int) -> Any:
        """Skip a date: a session on it, and every later one, moves back a week."""
        cohort = access.get_cohort(current_user, cohort_id, manage=True)
        row = sessions.add_closed_date(current_actor(), data["day"], data["label"], cohort)
        db.session.commit()
        return row


@blp.route(f"/cohorts/<{ID}:cohort_id>/skipped-dates/<{ID}:date_id>")
class SkippedDate(MethodView):
    @roles_required(Role.ADMIN, Role.FACILITATOR)
    @blp.response(204)
    def delete(self, cohort_id: int, date_id: int) -> None:
        """Stop skipping a date (sessions already moved stay where they are)."""
        cohort = access.get_cohort(current_user, cohort_id, manage=True)
        row = db.session.get(ClosedDate, date_id)
        if row is None or row.cohort_id != cohort.id:
            raise ApiError(404)
        sessions.remove_closed_date(current_actor(), row)
        db.session.commit()


@blp.route("/closed-dates")
class ClosedDates(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, ClosedDateSchema(many=True))
    def get(self) -> Any:
        """The clinic's closed dates (holidays), for every cohort."""
        return sessions.list_closed_dates(None)

    @roles_required(Role.ADMIN)
    @blp.arguments(ClosedDateSchema)
    @blp.response(201, ClosedDateSchema)
    @blp.alt_response(409, **conflict("already_closed"))
    def post(self, data: dict[str, Any]) -> Any:
        """Close the clinic on a date: every running cohort's session on it moves back a week."""
        row = sessions.add_closed_date(current_actor(), data["day"], data["label"], None)
        db.session.commit()
        return row


@blp.route(f"/closed-dates/<{ID}:date_id>")
class ClosedDateDetail(MethodView):
    @roles_required(Role.ADMIN)
    @blp.response(204)
    def delete(self, date_id: int) -> None:
        """Reopen a date (sessions already moved stay where they are)."""
        row = db.session.get(ClosedDate, date_id)
        if row is None or row.cohort_id is not None:
            raise ApiError(404)
        sessions.remove_closed_date(current_actor(), row)
        db.session.commit()


@blp.route("/staff")
class StaffDirectory(MethodView):
    @roles_required(*STAFF)
    @blp.arguments(StaffArgs, location="query")
    @blp.response(200, StaffDirectorySchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """Active staff by name and role, to pick co-facilitators and supervisors."""
        return cohorts.staff_directory(args.get("role"))
