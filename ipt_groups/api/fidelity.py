"""Fidelity checklists, the supervisor's review and feedback, supervision meetings
and the supervisor's overview of facilitators."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from marshmallow import validate

from ipt_groups.api.common import ID, conflict
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.extensions import db
from ipt_groups.models import FACILITATING, STAFF_ROLES, FidelityAnswer, FidelityChecklist, Role
from ipt_groups.security import current_actor, roles_required
from ipt_groups.services import access, audit, fidelity, supervision
from ipt_groups.timesource import utcnow

blp = Blueprint("fidelity", __name__, url_prefix="/api", description="Fidelity and supervision")

STAFF = tuple(STAFF_ROLES)
MANAGERS = (Role.ADMIN, Role.FACILITATOR)
SUPERVISORS = (Role.ADMIN, Role.SUPERVISOR)
EID = validate.Range(min=1, max=2**31 - 1)


class FidelityAnswerSchema(ma.Schema):
    key = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    enrolment_id = ma.fields.Integer(
        allow_none=True, validate=EID, metadata={"description": "On per-member items only"}
    )
    answer = ma.fields.String(
        required=True, validate=validate.OneOf([a.value for a in FidelityAnswer])
    )
    comment = ma.fields.String(load_default="", validate=validate.Length(max=500))


class FidelitySubmitSchema(ma.Schema):
    answers = ma.fields.List(
        ma.fields.Nested(FidelityAnswerSchema),
        required=True,
        validate=validate.Length(min=1, max=300),
    )


class FidelityLineSchema(ma.Schema):
    key = ma.fields.String()
    text = ma.fields.String(metadata={"description": "In the reader's language"})
    enrolment_id = ma.fields.Integer(allow_none=True)
    display_name = ma.fields.String(allow_none=True)
    prefill = ma.fields.String(
        allow_none=True, metadata={"description": "What the records suggest: yes, partly, no"}
    )
    answer = ma.fields.String(allow_none=True)
    comment = ma.fields.String()


class FidelityRecordedAnswerSchema(ma.Schema):
    key = ma.fields.String(
        metadata={"description": "The checklist question (protocol/fidelity.py)"}
    )
    enrolment_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "On per-member items only"}
    )
    answer = ma.fields.String(metadata={"description": "yes, partly or no"})
    comment = ma.fields.String()


class FidelityTemplateItemSchema(ma.Schema):
    key = ma.fields.String()
    text = ma.fields.String(metadata={"description": "In the reader's language"})
    per_member = ma.fields.Boolean(metadata={"description": "Asked once per member present"})
    prefill = ma.fields.String(
        allow_none=True,
        metadata={"description": "The records that suggest its answer (protocol/fidelity.py)"},
    )


class FidelityReviewFields(ma.Schema):
    reviewed_at = ma.fields.AwareDateTime(allow_none=True)
    reviewed_by_id = ma.fields.Integer(allow_none=True)
    rating = ma.fields.Integer(allow_none=True)
    feedback = ma.fields.String(allow_none=True)
    feedback_read_at = ma.fields.AwareDateTime(allow_none=True)


class ChecklistRecordSchema(FidelityReviewFields):
    id = ma.fields.Integer()
    session_id = ma.fields.Integer()
    phase = ma.fields.String()
    score = ma.fields.Float(metadata={"description": "Share of items done; partly = half"})
    submitted_by_id = ma.fields.Integer(allow_none=True)
    submitted_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()
    answers = ma.fields.List(ma.fields.Nested(FidelityRecordedAnswerSchema))


class ChecklistSchema(ma.Schema):
    session_id = ma.fields.Integer()
    phase = ma.fields.String()
    editable = ma.fields.Boolean(metadata={"description": "False once a supervisor reviewed it"})
    items = ma.fields.List(ma.fields.Nested(FidelityLineSchema))
    template = ma.fields.List(
        ma.fields.Nested(FidelityTemplateItemSchema),
        metadata={"description": "The phase's items before they are asked per member"},
    )
    checklist = ma.fields.Nested(ChecklistRecordSchema, allow_none=True)


class FidelityReviewSchema(ma.Schema):
    rating = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    feedback = ma.fields.String(required=True, validate=validate.Length(min=1, max=5000))


class SupervisionMeetingWriteSchema(ma.Schema):
    held_on = ma.fields.Date(required=True)
    duration_minutes = ma.fields.Integer(required=True, validate=validate.Range(min=5, max=600))
    facilitator_ids = ma.fields.List(
        ma.fields.Integer(validate=EID), required=True, validate=validate.Length(min=1, max=20)
    )
    notes = ma.fields.String(load_default="", validate=validate.Length(max=10_000))
    actions = ma.fields.String(load_default="", validate=validate.Length(max=5000))


class SupervisionMeetingSchema(ma.Schema):
    id = ma.fields.Integer()
    cohort_id = ma.fields.Integer()
    held_on = ma.fields.Date()
    duration_minutes = ma.fields.Integer()
    facilitator_ids = ma.fields.List(ma.fields.Integer())
    notes = ma.fields.String()
    actions = ma.fields.String()
    supervisor_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.AwareDateTime()


class SupervisionLogSessionSchema(FidelityReviewFields):
    session_id = ma.fields.Integer()
    number = ma.fields.Integer(allow_none=True)
    phase = ma.fields.String(allow_none=True)
    starts_at = ma.fields.AwareDateTime()
    status = ma.fields.String()
    held = ma.fields.Boolean(metadata={"description": "Took place and is over"})
    has_checklist = ma.fields.Boolean()
    score = ma.fields.Float(allow_none=True)
    unread = ma.fields.Boolean(
        metadata={"description": "Feedback the facilitators have not opened"}
    )


class SupervisionFacilitatorSchema(ma.Schema):
    id = ma.fields.Integer()
    display_name = ma.fields.String()
    role = ma.fields.String(
        metadata={"description": "Their role in the cohort: lead or co_facilitator"}
    )


class SupervisedCohortSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class SupervisionLogSchema(ma.Schema):
    cohort_id = ma.fields.Integer()
    name = ma.fields.String()
    can_supervise = ma.fields.Boolean()
    facilitators = ma.fields.List(ma.fields.Nested(SupervisionFacilitatorSchema))
    sessions = ma.fields.List(ma.fields.Nested(SupervisionLogSessionSchema))
    meetings = ma.fields.List(ma.fields.Nested(SupervisionMeetingSchema))


class SupervisionOverviewArgs(ma.Schema):
    threshold = ma.fields.Float(
        load_default=supervision.LOW_SCORE, validate=validate.Range(min=0, max=1)
    )


class SupervisionOverviewRowSchema(ma.Schema):
    facilitator_id = ma.fields.Integer()
    display_name = ma.fields.String()
    cohorts = ma.fields.List(ma.fields.Nested(SupervisedCohortSchema))
    sessions_held = ma.fields.Integer()
    checklists_missing = ma.fields.Integer()
    mean_score = ma.fields.Float(allow_none=True)
    below_threshold = ma.fields.Integer()
    unreviewed = ma.fields.Integer()
    last_meeting_on = ma.fields.Date(allow_none=True)


class SupervisionOverviewSchema(ma.Schema):
    threshold = ma.fields.Float()
    facilitators = ma.fields.List(ma.fields.Nested(SupervisionOverviewRowSchema))


def _present(data: fidelity.Checklist) -> dict[str, Any]:
    return {
        "session_id": data.session.id,
        "phase": data.phase,
        "editable": data.record is None or data.record.reviewed_at is None,
        "items": data.lines,
        "template": data.template,
        "checklist": data.record,
    }


SESSION_CONFLICTS = ("session_cancelled", "cohort_closed", "session_not_started")


@blp.route(f"/sessions/<{ID}:session_id>/fidelity")
class SessionFidelity(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, ChecklistSchema)
    def get(self, session_id: int) -> Any:
        """The session's fidelity checklist: its questions for the phase (one per
        member present for per-member items), suggested answers from the records,
        the facilitator's answers and the supervisor's review. Audited."""
        session = access.get_session(current_user, session_id)
        data = fidelity.checklist(current_user, session)
        fidelity.audit_read(current_actor(), session)
        audit.commit_reads()
        return _present(data)

    @roles_required(*MANAGERS)
    @blp.arguments(FidelitySubmitSchema)
    @blp.response(200, ChecklistSchema)
    @blp.alt_response(409, **conflict(*SESSION_CONFLICTS, "fidelity_reviewed"))
    def put(self, data: dict[str, Any], session_id: int) -> Any:
        """Answer every question (yes, partly, no, with an optional comment). Can be
        sent again until a supervisor has reviewed it."""
        session = access.get_session(current_user, session_id, manage=True)
        fidelity.submit(current_actor(), current_user, session, data["answers"])
        db.session.commit()
        return _present(fidelity.checklist(current_user, session))


@blp.route(f"/sessions/<{ID}:session_id>/fidelity/review")
class FidelityReview(MethodView):
    @roles_required(*SUPERVISORS)
    @blp.arguments(FidelityReviewSchema)
    @blp.response(200, ChecklistRecordSchema)
    @blp.alt_response(409, **conflict("fidelity_missing"))
    def post(self, data: dict[str, Any], session_id: int) -> Any:
        """The supervisor rates the session's fidelity (1-5) and writes feedback for
        the facilitators; the checklist is closed to changes from then on."""
        session = access.get_supervised_session(current_user, session_id)
        record = fidelity.review(
            current_actor(), current_user, session, data["rating"], data["feedback"]
        )
        db.session.commit()
        return record


@blp.route(f"/sessions/<{ID}:session_id>/fidelity/read")
class FidelityRead(MethodView):
    @roles_required(Role.FACILITATOR)
    @blp.response(200, ChecklistRecordSchema)
    @blp.alt_response(409, **conflict("no_feedback"))
    def post(self, session_id: int) -> Any:
        """A facilitator of the cohort has read the supervisor's feedback."""
        session = access.get_session(current_user, session_id, manage=True)
        record = fidelity.mark_read(current_actor(), session)
        db.session.commit()
        return record


