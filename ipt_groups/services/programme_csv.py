"""The programme's per-cohort table as a spreadsheet.

Pseudonymous unless asked otherwise: the file is made to leave the clinic (a
funder, a ministry), and the only people it could name are staff (facilitators)
and, through a cohort's name, a place or a person ("Ana's Tuesday group"). So by
default both become stable keyed ids (``C-xxxxxxxx``, ``F-xxxxxxxx``): the same
in every export, meaningless without the app's secret key. Every text cell goes
through the cohort CSV's formula-injection guard (services/outcomes.py).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io

from ipt_groups.services.outcomes import cell
from ipt_groups.services.programme import CohortRow, Programme, completers, facilitator_names

HEADER = (
    "status", "programme", "start_date", "held_sessions", "members", "started",
    "reached_midpoint", "completed", "with_change", "mean_phq9_change", "share_latest_below_10",
    "completers_with_change", "completers_share_latest_below_10", "dropouts", "attendance_rate",
    "reminders_due", "reminders_sent", "open_risk_alerts", "overdue_follow_ups",
)  # fmt: skip


def pseudonym(kind: str, ident: int, key: str | bytes) -> str:
    secret = key.encode() if isinstance(key, str) else key
    digest = hmac.new(secret, f"{kind}:{ident}".encode(), hashlib.sha256).hexdigest()
    return f"{kind[0].upper()}-{digest[:8]}"


def _figures(row: CohortRow) -> list[str | int | float | None]:
    f = row.figures
    summary = f.tally.summary
    done = completers(f.tally)
    return [
        row.cohort.status,
        row.cohort.programme_key,
        row.cohort.start_date.isoformat(),
        row.held_sessions,
        f.tally.members,
        f.tally.started,
        f.tally.reached_midpoint,
        f.tally.completed,
        summary.with_change,
        summary.mean_change,
        summary.share_latest_below_10,
        done["with_change"],
        done["share_latest_below_10"],
        summary.dropouts,
        summary.attendance_rate,
        f.reach.due,
        f.reach.sent,
        f.open_alerts,
        f.overdue_follow_ups,
    ]


def render_csv(found: Programme, pseudonym_key: str | bytes | None) -> str:
    """One row per cohort; with ``pseudonym_key`` no name appears in the file."""
    out = io.StringIO()
    writer = csv.writer(out)
    if pseudonym_key:
        writer.writerow(["cohort", "facilitators", *HEADER])
    else:
        writer.writerow(["cohort_id", "cohort", "facilitators", *HEADER])
    for row in found.cohorts:
        staff = facilitator_names(row)
        if pseudonym_key:
            who = " ".join(pseudonym("facilitator", uid, pseudonym_key) for uid, _ in staff)
            head: list[str | int | float | None] = [
                pseudonym("cohort", row.cohort.id, pseudonym_key),
                who,
            ]
        else:
            head = [row.cohort.id, row.cohort.name, "; ".join(name for _, name in staff)]
        writer.writerow([cell(v) for v in [*head, *_figures(row)]])  # type: ignore[arg-type]
    return out.getvalue()
