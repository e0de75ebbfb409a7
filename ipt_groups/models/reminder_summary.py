"""A summary of member session reminders per cohort and UTC day, for the
Programme page's "how many members each reminder reached".

Why it exists: the clinic-wide Programme page counted those reminders with one
GROUP BY over the whole outbox, which at programme scale took more than the
page's whole time budget (figures: docs/benchmarks.md, issue 26). Outbox rows
of a day that is over hardly change, so their counts are kept here per cohort
and day, and only the days after the watermark are counted
from the outbox itself (services/reminder_summary.py).

Derived data only: deleting every row and setting the watermark back to NULL is
always safe (the next read or the nightly job summarises again). What can still
change an old row keeps it exact in the same transaction: erasure and pruning
delete rows, a late SMS delivery report changes ``delivery_state``
(services/reminder_summary.resummarise).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer
from sqlalchemy.orm import Mapped, mapped_column

from ipt_groups.extensions import db
from ipt_groups.models.types import UTCDateTime


class ReminderDayCount(db.Model):
    """Member session reminders (the rows programme._reach counts: ref_type
    session, 24 h and 1 h kinds, sent/failed/expired/no channel) of one cohort
    due on one UTC day, one row per cohort and day with a column per figure (a
    row per status and channel was 400,000 rows at programme scale, this is a
    sixth of that). No foreign key: derived, and a cohort is never deleted while
    it has sessions anyway."""

    __tablename__ = "reminder_day_counts"

    cohort_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    due: Mapped[int] = mapped_column(default=0)
    sent: Mapped[int] = mapped_column(default=0)
    delivered: Mapped[int] = mapped_column(default=0)  # sent, delivery_state 'delivered'
    no_channel: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)  # failed or expired
    push: Mapped[int] = mapped_column(default=0)  # sent, per channel
    sms: Mapped[int] = mapped_column(default=0)
    email: Mapped[int] = mapped_column(default=0)


class ReminderSummaryMark(db.Model):
    """One row (id 1): every UTC day up to and including ``through`` is in
    reminder_day_counts; later days are counted from the outbox. NULL: none yet.
    Its row lock orders the writers (advancing, re-summarising a cohort)."""

    __tablename__ = "reminder_summary_mark"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    through: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
