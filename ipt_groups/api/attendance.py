"""Taking attendance, members' "I can't come", and follow-up tasks."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from marshmallow import validate

from ipt_groups.api.common import ID, conflict
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.errors import ApiError
from ipt_groups.extensions import db
from ipt_groups.models import STAFF_ROLES, AttendanceStatus, FollowUp, GroupSession, Role
from ipt_groups.security import current_actor, roles_required
from ipt_groups.services import access, attendance
from ipt_groups.services.enrolments import current_enrolment

blp = Blueprint("attendance", __name__, url_prefix="/api", description="Attendance")

STAFF = tuple(STAFF_ROLES)
MANAGERS = (Role.ADMIN, Role.FACILITATOR)
CLIENT_KEY = ma.fields.String(
    validate=validate.Length(min=8, max=64),
    metadata={"description": "Unique per batch (e.g. a UUID); a batch replayed with the same "
              "key is not applied again"},
)  # fmt: skip


class EntrySchema(ma.Schema):
    enrolment_id = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    status = ma.fields.String(
        required=True, validate=validate.OneOf([s.value for s in AttendanceStatus])
    )


class AttendanceWriteSchema(ma.Schema):
    entries = ma.fields.List(
        ma.fields.Nested(EntrySchema), required=True, validate=validate.Length(min=1, max=100)
    )
    client_key = CLIENT_KEY


class AllPresentSchema(ma.Schema):
    client_key = CLIENT_KEY


class RegisterRowSchema(ma.Schema):
    enrolment_id = ma.fields.Integer()
    display_name = ma.fields.String()
    member_status = ma.fields.String()
    status = ma.fields.String(allow_none=True, metadata={"description": "None until recorded"})
    cannot_come = ma.fields.Boolean()
    cannot_come_reason = ma.fields.String(allow_none=True)


class RegisterSchema(ma.Schema):
    session_id = ma.fields.Integer()
    expected = ma.fields.Integer(metadata={"description": "Enrolled minus apologies"})
    minimum = ma.fields.Integer()
    below_minimum = ma.fields.Boolean()
    warning = ma.fields.String(allow_none=True)
    entries = ma.fields.List(ma.fields.Nested(RegisterRowSchema))


class ApologySchema(ma.Schema):
    reason = ma.fields.String(load_default=None, validate=validate.Length(max=200))


class ApologyResultSchema(ma.Schema):
    session_id = ma.fields.Integer()
    reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()


class FollowUpSchema(ma.Schema):
    id = ma.fields.Integer()
    cohort_id = ma.fields.Integer()
    enrolment_id = ma.fields.Integer()
    display_name = ma.fields.String(attribute="enrolment.display_name")
    session_id = ma.fields.Integer(metadata={"description": "The session they missed"})
    kind = ma.fields.String()
    due_at = ma.fields.AwareDateTime(
        allow_none=True, metadata={"description": "Contact them before this (the next session)"}
    )
    done_at = ma.fields.AwareDateTime(allow_none=True)


def present_register(reg: attendance.Register) -> dict[str, Any]:
    warning = None
    if reg.below_minimum:
        warning = (
            f"Only {reg.expected} member(s) expected; the programme needs at least "
            f"{reg.minimum} for the group to work well."
        )
    return {
        "session_id": reg.session.id,
        "expected": reg.expected,
        "minimum": reg.minimum,
        "below_minimum": reg.below_minimum,
        "warning": warning,
        "entries": [
            {
                "enrolment_id": r.enrolment.id,
                "display_name": r.enrolment.display_name,
                "member_status": r.enrolment.status,
                "status": r.status,
                "cannot_come": r.apology is not None,
                "cannot_come_reason": r.apology.reason if r.apology else None,
            }
            for r in reg.rows
        ],
    }


@blp.route(f"/sessions/<{ID}:session_id>/attendance")
class SessionAttendance(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, RegisterSchema)
    def get(self, session_id: int) -> Any:
        """The register: each member, their mark and whether they said they can't come."""
        session = access.get_session(current_user, session_id)
        return present_register(attendance.register(session))

    @roles_required(*MANAGERS)
    @blp.arguments(AttendanceWriteSchema)
    @blp.response(200, RegisterSchema)
    @blp.alt_response(409, **conflict("key_reused"))
    def put(self, data: dict[str, Any], session_id: int) -> Any:
        """Record or correct marks (present, late, excused, absent); safe to replay."""
        session = access.get_session(current_user, session_id, manage=True)
        marks = [(e["enrolment_id"], e["status"]) for e in data["entries"]]
        reg = attendance.record(
            current_actor(), current_user, session, marks, data.get("client_key")
        )
        # Presented before the commit: after it every loaded object is expired and
        # presenting would read each member and apology again, one by one.
        body = present_register(reg)
        db.session.commit()
        return body


@blp.route(f"/sessions/<{ID}:session_id>/attendance/all-present")
class SessionAllPresent(MethodView):
    @roles_required(*MANAGERS)
    @blp.arguments(AllPresentSchema)
    @blp.response(200, RegisterSchema)
    @blp.alt_response(409, **conflict("key_reused"))
    def post(self, data: dict[str, Any], session_id: int) -> Any:
        """Mark everyone present (those who said they can't come: excused), then correct."""
        session = access.get_session(current_user, session_id, manage=True)
        reg = attendance.all_present(current_actor(), current_user, session, data.get("client_key"))
        body = present_register(reg)  # before the commit, as in the PUT
        db.session.commit()
        return body


def _my_session(session_id: int) -> tuple[Any, GroupSession]:
    member = current_enrolment(current_user)
    session = db.session.get(GroupSession, session_id)
    if member is None or session is None or session.cohort_id != member.cohort_id:
        raise ApiError(404)
    return member, session


@blp.route(f"/me/sessions/<{ID}:session_id>/cannot-come")
class MyApology(MethodView):
    @roles_required(Role.PARTICIPANT)
    @blp.arguments(ApologySchema)
    @blp.response(200, ApologyResultSchema)
    @blp.alt_response(409, **conflict("session_not_upcoming"))
    def put(self, data: dict[str, Any], session_id: int) -> Any:
        """Tell the facilitator I can't come to this session (reason optional)."""
        member, session = _my_session(session_id)
        apology = attendance.apologise(current_actor(), member, session, data["reason"])
        db.session.commit()
        return apology

    @roles_required(Role.PARTICIPANT)
    @blp.response(204)
    def delete(self, session_id: int) -> None:
        """I can come after all."""
        member, session = _my_session(session_id)
        attendance.withdraw_apology(current_actor(), member, session)
        db.session.commit()


@blp.route(f"/cohorts/<{ID}:cohort_id>/follow-ups")
class CohortFollowUps(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, FollowUpSchema(many=True))
    def get(self, cohort_id: int) -> Any:
        """Open follow-up tasks: members to contact after their first absence."""
        cohort = access.get_cohort(current_user, cohort_id)
        return attendance.open_follow_ups([cohort.id])


@blp.route(f"/follow-ups/<{ID}:task_id>/done")
class FollowUpDone(MethodView):
    @roles_required(*MANAGERS)
    @blp.response(200, FollowUpSchema)
    def post(self, task_id: int) -> Any:
        """Mark a follow-up as done."""
        task = db.session.get(FollowUp, task_id)
        if task is None:
            raise ApiError(404)
        access.get_cohort(current_user, task.cohort_id, manage=True)
        attendance.complete_follow_up(current_actor(), task)
        db.session.commit()
        return task
