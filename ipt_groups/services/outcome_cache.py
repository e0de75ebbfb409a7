"""Each cohort's pooled outcome figures, kept between reads of the clinic dashboard.

A supervisor's dashboard pools a hundred cohorts or more; computing every one
from its marks and scores on every read was costly in database and Python
time at programme scale (figures: docs/benchmarks.md, "Programme scale", the
clinic dashboard cached per cohort). Most of those cohorts did not change
since the last read, so their tallies are kept in ``cohort_outcome_cache`` and
recomputed only when their data changed or a session started since.

How a cached tally stays right:

- **Writes invalidate in their own transaction.** Every flush notes the
  cohorts whose sessions, members (enrolments), attendance marks or
  assessments were inserted, changed or deleted; as the transaction commits
  they get ``data_version + 1`` and their tally cleared (an upsert, so a cohort
  never read yet gets a row too), in one statement in cohort order. Bulk
  ``UPDATE``/``DELETE`` statements on those tables through the ORM invalidate
  every row. A write rolled back invalidates nothing.
- **A reader keeps its result only if nothing changed meanwhile.** It reads the
  rows (and their versions) before the data, and stores with
  ``... ON CONFLICT DO UPDATE ... WHERE data_version = <the version it read>``:
  if a write committed (or is committing) in between, the version moved on and
  the result is dropped, not stored.
- **Time**: a tally is good while no session starts: between the latest held
  session's start and the next scheduled one's (``valid_from``/``valid_until``).
- **Definitions**: rows computed under another ``CODE_VERSION`` are ignored.
  Change it whenever the meaning of a figure changes.

Any row may be deleted at any time (``DELETE FROM cohort_outcome_cache``): it is
recomputed on the next read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from typing import Any

from sqlalchemy import ColumnElement, and_, event, func, inspect, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session

from ipt_groups.extensions import db
from ipt_groups.models import (
    Assessment,
    Attendance,
    Cohort,
    CohortOutcomeCache,
    Enrolment,
    GroupSession,
    SessionStatus,
)

# Bump when a definition in services/outcomes/ changes what a tally holds.
CODE_VERSION = 2  # 2: completers' PHQ-9 figures (issue 26)
# Rows per upsert: within SQLite's 32,766 bound parameters with room to spare.
WRITE_SLICE = 500

CACHE = CohortOutcomeCache.__table__
# Tables whose rows feed a tally (Cohort: its programme sets the final session).
WATCHED = (Cohort, GroupSession, Enrolment, Attendance, Assessment)


@dataclass(frozen=True)
class Cached:
    """A cached tally as read: the raw counts (a dict of Tally's fields) and the
    number of held sessions."""

    tally: dict[str, int]
    held_sessions: int


@dataclass(frozen=True)
class Snapshot:
    """What a reader saw before loading the data: the fresh tallies, and the
    version of every other cohort's row (0 when it has none yet)."""

    fresh: dict[int, Cached]
    versions: dict[int, int]


@dataclass(frozen=True)
class Computed:
    cohort_id: int
    tally: dict[str, int]
    held_sessions: int
    valid_from: datetime | None
    valid_until: datetime | None


def good_at(now: datetime) -> ColumnElement[bool]:
    """The one rule a cached tally is good by at ``now``: written by this code
    version and valid over ``now``. ``read`` and services/programme.py (which
    reads the tallies' fields in SQL) both select by it."""
    return and_(
        CACHE.c.tally.is_not(None),
        CACHE.c.code_version == CODE_VERSION,
        or_(CACHE.c.valid_from.is_(None), CACHE.c.valid_from <= now),
        or_(CACHE.c.valid_until.is_(None), CACHE.c.valid_until > now),
    )


def read(cohort_ids: Sequence[int], now: datetime) -> Snapshot:
    """The cached tallies still good at ``now``, and the versions of the rest."""
    fresh: dict[int, Cached] = {}
    versions = dict.fromkeys(cohort_ids, 0)
    if not cohort_ids:
        return Snapshot(fresh, versions)
    rows = db.session.execute(
        select(
            CACHE.c.cohort_id,
            CACHE.c.data_version,
            CACHE.c.tally,
            CACHE.c.held_sessions,
            good_at(now).label("good"),
        ).where(CACHE.c.cohort_id.in_(cohort_ids))
    )
    for row in rows:
        # A JSON null is not SQL NULL: the document itself must be there too.
        if row.good and row.tally is not None:
            fresh[row.cohort_id] = Cached(row.tally, row.held_sessions)
            del versions[row.cohort_id]
        else:
            versions[row.cohort_id] = row.data_version
    return Snapshot(fresh, versions)


def next_starts(cohort_ids: Sequence[int], now: datetime) -> dict[int, datetime]:
    """Each cohort's next scheduled session start after ``now`` (one query)."""
    if not cohort_ids:
        return {}
    return {
        cohort_id: starts_at
        for cohort_id, starts_at in db.session.execute(
            select(GroupSession.cohort_id, func.min(GroupSession.starts_at))
            .where(
                GroupSession.cohort_id.in_(cohort_ids),
                GroupSession.status == SessionStatus.SCHEDULED,
                GroupSession.starts_at > now,
            )
            .group_by(GroupSession.cohort_id)
        )
    }


def store(results: Iterable[Computed], versions: dict[int, int], now: datetime) -> None:
    """Keep each result unless its cohort's data changed since ``versions`` were read."""
    rows = [
        {
            "cohort_id": r.cohort_id,
            "data_version": versions[r.cohort_id],
            "code_version": CODE_VERSION,
            "tally": r.tally,
            "held_sessions": r.held_sessions,
            "valid_from": r.valid_from,
            "valid_until": r.valid_until,
            "computed_at": now,
        }
        for r in sorted(results, key=lambda r: r.cohort_id)  # one lock order for everyone
    ]
    connection = db.session.connection()
    for start in range(0, len(rows), WRITE_SLICE):
        stmt = _insert(connection).values(rows[start : start + WRITE_SLICE])
        kept = {
            name: stmt.excluded[name]
            for name in (
                "code_version",
                "tally",
                "held_sessions",
                "valid_from",
                "valid_until",
                "computed_at",
            )
        }
        connection.execute(
            stmt.on_conflict_do_update(
                index_elements=[CACHE.c.cohort_id],
                set_=kept,
                where=CACHE.c.data_version == stmt.excluded.data_version,
            )
        )


# --- Invalidation --------------------------------------------------------------------


def _insert(connection: Connection) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(CACHE)


def invalidate(connection: Connection, cohort_ids: Iterable[int]) -> None:
    """Clear these cohorts' tallies and move their versions on (in the caller's
    transaction)."""
    ids = sorted(set(cohort_ids))
    for start in range(0, len(ids), WRITE_SLICE):
        stmt = _insert(connection).values(
            [{"cohort_id": i, "data_version": 1} for i in ids[start : start + WRITE_SLICE]]
        )
        connection.execute(
            stmt.on_conflict_do_update(
                index_elements=[CACHE.c.cohort_id],
                set_={"data_version": CACHE.c.data_version + 1, "tally": None},
            )
        )


def invalidate_all(connection: Connection) -> None:
    connection.execute(CACHE.update().values(data_version=CACHE.c.data_version + 1, tally=None))


def _values(obj: Any, attribute: str) -> list[int]:
    """The attribute's value now and, if this flush changed it, before (a member
    moved to another cohort changes both cohorts' figures)."""
    history = inspect(obj).attrs[attribute].history
    return [v for v in chain(history.added, history.unchanged, history.deleted) if v is not None]


@dataclass
class _Touched:
    """What this transaction's flushes changed, until it commits."""

    cohorts: set[int] = field(default_factory=set)
    sessions: set[int] = field(default_factory=set)  # attendance: cohort looked up at commit
    everything: bool = False


TOUCHED = "outcome_cache.touched"  # the key in Session.info


def _touched(session: Session) -> _Touched:
    found = session.info.get(TOUCHED)
    if found is None:
        found = session.info[TOUCHED] = _Touched()
    return found


def _after_flush(session: Session, _context: Any) -> None:
    touched: _Touched | None = None
    for obj in chain(session.new, session.dirty, session.deleted):
        if not isinstance(obj, WATCHED):
            continue
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        touched = touched or _touched(session)
        if isinstance(obj, Cohort):
            touched.cohorts.add(obj.id)
        elif isinstance(obj, Attendance):
            touched.sessions.update(_values(obj, "session_id"))
        else:  # sessions, enrolments and assessments name their cohort
            touched.cohorts.update(_values(obj, "cohort_id"))


def _bulk_write(state: ORMExecuteState) -> None:
    # UPDATE/DELETE ... WHERE through the ORM skip the flush: which cohorts they
    # touch is not known here, so every tally is cleared.
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    if any(mapper.class_ in WATCHED for mapper in state.all_mappers):
        _touched(state.session).everything = True


def _invalidate_at_commit(session: Session) -> None:
    """The rows are invalidated last, in one statement in cohort order, so a
    transaction holds their locks only while it commits and always takes them in
    the same order: two writers, or a writer and a reader storing tallies, cannot
    deadlock on them (a flush-time bump would lock a cohort's row at its first
    write and keep it, in whatever order the writes came)."""
    if session.in_nested_transaction():
        return  # a savepoint released: the transaction goes on, and so does the list
    session.flush()  # what commit would flush next is part of this transaction too
    touched: _Touched | None = session.info.pop(TOUCHED, None)
    if touched is None:
        return
    connection = session.connection()
    if touched.everything:
        invalidate_all(connection)
        return
    cohorts = set(touched.cohorts)
    if touched.sessions:
        cohorts.update(
            connection.scalars(
                select(GroupSession.cohort_id)
                .where(GroupSession.id.in_(touched.sessions))
                .distinct()
            )
        )
    invalidate(connection, cohorts)


def _forget(session: Session) -> None:
    # The writes are gone; so is the need to invalidate. (A savepoint rolled back
    # is not a DBAPI rollback: what it touched stays listed, which only costs a
    # recomputation.)
    session.info.pop(TOUCHED, None)


_LISTENERS = (
    ("after_flush", _after_flush),
    ("do_orm_execute", _bulk_write),
    ("before_commit", _invalidate_at_commit),
    ("after_rollback", _forget),
)


def register() -> None:
    """Attach the listeners that keep cached tallies right to every ORM session
    (SQLAlchemy's ``Session`` class: the app's and the clock's alike).

    Called by ``create_app``; idempotent, so a second app in one process (the
    tests build several) attaches them once.
    """
    for name, listener in _LISTENERS:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
