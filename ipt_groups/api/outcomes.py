"""Outcomes: a cohort's attendance, retention, PHQ-9 change and dropouts (JSON
or CSV), and the same figures pooled per facilitator and for the clinic.

The cohort views show each member's scores, so every read writes one audit row
per member shown. The clinic view shows aggregates only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from flask_login import current_user

from ipt_groups.api.common import ID, UserId, csv_file, csv_response
from ipt_groups.api.lean import lean_response
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.extensions import db
from ipt_groups.models import STAFF_ROLES
from ipt_groups.security import current_actor, roles_required
from ipt_groups.services import access, audit, outcomes, sustained
from ipt_groups.services.outcomes import CohortOutcomes, MemberOutcome, Phq9, Tally

blp = Blueprint("outcomes", __name__, url_prefix="/api", description="Outcomes")

STAFF = tuple(STAFF_ROLES)
CSV_EXAMPLE = (
    "member,status,sessions_attended,first_phq9,latest_phq9,change,dropout,s1,s2\r\n"
    "M-3f9a61c2,enrolled,2,16,9,-7,no,present,late\r\n"
)


class OutcomePhq9Schema(ma.Schema):
    total = ma.fields.Integer()
    completed_at = ma.fields.AwareDateTime()


class SessionOutcomeSchema(ma.Schema):
    session_id = ma.fields.Integer()
    number = ma.fields.Integer(allow_none=True)
    kind = ma.fields.String(metadata={"description": "group or catch_up"})
    label = ma.fields.String(metadata={"description": "Its column in the CSV: s1, s2 ..."})
    starts_at = ma.fields.AwareDateTime()
    present = ma.fields.Integer()
    late = ma.fields.Integer()
    excused = ma.fields.Integer()
    absent = ma.fields.Integer()
    not_recorded = ma.fields.Integer(
        metadata={"description": "Members on the cohort at the time with no mark"}
    )
    attended = ma.fields.Integer(metadata={"description": "Present + late"})


class OutcomeFunnelSchema(ma.Schema):
    enrolled = ma.fields.Integer(metadata={"description": "Members who joined the group"})
    started = ma.fields.Integer(metadata={"description": "Attended at least one session"})
    reached_midpoint = ma.fields.Integer(
        metadata={"description": "Attended a session numbered (N + 1) // 2 or later"}
    )
    completed = ma.fields.Integer(metadata={"description": "Attended the last session (N)"})


class CohortOutcomeFunnelSchema(OutcomeFunnelSchema):
    midpoint_session = ma.fields.Integer()
    final_session = ma.fields.Integer()


class OutcomeSummarySchema(ma.Schema):
    members = ma.fields.Integer()
    with_change = ma.fields.Integer(
        metadata={"description": "n: members with a first and a latest PHQ-9 (two or more)"}
    )
    mean_change = ma.fields.Float(
        allow_none=True,
        metadata={"description": "Mean of latest - first over the n (2 dp); None when n = 0"},
    )
    share_latest_below_10 = ma.fields.Float(
        allow_none=True, metadata={"description": "Share of the n whose latest is below 10 (3 dp)"}
    )
    share_latest_below_5 = ma.fields.Float(
        allow_none=True, metadata={"description": "Share of the n whose latest is below 5 (3 dp)"}
    )
    dropouts = ma.fields.Integer(
        metadata={"description": "Two or more absences in a row (absent or excused) with no "
                  "attendance after them"}
    )  # fmt: skip
    attended_marks = ma.fields.Integer(metadata={"description": "Present or late marks"})
    recorded_marks = ma.fields.Integer(metadata={"description": "Every mark recorded"})
    attendance_rate = ma.fields.Float(
        allow_none=True, metadata={"description": "attended_marks / recorded_marks (3 dp)"}
    )


class MemberOutcomeSchema(ma.Schema):
    enrolment_id = ma.fields.Integer()
    display_name = ma.fields.String()
    status = ma.fields.String(metadata={"description": "The enrolment status"})
    sessions_attended = ma.fields.Integer()
    first_phq9 = ma.fields.Nested(OutcomePhq9Schema, allow_none=True)
    latest_phq9 = ma.fields.Nested(
        OutcomePhq9Schema, allow_none=True, metadata={"description": "Only with two or more PHQ-9s"}
    )
    change = ma.fields.Integer(
        allow_none=True, metadata={"description": "latest - first (negative is better)"}
    )
    dropout = ma.fields.Boolean()
    marks = ma.fields.List(
        ma.fields.String(allow_none=True),
        metadata={"description": "The mark at each held session, in the order of `sessions`"},
    )


class MemberSustainedSchema(ma.Schema):
    enrolment_id = ma.fields.Integer()
    end_phq9 = ma.fields.Nested(
        OutcomePhq9Schema, allow_none=True,
        metadata={"description": "The latest PHQ-9 before the follow-up (not the first)"},
    )  # fmt: skip
    follow_up_phq9 = ma.fields.Nested(
        OutcomePhq9Schema, allow_none=True,
        metadata={"description": "The latest PHQ-9 recorded at the follow-up meeting"},
    )  # fmt: skip
    change_since_end = ma.fields.Integer(
        allow_none=True, metadata={"description": "follow-up - end (positive is worse)"}
    )
    kept_below_10 = ma.fields.Boolean(
        allow_none=True, metadata={"description": "Below 10 at the end and still at follow-up; "
                                   "None unless below 10 at the end and followed up"},
    )  # fmt: skip
    kept_improved = ma.fields.Boolean(
        allow_none=True, metadata={"description": "Improved by 5+ from the first PHQ-9 at the "
                                   "end and still at follow-up; None unless improved at the end"},
    )  # fmt: skip


class SustainedSummarySchema(ma.Schema):
    with_follow_up = ma.fields.Integer(
        metadata={"description": "m: members with an end and a follow-up PHQ-9"}
    )
    below_10_at_end = ma.fields.Integer()
    kept_below_10 = ma.fields.Integer(metadata={"description": "Of below_10_at_end"})
    improved_at_end = ma.fields.Integer(metadata={"description": "Improved by 5+ at the end"})
    kept_improved = ma.fields.Integer(metadata={"description": "Of improved_at_end"})
    mean_change = ma.fields.Float(
        allow_none=True, metadata={"description": "Mean of follow-up - end over the m (2 dp)"}
    )


class CohortOutcomesSchema(ma.Schema):
    cohort_id = ma.fields.Integer()
    sessions = ma.fields.List(
        ma.fields.Nested(SessionOutcomeSchema),
        metadata={"description": "Held sessions (scheduled, started), in order"},
    )
    funnel = ma.fields.Nested(CohortOutcomeFunnelSchema)
    members = ma.fields.List(ma.fields.Nested(MemberOutcomeSchema))
    summary = ma.fields.Nested(OutcomeSummarySchema)
    follow_up = ma.fields.List(
        ma.fields.Nested(MemberSustainedSchema),
        metadata={"description": "Each member's end and follow-up PHQ-9, in `members` order"},
    )
    sustained = ma.fields.Nested(
        SustainedSummarySchema,
        metadata={"description": "Change kept at follow-up, over the members followed up"},
    )


class OutcomesCsvArgsSchema(ma.Schema):
    pseudonymous = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "Replace names with stable ids (M-xxxxxxxx)"},
    )


class OutcomeCohortRowSchema(ma.Schema):
    cohort_id = ma.fields.Integer()
    name = ma.fields.String()
    status = ma.fields.String()
    programme_key = ma.fields.String()
    start_date = ma.fields.Date()
    held_sessions = ma.fields.Integer()
    facilitator_ids = ma.fields.List(ma.fields.Integer())
    funnel = ma.fields.Nested(OutcomeFunnelSchema)
    summary = ma.fields.Nested(OutcomeSummarySchema)
    sustained = ma.fields.Nested(SustainedSummarySchema)


class OutcomeFacilitatorRowSchema(ma.Schema):
    user_id = ma.fields.Integer()
    display_name = ma.fields.String()
    cohort_ids = ma.fields.List(ma.fields.Integer())
    funnel = ma.fields.Nested(OutcomeFunnelSchema)
    summary = ma.fields.Nested(OutcomeSummarySchema)
    sustained = ma.fields.Nested(SustainedSummarySchema)


class ClinicOutcomeTotalsSchema(ma.Schema):
    cohorts = ma.fields.Integer()
    funnel = ma.fields.Nested(OutcomeFunnelSchema)
    summary = ma.fields.Nested(OutcomeSummarySchema)
    sustained = ma.fields.Nested(SustainedSummarySchema)


class ClinicOutcomesSchema(ma.Schema):
    clinic = ma.fields.Nested(
        ClinicOutcomeTotalsSchema,
        metadata={"description": "Pooled over every member of the cohorts below"},
    )
    facilitators = ma.fields.List(
        ma.fields.Nested(OutcomeFacilitatorRowSchema),
        metadata={"description": "Leads and co-facilitators, pooled over their cohorts"},
    )
    cohorts = ma.fields.List(
        ma.fields.Nested(OutcomeCohortRowSchema),
        metadata={"description": "Cohorts that have held at least one session"},
    )


class ClinicOutcomesArgsSchema(ma.Schema):
    facilitator_id = UserId(
        metadata={"description": "Only the cohorts this person leads or co-facilitates"}
    )


def _phq9(score: Phq9 | None) -> dict[str, Any] | None:
    return None if score is None else {"total": score.total, "completed_at": score.completed_at}


def _member(m: MemberOutcome) -> dict[str, Any]:
    return {
        "enrolment_id": m.enrolment_id,
        "display_name": m.display_name,
        "status": m.status,
        "sessions_attended": m.sessions_attended,
        "first_phq9": _phq9(m.first_phq9),
        "latest_phq9": _phq9(m.latest_phq9),
        "change": m.change,
        "dropout": m.dropout,
        "marks": list(m.marks),
    }


def _sustained(found: CohortOutcomes) -> dict[str, Any]:
    by_member = sustained.for_members(m.enrolment_id for m in found.members)
    rows = [by_member[m.enrolment_id] for m in found.members]
    pooled = sustained.tally(rows)
    return {
        "sustained": _pooled(pooled),
        "follow_up": [
            {
                "enrolment_id": r.enrolment_id,
                "end_phq9": _phq9(r.end),
                "follow_up_phq9": _phq9(r.follow_up),
                "change_since_end": r.change_since_end,
                "kept_below_10": r.kept_below_10,
                "kept_improved": r.kept_improved,
            }
            for r in rows
        ],
    }


def _pooled(found: sustained.SustainedTally) -> dict[str, Any]:
    return {
        **{k: v for k, v in found.__dict__.items() if k != "change_sum"},
        "mean_change": found.mean_change,
    }


# kept: a hot read served through api/lean.py; see docs/benchmarks.md, issue 24 section
def present_cohort_outcomes(found: CohortOutcomes) -> dict[str, Any]:
    return {
        **_sustained(found),
        "cohort_id": found.cohort.id,
        "sessions": [{**s.__dict__, "attended": s.attended} for s in found.sessions],
        "funnel": {
            **found.tally.funnel.__dict__,
            "midpoint_session": found.midpoint_session,
            "final_session": found.final_session,
        },
        "members": [_member(m) for m in found.members],
        "summary": found.tally.summary,
    }


def _aggregate(tally: Tally) -> dict[str, Any]:
    return {"funnel": tally.funnel, "summary": tally.summary}


# kept: a hot read served through api/lean.py; see docs/benchmarks.md, issue 24 section
def present_clinic_outcomes(found: outcomes.ClinicOutcomes) -> dict[str, Any]:
    """Aggregates only: no member's name or score appears here. The change kept
    at follow-up is pooled the same way: counts added across cohorts."""
    kept = sustained.for_cohorts(r.cohort.id for r in found.cohorts)

    def pooled(cohort_ids: Iterable[int]) -> dict[str, Any]:
        return _pooled(sustained.pool(kept, cohort_ids))

    return {
        "clinic": {
            "cohorts": len(found.cohorts),
            **_aggregate(found.tally),
            "sustained": pooled(kept),
        },
        "facilitators": [
            {
                "user_id": f.user_id,
                "display_name": f.display_name,
                "cohort_ids": f.cohort_ids,
                **_aggregate(f.tally),
                "sustained": pooled(f.cohort_ids),
            }
            for f in found.facilitators
        ],
        "cohorts": [
            {
                "cohort_id": r.cohort.id,
                "name": r.cohort.name,
                "status": r.cohort.status,
                "programme_key": r.cohort.programme_key,
                "start_date": r.cohort.start_date,
                "held_sessions": r.held_sessions,
                "facilitator_ids": outcomes.facilitator_ids(r.cohort),
                **_aggregate(r.tally),
                "sustained": _pooled(kept[r.cohort.id]),
            }
            for r in found.cohorts
        ],
    }


@blp.route(f"/cohorts/<{ID}:cohort_id>/outcomes")
class CohortOutcomesView(MethodView):
    @roles_required(*STAFF)
    @lean_response(blp, 200, CohortOutcomesSchema)
    def get(self, cohort_id: int) -> Any:
        """Attendance per held session, the retention funnel, each member's PHQ-9
        change and dropout flag, and the cohort's summary (audited per member)."""
        cohort = access.get_cohort(current_user, cohort_id)
        found = outcomes.cohort_outcomes(cohort)
        body = present_cohort_outcomes(found)
        audit.record_reads(
            current_actor(),
            "outcomes.read",
            "cohort",
            cohort.id,
            [m.enrolment_id for m in found.members],
        )
        db.session.commit()
        return body


