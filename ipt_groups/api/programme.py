"""The programme on one screen (JSON) and its per-cohort table (CSV), for the
cohorts the caller may see: the same access as ``GET /api/outcomes``.

Aggregates only (no member's name or score), so a read writes one audit row, as
the clinic outcomes do; the CSV export writes one too, naming whether it was
pseudonymous.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, current_app
from flask.views import MethodView
from flask_login import current_user

from ipt_groups.api.common import UserId, csv_file, csv_response
from ipt_groups.api.lean import lean_response
from ipt_groups.api.outcomes import OutcomeFunnelSchema, OutcomeSummarySchema
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.extensions import db
from ipt_groups.models import STAFF_ROLES
from ipt_groups.security import current_actor, roles_required
from ipt_groups.services import audit, programme, programme_csv
from ipt_groups.services.programme import Filters, Programme, Row
from ipt_groups.services.programme_paging import (
    FACILITATOR_SORTS,
    MAX_PER_PAGE,
    PER_PAGE,
    SORTS,
    Paging,
)
from ipt_groups.timesource import utcnow

blp = Blueprint("programme", __name__, url_prefix="/api", description="Programme")

STAFF = tuple(STAFF_ROLES)
CSV_EXAMPLE = (
    "cohort,facilitators,status,programme,start_date,held_sessions,members,...\r\n"
    "C-1a2b3c4d,F-9f8e7d6c,completed,who-8,2026-01-12,8,9,...\r\n"
)


class ProgrammeArgsSchema(ma.Schema):
    start = ma.fields.Date(
        metadata={"description": "Cohorts with a session on or after this day (UTC)"}
    )
    end = ma.fields.Date(metadata={"description": "... and on or before this day (UTC)"})
    facilitator_id = UserId(
        metadata={"description": "Only the cohorts this person leads or co-facilitates"}
    )
    programme_key = ma.fields.String(
        validate=ma.validate.Length(min=1, max=40),
        metadata={"description": "Only cohorts run from this programme template"},
    )

    @ma.validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ma.ValidationError("The period must end on or after its start.", "end")


class ProgrammePageArgsSchema(ProgrammeArgsSchema):
    """The page's call: the per-cohort table comes a page at a time (a clinic
    holds thousands of cohorts); every other figure covers all of them."""

    page = ma.fields.Integer(
        load_default=1, validate=ma.validate.Range(min=1),
        metadata={"description": "Which page of the per-cohort table (from 1)"},
    )  # fmt: skip
    per_page = ma.fields.Integer(
        load_default=PER_PAGE, validate=ma.validate.Range(min=1, max=MAX_PER_PAGE),
        metadata={"description": f"Cohort rows per page (at most {MAX_PER_PAGE})"},
    )  # fmt: skip
    sort = ma.fields.String(
        load_default="start", validate=ma.validate.OneOf(sorted(SORTS)),
        metadata={"description": "The per-cohort table's sort column (ties: by start date)"},
    )  # fmt: skip
    order = ma.fields.String(
        load_default="asc", validate=ma.validate.OneOf(["asc", "desc"]),
    )  # fmt: skip
    # The per-facilitator table the same way (an admin's clinic has 500 of them).
    facilitator_page = ma.fields.Integer(
        load_default=1, validate=ma.validate.Range(min=1),
        metadata={"description": "Which page of the per-facilitator table (from 1)"},
    )  # fmt: skip
    facilitator_per_page = ma.fields.Integer(
        load_default=PER_PAGE, validate=ma.validate.Range(min=1, max=MAX_PER_PAGE),
        metadata={"description": f"Facilitator rows per page (at most {MAX_PER_PAGE})"},
    )  # fmt: skip
    facilitator_sort = ma.fields.String(
        load_default="facilitator", validate=ma.validate.OneOf(sorted(FACILITATOR_SORTS)),
        metadata={"description": "The per-facilitator table's sort column (ties: by name)"},
    )  # fmt: skip
    facilitator_order = ma.fields.String(
        load_default="asc", validate=ma.validate.OneOf(["asc", "desc"]),
    )  # fmt: skip


class ProgrammeCsvArgsSchema(ProgrammeArgsSchema):
    pseudonymous = ma.fields.Boolean(
        load_default=True,
        metadata={"description": "Stable ids (C-…, F-…) instead of cohort and staff names"},
    )


class ReachSchema(ma.Schema):
    due = ma.fields.Integer(metadata={"description": "Member session reminders whose time came"})
    sent = ma.fields.Integer(metadata={"description": "... that went out over some channel"})
    share_sent = ma.fields.Float(allow_none=True, metadata={"description": "sent / due (3 dp)"})
    delivered = ma.fields.Integer(metadata={"description": "Delivery confirmed by the provider"})
    no_channel = ma.fields.Integer(metadata={"description": "Nobody could be reached"})
    failed = ma.fields.Integer(metadata={"description": "Failed or expired"})
    by_channel = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Integer(),
        metadata={"description": "Sent, per channel: push, sms, email"},
    )  # fmt: skip


class CompletersSchema(ma.Schema):
    with_change = ma.fields.Integer(
        metadata={"description": "Completers (came to the last session) with two or more PHQ-9s"}
    )
    mean_change = ma.fields.Float(allow_none=True, metadata={"description": "Over them (2 dp)"})
    share_latest_below_10 = ma.fields.Float(
        allow_none=True, metadata={"description": "Of them, latest PHQ-9 below 10 (3 dp)"}
    )


class FiguresSchema(ma.Schema):
    cohorts = ma.fields.Integer()
    running = ma.fields.Integer()
    completed = ma.fields.Integer()
    planned = ma.fields.Integer()
    funnel = ma.fields.Nested(OutcomeFunnelSchema)
    summary = ma.fields.Nested(OutcomeSummarySchema)
    completers = ma.fields.Nested(CompletersSchema)
    reminders = ma.fields.Nested(ReachSchema)
    open_alerts = ma.fields.Integer()
    overdue_follow_ups = ma.fields.Integer()


class ProgrammeCohortSchema(FiguresSchema):
    cohort_id = ma.fields.Integer()
    name = ma.fields.String()
    status = ma.fields.String()
    programme_key = ma.fields.String()
    start_date = ma.fields.Date()
    held_sessions = ma.fields.Integer()
    current_members = ma.fields.Integer(metadata={"description": "Enrolled now"})
    group_size_min = ma.fields.Integer(
        allow_none=True, metadata={"description": "The programme's minimum (live cohorts only)"}
    )
    facilitators = ma.fields.List(ma.fields.Nested("CohortFacilitatorSchema"))


class CohortFacilitatorSchema(ma.Schema):
    user_id = ma.fields.Integer()
    name = ma.fields.String()


class ProgrammeFacilitatorSchema(FiguresSchema):
    user_id = ma.fields.Integer()
    display_name = ma.fields.String()
    cohort_ids = ma.fields.List(ma.fields.Integer())


class ProgrammeMonthSchema(FiguresSchema):
    month = ma.fields.String(metadata={"description": "The cohorts' start month, YYYY-MM"})


class OpenAlertSchema(ma.Schema):
    alert_id = ma.fields.Integer()
    cohort_id = ma.fields.Integer()
    cohort_name = ma.fields.String()
    source = ma.fields.String()
    opened_at = ma.fields.AwareDateTime()
    age_hours = ma.fields.Float(metadata={"description": "Hours open (1 dp)"})
    escalated_at = ma.fields.AwareDateTime(allow_none=True)


class CohortCountSchema(ma.Schema):
    cohort_id = ma.fields.Integer()
    cohort_name = ma.fields.String()
    count = ma.fields.Integer()
    oldest_due_at = ma.fields.AwareDateTime(allow_none=True)


class BelowMinimumSchema(ma.Schema):
    cohort_id = ma.fields.Integer()
    cohort_name = ma.fields.String()
    status = ma.fields.String()
    current_members = ma.fields.Integer()
    group_size_min = ma.fields.Integer()


class ActionSchema(ma.Schema):
    open_alerts = ma.fields.List(
        ma.fields.Nested(OpenAlertSchema),
        metadata={"description": "Open risk alerts, oldest first (the first 100)"},
    )
    open_alert_count = ma.fields.Integer()
    escalated_count = ma.fields.Integer(metadata={"description": "Open and already escalated"})
    overdue_follow_ups = ma.fields.List(
        ma.fields.Nested(CohortCountSchema),
        metadata={"description": "First-absence follow-ups past due, per cohort, oldest first"},
    )
    below_minimum = ma.fields.List(
        ma.fields.Nested(BelowMinimumSchema),
        metadata={"description": "Planned or running cohorts below the programme's minimum"},
    )
    unreachable = ma.fields.List(
        ma.fields.Nested(CohortCountSchema),
        metadata={"description": "Members with no push device and no usable SMS/email channel"},
    )


class CohortPagingSchema(ma.Schema):
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer(metadata={"description": "Cohorts in scope (every page)"})
    pages = ma.fields.Integer()
    sort = ma.fields.String()
    order = ma.fields.String()


class FacilitatorPagingSchema(CohortPagingSchema):
    total = ma.fields.Integer(
        metadata={"description": "Facilitators of the cohorts in scope (every page)"}
    )


class ProgrammePageSchema(ma.Schema):
    filters = ma.fields.Dict(metadata={"description": "The filters applied"})
    cohort_paging = ma.fields.Nested(
        CohortPagingSchema, metadata={"description": "Which slice of the per-cohort table this is"}
    )
    facilitator_paging = ma.fields.Nested(
        FacilitatorPagingSchema,
        metadata={"description": "Which slice of the per-facilitator table this is"},
    )
    totals = ma.fields.Nested(FiguresSchema)
    months = ma.fields.List(ma.fields.Nested(ProgrammeMonthSchema))
    facilitators = ma.fields.List(
        ma.fields.Nested(ProgrammeFacilitatorSchema),
        metadata={"description": "One page of the per-facilitator table (see facilitator_paging)"},
    )
    cohorts = ma.fields.List(
        ma.fields.Nested(ProgrammeCohortSchema),
        metadata={"description": "One page of the per-cohort table (see cohort_paging)"},
    )
    action = ma.fields.Nested(ActionSchema)


def _figures(row: Row) -> dict[str, Any]:
    reach = row.reach
    return {
        "cohorts": row.cohorts,
        "running": row.running,
        "completed": row.completed,
        "planned": row.planned,
        "funnel": row.tally.funnel,
        "summary": row.tally.summary,
        "completers": programme.completers(row.tally),
        "reminders": {**reach.__dict__, "share_sent": reach.share_sent},
        "open_alerts": row.open_alerts,
        "overdue_follow_ups": row.overdue_follow_ups,
    }


def _paging(p: Paging | None, total: int) -> dict[str, Any] | None:
    if p is None:
        return None
    return {
        "page": p.page,
        "per_page": p.per_page,
        "total": total,
        "pages": -(-total // p.per_page),
        "sort": p.sort,
        "order": "desc" if p.descending else "asc",
    }


def present(found: Programme) -> dict[str, Any]:
    names = programme.cohort_names(found)
    f = found.filters
    return {
        "filters": {
            "start": f.start.isoformat() if f.start else None,
            "end": f.end.isoformat() if f.end else None,
            "facilitator_id": f.facilitator_id,
            "programme_key": f.programme_key,
        },
        "cohort_paging": _paging(found.paging, found.cohort_count),
        "facilitator_paging": _paging(found.facilitator_paging, found.facilitator_count),
        "totals": _figures(found.total),
        "months": [{"month": m, **_figures(r)} for m, r in found.months],
        "facilitators": [
            {
                "user_id": r.user_id,
                "display_name": r.display_name,
                "cohort_ids": r.cohort_ids,
                **_figures(r.figures),
            }
            for r in found.facilitators
        ],
        "cohorts": [
            {
                **_figures(r.figures),
                "cohort_id": r.cohort.id,
                "name": r.cohort.name,
                "status": r.cohort.status,
                "programme_key": r.cohort.programme_key,
                "start_date": r.cohort.start_date,
                "held_sessions": r.held_sessions,
                "current_members": r.current_members,
                "group_size_min": r.group_size_min,
                "facilitators": [
                    {"user_id": uid, "name": name} for uid, name in programme.facilitator_names(r)
                ],
            }
            for r in found.cohorts
        ],
        "action": {
            "open_alerts": [
                {
                    **a.__dict__,
                    "cohort_name": names.get(a.cohort_id, ""),
                    "age_hours": round((found.now - a.opened_at).total_seconds() / 3600, 1),
                }
                for a in found.open_alerts
            ],
            "open_alert_count": found.open_alert_count,
            "escalated_count": found.escalated_count,
            "overdue_follow_ups": [
                {**o.__dict__, "cohort_name": names.get(o.cohort_id, "")} for o in found.overdue
            ],
            "below_minimum": [
                {
                    "cohort_id": r.cohort.id,
                    "cohort_name": r.cohort.name,
                    "status": r.cohort.status,
                    "current_members": r.current_members,
                    "group_size_min": r.group_size_min,
                }
                for r in found.below_minimum
            ],
            "unreachable": [
                {**u.__dict__, "cohort_name": names.get(u.cohort_id, ""), "oldest_due_at": None}
                for u in found.unreachable
            ],
        },
    }


def _load(
    args: dict[str, Any], paging: Paging | None = None, facilitators: Paging | None = None
) -> Programme:
    filters = Filters(
        start=args.get("start"),
        end=args.get("end"),
        facilitator_id=args.get("facilitator_id"),
        programme_key=args.get("programme_key"),
    )
    settings = current_app.config["CHANNELS"]
    return programme.programme_view(
        current_user, filters, settings, utcnow(), paging, facilitator_paging=facilitators
    )


@blp.route("/programme")
class ProgrammeView(MethodView):
    @roles_required(*STAFF)
    @blp.arguments(ProgrammePageArgsSchema, location="query")
    # Dumped by the schema's compiled function (api/lean.py): marshmallow's walk
    # over 500 facilitator rows of nested figures was ~100 ms of the admin's page.
    @lean_response(blp, 200, ProgrammePageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """The programme page: headline figures, by start month and what needs
        action now over the cohorts I may see (as GET /api/outcomes), and one
        page each of the per-facilitator and per-cohort tables (sorted as
        asked; the CSV has every cohort). Aggregates only."""
        paging = Paging(args["page"], args["per_page"], args["sort"], args["order"] == "desc")
        facilitators = Paging(
            args["facilitator_page"],
            args["facilitator_per_page"],
            args["facilitator_sort"],
            args["facilitator_order"] == "desc",
        )
        body = present(_load(args, paging, facilitators))
        audit.record(current_actor(), "programme_view.read")
        db.session.commit()
        return body


@blp.route("/programme.csv")
class ProgrammeCsv(MethodView):
    @roles_required(*STAFF)
    @blp.arguments(ProgrammeCsvArgsSchema, location="query")
    @blp.response(
        200,
        **csv_file(
            description="One row per cohort with the programme page's figures. Pseudonymous by "
            "default (cohort and facilitator columns hold stable ids C-…, F-…); "
            "pseudonymous=false adds cohort_id and the names.",
            example=CSV_EXAMPLE,
            filename="programme.csv",
        ),
    )
    def get(self, args: dict[str, Any]) -> Response:
        """The per-cohort table as a spreadsheet (audited)."""
        found = _load(args)
        return csv_response(
            args["pseudonymous"],
            lambda key: programme_csv.render_csv(found, pseudonym_key=key),
            "programme_view.export",
            lambda action: audit.record(current_actor(), action),
            "programme.csv",
        )
