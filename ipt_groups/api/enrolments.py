"""Enrolment: add members (screening, consent), list, update, withdraw,
re-activate, move, and the waitlist."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_login import current_user
from marshmallow import validate

from ipt_groups.api.common import ID, Language, TimeZone, conflict, public_base_url
from ipt_groups.api.invites import IssuedInviteSchema
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.api.sessions import MeetingSchema
from ipt_groups.extensions import db
from ipt_groups.models import STAFF_ROLES, Enrolment, EnrolmentStatus, Role
from ipt_groups.security import current_actor, roles_required
from ipt_groups.services import access, audit, enrolments, invites

blp = Blueprint("enrolments", __name__, url_prefix="/api", description="Members of a cohort")

STAFF = tuple(STAFF_ROLES)
MANAGERS = (Role.ADMIN, Role.FACILITATOR)
PHONE = r"^\+?[0-9 ()-]{6,30}$"


class ScreeningSchema(ma.Schema):
    suicide_plan_or_attempt = ma.fields.Boolean(
        required=True,
        metadata={"description": "Current suicide plan, or an attempt in the last three "
                  "months. Yes means referral, not enrolment."},
    )  # fmt: skip
    needs_specialist_care = ma.fields.Boolean(
        required=True,
        metadata={"description": "Psychosis, bipolar disorder, substance dependence or another "
                  "condition that needs specialist care first. Yes means referral."},
    )  # fmt: skip


class ConsentSchema(ma.Schema):
    version = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "The consent text version read to the member"},
    )
    given = ma.fields.Boolean(required=True, validate=validate.Equal(True))


class EnrolmentCreateSchema(ma.Schema):
    display_name = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=120),
        metadata={"description": "A name or alias the group uses"},
    )
    contact_phone = ma.fields.String(validate=validate.Regexp(PHONE), allow_none=True)
    contact_email = ma.fields.Email(validate=validate.Length(max=254), allow_none=True)
    language = Language()
    time_zone = TimeZone(metadata={"description": "Defaults to the cohort's"})
    problem_areas = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(enrolments.PROBLEM_AREAS)),
        load_default=list,
        metadata={"description": "One or two of " + ", ".join(enrolments.PROBLEM_AREAS)},
    )
    goal = ma.fields.String(
        validate=validate.Length(max=500),
        allow_none=True,
        metadata={"description": "The member's goal, agreed at the pre-group meeting"},
    )
    screening = ma.fields.Nested(ScreeningSchema, required=True)
    referral_note = ma.fields.String(
        validate=validate.Length(max=500),
        metadata={"description": "Where a screened-out person was referred"},
    )
    consent = ma.fields.Nested(ConsentSchema, metadata={"description": "Required to enrol"})
    sms_consent = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "The member agreed to reminders by SMS at contact_phone"},
    )
    email_consent = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "The member agreed to reminders by email at contact_email"},
    )


class EnrolmentUpdateSchema(ma.Schema):
    display_name = ma.fields.String(validate=validate.Length(min=1, max=120))
    contact_phone = ma.fields.String(validate=validate.Regexp(PHONE), allow_none=True)
    contact_email = ma.fields.Email(validate=validate.Length(max=254), allow_none=True)
    language = Language()
    time_zone = TimeZone()
    sms_consent = ma.fields.Boolean(metadata={"description": "Record or withdraw SMS consent"})
    reminder_channels = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(("push", "sms", "email"))),
        validate=validate.Length(min=1, max=3),
        metadata={"description": 'The order to reach the member in, e.g. ["sms", "push"]'},
    )
    email_consent = ma.fields.Boolean(metadata={"description": "Record or withdraw email consent"})
    problem_areas = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(enrolments.PROBLEM_AREAS))
    )
    goal = ma.fields.String(
        validate=validate.Length(max=500),
        allow_none=True,
        metadata={"description": "The member's goal, agreed at the pre-group meeting"},
    )


class EnrolmentSummarySchema(ma.Schema):
    id = ma.fields.Integer()
    cohort_id = ma.fields.Integer()
    display_name = ma.fields.String()
    status = ma.fields.String(metadata={"description": ", ".join(s.value for s in EnrolmentStatus)})
    waitlist_position = ma.fields.Integer(allow_none=True)
    queued_at = ma.fields.AwareDateTime()
    username = ma.fields.String(allow_none=True)
    has_logged_in = ma.fields.Boolean(
        metadata={"description": "The member has redeemed an invite and set a PIN"}
    )


class EnrolmentSchema(EnrolmentSummarySchema):
    contact_phone = ma.fields.String(allow_none=True)
    contact_email = ma.fields.String(allow_none=True)
    language = ma.fields.String(allow_none=True)
    time_zone = ma.fields.String(allow_none=True)
    problem_areas = ma.fields.List(ma.fields.String())
    goal = ma.fields.String(allow_none=True)
    screening = ma.fields.Nested(ScreeningSchema)
    referral_note = ma.fields.String(allow_none=True)
    consent_version = ma.fields.String(allow_none=True)
    consent_at = ma.fields.AwareDateTime(allow_none=True)
    consent_taken_by_id = ma.fields.Integer(allow_none=True)
    sms_consent = ma.fields.Boolean(metadata={"description": "SMS consent is recorded"})
    email_consent = ma.fields.Boolean(metadata={"description": "Email consent is recorded"})
    withdrawn_at = ma.fields.AwareDateTime(allow_none=True)
    withdrawal_reason = ma.fields.String(allow_none=True)
    moved_to_id = ma.fields.Integer(allow_none=True)
    erased_at = ma.fields.AwareDateTime(
        allow_none=True, metadata={"description": "Set once the person's data was erased"}
    )
    meetings = ma.fields.List(ma.fields.Nested(MeetingSchema))


class EnrolmentCreatedSchema(ma.Schema):
    enrolment = ma.fields.Nested(EnrolmentSchema, required=True)
    invite = ma.fields.Nested(
        IssuedInviteSchema,
        allow_none=True,
        metadata={"description": "Shown once; none for a referred person"},
    )


class EnrolmentListArgs(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf([s.value for s in EnrolmentStatus]))


class WithdrawSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class MoveSchema(ma.Schema):
    cohort_id = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=2147483647))


def _summary(e: Enrolment, positions: dict[int, int] | None = None) -> dict[str, Any]:
    if positions is None and e.status == EnrolmentStatus.WAITLISTED:
        positions = {w.id: i for i, w in enumerate(enrolments.waitlist(e.cohort), start=1)}
    return {
        "id": e.id,
        "cohort_id": e.cohort_id,
        "display_name": e.display_name,
        "status": e.status,
        "waitlist_position": (positions or {}).get(e.id),
        "queued_at": e.queued_at,
        "username": e.user.username if e.user else None,
        "has_logged_in": bool(e.user and e.user.password_hash),
    }


def _detail(e: Enrolment) -> dict[str, Any]:
    return {
        **_summary(e),
        **{k: getattr(e, k) for k in (
            "contact_phone", "contact_email", "problem_areas", "goal", "screening", "referral_note",
            "consent_version", "consent_at", "consent_taken_by_id", "withdrawn_at",
            "withdrawal_reason", "moved_to_id", "erased_at",
        )},
        "language": e.user.language if e.user else None,
        "time_zone": e.user.time_zone if e.user else None,
        "meetings": e.meetings,
        **enrolments.consents(e),
    }  # fmt: skip


@blp.route(f"/cohorts/<{ID}:cohort_id>/enrolments")
class CohortEnrolments(MethodView):
    @roles_required(*STAFF)
    @blp.arguments(EnrolmentListArgs, location="query")
    @blp.response(200, EnrolmentSummarySchema(many=True))
    def get(self, args: dict[str, Any], cohort_id: int) -> Any:
        """Members of the cohort (names and status; details per member)."""
        cohort = access.get_cohort(current_user, cohort_id)
        rows = enrolments.list_enrolments(cohort, args.get("status"))
        positions = {w.id: i for i, w in enumerate(enrolments.waitlist(cohort), start=1)}
        # The list shows who was referred at screening: that read is audited too.
        audit.record(current_actor(), "enrolment.list", "cohort", cohort.id)
        # Built before the commit, which expires every row: read after it, each
        # member and user would be fetched again, one query each.
        body = [_summary(e, positions) for e in rows]
        db.session.commit()
        return body

    @roles_required(*MANAGERS)
    @blp.arguments(EnrolmentCreateSchema)
    @blp.response(201, EnrolmentCreatedSchema)
    @blp.alt_response(409, **conflict("cohort_closed", "late_join_closed"))
    def post(self, data: dict[str, Any], cohort_id: int) -> Any:
        """Add a member: enrolled, waitlisted when full, or referred when screened out.

        An enrolled or waitlisted member gets an invite (code, link and QR code),
        shown only in this response."""
        cohort = access.get_cohort(current_user, cohort_id, manage=True)
        actor = current_actor()
        member = enrolments.enrol(actor, cohort, data)
        issued = None
        if member.status != EnrolmentStatus.REFERRED:
            issued = invites.issue(
                actor, member, ttl=current_app.config["INVITE_TTL"], base_url=public_base_url()
            )
        db.session.commit()
        return {"enrolment": _detail(member), "invite": issued}


@blp.route(f"/cohorts/<{ID}:cohort_id>/waitlist")
class CohortWaitlist(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, EnrolmentSummarySchema(many=True))
    def get(self, cohort_id: int) -> Any:
        """The waitlist in the order places will be offered."""
        cohort = access.get_cohort(current_user, cohort_id)
        return [_summary(e, {e.id: i}) for i, e in enumerate(enrolments.waitlist(cohort), start=1)]


@blp.route(f"/enrolments/<{ID}:enrolment_id>")
class EnrolmentDetail(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, EnrolmentSchema)
    def get(self, enrolment_id: int) -> Any:
        """One member's record, including screening and problem areas (the read is audited)."""
        member = access.get_enrolment(current_user, enrolment_id)
        audit.record(
            current_actor(), "enrolment.read", "enrolment", member.id, subject_id=member.id
        )
        db.session.commit()
        return _detail(member)

    @roles_required(*MANAGERS)
    @blp.arguments(EnrolmentUpdateSchema)
    @blp.response(200, EnrolmentSchema)
    def patch(self, changes: dict[str, Any], enrolment_id: int) -> Any:
        """Correct a member's details or problem areas."""
        member = access.get_enrolment(current_user, enrolment_id, manage=True)
        enrolments.update(current_actor(), member, changes)
        db.session.commit()
        return _detail(member)


