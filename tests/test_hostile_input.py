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
