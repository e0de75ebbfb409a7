"""The session runner: one call with everything the facilitator needs in the room."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user

from ipt_groups.api import agenda as agenda_api
from ipt_groups.api.alerts import AlertSchema, Presenter
from ipt_groups.api.attendance import FollowUpSchema, present_register
from ipt_groups.api.common import ID
from ipt_groups.api.lean import lean_response
from ipt_groups.api.notes import NoteSchema, TaskSchema
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.api.problem_work import (
    AreaGuideSchema,
    TechniqueSchema,
    WorkSchema,
    present_guides,
    techniques,
)
from ipt_groups.api.sessions import MeetingSchema, SessionSchema, present_session
from ipt_groups.models import STAFF_ROLES
from ipt_groups.security import current_actor, roles_required
from ipt_groups.services import access, audit, runner

blp = Blueprint("runner", __name__, url_prefix="/api", description="Session runner")

STAFF = tuple(STAFF_ROLES)


class LastScoreSchema(ma.Schema):
    id = ma.fields.Integer()
    instrument = ma.fields.String()
    instrument_name = ma.fields.String()
    total = ma.fields.Integer()
    band = ma.fields.String(allow_none=True)
    completed_at = ma.fields.AwareDateTime()


class RunnerMemberSchema(ma.Schema):
    enrolment_id = ma.fields.Integer()
    display_name = ma.fields.String()
    member_status = ma.fields.String()
    attendance = ma.fields.String(allow_none=True, metadata={"description": "None until marked"})
    cannot_come = ma.fields.Boolean()
    cannot_come_reason = ma.fields.String(allow_none=True)
    problem_areas = ma.fields.List(ma.fields.String())
    goal = ma.fields.String(allow_none=True)
    last_score = ma.fields.Nested(LastScoreSchema, allow_none=True)
    due = ma.fields.List(
        ma.fields.String(), metadata={"description": "Measures due here and not yet recorded"}
    )
    task_to_review = ma.fields.Nested(
        TaskSchema, allow_none=True, metadata={"description": "Agreed at an earlier session"}
    )
    task_here = ma.fields.Nested(TaskSchema, allow_none=True)
    note_written = ma.fields.Boolean()
    open_alerts = ma.fields.Integer()
    work = ma.fields.Nested(
        WorkSchema, allow_none=True, metadata={"description": "Problem-area work recorded here"}
    )
    suggested_steps = ma.fields.List(
        ma.fields.Nested(AreaGuideSchema),
        metadata={"description": "Middle phase: per problem area, the steps and the one next"},
    )


class RunnerSchema(ma.Schema):
    session = ma.fields.Nested(SessionSchema)
    agenda = ma.fields.Nested(agenda_api.AgendaSchema)
    expected = ma.fields.Integer()
    minimum = ma.fields.Integer()
    below_minimum = ma.fields.Boolean()
    warning = ma.fields.String(allow_none=True)
    due = ma.fields.List(ma.fields.String(), metadata={"description": "Measures due here"})
    members = ma.fields.List(ma.fields.Nested(RunnerMemberSchema))
    group_note = ma.fields.Nested(NoteSchema, allow_none=True)
    open_alerts = ma.fields.List(ma.fields.Nested(AlertSchema))
    follow_ups = ma.fields.List(ma.fields.Nested(FollowUpSchema))
    crisis_text = ma.fields.String(
        metadata={"description": "The clinic's crisis instructions, always at hand"}
    )
    techniques = ma.fields.List(
        ma.fields.Nested(TechniqueSchema), metadata={"description": "For recording the work"}
    )


class GuideItemSchema(ma.Schema):
    title = ma.fields.String()
    guidance = ma.fields.String()
    minutes = ma.fields.Integer()
    kind = ma.fields.String()


class MeetingGuideSchema(ma.Schema):
    meeting = ma.fields.Nested(MeetingSchema)
    display_name = ma.fields.String()
    problem_areas = ma.fields.List(ma.fields.String())
    goal = ma.fields.String(allow_none=True)
    agenda = ma.fields.List(ma.fields.Nested(GuideItemSchema))
    due = ma.fields.List(ma.fields.String(), metadata={"description": "Measures due here"})
    recorded = ma.fields.List(
        ma.fields.String(), metadata={"description": "Measures already recorded at it"}
    )
    last_score = ma.fields.Nested(LastScoreSchema, allow_none=True)
    crisis_text = ma.fields.String()


def present(view: runner.Runner, language: str) -> dict[str, Any]:
    register = present_register(view.register)
    presenter = Presenter()
    return {
        "session": present_session(view.session),
        "agenda": agenda_api.present(view.session),
        **{k: register[k] for k in ("expected", "minimum", "below_minimum", "warning")},
        "due": view.due,
        "members": [
            {
                "enrolment_id": line.row.enrolment.id,
                "display_name": line.row.enrolment.display_name,
                "member_status": line.row.enrolment.status,
                "attendance": line.row.status,
                "cannot_come": line.row.apology is not None,
                "cannot_come_reason": line.row.apology.reason if line.row.apology else None,
                "problem_areas": line.row.enrolment.problem_areas,
                "goal": line.row.enrolment.goal,
                "last_score": line.latest,
                "due": line.due,
                "task_to_review": line.task_to_review,
                "task_here": line.task_here,
                "note_written": line.note_written,
                "open_alerts": line.open_alerts,
                "work": line.work,
                "suggested_steps": present_guides(line.guides, language),
            }
            for line in view.members
        ],
        "group_note": view.group_note,
        "open_alerts": [presenter(a) for a in view.open_alerts],
        "follow_ups": view.follow_ups,
        "crisis_text": view.crisis_text,
        "techniques": techniques(language),
    }


@blp.route(f"/sessions/<{ID}:session_id>/runner")
class SessionRunner(MethodView):
    @roles_required(*STAFF)
    @lean_response(blp, 200, RunnerSchema)
    def get(self, session_id: int) -> Any:
        """Agenda, register, each member's problem areas, goal, last score, task to
        review and measures due, the problem-area work recorded here and (in a
        middle-phase session) the steps suggested next for each member in the
        reader's language, the group note, open alerts and the crisis text."""
        session = access.get_session(current_user, session_id)
        view = runner.build(current_actor(), current_user, session)
        audit.commit_reads()
        return present(view, current_user.language)


@blp.route(f"/meetings/<{ID}:meeting_id>/guide")
class MeetingGuide(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, MeetingGuideSchema)
    def get(self, meeting_id: int) -> Any:
        """A one-to-one meeting's agenda with guidance, the measures due (the PHQ-9
        at pre-group, mid-programme and post-group meetings by default) and the
        member's problem areas, goal and last score."""
        meeting = access.get_meeting(current_user, meeting_id)
        guide = runner.meeting_guide(current_actor(), current_user, meeting)
        audit.commit_reads()
        member = meeting.enrolment
        return {
            "meeting": meeting,
            "display_name": member.display_name,
            "problem_areas": member.problem_areas,
            "goal": member.goal,
            "agenda": guide.items,
            "due": guide.due,
            "recorded": guide.recorded,
            "last_score": guide.latest,
            "crisis_text": guide.crisis_text,
        }
