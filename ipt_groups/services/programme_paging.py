"""The Programme page's per-cohort table a page at a time (issue 26 follow-up).

An admin's clinic holds 5,000 cohorts: building and sending every row was most
of that page's time (docs/benchmarks.md). The rows are sorted after their
figures are known (the sort keys are the figures), then sliced; totals, months
and facilitators are computed over every row before (services/programme.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _share(n: int, of: int) -> float:
    return n / of if of else -1.0


# The per-cohort table's sort keys: the page's column keys (views/programme-parts.js),
# with the same stand-ins for "no figure" (-1, or 99 for a mean change) so a page
# sorted here reads as the browser would sort it.
SORTS: dict[str, Any] = {
    "cohort": lambda r: r.cohort.name.casefold(),
    "status": lambda r: r.cohort.status,
    "start": lambda r: r.cohort.start_date,
    "enrolled": lambda r: r.figures.tally.members,
    "completed": lambda r: _share(r.figures.tally.completed, r.figures.tally.members),
    "mean_change": lambda r: (
        round(r.figures.tally.change_sum / r.figures.tally.with_change, 2)
        if r.figures.tally.with_change
        else 99
    ),
    "below_10": lambda r: (
        round(r.figures.tally.latest_below_10 / r.figures.tally.with_change, 3)
        if r.figures.tally.with_change
        else -1
    ),
    "completers_below_10": lambda r: (
        round(r.figures.tally.completed_below_10 / r.figures.tally.completed_with_change, 3)
        if r.figures.tally.completed_with_change
        else -1
    ),
    "reach": lambda r: r.figures.reach.share_sent if r.figures.reach.due else -1,
    "alerts": lambda r: r.figures.open_alerts,
}
PER_PAGE = 50
MAX_PER_PAGE = 500


@dataclass(frozen=True)
class Paging:
    """Which slice of the per-cohort table to hand out, sorted how (stable: ties
    keep the start-date order)."""

    page: int = 1
    per_page: int = PER_PAGE
    sort: str = "start"
    descending: bool = False


def page_of(rows: list[Any], paging: Paging | None) -> list[Any]:
    """The slice of the CohortRows (services/programme.py) that ``paging`` asks for."""
    if paging is None:
        return rows
    ordered = sorted(rows, key=SORTS[paging.sort], reverse=paging.descending)
    start = (paging.page - 1) * paging.per_page
    return ordered[start : start + paging.per_page]
