"""The cohort CSV: one row per member, optionally under a pseudonym that names
nobody, with text a spreadsheet would run as a formula guarded."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io

from ipt_groups.services.outcomes.results import CohortOutcomes

# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def pseudonym(enrolment_id: int, key: str | bytes) -> str:
    """A stable id that names nobody: the same member gets the same id in every
    export, and without the app's secret key it cannot be traced back."""
    secret = key.encode() if isinstance(key, str) else key
    digest = hmac.new(secret, f"enrolment:{enrolment_id}".encode(), hashlib.sha256).hexdigest()
    return f"M-{digest[:8]}"


def _cell(value: str | int | None) -> str | int:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe.
    Only text is guarded: our own numbers (a change of -5) must stay numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


# The same guard for other exports (the programme CSV, services/programme_csv.py).
cell = _cell


def render_csv(found: CohortOutcomes, pseudonym_key: str | bytes | None = None) -> str:
    """One row per member; with ``pseudonym_key`` the member column holds a
    pseudonymous id instead of the name (nothing else in the file names anyone)."""
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["member", "status", "sessions_attended", "first_phq9", "latest_phq9", "change"]
    writer.writerow([*header, "dropout", *(s.label for s in found.sessions)])
    for m in found.members:
        who = pseudonym(m.enrolment_id, pseudonym_key) if pseudonym_key else m.display_name
        row: list[str | int | None] = [
            who,
            m.status,
            m.sessions_attended,
            m.first_phq9.total if m.first_phq9 else None,
            m.latest_phq9.total if m.latest_phq9 else None,
            m.change,
            "yes" if m.dropout else "no",
            *m.marks,
        ]
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()
