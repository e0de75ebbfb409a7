"""Problem-area work per member per session, and the middle phase's guidance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from marshmallow import validate

from ipt_groups.api.common import ID, conflict
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.extensions import db
from ipt_groups.models import STAFF_ROLES, Enrolment, GroupSession, ProblemWork, Role
from ipt_groups.protocol.problem_areas import (
    AREA_LABELS,
    STEP_KEYS,
    TECHNIQUE_LABELS,
    ProblemArea,
    Technique,
    text,
)
from ipt_groups.security import current_actor, roles_required
from ipt_groups.services import access, attendance, audit, problem_work
from ipt_groups.services.problem_work import AreaGuide

blp = Blueprint(
    "problem_work", __name__, url_prefix="/api", description="Problem-area work in sessions"
)

STAFF = tuple(STAFF_ROLES)
MANAGERS = (Role.ADMIN, Role.FACILITATOR)
TECHNIQUES = [t.value for t in Technique]


class TechniqueSchema(ma.Schema):
    key = ma.fields.String()
    label = ma.fields.String(metadata={"description": "In the reader's language"})


class GuideStepSchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    guidance = ma.fields.String()
    techniques = ma.fields.List(ma.fields.String())
    done = ma.fields.Boolean(metadata={"description": "Worked on at an earlier session"})
    suggested = ma.fields.Boolean(metadata={"description": "The step to work on next"})


class AreaGuideSchema(ma.Schema):
    area = ma.fields.String()
    label = ma.fields.String()
    next_step = ma.fields.String(
        allow_none=True, metadata={"description": "Key of the suggested step"}
    )
    all_done = ma.fields.Boolean(
        metadata={"description": "Every step worked on: the last one is suggested again"}
    )
    steps = ma.fields.List(ma.fields.Nested(GuideStepSchema))


class WorkSchema(ma.Schema):
    id = ma.fields.Integer()
    session_id = ma.fields.Integer()
    enrolment_id = ma.fields.Integer()
    techniques = ma.fields.List(ma.fields.String())
    steps = ma.fields.List(ma.fields.String())
    progress = ma.fields.Integer(allow_none=True, metadata={"description": "0-4 on the goal"})
    recorded_by_id = ma.fields.Integer(allow_none=True)
    recorded_at = ma.fields.AwareDateTime()
    created_at = ma.fields.AwareDateTime()


class WorkWriteSchema(ma.Schema):
    techniques = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(TECHNIQUES)),
        required=True,
        validate=validate.Length(max=len(TECHNIQUES)),
        metadata={"description": f"Any of: {', '.join(TECHNIQUES)}"},
    )
    steps = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(sorted(STEP_KEYS))),
        load_default=list,
        validate=validate.Length(max=len(STEP_KEYS)),
        metadata={"description": "Steps of the member's problem areas worked on"},
    )
    progress = ma.fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=4),
        metadata={"description": "Progress on the member's goal: 0 none to 4 reached"},
    )


class MemberWorkSchema(ma.Schema):
    enrolment_id = ma.fields.Integer()
    display_name = ma.fields.String()
    problem_areas = ma.fields.List(ma.fields.String())
    suggested_steps = ma.fields.List(ma.fields.Nested(AreaGuideSchema))
    work = ma.fields.Nested(WorkSchema, allow_none=True)


class SessionWorkSchema(ma.Schema):
    session_id = ma.fields.Integer()
    phase = ma.fields.String(allow_none=True)
    techniques = ma.fields.List(ma.fields.Nested(TechniqueSchema))
    members = ma.fields.List(ma.fields.Nested(MemberWorkSchema))


def techniques(language: str) -> list[dict[str, str]]:
    return [{"key": t.value, "label": text(TECHNIQUE_LABELS[t], language)} for t in Technique]


# kept: a guide's texts are picked in the reader's language, which the guide (protocol
# data shared by every reader) does not carry; the schema would need it in its context.
def present_guides(guides: Sequence[AreaGuide], language: str) -> list[dict[str, Any]]:
    """A member's guides in the reader's language."""
    return [
        {
            "area": g.area,
            "label": text(AREA_LABELS[ProblemArea(g.area)], language),
            "next_step": g.next.key if g.next else None,
            "all_done": g.all_done,
            "steps": [
                {
                    "key": s.key,
                    "title": text(s.title, language),
                    "guidance": text(s.guidance, language),
                    "techniques": [t.value for t in s.techniques],
                    "done": s.key in g.done,
                    "suggested": g.next is not None and s.key == g.next.key,
                }
                for s in g.steps
            ],
        }
        for g in guides
    ]


def _members(session: GroupSession) -> list[Enrolment]:
    return [row.enrolment for row in attendance.register(session).rows]


@blp.route(f"/sessions/<{ID}:session_id>/work")
class SessionWork(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, SessionWorkSchema)
    def get(self, session_id: int) -> Any:
        """Each member's problem-area work at this session (techniques, steps,
        progress 0-4) and, in a middle-phase session, the steps suggested next
        for their problem areas, in the reader's language. Audited per member."""
        session = access.get_session(current_user, session_id)
        members = _members(session)
        records = problem_work.for_session(session)
        guides = problem_work.guidance(session, members)
        problem_work.audit_read(current_actor(), session, [m.id for m in members])
        audit.commit_reads()
        language = current_user.language
        return {
            "session_id": session.id,
            "phase": session.phase,
            "techniques": techniques(language),
            "members": [
                {
                    "enrolment_id": m.id,
                    "display_name": m.display_name,
                    "problem_areas": m.problem_areas,
                    "suggested_steps": present_guides(guides.get(m.id, []), language),
                    "work": records.get(m.id),
                }
                for m in members
            ],
        }


@blp.route(f"/sessions/<{ID}:session_id>/work/<{ID}:enrolment_id>")
class MemberWork(MethodView):
    @roles_required(*MANAGERS)
    @blp.arguments(WorkWriteSchema)
    @blp.response(200, WorkSchema)
    @blp.alt_response(409, **conflict("session_cancelled", "cohort_closed", "session_not_started"))
    def put(self, data: dict[str, Any], session_id: int, enrolment_id: int) -> Any:
        """Record (or correct, while the session can be recorded) the techniques
        used with this member, the steps of their problem area worked on, and a
        0-4 rating of progress on their goal. One record per session and member."""
        session = access.get_session(current_user, session_id, manage=True)
        work: ProblemWork = problem_work.record(
            current_actor(), current_user, session, enrolment_id, **data
        )
        db.session.commit()
        return work
