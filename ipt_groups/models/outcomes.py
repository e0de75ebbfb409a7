"""A cache of each cohort's pooled outcome figures, for the clinic dashboard."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from ipt_groups.extensions import db
from ipt_groups.models.types import JSONType, UTCDateTime


class CohortOutcomeCache(db.Model):
    """One cohort's tally (raw counts and sums, see services/outcomes.Tally) as
    last computed, and the version of the data it was computed from.

    Derived data only: deleting any or all rows is always safe (they are
    recomputed on the next read). Every flush that touches a cohort's sessions,
    members, marks or scores bumps ``data_version`` and clears ``tally`` in the
    same transaction (services/outcome_cache.py); a reader stores its result
    only if the version is still the one it read, so a result computed from
    data that changed meanwhile is never kept.

    The tally also depends on the time: which sessions are *held* (have started).
    ``valid_from`` and ``valid_until`` bound the times at which that set is the
    one the tally was computed with. No foreign key: the row is derived, and a
    cohort is never deleted while it has a record anyway.
    """

    __tablename__ = "cohort_outcome_cache"

    cohort_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # The code's definitions version (services/outcome_cache.CODE_VERSION): rows
    # computed under other definitions are ignored.
    code_version: Mapped[int | None]
    tally: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    held_sessions: Mapped[int | None]
    # The latest held session's start (None: none held) and the next scheduled
    # session's start (None: no more sessions): the tally holds for now in between.
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