@blp.route(f"/enrolments/<{ID}:enrolment_id>/withdraw")
class EnrolmentWithdraw(MethodView):
    @roles_required(*MANAGERS)
    @blp.arguments(WithdrawSchema)
    @blp.response(200, EnrolmentSchema)
    @blp.alt_response(409, **conflict("not_current"))
    def post(self, data: dict[str, Any], enrolment_id: int) -> Any:
        """Withdraw a member; the first person on the waitlist gets the place."""
        member = access.get_enrolment(current_user, enrolment_id, manage=True)
        enrolments.withdraw(current_actor(), member, data["reason"])
        db.session.commit()
        return _detail(member)


@blp.route(f"/enrolments/<{ID}:enrolment_id>/reactivate")
class EnrolmentReactivate(MethodView):
    @roles_required(*MANAGERS)
    @blp.response(200, EnrolmentSchema)
    @blp.alt_response(409, **conflict("not_withdrawn", "cohort_closed", "late_join_closed"))
    def post(self, enrolment_id: int) -> Any:
        """Bring a withdrawn member back (waitlisted if the group is full)."""
        member = access.get_enrolment(current_user, enrolment_id, manage=True)
        enrolments.reactivate(current_actor(), member)
        db.session.commit()
        return _detail(member)


@blp.route(f"/enrolments/<{ID}:enrolment_id>/move")
class EnrolmentMove(MethodView):
    @roles_required(*MANAGERS)
    @blp.arguments(MoveSchema)
    @blp.response(200, EnrolmentSchema)
    @blp.alt_response(409, **conflict("not_current", "cohort_closed", "late_join_closed"))
    def post(self, data: dict[str, Any], enrolment_id: int) -> Any:
        """Move a member to another cohort you manage; returns the new enrolment."""
        member = access.get_enrolment(current_user, enrolment_id, manage=True)
        target = access.get_cohort(current_user, data["cohort_id"], manage=True)
        moved = enrolments.move(current_actor(), member, target)
        db.session.commit()
        return _detail(moved)
