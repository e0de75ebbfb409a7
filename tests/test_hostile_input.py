"""Bad input gets a clear 4xx, never a 500, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.conftest import ApiClient

HOSTILE_STRINGS = ["\x00", "a\x00b", "\ud800", "x\udfffy"]


@pytest.mark.parametrize("bad", HOSTILE_STRINGS)
def test_login_with_hostile_strings(client: ApiClient, users: dict[str, int], bad: str) -> None:
    for body in ({"username": bad, "password": "x"}, {"username": "member-one", "password": bad}):
        response = client.client.post("/api/auth/login", json=body)
        assert response.status_code == 400, body
        assert response.json["error"]["code"] == "bad_characters"


@pytest.mark.parametrize("bad", HOSTILE_STRINGS)
def test_writes_with_hostile_strings_change_nothing(
    as_role: Any, users: dict[str, int], bad: str
) -> None:
    admin: ApiClient = as_role("admin")
    calls = [
        admin.patch("/api/me", json={"display_name": bad}),
        admin.post(
            "/api/users",
            json={
                "email": "n@test.example",
                "display_name": bad,
                "role": "facilitator",
                "password": "x" * 16,
            },
        ),
        admin.patch(f"/api/users/{users['facilitator']}", json={"display_name": bad}),
    ]
    for response in calls:
        assert response.status_code == 400
    assert admin.get("/api/me").json["display_name"] == "Test admin"
    assert admin.get("/api/users").json["total"] == 3


def test_deeply_nested_json_is_400(client: ApiClient) -> None:
    response = client.client.post(
        "/api/auth/login", data="[" * 200_000, content_type="application/json"
    )
    assert response.status_code == 400


def test_non_json_write_is_415(as_role: Any) -> None:
    admin: ApiClient = as_role("admin")
    response = admin.patch(
        "/api/me", data="display_name=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json["error"]["code"] == "unsupported_media_type"


def test_api_responses_carry_security_headers(app: Flask, as_role: Any) -> None:
    admin: ApiClient = as_role("admin")
    response = admin.get("/api/me")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    csp = response.headers["Content-Security-Policy"]
    assert (
        "frame-ancestors 'none'" in csp and "script-src" not in csp
    )  # default-src 'self' covers it
    assert "Strict-Transport-Security" not in response.headers  # production only


def test_nul_in_the_query_string_is_400(as_role: Any) -> None:
    admin: ApiClient = as_role("admin")
    response = admin.get("/api/users?role=admin%00")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "bad_characters"


def test_behind_the_platform_proxy_the_client_address_and_scheme_are_right(
    app: Flask, users: dict[str, int]
) -> None:
    """With PROXY_HOPS=1 (Heroku's router), the audit trail records the member's
    address and the app knows the request came over https; without it, the same
    headers are ignored, so a client cannot claim another address."""
    from pathlib import Path

    from sqlalchemy import select

    from ipt_groups.extensions import db
    from ipt_groups.models import AuditEvent
    from tests.conftest import PASSWORD, VAPID_ENV, make_app

    def login_via_proxy(application: Flask, origin: str | None = "https://clinic.example") -> Any:
        return application.test_client().post(
            "/api/auth/login",
            json={"email": "admin@test.example", "password": PASSWORD},
            base_url="http://web.internal:8000",
            headers={
                "X-Forwarded-For": "203.0.113.7",
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "clinic.example",
                **({"Origin": origin} if origin else {}),
            },
        )

    def last_login_address() -> str | None:
        with app.app_context():
            return db.session.scalars(
                select(AuditEvent.ip_address)
                .where(AuditEvent.action == "auth.login")
                .order_by(AuditEvent.id.desc())
            ).first()

    tmp = Path(app.instance_path).parent
    behind = make_app(tmp, APP_ENV="production", PROXY_HOPS="1", **VAPID_ENV)
    response = login_via_proxy(behind)
    assert response.status_code == 200, response.json
    assert "Secure" in response.headers["Set-Cookie"]  # the app saw https
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert last_login_address() == "203.0.113.7"

    direct = make_app(tmp, APP_ENV="production", **VAPID_ENV)
    refused = login_via_proxy(direct)
    # Not behind a proxy: the https Origin does not match http://web.internal.
    assert refused.status_code == 403 and refused.json["error"]["code"] == "csrf_failed"
    assert last_login_address() == "203.0.113.7"  # nothing new was recorded
    spoofed = login_via_proxy(direct, origin=None)
    assert spoofed.status_code == 200
    assert last_login_address() == "127.0.0.1"  # the real peer, not the header
