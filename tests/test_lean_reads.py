"""The lean read paths of issue 24 answer exactly what they did: the plain-dict
presenters equal the marshmallow dump of the same records (the schema still
documents them), and the cheaper session lookup and pool check keep their rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import marshmallow as ma
import pytest
from flask import Flask
from sqlalchemy import create_engine, event, exc, select

from ipt_groups import pool
from ipt_groups.api.common import UserSchema
from ipt_groups.api.derived import derived
from ipt_groups.api.lean import checked_dump, compile_dump
from ipt_groups.extensions import db
from ipt_groups.models import AuthSession, Role, User


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


class _Inner(ma.Schema):
    at = ma.fields.AwareDateTime(allow_none=True)
    day = ma.fields.Date()
    n = ma.fields.Float()


class _Outer(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    name = ma.fields.String(attribute="title")
    flag = ma.fields.Boolean()
    tags = ma.fields.List(ma.fields.String())
    extra = ma.fields.Dict()
    one = ma.fields.Nested(_Inner, allow_none=True)
    many = ma.fields.List(ma.fields.Nested(_Inner))
    also = ma.fields.Nested(_Inner, many=True)
    absent = ma.fields.String()
    defaulted = ma.fields.String(dump_default="x")
    key = ma.fields.Integer(data_key="renamed")
    # Worked out from the whole object (api/derived.py, fields.Method): the
    # compiled dump hands the object to the field, as marshmallow does.
    label = derived(ma.fields.String, lambda o: f"#{_attr(o, 'id')}")
    doubled = ma.fields.Method("_doubled")

    def _doubled(self, obj: Any) -> int:
        return 2 * _attr(obj, "id")


def _attr(obj: Any, name: str) -> Any:
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


def test_compiled_dump_equals_marshmallow_on_objects_dicts_none_and_missing() -> None:
    when = datetime(2026, 12, 6, 17, 30, tzinfo=UTC)
    inner = {"at": when, "day": date(2026, 12, 6), "n": 2}
    row = SimpleNamespace(
        id=7, title=Role.FACILITATOR, flag=True, tags=["a", Role.ADMIN], extra={"k": 1},
        one=SimpleNamespace(at=None, day=date(2027, 1, 1), n=1.5), many=[inner, inner],
        also=[inner], key="3",
    )  # fmt: skip
    as_dict = {"id": 7, "title": "t", "flag": False, "tags": [], "extra": {}, "one": None,
               "many": [], "also": [], "key": 4}  # fmt: skip
    for schema in (_Outer(), _Outer(many=True)):
        data = [row, as_dict] if schema.many else row
        assert compile_dump(schema)(data) == schema.dump(data)
    assert compile_dump(_Outer)(row)["renamed"] == 3
    assert "absent" not in compile_dump(_Outer)(row)
    assert compile_dump(_Outer)(row)["label"] == "#7"
    assert compile_dump(_Outer)(as_dict)["doubled"] == 14


def test_every_lean_answer_is_checked_against_marshmallow_under_test(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert app.testing  # so each test of a lean endpoint compares the two dumps
    dump = checked_dump(_Outer)
    monkeypatch.setattr(_Outer, "dump", lambda self, obj, **kw: {"different": True})
    with app.app_context(), pytest.raises(AssertionError, match="lean dump differs"):
        dump(SimpleNamespace(id=1, title="t"))
