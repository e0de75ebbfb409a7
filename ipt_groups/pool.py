"""Checking a pooled PostgreSQL connection before use only when it sat idle.

``pool_pre_ping`` sends a round trip to the server on *every* checkout, which
is every request: a quarter of ``GET /api/me``'s database time (issue 24). A
connection dies when the platform restarts or fails over the database, or an
idle timeout drops it; one in steady use that answered a moment ago is not
worth asking again. So the ping is sent only when the connection was last
returned to the pool more than ``IDLE_PING_SECONDS`` ago.

What that risks: a connection checked in within the last few seconds of a
database restart is used without a ping, and its request fails with an
operational error (a 500) instead of being retried on a fresh connection.
SQLAlchemy then invalidates the whole pool on that disconnect, so only the
requests already in flight at the restart can see it, which they would in any
case.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

IDLE_PING_SECONDS = 5.0
_LAST_CHECKIN = "ipt_last_checkin"


def ping_when_idle(engine: Engine) -> None:
    """Install the idle-only ping on ``engine``'s pool (PostgreSQL; SQLite needs none)."""
    if engine.dialect.name == "sqlite":
        return
    dialect = engine.dialect

    @event.listens_for(engine.pool, "checkin")
    def _checkin(_dbapi: Any, record: Any) -> None:
        if record is not None:
            record.info[_LAST_CHECKIN] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get(_LAST_CHECKIN)
        if last is not None and time.monotonic() - last < IDLE_PING_SECONDS:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool retries the checkout with a fresh connection.
            raise exc.DisconnectionError() from error
        if not alive:
            raise exc.DisconnectionError()
