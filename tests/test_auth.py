"""Logging in and out, the uniform failure, and server-side session death."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from ipt_groups import timesource
from ipt_groups.extensions import db
from ipt_groups.models import AuditEvent, AuthSession
from tests.conftest import PASSWORD, ApiClient, create_user


def copy_cookie(app: Flask, source: ApiClient) -> ApiClient:
    """A second browser holding a copy of ``source``'s session cookie."""
    cookie = source.client.get_cookie("ipt_session")
    assert cookie is not None
    thief = ApiClient(app.test_client(), csrf=source.csrf)
    thief.client.set_cookie("ipt_session", cookie.value)
    return thief


def test_login_with_email_returns_user_and_csrf(client: ApiClient, users: dict[str, int]) -> None:
    response = client.login("Facilitator@Test.Example")  # case does not matter
    assert response.status_code == 200
    body = response.json
    assert body["user"]["id"] == users["facilitator"]
    assert body["user"]["role"] == "facilitator"
    assert "password_hash" not in body["user"] and "password" not in body["user"]
    assert len(body["csrf_token"]) >= 32
    me = client.get("/api/me")
    assert me.json["email"] == "facilitator@test.example"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_participant_logs_in_with_username(client: ApiClient, users: dict[str, int]) -> None:
    response = client.login(username="Member-One")
    assert response.status_code == 200
    assert response.json["user"]["id"] == users["participant"]
    assert response.json["user"]["email"] is None


def test_every_login_failure_gets_the_same_answer(
    app: Flask, client: ApiClient, users: dict[str, int]
) -> None:
    with app.app_context():
        create_user("participant", username="no-pin-yet", password=None)
        create_user("facilitator", "gone@test.example").disabled_at = timesource.utcnow()
        db.session.commit()
    attempts: list[dict[str, Any]] = [
        {"email": "nobody@test.example", "password": PASSWORD},  # unknown account
        {"email": "facilitator@test.example", "password": "wrong password"},  # wrong password
        {"email": "gone@test.example", "password": PASSWORD},  # disabled
        {"username": "no-pin-yet", "password": PASSWORD},  # no password set yet
        {"username": "member-one", "password": "nope"},
    ]
    answers = []
    for body in attempts:
        response = client.client.post("/api/auth/login", json=body)
        answers.append((response.status_code, response.json))
    assert answers[0][0] == 401
    assert answers[0][1]["error"]["code"] == "login_failed"
    assert all(answer == answers[0] for answer in answers), answers
    assert client.get("/api/me").status_code == 401


def test_login_needs_exactly_one_login_name(client: ApiClient, users: dict[str, int]) -> None:
    both = client.client.post(
        "/api/auth/login", json={"email": "a@test.example", "username": "x", "password": "p"}
    )
    neither = client.client.post("/api/auth/login", json={"password": "p"})
    for response in (both, neither):
        assert response.status_code == 422
        assert "email" in response.json["error"]["fields"]


def test_logout_kills_a_copied_cookie(app: Flask, client: ApiClient, users: dict[str, int]) -> None:
    client.login("facilitator@test.example")
    thief = copy_cookie(app, client)
    assert thief.get("/api/me").status_code == 200  # the copy works while logged in
    response = client.post("/api/auth/logout")
    assert response.status_code == 204
    assert client.get("/api/me").status_code == 401
    stale = thief.get("/api/me")
    assert stale.status_code == 401
    assert stale.json["error"]["code"] == "unauthenticated"
    with app.app_context():
        actions = db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["auth.login", "auth.logout"]


def test_logout_of_one_device_keeps_the_others(app: Flask, users: dict[str, int]) -> None:
    tablet, laptop = ApiClient(app.test_client()), ApiClient(app.test_client())
    tablet.login("facilitator@test.example")
    laptop.login("facilitator@test.example")
    tablet.post("/api/auth/logout")
    assert tablet.get("/api/me").status_code == 401
    assert laptop.get("/api/me").json["id"] == users["facilitator"]


def test_disabling_an_account_kills_its_sessions(
    app: Flask, as_role: Any, users: dict[str, int]
) -> None:
    facilitator = as_role("facilitator")
    admin = as_role("admin")
    response = admin.post(f"/api/users/{users['facilitator']}/disable")
    assert response.status_code == 200 and response.json["active"] is False
    assert facilitator.get("/api/me").status_code == 401
    assert ApiClient(app.test_client()).login("facilitator@test.example").status_code == 401
    # Enabling lets them log in again, but the old session stays dead.
    admin.post(f"/api/users/{users['facilitator']}/enable")
    assert facilitator.get("/api/me").status_code == 401
    assert ApiClient(app.test_client()).login("facilitator@test.example").status_code == 200