def _log_session(s: Any, record: FidelityChecklist | None, now: Any) -> dict[str, Any]:
    review = {
        k: getattr(record, k) if record else None
        for k in ("reviewed_at", "reviewed_by_id", "rating", "feedback", "feedback_read_at")
    }
    return {
        "session_id": s.id, "number": s.number, "phase": s.phase, "starts_at": s.starts_at,
        "status": s.status, "held": supervision.held(s, now), "has_checklist": record is not None,
        "score": record.score if record else None,
        "unread": bool(record and record.reviewed_at and record.feedback_read_at is None),
        **review,
    }  # fmt: skip


@blp.route(f"/cohorts/<{ID}:cohort_id>/supervision")
class CohortSupervision(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, SupervisionLogSchema)
    def get(self, cohort_id: int) -> Any:
        """The cohort's supervision log: each session's checklist score and review
        (the facilitators read their feedback here), and the supervision meetings."""
        cohort = access.get_cohort(current_user, cohort_id)
        log = supervision.cohort_log(current_actor(), cohort)
        audit.commit_reads()
        now = utcnow()
        return {
            "cohort_id": cohort.id,
            "name": cohort.name,
            "can_supervise": access.can_supervise(current_user, cohort),
            "facilitators": [
                {"id": s.user_id, "display_name": s.user.display_name, "role": s.role}
                for s in cohort.staff
                if s.role in FACILITATING
            ],
            "sessions": [_log_session(s, r, now) for s, r in log.sessions],
            "meetings": log.meetings,
        }


