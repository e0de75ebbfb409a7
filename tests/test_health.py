"""/healthz and /readyz."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import text

from ipt_groups import timesource
from ipt_groups.clock import heartbeat
from ipt_groups.extensions import db
from ipt_groups.health import migration_heads
from tests.conftest import ApiClient


def test_healthz(client: ApiClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_reports_database_migrations_and_clock(
    app: Flask, client: ApiClient, frozen: Any
) -> None:
    before = client.get("/readyz")
    assert before.status_code == 200
    assert before.json["database"] == "ok"
    assert before.json["migrations"]["current"] == sorted(migration_heads())
    assert before.json["clock"] == {"status": "never", "last_beat_at": None, "age_seconds": None}

    with app.app_context():
        heartbeat()
        db.session.commit()
    timesource.advance(timedelta(seconds=20))
    fresh = client.get("/readyz").json["clock"]
    assert fresh["status"] == "ok" and fresh["age_seconds"] == 20.0

    timesource.advance(timedelta(minutes=5))
    stale = client.get("/readyz")
    assert stale.status_code == 200  # web stays ready while the clock restarts
    assert stale.json["clock"]["status"] == "stale"


def test_readyz_503_when_migrations_pending(app: Flask, client: ApiClient) -> None:
    with app.app_context():
        (current,) = db.session.execute(text("SELECT version_num FROM alembic_version")).one()
        db.session.execute(text("UPDATE alembic_version SET version_num = 'older'"))
        db.session.commit()
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json["error"]["code"] == "migrations_pending"
    finally:
        with app.app_context():
            db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": current})
            db.session.commit()
    assert client.get("/readyz").status_code == 200


def test_readyz_503_when_database_unreachable(tmp_path: Any) -> None:
    from tests.conftest import make_app

    # Nothing listens on port 1: the connection is refused at once.
    app = make_app(tmp_path, DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "database_unavailable"
    assert client.get("/healthz").status_code == 200  # the process itself is alive


def test_the_home_page_is_the_app_shell(client: ApiClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    # The static tree is served under its release's hash (long-cached, immutable).
    assert re.search(r'<script type="module" src="/static/[0-9a-f]{16}/js/app\.js"></script>', page)
    # No inline script: the Content Security Policy allows none.
    assert "<script>" not in page and "onclick=" not in page
