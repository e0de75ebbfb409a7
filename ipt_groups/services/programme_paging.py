"""The Programme page's per-cohort table a page at a time (issue 26 follow-up),
and its per-facilitator table the same way (an admin's clinic has 500).

An admin's clinic holds 5,000 cohorts: building and sending every row was most
of that page's time (docs/benchmarks.md). The rows are sorted after their
figures are known (the sort keys are the figures), then sliced; totals, months
and facilitators are computed over every row before (services/programme.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ipt_groups.services.programme_figures import COUNTER_AT, REACH_OF, TALLY_AT


def _share(n: int, of: int) -> float:
    return n / of if of else -1.0


def _ratio(n: int, of: int, places: int, none: int) -> float:
    return round(n / of, places) if of else none


# Where the keys' figures sit in a row's flat tuple (CohortRow.values): the rows
# are sorted without building their objects (services/programme_figures.py).
_T, _R, _C = TALLY_AT, REACH_OF, COUNTER_AT
_MEMBERS, _COMPLETED = _T["members"], _T["completed"]
_WITH, _CHANGE, _BELOW = _T["with_change"], _T["change_sum"], _T["latest_below_10"]
_DONE_WITH, _DONE_BELOW = _T["completed_with_change"], _T["completed_below_10"]
_DUE, _SENT, _ALERTS = _R["due"], _R["sent"], _C["open_alerts"]

# The per-cohort table's sort keys: the page's column keys (views/programme-parts.js),
# with the same stand-ins for "no figure" (-1, or 99 for a mean change) so a page
# sorted here reads as the browser would sort it.
SORTS: dict[str, Any] = {
    "cohort": lambda r: r.cohort.name.casefold(),
    "status": lambda r: r.cohort.status,
    "start": lambda r: r.cohort.start_date,
    "enrolled": lambda r: r.values[_MEMBERS],
    "completed": lambda r: _share(r.values[_COMPLETED], r.values[_MEMBERS]),
    "mean_change": lambda r: _ratio(r.values[_CHANGE], r.values[_WITH], 2, 99),
    "below_10": lambda r: _ratio(r.values[_BELOW], r.values[_WITH], 3, -1),
    "completers_below_10": lambda r: _ratio(r.values[_DONE_BELOW], r.values[_DONE_WITH], 3, -1),
    "reach": lambda r: _ratio(r.values[_SENT], r.values[_DUE], 3, -1),
    "alerts": lambda r: r.values[_ALERTS],
}
# The per-facilitator table's keys (views/programme-parts.js facilitatorTable): its
# name column, then the figures it shares with the cohort table. The unsorted
# order (and so the ties') is by name, then user id.
_COHORTS = _C["cohorts"]
FACILITATOR_SORTS: dict[str, Any] = {
    "facilitator": lambda r: r.display_name.casefold(),
    "cohorts": lambda r: r.values[_COHORTS],
    **{k: v for k, v in SORTS.items() if k not in ("cohort", "status", "start")},
}
PER_PAGE = 50
MAX_PER_PAGE = 500


@dataclass(frozen=True)
class Paging:
    """Which slice of a table to hand out, sorted how (stable: ties keep the
    table's own order: start date for cohorts, name for facilitators)."""

    page: int = 1
    per_page: int = PER_PAGE
    sort: str = "start"
    descending: bool = False


def page_of(rows: list[Any], paging: Paging | None, sorts: dict[str, Any] = SORTS) -> list[Any]:
    """The slice of the CohortRows (or, with FACILITATOR_SORTS, FacilitatorRows:
    services/programme.py) that ``paging`` asks for."""
    if paging is None:
        return rows
    ordered = sorted(rows, key=sorts[paging.sort], reverse=paging.descending)
    start = (paging.page - 1) * paging.per_page
    return ordered[start : start + paging.per_page]
