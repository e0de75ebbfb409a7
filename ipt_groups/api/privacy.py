"""A member's data: their own export, an admin's export for a member who asks
the clinic, and erasure (ipt_groups/services/privacy.py says what each covers)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from marshmallow import validate

from ipt_groups.api.common import ID, UserSchema
from ipt_groups.api.inventory import ChangesSchema, InventoryPersonSchema
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.api.safety_plans import SectionsSchema
from ipt_groups.errors import ErrorSchema
from ipt_groups.extensions import db
from ipt_groups.models import Role
from ipt_groups.security import current_actor, roles_required
from ipt_groups.services import access, audit, privacy, users

blp = Blueprint("privacy", __name__, url_prefix="/api", description="Data export and erasure")

F = ma.fields
STAFF_WORDS = "Staff's own words: only in the copy an admin exports, else null"
When = F.AwareDateTime


def Maybe(field: type[F.Field], **kwargs: Any) -> F.Field:  # noqa: N802 - reads as a field
    return field(allow_none=True, **kwargs)


class ExportProfileSchema(UserSchema):
    erased_at = Maybe(When, metadata={"description": "Set once the account was erased"})


class ExportSessionSchema(ma.Schema):
    id = F.Integer()
    number = Maybe(F.Integer, metadata={"description": "None for a catch-up session"})
    kind = F.String()
    starts_at = When()


class ExportCohortSchema(ma.Schema):
    id = F.Integer()
    name = F.String()
    programme_key = F.String()
    start_date = F.Date()
    status = F.String()


class ExportMeetingSchema(ma.Schema):
    kind = F.String()
    label = F.String()
    starts_at = Maybe(When)
    duration_minutes = F.Integer()
    location = F.String()
    status = F.String()


class ExportAttendanceSchema(ma.Schema):
    session = F.Nested(ExportSessionSchema)
    status = F.String()
    recorded_at = When()


class ExportApologySchema(ma.Schema):
    session = F.Nested(ExportSessionSchema)
    reason = Maybe(F.String)
    created_at = When()


class ExportAssessmentSchema(ma.Schema):
    id = F.Integer()
    instrument = F.String()
    instrument_name = F.String()
    source = F.String(metadata={"description": "staff (entered for the member) or self"})
    completed_at = When()
    session = F.Nested(ExportSessionSchema, allow_none=True)
    answers = F.Dict(keys=F.String(), values=F.Integer(), metadata={"description": "Every item"})
    total = F.Integer()
    band = Maybe(F.String)
    risk_items = F.List(F.String())


class ExportNoteSchema(ma.Schema):
    session = F.Nested(ExportSessionSchema)
    body = F.String()
    created_at = When()


class ExportTaskSchema(ma.Schema):
    session = F.Nested(ExportSessionSchema)
    text = F.String()
    created_at = When()
    review = Maybe(F.String)
    reviewed_at = Maybe(When)


class ExportProblemWorkSchema(ma.Schema):
    session = F.Nested(ExportSessionSchema)
    techniques = F.List(F.String())
    steps = F.List(F.String(), metadata={"description": "Problem-area steps worked on"})
    progress = Maybe(F.Integer, metadata={"description": "0-4, progress on the goal"})
    recorded_at = When()


class ExportAlertSchema(ma.Schema):
    id = F.Integer()
    source = F.String()
    status = F.String(metadata={"description": "open or acknowledged"})
    opened_at = When()
    escalated_at = Maybe(When)
    acknowledged_at = Maybe(When)
    action = Maybe(F.String, metadata={"description": "What was done, e.g. contacted"})
    concern = Maybe(F.String, metadata={"description": STAFF_WORDS})
    action_note = Maybe(F.String, metadata={"description": STAFF_WORDS})


class ExportFollowUpSchema(ma.Schema):
    session = F.Nested(ExportSessionSchema)
    kind = F.String()
    due_at = Maybe(When)
    done_at = Maybe(When)


class ExportReadingSchema(ma.Schema):
    key = F.String()
    title = F.String()
    released_at = Maybe(When, metadata={"description": "None: opened, since withdrawn"})
    first_opened_at = Maybe(When)
    last_opened_at = Maybe(When)


class ExportInventorySchema(ma.Schema):
    version = F.Integer()
    created_at = When()
    changes = F.Nested(ChangesSchema)
    people = F.List(F.Nested(InventoryPersonSchema))


class ExportSafetyPlanSchema(ma.Schema):
    version = F.Integer()
    created_at = When()
    sections = F.Nested(SectionsSchema)


class ExportFidelitySchema(ma.Schema):
    session_id = F.Integer()
    key = F.String(metadata={"description": "The checklist question (protocol/fidelity.py)"})
    answer = F.String(metadata={"description": "yes, partly or no"})
    comment = Maybe(F.String, metadata={"description": STAFF_WORDS})


class ExportEnrolmentSchema(ma.Schema):
    id = F.Integer()
    cohort = F.Nested(ExportCohortSchema)
    status = F.String()
    display_name = F.String()
    contact_phone = Maybe(F.String)
    contact_email = Maybe(F.String)
    problem_areas = F.List(F.String())
    goal = Maybe(F.String)
    screening = F.Dict(keys=F.String(), values=F.Boolean())
    referral_note = Maybe(F.String)
    consent_version = Maybe(F.String)
    consent_at = Maybe(When)
    queued_at = When()
    joined_at = Maybe(When)
    withdrawn_at = Maybe(When)
    withdrawal_reason = Maybe(F.String)
    meetings = F.List(F.Nested(ExportMeetingSchema))
    attendance = F.List(F.Nested(ExportAttendanceSchema))
    apologies = F.List(F.Nested(ExportApologySchema), metadata={"description": '"I can\'t come"'})
    assessments = F.List(
        F.Nested(ExportAssessmentSchema), metadata={"description": "Staff-entered"}
    )
    check_ins = F.List(
        F.Nested(ExportAssessmentSchema), metadata={"description": "The member's own"}
    )
    notes = F.List(F.Nested(ExportNoteSchema), metadata={"description": "Notes about this member"})
    tasks = F.List(F.Nested(ExportTaskSchema))
    problem_work = F.List(
        F.Nested(ExportProblemWorkSchema), metadata={"description": "Work with them in sessions"}
    )
    alerts = F.List(F.Nested(ExportAlertSchema))
    follow_ups = F.List(F.Nested(ExportFollowUpSchema))
    readings = F.List(F.Nested(ExportReadingSchema))
    inventory = F.List(
        F.Nested(ExportInventorySchema),
        metadata={"description": "Interpersonal inventory, every version, oldest first"},
    )
    safety_plans = F.List(
        F.Nested(ExportSafetyPlanSchema), metadata={"description": "Every version, oldest first"}
    )
    fidelity = F.List(
        F.Nested(ExportFidelitySchema),
        metadata={"description": "Checklist answers about this member (staff's words)"},
    )


class ExportPreferencesSchema(ma.Schema):
    session_24h = F.Boolean()
    session_1h = F.Boolean()
    content_released = F.Boolean()
    checkin_due = F.Boolean()
    quiet_start = Maybe(F.Time)
    quiet_end = Maybe(F.Time)


class ExportDeviceSchema(ma.Schema):
    id = F.Integer()
    push_service = F.String(metadata={"description": "Host of the push service only"})
    user_agent = Maybe(F.String)
    created_at = When()
    last_seen_at = When()
    last_success_at = Maybe(When)


class ExportLoginSessionSchema(ma.Schema):
    created_at = When()
    last_seen_at = When()
    revoked_at = Maybe(When)
    ip_address = Maybe(F.String)
    user_agent = Maybe(F.String)


class ExportCalendarFeedSchema(ma.Schema):
    created_at = When()
    last_used_at = Maybe(When)
    revoked_at = Maybe(When)


class ExportNotificationSchema(ma.Schema):
    kind = F.String()
    status = F.String()
    created_at = When()
    due_at = When()
    sent_at = Maybe(When)
    read_at = Maybe(When)
    shown_at = Maybe(When)


class ExportAuditEntrySchema(ma.Schema):
    at = When()
    action = F.String()
    target_type = Maybe(F.String)
    target_id = Maybe(F.Integer)
    member_id = Maybe(F.Integer, metadata={"description": "The enrolment concerned"})
    actor_role = Maybe(F.String, metadata={"description": "Who acted, by role; system"})


class MemberExportSchema(ma.Schema):
    generated_at = When(required=True)
    profile = F.Nested(ExportProfileSchema, required=True)
    enrolments = F.List(F.Nested(ExportEnrolmentSchema), required=True)
    notification_preferences = F.Nested(ExportPreferencesSchema, required=True)
    devices = F.List(F.Nested(ExportDeviceSchema), required=True)
    login_sessions = F.List(F.Nested(ExportLoginSessionSchema), required=True)
    calendar_feeds = F.List(F.Nested(ExportCalendarFeedSchema), required=True)
    notifications = F.List(F.Nested(ExportNotificationSchema), required=True)
    audit = F.List(
        F.Nested(ExportAuditEntrySchema),
        required=True,
        metadata={"description": "Who read or changed the member's records, and when"},
    )


class ReferralExportSchema(ma.Schema):
    generated_at = When(required=True)
    enrolment = F.Nested(ExportEnrolmentSchema, required=True)
    audit = F.List(
        F.Nested(ExportAuditEntrySchema),
        required=True,
        metadata={"description": "Who read or changed the person's record, and when"},
    )


class ErasureRequestSchema(ma.Schema):
    confirm = F.String(
        required=True,
        validate=validate.Equal("erase"),
        metadata={"description": 'The word "erase": erasure cannot be undone'},
    )
    reason = F.String(
        required=True,
        validate=validate.OneOf(privacy.ERASURE_REASONS),
        metadata={"description": "Kept in the audit trail, hence a fixed word"},
    )


class _ErasedSchema(ma.Schema):
    erased_at = When(required=True)
    already_erased = F.Boolean(
        required=True, metadata={"description": "True: erased before; nothing changed now"}
    )
    removed = F.Dict(
        keys=F.String(), values=F.Integer(), required=True,
        metadata={"description": "Rows deleted, by kind (empty when already erased)"},
    )  # fmt: skip


class ErasureSchema(_ErasedSchema):
    user_id = F.Integer(required=True)


class ReferralErasureSchema(_ErasedSchema):
    enrolment_id = F.Integer(required=True)


@blp.route("/me/export")
class MyExport(MethodView):
    @blp.response(200, MemberExportSchema)
    def get(self) -> Any:
        """Everything the clinic holds about me, as JSON (audited). Staff's own
        words on risk alerts are left out: ask the clinic for those."""
        found = privacy.export(current_actor(), current_user, full=False)
        audit.commit_reads()
        return found


@blp.route(f"/users/<{ID}:user_id>/export")
class UserExport(MethodView):
    @roles_required(Role.ADMIN)
    @blp.response(200, MemberExportSchema)
    def get(self, user_id: int) -> Any:
        """Everything held about one person, for a member who asks the clinic,
        with staff's words on risk alerts for the clinic to review (audited)."""
        found = privacy.export(current_actor(), users.get_user(user_id), full=True)
        audit.commit_reads()
        return found


