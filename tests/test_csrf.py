"""CSRF: cookie-authenticated writes need the token and our own origin."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from tests.conftest import ApiClient

BODY = {"display_name": "New Name"}


def test_write_without_token_is_refused_and_changes_nothing(as_role: Any) -> None:
    admin: ApiClient = as_role("admin")
    token, admin.csrf = admin.csrf, None
    response = admin.patch("/api/me", json=BODY)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "csrf_failed"
    wrong = admin.patch("/api/me", json=BODY, headers={"X-CSRF-Token": "not-the-token"})
    assert wrong.status_code == 403
    admin.csrf = token
    assert admin.get("/api/me").json["display_name"] == "Test admin"


def test_write_with_token_from_same_origin_works(as_role: Any) -> None:
    admin: ApiClient = as_role("admin")
    response = admin.patch(
        "/api/me",
        json=BODY,
        headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 200
    assert response.json["display_name"] == "New Name"


def test_cross_site_write_refused_even_with_token(as_role: Any) -> None:
    admin: ApiClient = as_role("admin")
    by_origin = admin.patch("/api/me", json=BODY, headers={"Origin": "https://evil.example"})
    by_fetch_site = admin.patch("/api/me", json=BODY, headers={"Sec-Fetch-Site": "cross-site"})
    for response in (by_origin, by_fetch_site):
        assert response.status_code == 403
        assert response.json["error"]["code"] == "csrf_failed"
    assert admin.get("/api/me").json["display_name"] == "Test admin"


def test_cross_site_login_refused(client: ApiClient, users: dict[str, int]) -> None:
    response = client.client.post(
        "/api/auth/login",
        json={"email": "admin@test.example", "password": "x"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert response.json["error"]["code"] == "csrf_failed"


def test_csrf_endpoint_gives_the_session_token(as_role: Any) -> None:
    admin: ApiClient = as_role("admin")
    assert admin.get("/api/auth/csrf").json["csrf_token"] == admin.csrf


def test_token_from_before_login_does_not_survive_login(
    client: ApiClient, users: dict[str, int]
) -> None:
    before = client.get("/api/auth/csrf").json["csrf_token"]
    client.login("admin@test.example")
    assert client.csrf != before
    response = client.patch("/api/me", json=BODY, headers={"X-CSRF-Token": before})
    assert response.status_code == 403


def unsafe_api_rules(app: Flask) -> list[tuple[str, str]]:
    rules = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in sorted((rule.methods or set()) - {"GET", "HEAD", "OPTIONS"}):
            path = re.sub(r"<[^>]+>", "1", rule.rule)  # any path parameter
            rules.append((method, path))
    return rules


def test_every_unsafe_api_route_needs_the_token(app: Flask, as_role: Any) -> None:
    """A new write endpoint cannot forget CSRF: every one is checked here."""
    admin: ApiClient = as_role("admin")
    token, admin.csrf = admin.csrf, None
    rules = unsafe_api_rules(app)
    assert ("POST", "/api/users") in rules and ("PATCH", "/api/me") in rules
    for method, path in rules:
        if path == "/api/auth/logout":
            continue  # logging out is always allowed (it only ever removes access)
        response = admin.client.open(path, method=method, json={})
        assert response.status_code == 403, (method, path)
        assert response.json["error"]["code"] == "csrf_failed"
    admin.csrf = token
    assert admin.get("/api/me").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "null"},
        {"Origin": "https://localhost"},  # right host, wrong scheme
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain
    ],
)
def test_other_origins_refused(as_role: Any, headers: dict[str, str]) -> None:
    admin: ApiClient = as_role("admin")
    response = admin.patch("/api/me", json=BODY, headers=headers)
    assert response.status_code == 403
