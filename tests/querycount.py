"""Count the SQL statements a block of code sends to the database.

A ``before_cursor_execute`` listener on the engine sees every statement the
app runs, whichever session or connection sends it (reads, the audit rows a
read writes, rate counters), so a count taken around one request is the whole
cost of that request in round trips. The statements are kept too, so a failing
comparison can show which query repeats.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@dataclass
class QueryCount:
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append(" ".join(statement.split()))


@contextmanager
def count_queries(engine: Engine) -> Iterator[QueryCount]:
    """``with count_queries(db.engine) as q: ...`` then ``q.count``."""
    counter = QueryCount()
    event.listen(engine, "before_cursor_execute", counter._record)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", counter._record)