@blp.route(f"/users/<{ID}:user_id>/erase")
class UserErase(MethodView):
    @roles_required(Role.ADMIN)
    @blp.arguments(ErasureRequestSchema)
    @blp.response(200, ErasureSchema)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="Not a member's account (not_a_member), still holding a place in a "
        "group (still_in_group) or a risk alert about them open (open_risk_alert)",
    )
    def post(self, data: dict[str, str], user_id: int) -> Any:
        """Erase a member's personal data, keeping de-identified figures; one
        transaction, audited, and safe to repeat."""
        result = privacy.erase(current_actor(), users.get_user(user_id), data["reason"])
        db.session.commit()
        return result


# A person referred at screening never gets an account: their data is reached
# through their enrolment, by the same admins, with the same rules.
HAS_ACCOUNT = "The person has an account: use /api/users/{id}/export or /erase (has_account)"


@blp.route(f"/enrolments/<{ID}:enrolment_id>/export")
class ReferralExport(MethodView):
    @roles_required(Role.ADMIN)
    @blp.response(200, ReferralExportSchema)
    @blp.alt_response(409, schema=ErrorSchema, description=HAS_ACCOUNT)
    def get(self, enrolment_id: int) -> Any:
        """Everything held about a person who never had an account (referred at
        screening), for when they ask the clinic (audited)."""
        member = access.get_enrolment(current_user, enrolment_id)
        found = privacy.export_referral(current_actor(), member)
        audit.commit_reads()
        return found


@blp.route(f"/enrolments/<{ID}:enrolment_id>/erase")
class ReferralErase(MethodView):
    @roles_required(Role.ADMIN)
    @blp.arguments(ErasureRequestSchema)
    @blp.response(200, ReferralErasureSchema)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description=f"{HAS_ACCOUNT}, or a risk alert about them open (open_risk_alert)",
    )
    def post(self, data: dict[str, str], enrolment_id: int) -> Any:
        """Erase the personal data of a person who never had an account,
        keeping their de-identified enrolment in the cohort's figures; one
        transaction, audited, and safe to repeat."""
        member = access.get_enrolment(current_user, enrolment_id)
        result = privacy.erase_referral(current_actor(), member, data["reason"])
        db.session.commit()
        return result