@blp.route(f"/cohorts/<{ID}:cohort_id>/outcomes.csv")
class CohortOutcomesCsv(MethodView):
    @roles_required(*STAFF)
    @blp.arguments(OutcomesCsvArgsSchema, location="query")
    @blp.response(
        200,
        **csv_file(
            description="One row per member: member, status, sessions_attended, first_phq9, "
            "latest_phq9, change, dropout (yes/no), then one column per held session "
            "(s1, s2 ...: present, late, excused, absent or empty). With pseudonymous=true "
            "the member column holds a stable id (M-xxxxxxxx) and the file names nobody.",
            example=CSV_EXAMPLE,
            filename="cohort-<id>-outcomes.csv",
        ),
    )
    def get(self, args: dict[str, Any], cohort_id: int) -> Response:
        """The cohort's outcomes as a spreadsheet, by name or pseudonymous (audited)."""
        cohort = access.get_cohort(current_user, cohort_id)
        found = outcomes.cohort_outcomes(cohort)
        members = [m.enrolment_id for m in found.members]

        def record(action: str) -> None:
            audit.record_reads(current_actor(), action, "cohort", cohort.id, members)

        return csv_response(
            args["pseudonymous"],
            lambda key: outcomes.render_csv(found, pseudonym_key=key),
            "outcomes.export",
            record,
            f"cohort-{cohort.id}-outcomes.csv",
        )


@blp.route("/outcomes")
class ClinicOutcomesView(MethodView):
    @roles_required(*STAFF)
    @blp.arguments(ClinicOutcomesArgsSchema, location="query")
    @lean_response(blp, 200, ClinicOutcomesSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Outcomes pooled over the cohorts I may see (admins all, facilitators theirs,
        supervisors those they supervise): clinic totals, per facilitator, per cohort.
        Aggregates only."""
        found = outcomes.clinic_outcomes(current_user, args.get("facilitator_id"))
        body = present_clinic_outcomes(found)
        audit.record(current_actor(), "outcomes.clinic_read")
        db.session.commit()
        return body
