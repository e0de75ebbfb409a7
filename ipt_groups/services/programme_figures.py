"""The Programme page's figures as flat tuples of plain counts (issue 26, third
follow-up).

Every figure on the page is a plain sum over cohorts (counts, and the sums under
each mean: a mean is divided at the end, from the summed sum and the summed n),
so one cohort's figures are one tuple of ints and a month's or a facilitator's
are the column sums of its cohorts' tuples: ``sum_of`` is ``zip`` and ``sum``,
run in C, instead of 15,000 ``Row.add`` calls on objects (each adding a tally,
a reach and six counters) for an admin's 5,000 cohorts. Objects (``Row``,
services/programme.py) are built only for what is shown: the total, the months,
the facilitators and the one page of cohorts.

The layout: the tally's fields (outcomes.TALLY_FIELDS, in order), then the
reminders (``REACH``: due, sent, delivered, no channel, failed, then sent per
channel), then the counters (``COUNTERS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter

from ipt_groups.services.outcomes import TALLY_FIELDS

CHANNEL_NAMES = ("push", "sms", "email")
REACH = ("due", "sent", "delivered", "no_channel", "failed", *CHANNEL_NAMES)
COUNTERS = ("cohorts", "running", "completed", "planned", "open_alerts", "overdue_follow_ups")
N_TALLY = len(TALLY_FIELDS)
N_REACH = len(REACH)
REACH_AT = N_TALLY
COUNTERS_AT = N_TALLY + N_REACH
WIDTH = COUNTERS_AT + len(COUNTERS)
NO_REACH = (0,) * N_REACH
# Where each figure sits (the tally and the counters both have a "completed").
TALLY_AT = {name: i for i, name in enumerate(TALLY_FIELDS)}
REACH_OF = {name: REACH_AT + i for i, name in enumerate(REACH)}
COUNTER_AT = {name: COUNTERS_AT + i for i, name in enumerate(COUNTERS)}

# A tally's fields as a tuple in one C call (a Tally's __dict__, or a cached JSON tally).
tally_values = itemgetter(*TALLY_FIELDS)


def sum_of(vectors: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    """Column sums: the figures of several cohorts together."""
    if len(vectors) == 1:
        return vectors[0]
    if not vectors:
        return (0,) * WIDTH
    return tuple(map(sum, zip(*vectors, strict=True)))
