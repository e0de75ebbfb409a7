"""Fixtures: the app on SQLite (or PostgreSQL), clients, personas, a frozen clock.

The schema is built by running the real migrations, so every test run also
proves that ``flask db upgrade`` from empty reaches the models.

Backend: SQLite in a temporary folder by default; PostgreSQL when
``IPT_TEST_BACKEND=postgres`` and ``TEST_DATABASE_URL`` are set (``make test``
does both runs).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from ipt_groups import create_app, timesource
from ipt_groups.extensions import db
from ipt_groups.models import User
from ipt_groups.push import vapid
from ipt_groups.services.passwords import hash_password

PASSWORD = "correct horse battery"
_VAPID_PAIR = vapid.generate()
# What production needs besides SECRET_KEY and DATABASE_URL (no real address).
VAPID_ENV = {
    "VAPID_PRIVATE_KEY": _VAPID_PAIR[0],
    "VAPID_PUBLIC_KEY": _VAPID_PAIR[1],
    "VAPID_SUBJECT": "mailto:ops@example.org",
}
# Random, so it passes the production key check too (tests run the app as
# production with it); fixed, so every process of a test run signs alike.
TEST_SECRET = "1pBRM2Nv6TGcnx5evb_chJiFbKJ_oY3-8K_uhdo71hM"


def database_url(tmp_dir: Path) -> str:
    if os.environ.get("IPT_TEST_BACKEND") == "postgres":
        url = os.environ.get("TEST_DATABASE_URL")
        if not url:
            raise RuntimeError("IPT_TEST_BACKEND=postgres needs TEST_DATABASE_URL")
        return url
    return f"sqlite:///{tmp_dir / 'test.sqlite3'}"


def reset_postgres(url: str) -> None:
    from ipt_groups.config import normalise_database_url

    engine = create_engine(normalise_database_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def make_app(tmp_dir: Path, **extra: Any) -> Flask:
    return create_app(
        {
            "APP_ENV": "test",
            "SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": database_url(tmp_dir),
            "INSTANCE_PATH": str(tmp_dir / "instance"),
            **extra,
        }
    )


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    tmp_dir = tmp_path_factory.mktemp("app")
    url = database_url(tmp_dir)
    if url.startswith("postgres"):
        reset_postgres(url)
    application = make_app(tmp_dir)
    with application.app_context():
        flask_migrate.upgrade()
    yield application


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "app" not in request.fixturenames:
        return
    application: Flask = request.getfixturevalue("app")
    with application.app_context():
        db.session.remove()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def frozen() -> Iterator[datetime]:
    """Stop the clock at a fixed instant; ``timesource.advance`` moves it."""
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with timesource.freeze(at):
        yield at


@dataclass
class ApiClient:
    """A test client that remembers its CSRF token and sends it on writes."""

    client: FlaskClient
    csrf: str | None = None
    user_id: int | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        h = dict(self.headers)
        if self.csrf:
            h["X-CSRF-Token"] = self.csrf
        h.update(extra or {})
        return h

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.client.post(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def put(self, url: str, **kw: Any) -> Any:
        return self.client.put(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, url: str, **kw: Any) -> Any:
        return self.client.patch(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def login(
        self, email: str | None = None, password: str = PASSWORD, *, username: str | None = None
    ) -> Any:
        body = {"password": password, **({"email": email} if email else {"username": username})}
        # Logged in already? Then this is a write like any other and needs the token.
        response = self.client.post("/api/auth/login", json=body, headers=self._headers(None))
        if response.status_code == 200:
            self.csrf = response.json["csrf_token"]
            self.user_id = response.json["user"]["id"]
        return response


def create_user(
    role: str,
    email: str | None = None,
    *,
    username: str | None = None,
    password: str | None = PASSWORD,
    display_name: str | None = None,
) -> User:
    """Insert a user directly (call inside an app context)."""
    user = User(
        email=email,
        username=username,
        display_name=display_name or f"Test {role}",
        role=role,
        password_hash=hash_password(password) if password else None,
        language="en",
        time_zone="Europe/London",
    )
    db.session.add(user)
    db.session.commit()
    return user


@pytest.fixture
def users(app: Flask) -> dict[str, int]:
    """One account per staff role (and a participant), by role name -> id."""
    with app.app_context():
        made = {
            "admin": create_user("admin", "admin@test.example"),
            "supervisor": create_user("supervisor", "supervisor@test.example"),
            "facilitator": create_user("facilitator", "facilitator@test.example"),
            "participant": create_user("participant", username="member-one"),
        }
        return {role: user.id for role, user in made.items()}


@pytest.fixture
def client(app: Flask) -> ApiClient:
    return ApiClient(app.test_client())


@pytest.fixture
def as_role(app: Flask, users: dict[str, int]) -> Any:
    """``as_role("admin")`` gives a logged-in ApiClient for that persona."""

    def make(role: str) -> ApiClient:
        c = ApiClient(app.test_client())
        response = (
            c.login(username="member-one")
            if role == "participant"
            else c.login(f"{role}@test.example")
        )
        assert response.status_code == 200, response.json
        return c

    return make


@pytest.fixture(scope="session")
def push_service(app: Flask) -> Iterator[Any]:
    """A real HTTP push service on 127.0.0.1 that checks our VAPID signature and
    decrypts what we send (tests/fake_push.py)."""
    from tests.fake_push import FakePushService

    with FakePushService(app.config["VAPID_KEYS"].public_key) as service:
        yield service


@pytest.fixture
def fake_push(app: Flask, push_service: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The fake push service, emptied, and allowed as a push endpoint for this test."""
    from ipt_groups.messaging.endpoints import DEFAULT_PUSH_HOSTS

    push_service.clear()
    push_service.latency = 0.0
    monkeypatch.setitem(
        app.config, "PUSH_ALLOWED_HOSTS", (*DEFAULT_PUSH_HOSTS, push_service.origin)
    )
    return push_service


# -- browser tests (tests/browser.py) ------------------------------------------------
# Session-wide and here, not in one test module: Playwright's sync API allows one
# instance at a time, so every module with browser tests must share it.


@pytest.fixture(scope="session")
def live(app: Flask) -> Iterator[Any]:
    from tests import browser

    server = browser.LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pw() -> Iterator[Any]:
    from tests import browser

    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(browser.CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {browser.CHROMIUM}: `make test` installs it with apt")
    with playwright_api.sync_playwright() as p:
        yield p


@pytest.fixture
def seeded(app: Flask, live: Any) -> Any:
    """The demo data (``services.demo``), its links pointing at the live server."""
    from ipt_groups.services import demo

    with app.app_context():
        result = demo.seed_demo(base_url=live.url)
        db.session.commit()
    return result


# -- scenarios shared by several test modules (built in tests/factories.py) ----------


@pytest.fixture
def member(app: Flask, as_role: Any, frozen: datetime, fake_push: Any) -> dict[str, Any]:
    """A cohort of two; member A's phone is subscribed to the fake push service."""
    from tests.factories import push_member

    return push_member(app, as_role, fake_push)


@pytest.fixture
def story(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime, fake_push: Any
) -> dict[str, Any]:
    """Member A's journey through a cohort, for the erasure tests (tests/test_privacy.py)."""
    from tests.factories import privacy_story

    return privacy_story(app, as_role, users, fake_push)
