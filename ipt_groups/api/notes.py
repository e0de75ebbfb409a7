"""Session notes (written once), members' tasks and reviews, and a member's record."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from marshmallow import validate

from ipt_groups.api.alerts import AlertSchema, Presenter
from ipt_groups.api.common import ID, conflict
from ipt_groups.api.measures import AssessmentSchema
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.api.problem_work import WorkSchema
from ipt_groups.errors import ApiError
from ipt_groups.extensions import db
from ipt_groups.models import STAFF_ROLES, MemberTask, Role, TaskReview
from ipt_groups.security import current_actor, roles_required
from ipt_groups.services import access, audit, notes

blp = Blueprint("notes", __name__, url_prefix="/api", description="Notes, tasks and records")

STAFF = tuple(STAFF_ROLES)
MANAGERS = (Role.ADMIN, Role.FACILITATOR)


class NoteCreateSchema(ma.Schema):
    body = ma.fields.String(required=True, validate=validate.Length(min=1, max=10_000))
    enrolment_id = ma.fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "Leave out for the group note; give it for a note on a member"},
    )


class NoteSchema(ma.Schema):
    id = ma.fields.Integer()
    session_id = ma.fields.Integer()
    session_number = ma.fields.Integer(attribute="session.number", allow_none=True)
    enrolment_id = ma.fields.Integer(allow_none=True, metadata={"description": "None: group"})
    body = ma.fields.String()
    author_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.AwareDateTime()


class TaskEntrySchema(ma.Schema):
    enrolment_id = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    text = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class TasksWriteSchema(ma.Schema):
    tasks = ma.fields.List(
        ma.fields.Nested(TaskEntrySchema), required=True, validate=validate.Length(min=1, max=100)
    )


class TaskSchema(ma.Schema):
    id = ma.fields.Integer()
    session_id = ma.fields.Integer(metadata={"description": "Where it was agreed"})
    enrolment_id = ma.fields.Integer()
    text = ma.fields.String()
    review = ma.fields.String(allow_none=True, metadata={"description": "done, partly, not_done"})
    reviewed_at = ma.fields.AwareDateTime(allow_none=True)
    reviewed_session_id = ma.fields.Integer(allow_none=True)


class ReviewSchema(ma.Schema):
    review = ma.fields.String(required=True, validate=validate.OneOf([r.value for r in TaskReview]))
    session_id = ma.fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "The session at which it is reviewed (a later one)"},
    )


class AttendedSchema(ma.Schema):
    session_id = ma.fields.Integer()
    number = ma.fields.Integer(allow_none=True)
    starts_at = ma.fields.AwareDateTime()
    status = ma.fields.String()


class MemberRecordSchema(ma.Schema):
    enrolment_id = ma.fields.Integer()
    display_name = ma.fields.String()
    status = ma.fields.String()
    problem_areas = ma.fields.List(ma.fields.String())
    goal = ma.fields.String(allow_none=True)
    attendance = ma.fields.List(ma.fields.Nested(AttendedSchema))
    assessments = ma.fields.List(ma.fields.Nested(AssessmentSchema))
    notes = ma.fields.List(ma.fields.Nested(NoteSchema))
    tasks = ma.fields.List(ma.fields.Nested(TaskSchema))
    alerts = ma.fields.List(ma.fields.Nested(AlertSchema))
    problem_work = ma.fields.List(
        ma.fields.Nested(WorkSchema), metadata={"description": "Oldest first, one per session"}
    )


@blp.route(f"/sessions/<{ID}:session_id>/notes")
class SessionNotes(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, NoteSchema(many=True))
    def get(self, session_id: int) -> Any:
        """The session's group note and notes on members."""
        session = access.get_session(current_user, session_id)
        rows = notes.session_notes(session)
        notes.audit_notes_read(current_actor(), session, rows)
        audit.commit_reads()
        return rows

    @roles_required(*MANAGERS)
    @blp.arguments(NoteCreateSchema)
    @blp.response(201, NoteSchema)
    @blp.alt_response(
        409, **conflict("session_cancelled", "cohort_closed", "session_not_started", "note_exists")
    )
    def post(self, data: dict[str, Any], session_id: int) -> Any:
        """Write the group note, or a note on one member. Once only: notes are not
        changed after they are written (write a new one on a later session)."""
        session = access.get_session(current_user, session_id, manage=True)
        note = notes.write_note(
            current_actor(), current_user, session, data["body"], data.get("enrolment_id")
        )
        db.session.commit()
        return note


@blp.route(f"/sessions/<{ID}:session_id>/tasks")
class SessionTasks(MethodView):
    @roles_required(*MANAGERS)
    @blp.arguments(TasksWriteSchema)
    @blp.response(200, TaskSchema(many=True))
    @blp.alt_response(
        409,
        **conflict("session_cancelled", "cohort_closed", "session_not_started", "task_reviewed"),
    )
    def put(self, data: dict[str, Any], session_id: int) -> Any:
        """Agree each member's interpersonal task for the coming week (one per member
        per session; sending it again replaces the text until it is reviewed)."""
        session = access.get_session(current_user, session_id, manage=True)
        pairs = [(t["enrolment_id"], t["text"]) for t in data["tasks"]]
        rows = notes.set_tasks(current_actor(), current_user, session, pairs)
        db.session.commit()
        return rows


@blp.route(f"/tasks/<{ID}:task_id>/review")
class TaskReviewView(MethodView):
    @roles_required(*MANAGERS)
    @blp.arguments(ReviewSchema)
    @blp.response(200, TaskSchema)
    @blp.alt_response(
        409,
        **conflict("session_cancelled", "cohort_closed", "session_not_started", "task_reviewed"),
    )
    def post(self, data: dict[str, Any], task_id: int) -> Any:
        """Review last week's task: done, partly or not done."""
        task = db.session.get(MemberTask, task_id)
        if task is None:
            raise ApiError(404)
        access.get_session(current_user, task.session_id, manage=True)
        at = access.get_session(current_user, data["session_id"], manage=True)
        notes.review_task(current_actor(), current_user, task, data["review"], at)
        db.session.commit()
        return task


@blp.route(f"/enrolments/<{ID}:enrolment_id>/record")
class MemberRecord(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, MemberRecordSchema)
    def get(self, enrolment_id: int) -> Any:
        """The member's clinical record: attendance, scores, notes (theirs and the
        group notes of sessions they came to), tasks and alerts. Audited."""
        member = access.get_enrolment(current_user, enrolment_id)
        record = notes.member_record(current_actor(), member)
        audit.commit_reads()
        presenter = Presenter()
        return {
            "enrolment_id": member.id,
            "display_name": member.display_name,
            "status": member.status,
            "problem_areas": member.problem_areas,
            "goal": member.goal,
            "attendance": [
                {"session_id": s.id, "number": s.number, "starts_at": s.starts_at, "status": st}
                for s, st in record.attendance
            ],
            "assessments": record.assessments,
            "notes": record.notes,
            "tasks": record.tasks,
            "alerts": [presenter(a) for a in record.alerts],
            "problem_work": record.problem_work,
        }
