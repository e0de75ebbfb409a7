"""The lean read paths of issue 24 answer exactly what they did: the plain-dict
presenters equal the marshmallow dump of the same records (the schema still
documents them), and the cheaper session lookup and pool check keep their rules."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, event, exc, select

from ipt_groups import pool
from ipt_groups.api.common import UserSchema
from ipt_groups.extensions import db
from ipt_groups.models import AuthSession, User


def test_me_answers_the_user_schema_dump(app: Flask, as_role: Any, users: dict[str, int]) -> None:
    for role in ("facilitator", "participant"):
        body = as_role(role).get("/api/me").json
        with app.app_context():
            assert body == UserSchema().dump(db.session.get(User, users[role]))
        assert body["id"] == users[role]
        assert body["role"] == role
        assert body["active"] is True
        # What a client may send back validates against the documented schema.
        assert UserSchema().validate({k: v for k, v in body.items() if k != "id"}) == {}


def _session_row(user_id: int) -> AuthSession:
    return db.session.scalar(select(AuthSession).where(AuthSession.user_id == user_id))


def test_session_lookup_is_one_statement_and_still_refreshes_last_seen(
    app: Flask, as_role: Any, users: dict[str, int]
) -> None:
    c = as_role("participant")
    with app.app_context():
        row = _session_row(users["participant"])
        row.last_seen_at = row.last_seen_at - timedelta(minutes=2)
        stale = row.last_seen_at
        db.session.commit()
        engine = db.engine
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        statements.append(sql.split()[0].upper())

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert c.get("/api/me").status_code == 200  # stale last_seen: the lookup and a touch
        first = list(statements)
        statements.clear()
        assert c.get("/api/me").status_code == 200  # fresh: the lookup alone
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # The touch commits, which expires the user: the answer reads it again (once a minute).
    assert first == ["SELECT", "UPDATE", "SELECT"]
    assert statements == ["SELECT"]
    with app.app_context():
        row = _session_row(users["participant"])
        assert row.last_seen_at > stale
        assert row.revoked_at is None


def test_idle_session_is_revoked_by_the_lookup(
    app: Flask, as_role: Any, users: dict[str, int]
) -> None:
    c = as_role("participant")
    with app.app_context():
        row = _session_row(users["participant"])
        row.last_seen_at = row.last_seen_at - app.config["SESSION_IDLE_TIMEOUT"] - timedelta(1)
        db.session.commit()
    assert c.get("/api/me").status_code == 401
    with app.app_context():
        assert _session_row(users["participant"]).revoked_at is not None


def test_pool_pings_only_connections_that_sat_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # never connects
    pings: list[Any] = []
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(conn) or conn.alive)
    pool.ping_when_idle(engine)
    record = SimpleNamespace(info={})
    conn = SimpleNamespace(alive=True)
    clock = iter([100.0, 101.0, 103.0, 200.0, 200.0, 300.0])
    monkeypatch.setattr(pool.time, "monotonic", lambda: next(clock))
    engine.pool.dispatch.checkout(conn, record, None)  # never checked in: pinged
    assert len(pings) == 1
    engine.pool.dispatch.checkin(conn, record)  # at 100
    engine.pool.dispatch.checkout(conn, record, None)  # 1 s later: no ping
    assert len(pings) == 1
    engine.pool.dispatch.checkin(conn, record)  # at 103
    engine.pool.dispatch.checkout(conn, record, None)  # 97 s idle: pinged
    assert len(pings) == 2
    conn.alive = False
    engine.pool.dispatch.checkin(conn, record)  # at 200
    with pytest.raises(exc.DisconnectionError):  # dead: the pool takes a fresh one
        engine.pool.dispatch.checkout(conn, record, None)  # at 300


def test_sqlite_gets_no_ping() -> None:
    engine = create_engine("sqlite://")
    pool.ping_when_idle(engine)
    assert not engine.pool.dispatch.checkout
