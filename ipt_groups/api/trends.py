"""Per-session trends of a cohort: each member's scores (PHQ-9, mood and any
other instrument) placed on the programme's timeline, and the cohort's mean at
each place, in one answer for the runner's sparklines and the outcomes' charts.

Staff who may see the cohort only; every read writes one audit row per member
shown, as the outcomes do. Members are named by enrolment id and display name.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user

from ipt_groups.api.common import ID
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.models import STAFF_ROLES
from ipt_groups.security import current_actor, roles_required
from ipt_groups.services import access, audit, trends

blp = Blueprint("trends", __name__, url_prefix="/api", description="Outcomes")

POSITION = (
    "Where on the programme: n = group session n (a catch-up counts as the session "
    "it makes up for), 0 = the pre-group meeting or before session 1, k + 0.5 = a "
    "meeting or another score after session k, N + 1 = the follow-up meeting of a "
    "programme of N sessions"
)


class TrendPointSchema(ma.Schema):
    instrument = ma.fields.String()
    position = ma.fields.Float(metadata={"description": POSITION})
    place = ma.fields.String(metadata={"description": "session, meeting or other (by date)"})
    session_number = ma.fields.Integer(allow_none=True)
    meeting_kind = ma.fields.String(
        allow_none=True,
        metadata={"description": "pre_group, mid_programme, post_group or follow_up"},
    )
    total = ma.fields.Integer()
    completed_at = ma.fields.AwareDateTime()


class MemberTrendSchema(ma.Schema):
    enrolment_id = ma.fields.Integer()
    display_name = ma.fields.String()
    status = ma.fields.String(metadata={"description": "The enrolment status"})
    points = ma.fields.List(
        ma.fields.Nested(TrendPointSchema),
        metadata={"description": "One per instrument and position (the latest there), "
                  "by instrument then position; a position with no score is a gap"},
    )  # fmt: skip


class TrendMeanSchema(ma.Schema):
    instrument = ma.fields.String()
    position = ma.fields.Float(metadata={"description": POSITION})
    mean = ma.fields.Float(metadata={"description": "Mean total (2 dp) over the n"})
    n = ma.fields.Integer(metadata={"description": "Members with a score there"})


class CohortTrendsSchema(ma.Schema):
    cohort_id = ma.fields.Integer()
    group_sessions = ma.fields.Integer(metadata={"description": "The programme's N"})
    instruments = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Instruments with a score, phq9 and mood first"},
    )
    members = ma.fields.List(ma.fields.Nested(MemberTrendSchema))
    means = ma.fields.List(
        ma.fields.Nested(TrendMeanSchema),
        metadata={"description": "The cohort's mean per instrument and position"},
    )


def present(found: trends.CohortTrends) -> dict[str, Any]:
    return {
        "cohort_id": found.cohort.id,
        "group_sessions": found.group_sessions,
        "instruments": found.instruments,
        "members": [
            {
                "enrolment_id": m.enrolment_id,
                "display_name": m.display_name,
                "status": m.status,
                "points": [p.__dict__ for p in m.points],
            }
            for m in found.members
        ],
        "means": [m.__dict__ for m in found.means],
    }


@blp.route(f"/cohorts/<{ID}:cohort_id>/trends")
class CohortTrendsView(MethodView):
    @roles_required(*STAFF_ROLES)
    @blp.response(200, CohortTrendsSchema)
    def get(self, cohort_id: int) -> Any:
        """Each member's scores over the sessions and the cohort's mean by session
        (audited per member)."""
        cohort = access.get_cohort(current_user, cohort_id)
        found = trends.read_cohort_trends(current_actor(), cohort)
        audit.commit_reads()  # keeps what the read loaded: no reload per member
        return present(found)
