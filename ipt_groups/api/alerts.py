"""Risk alerts: the supervisor's inbox, acknowledging with the action taken, and
a facilitator's "I am worried" flag."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from marshmallow import validate

from ipt_groups.api.common import ID, conflict
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.errors import ApiError
from ipt_groups.extensions import db
from ipt_groups.models import STAFF_ROLES, AlertAction, AlertSource, RiskAlert, Role
from ipt_groups.security import current_actor, roles_required
from ipt_groups.services import access, audit, clinic, safety_plans
from ipt_groups.services import alerts as alert_service

blp = Blueprint("alerts", __name__, url_prefix="/api", description="Risk alerts")

STAFF = tuple(STAFF_ROLES)
MANAGERS = (Role.ADMIN, Role.FACILITATOR)


class AlertSchema(ma.Schema):
    id = ma.fields.Integer()
    cohort_id = ma.fields.Integer()
    cohort_name = ma.fields.String()
    enrolment_id = ma.fields.Integer()
    display_name = ma.fields.String(metadata={"description": "The member"})
    source = ma.fields.String(
        metadata={"description": "risk_item, self_check_in or worried (a facilitator's flag)"}
    )
    assessment_id = ma.fields.Integer(allow_none=True)
    instrument = ma.fields.String(allow_none=True)
    risk_items = ma.fields.List(ma.fields.String())
    session_id = ma.fields.Integer(allow_none=True)
    concern = ma.fields.String(allow_none=True)
    opened_at = ma.fields.AwareDateTime()
    opened_by_id = ma.fields.Integer(allow_none=True)
    status = ma.fields.String(metadata={"description": "open or acknowledged"})
    escalates_at = ma.fields.AwareDateTime(
        allow_none=True, metadata={"description": "When admins are told if nobody acts"}
    )
    escalated_at = ma.fields.AwareDateTime(allow_none=True)
    acknowledged_at = ma.fields.AwareDateTime(allow_none=True)
    acknowledged_by_id = ma.fields.Integer(allow_none=True)
    action = ma.fields.String(allow_none=True)
    action_note = ma.fields.String(allow_none=True)
    safety_plan_version_id = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "Acknowledged with safety_plan: the plan version made"},
    )
    can_acknowledge = ma.fields.Boolean()


class AlertListArgs(ma.Schema):
    status = ma.fields.String(load_default="open", validate=validate.OneOf(["open", "all"]))
    cohort_id = ma.fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class AcknowledgeSchema(ma.Schema):
    action = ma.fields.String(
        required=True, validate=validate.OneOf([a.value for a in AlertAction])
    )
    note = ma.fields.String(load_default=None, validate=validate.Length(max=4000))
    safety_plan_version_id = ma.fields.Integer(
        load_default=None,
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={
            "description": "With action safety_plan: the plan version made (default: the "
            "member's newest version, if any)"
        },
    )


class WorriedSchema(ma.Schema):
    concern = ma.fields.String(
        load_default=None,
        validate=validate.Length(max=4000),
        metadata={"description": "What worried you, in your own words (optional)"},
    )
    session_id = ma.fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class WorriedResultSchema(ma.Schema):
    alert = ma.fields.Nested(AlertSchema)
    crisis_text = ma.fields.String(
        metadata={"description": "The clinic's crisis instructions, to follow now"}
    )


class Presenter:
    """Shapes alerts for the caller; the per-caller facts are read once, not per alert."""

    def __init__(self) -> None:
        self.hours = clinic.current().alert_escalation_hours
        self.ack_cohorts = alert_service.acknowledgeable_cohorts(current_user)

    def __call__(self, alert: RiskAlert) -> dict[str, Any]:
        return present(alert, self.hours, self.ack_cohorts)


def present(alert: RiskAlert, hours: int, ack_cohorts: set[int] | None) -> dict[str, Any]:
    assessment = alert.assessment
    may_ack = ack_cohorts is None or alert.cohort_id in ack_cohorts
    return {
        "id": alert.id,
        "cohort_id": alert.cohort_id,
        "cohort_name": alert.enrolment.cohort.name,
        "enrolment_id": alert.enrolment_id,
        "display_name": alert.enrolment.display_name,
        "source": alert.source,
        "assessment_id": alert.assessment_id,
        "instrument": assessment.instrument if assessment else None,
        "risk_items": assessment.risk_items if assessment else [],
        "session_id": alert.session_id,
        "concern": alert.concern,
        "opened_at": alert.opened_at,
        "opened_by_id": alert.opened_by_id,
        "status": "open" if alert.is_open else "acknowledged",
        "escalates_at": (
            alert.opened_at + timedelta(hours=hours)
            if alert.is_open and alert.escalated_at is None
            else None
        ),
        "escalated_at": alert.escalated_at,
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by_id": alert.acknowledged_by_id,
        "action": alert.action,
        "action_note": alert.action_note,
        "safety_plan_version_id": alert.safety_plan_version_id,
        "can_acknowledge": alert.is_open and may_ack,
    }


@blp.route("/alerts")
class Alerts(MethodView):
    @roles_required(*STAFF)
    @blp.arguments(AlertListArgs, location="query")
    @blp.response(200, AlertSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """Risk alerts in the cohorts I can see, newest first (open ones by default)."""
        alerts = alert_service.list_alerts(
            current_user, open_only=args["status"] == "open", cohort_id=args.get("cohort_id")
        )
        audit.record_reads(
            current_actor(), "risk_alert.read", "risk_alert", None,
            [a.enrolment_id for a in alerts],
        )  # fmt: skip
        audit.commit_reads()
        return list(map(Presenter(), alerts))


@blp.route(f"/alerts/<{ID}:alert_id>")
class AlertById(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, AlertSchema)
    def get(self, alert_id: int) -> Any:
        """One alert, with what was done about it."""
        alert = alert_service.get_alert(current_user, alert_id)
        audit.record(current_actor(), "risk_alert.read", "risk_alert", alert.id,
                     subject_id=alert.enrolment_id)  # fmt: skip
        audit.commit_reads()
        return Presenter()(alert)


@blp.route(f"/alerts/<{ID}:alert_id>/acknowledge")
class AlertAcknowledge(MethodView):
    @roles_required(Role.ADMIN, Role.SUPERVISOR)
    @blp.arguments(AcknowledgeSchema)
    @blp.response(200, AlertSchema)
    @blp.alt_response(409, **conflict("already_acknowledged"))
    def post(self, data: dict[str, Any], alert_id: int) -> Any:
        """Close the alert with the action taken: contacted, safety_plan, referred,
        emergency_services or other (with a note). With safety_plan, the
        acknowledgement links to the member's plan version (given, or the newest)."""
        alert = alert_service.get_alert(current_user, alert_id)
        if data["action"] == AlertAction.OTHER and not (data["note"] or "").strip():
            raise ApiError(422, fields={"note": ["Say what was done."]})
        plan_id = safety_plans.link_for_acknowledgement(
            alert, data["action"], data["safety_plan_version_id"]
        )
        alert_service.acknowledge(
            current_actor(), current_user, alert, data["action"], data["note"],
            safety_plan_version_id=plan_id,
        )  # fmt: skip
        db.session.commit()
        return Presenter()(alert)


@blp.route(f"/enrolments/<{ID}:enrolment_id>/worried")
class MemberWorried(MethodView):
    @roles_required(*MANAGERS)
    @blp.arguments(WorriedSchema)
    @blp.response(201, WorriedResultSchema)
    def post(self, data: dict[str, Any], enrolment_id: int) -> Any:
        """ "I am worried about this member": opens a risk alert at once, tells the
        supervisors, and answers with the clinic's crisis instructions."""
        member = access.get_enrolment(current_user, enrolment_id, manage=True)
        session = None
        if data.get("session_id"):
            session = access.get_session(current_user, data["session_id"])
            if session.cohort_id != member.cohort_id:
                raise ApiError(422, fields={"session_id": ["Not a session of this cohort."]})
        alert = alert_service.open_alert(
            current_actor(), member, AlertSource.WORRIED, session=session,
            concern=data["concern"],
        )  # fmt: skip
        db.session.commit()
        return {
            "alert": Presenter()(alert),
            "crisis_text": clinic.current().crisis_text_for(current_user.language),
        }