@blp.route(f"/cohorts/<{ID}:cohort_id>/supervision-meetings")
class SupervisionMeetings(MethodView):
    @roles_required(*SUPERVISORS)
    @blp.arguments(SupervisionMeetingWriteSchema)
    @blp.response(201, SupervisionMeetingSchema)
    def post(self, data: dict[str, Any], cohort_id: int) -> Any:
        """Record a supervision meeting: when, which facilitators, how long, notes
        and the actions agreed."""
        cohort = access.get_supervised_cohort(current_user, cohort_id)
        meeting = supervision.record_meeting(
            current_actor(), current_user, cohort, data["held_on"], data["duration_minutes"],
            data["facilitator_ids"], data["notes"], data["actions"],
        )  # fmt: skip
        db.session.commit()
        return meeting


@blp.route("/supervision/overview")
class SupervisionOverview(MethodView):
    @roles_required(*SUPERVISORS)
    @blp.arguments(SupervisionOverviewArgs, location="query")
    @blp.response(200, SupervisionOverviewSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Facilitators of the cohorts you supervise (an admin: every cohort) with
        held sessions, missing checklists, mean score, low ones and last meeting."""
        rows = supervision.overview(current_user, args["threshold"])
        return {
            "threshold": args["threshold"],
            "facilitators": [
                {
                    "facilitator_id": r.facilitator.id,
                    "display_name": r.facilitator.display_name,
                    "cohorts": [{"id": c.id, "name": c.name} for c in r.cohorts],
                    "sessions_held": r.sessions_held,
                    "checklists_missing": r.checklists_missing,
                    "mean_score": r.mean_score,
                    "below_threshold": r.below_threshold,
                    "unreviewed": r.unreviewed,
                    "last_meeting_on": r.last_meeting_on,
                }
                for r in rows
            ],
        }