def test_idle_timeout(app: Flask, client: ApiClient, users: dict[str, int], frozen: Any) -> None:
    client.login("supervisor@test.example")
    timesource.advance(timedelta(minutes=59))
    assert client.get("/api/me").status_code == 200  # activity resets the idle timer
    timesource.advance(timedelta(minutes=59))
    assert client.get("/api/me").status_code == 200
    timesource.advance(timedelta(minutes=61))
    assert client.get("/api/me").status_code == 401
    with app.app_context():
        assert db.session.scalar(db.select(AuthSession.revoked_at)) is not None


def test_absolute_timeout_even_when_active(
    client: ApiClient, users: dict[str, int], frozen: Any
) -> None:
    client.login("supervisor@test.example")
    for _ in range(13):  # 13 x 55 min = 11 h 55: never idle, still inside 12 h
        timesource.advance(timedelta(minutes=55))
        assert client.get("/api/me").status_code == 200
    timesource.advance(timedelta(minutes=55))  # 12 h 50 since login
    assert client.get("/api/me").status_code == 401


def test_password_change_ends_other_sessions_but_not_this_one(
    app: Flask, users: dict[str, int]
) -> None:
    here, elsewhere = ApiClient(app.test_client()), ApiClient(app.test_client())
    here.login("admin@test.example")
    elsewhere.login("admin@test.example")
    wrong = here.post(
        "/api/me/password", json={"current_password": "nope", "new_password": "a brand new secret"}
    )
    assert wrong.status_code == 422 and "current_password" in wrong.json["error"]["fields"]
    # A too-short new password is named by the field the form sent.
    short = here.post(
        "/api/me/password", json={"current_password": PASSWORD, "new_password": "short"}
    )
    assert short.status_code == 422 and list(short.json["error"]["fields"]) == ["new_password"]
    ok = here.post(
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": "a brand new secret"},
    )
    assert ok.status_code == 204
    assert here.get("/api/me").status_code == 200
    assert elsewhere.get("/api/me").status_code == 401
    assert (
        ApiClient(app.test_client()).login("admin@test.example", "a brand new secret").status_code
        == 200
    )


def test_session_cookie_holds_only_ids_and_an_opaque_token(
    app: Flask, client: ApiClient, users: dict[str, int]
) -> None:
    client.login("admin@test.example")
    cookie = client.client.get_cookie("ipt_session")
    assert cookie is not None
    data = app.session_interface.get_signing_serializer(app).loads(cookie.value)  # type: ignore[attr-defined]
    assert data["_user_id"] == str(users["admin"])
    assert PASSWORD not in str(data) and "admin@test.example" not in str(data)
    with app.app_context():
        stored = db.session.scalar(db.select(AuthSession.token_hash))
    assert stored == hashlib.sha256(data["sid"].encode()).hexdigest()  # only the hash is kept


def test_logging_in_again_ends_the_previous_session(
    app: Flask, client: ApiClient, users: dict[str, int]
) -> None:
    client.login("facilitator@test.example")
    copy = copy_cookie(app, client)
    client.login("supervisor@test.example")  # the next person on a shared tablet
    assert client.get("/api/me").json["role"] == "supervisor"
    assert copy.get("/api/me").status_code == 401


def test_logout_with_an_expired_session_still_clears_the_cookie(
    client: ApiClient, users: dict[str, int], frozen: Any
) -> None:
    client.login("facilitator@test.example")
    timesource.advance(timedelta(hours=13))
    response = client.post("/api/auth/logout")
    assert response.status_code == 204
    assert client.client.get_cookie("ipt_session") is None


def test_production_cookie_is_secure(app: Flask, users: dict[str, int]) -> None:
    from tests.conftest import VAPID_ENV, make_app

    prod = make_app(Path(app.instance_path).parent, APP_ENV="production", **VAPID_ENV)
    response = prod.test_client().post(
        "/api/auth/login",
        json={"email": "admin@test.example", "password": PASSWORD},
        base_url="https://clinic.example",
    )
    assert response.status_code == 200
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_login_attempts_are_rate_limited_per_account(
    app: Flask, client: ApiClient, users: dict[str, int], frozen: Any
) -> None:
    wrong = {"email": "facilitator@test.example", "password": "guess"}
    for _ in range(10):
        assert client.client.post("/api/auth/login", json=wrong).status_code == 401
    # A new browser (another web worker would see the same: counters live in the database).
    other = ApiClient(app.test_client())
    blocked = other.client.post(
        "/api/auth/login", json={"email": "facilitator@test.example", "password": PASSWORD}
    )
    assert blocked.status_code == 429
    assert blocked.json["error"]["code"] == "too_many_requests"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 15 * 60
    # Other accounts are not affected, and the limit lifts after the window.
    assert other.login("supervisor@test.example").status_code == 200
    timesource.advance(timedelta(minutes=16))
    assert ApiClient(app.test_client()).login("facilitator@test.example").status_code == 200
