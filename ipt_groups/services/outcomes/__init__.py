"""Outcomes: attendance per session, the retention funnel, each member's PHQ-9
change and dropouts, for one cohort and pooled over many.

Definitions (the API and the CSV show exactly these):

- a **held** session is a scheduled (not cancelled) session that has started
  (``starts_at <= now``), group or catch-up alike;
- **members** are enrolments that actually held a place in the group
  (``joined_at`` set) and were not moved away or referred: a member who only
  ever waited is not one, and a moved member counts in the cohort they moved to.
  Withdrawn members who had joined stay in: leaving is an outcome too. Only
  members' marks are counted anywhere, so per-session counts, the funnel and
  the attendance rate agree with each other;
- **not recorded** at a session: members on the cohort then (joined before it
  started, not withdrawn before it started) with no mark;
- **attended** means present or late; absent and excused are both absences;
- the **funnel**: members -> started (attended at least one held session) ->
  reached the midpoint (attended a session numbered ``(N + 1) // 2`` or later,
  N = the programme's group sessions) -> completed (attended session N); a
  catch-up session counts as the numbered session it makes up for;
- a member's **first** PHQ-9 is their earliest (whatever the source), the
  **latest** their most recent, shown only when they have two or more, and
  **change** = latest - first (negative is improvement);
- a **dropout** has two or more absences in a row among the held sessions
  (sessions with no mark are skipped) with no present or late after them: a
  member who came back after two absences is not a dropout;
- **attendance rate** = attended marks / recorded marks over held sessions.

Pooled figures (per facilitator, the clinic) add up raw counts and sums across
cohorts and recompute every mean and share from them: a mean of the pooled
members, never a mean of cohort means.

Every figure is computed in Python from a fixed number of queries (held
sessions, members, attendance marks and PHQ-9 totals, each loaded for all the
cohort ids at once), so a clinic report costs as many queries for one cohort as
for fifty. The clinic report keeps each cohort's tally between reads
(services/outcome_cache.py) and recomputes only cohorts whose data changed or
whose next session has started since.

One module per concern; every public name is re-exported here, so callers write
``from ipt_groups.services import outcomes`` and ``outcomes.cohort_outcomes(...)``:

- ``results``: the definitions' constants and the result types (``Tally``);
- ``loading``: the four queries, into plain rows;
- ``cohort``: one cohort's figures, member by member;
- ``pooled``: per facilitator and for the clinic, with the tally cache;
- ``export``: the CSV, pseudonyms and the formula guard.
"""

from ipt_groups.services.outcomes.cohort import (
    cohort_outcomes,
)
from ipt_groups.services.outcomes.export import (
    FORMULA_START,
    cell,
    pseudonym,
    render_csv,
)
from ipt_groups.services.outcomes.loading import (
    MARKS_SLICE,
)
from ipt_groups.services.outcomes.pooled import (
    clinic_outcomes,
    cohort_tallies,
    facilitator_ids,
    tallies_by_id,
)
from ipt_groups.services.outcomes.results import (
    ABSENCES,
    ATTENDED,
    BELOW_MILD,
    BELOW_MODERATE,
    NOT_MEMBERS,
    PHQ9,
    TALLY_FIELDS,
    ClinicOutcomes,
    CohortOutcomes,
    CohortTally,
    FacilitatorOutcomes,
    Funnel,
    MemberOutcome,
    Phq9,
    SessionCount,
    Summary,
    Tally,
)

__all__ = [
    "ABSENCES",
    "ATTENDED",
    "BELOW_MILD",
    "BELOW_MODERATE",
    "FORMULA_START",
    "MARKS_SLICE",
    "NOT_MEMBERS",
    "PHQ9",
    "TALLY_FIELDS",
    "ClinicOutcomes",
    "CohortOutcomes",
    "CohortTally",
    "FacilitatorOutcomes",
    "Funnel",
    "MemberOutcome",
    "Phq9",
    "SessionCount",
    "Summary",
    "Tally",
    "cell",
    "clinic_outcomes",
    "cohort_outcomes",
    "cohort_tallies",
    "facilitator_ids",
    "pseudonym",
    "render_csv",
    "tallies_by_id",
]
