"""Admins manage staff accounts; nobody else can."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from ipt_groups.extensions import db
from ipt_groups.models import AuditEvent
from tests.conftest import ApiClient

NEW_STAFF = {
    "email": "New.Facilitator@Test.Example",
    "display_name": "New Facilitator",
    "role": "facilitator",
    "password": "a long enough password",
    "time_zone": "Africa/Kampala",
}


@pytest.mark.parametrize("role", ["supervisor", "facilitator", "participant"])
def test_non_admins_cannot_reach_admin_endpoints(
    as_role: Any, users: dict[str, int], role: str
) -> None:
    c: ApiClient = as_role(role)
    target = users["facilitator"]
    calls = [
        c.get("/api/users"),
        c.post("/api/users", json=NEW_STAFF),
        c.get(f"/api/users/{target}"),
        c.patch(f"/api/users/{target}", json={"display_name": "x"}),
        c.post(f"/api/users/{target}/disable"),
        c.post(f"/api/users/{target}/enable"),
    ]
    for response in calls:
        assert response.status_code == 403, response.request.path
        assert response.json["error"]["code"] == "forbidden"
    assert c.get("/api/me").json["role"] == role


def test_anonymous_gets_401(client: ApiClient, users: dict[str, int]) -> None:
    for response in (
        client.get("/api/users"),
        client.get("/api/me"),
        client.post("/api/users", json={}),
    ):
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthenticated"


def test_admin_creates_staff_who_can_then_log_in(app: Flask, as_role: Any) -> None:
    admin: ApiClient = as_role("admin")
    response = admin.post("/api/users", json=NEW_STAFF)
    assert response.status_code == 201
    created = response.json
    assert created["email"] == "new.facilitator@test.example"
    assert created["role"] == "facilitator" and created["time_zone"] == "Africa/Kampala"
    assert "password" not in created
    newcomer = ApiClient(app.test_client())
    assert (
        newcomer.login("new.facilitator@test.example", "a long enough password").status_code == 200
    )
    with app.app_context():
        event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "user.create"))
        assert event is not None
        assert (event.actor_id, event.target_id) == (admin.user_id, created["id"])


def test_create_refuses_duplicates_and_bad_fields(as_role: Any) -> None:
    admin: ApiClient = as_role("admin")
    dup = admin.post("/api/users", json={**NEW_STAFF, "email": "FACILITATOR@test.example"})
    assert dup.status_code == 409 and dup.json["error"]["code"] == "email_taken"
    bad = admin.post(
        "/api/users",
        json={**NEW_STAFF, "role": "participant", "time_zone": "Mars/Olympus", "password": "short"},
    )
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) == {"role", "time_zone", "password"}


def test_list_filters_and_paginates(as_role: Any, users: dict[str, int]) -> None:
    admin: ApiClient = as_role("admin")
    all_staff = admin.get("/api/users").json
    assert all_staff["total"] == 3  # staff only: the participant is not listed
    assert {u["role"] for u in all_staff["items"]} == {"admin", "supervisor", "facilitator"}
    page = admin.get("/api/users?per_page=2&page=2").json
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (3, 2, 2, 1)
    facilitators = admin.get("/api/users?role=facilitator").json
    assert [u["id"] for u in facilitators["items"]] == [users["facilitator"]]
    admin.post(f"/api/users/{users['supervisor']}/disable")
    assert admin.get("/api/users").json["total"] == 2
    assert admin.get("/api/users?include_disabled=true").json["total"] == 3


def test_role_change_ends_sessions(as_role: Any, users: dict[str, int]) -> None:
    supervisor: ApiClient = as_role("supervisor")
    admin: ApiClient = as_role("admin")
    response = admin.patch(f"/api/users/{users['supervisor']}", json={"role": "facilitator"})
    assert response.status_code == 200 and response.json["role"] == "facilitator"
    assert supervisor.get("/api/me").status_code == 401


def test_admin_cannot_disable_self_or_remove_last_admin(
    as_role: Any, users: dict[str, int]
) -> None:
    admin: ApiClient = as_role("admin")
    me = admin.post(f"/api/users/{users['admin']}/disable")
    assert me.status_code == 409 and me.json["error"]["code"] == "self_disable"
    demote = admin.patch(f"/api/users/{users['admin']}", json={"role": "supervisor"})
    assert demote.status_code == 409 and demote.json["error"]["code"] == "last_admin"
    assert admin.get("/api/me").json["role"] == "admin"


def test_unknown_user_is_404(as_role: Any) -> None:
    admin: ApiClient = as_role("admin")
    for user_id in ("999999", "0", "99999999999999999999"):
        response = admin.get(f"/api/users/{user_id}")
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_participant_cannot_be_turned_into_staff(as_role: Any, users: dict[str, int]) -> None:
    admin: ApiClient = as_role("admin")
    response = admin.patch(f"/api/users/{users['participant']}", json={"role": "admin"})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "participant_role"
    assert admin.get(f"/api/users/{users['participant']}").json["role"] == "participant"


def test_blank_display_name_refused(as_role: Any, users: dict[str, int]) -> None:
    admin: ApiClient = as_role("admin")
    response = admin.patch(f"/api/users/{users['facilitator']}", json={"display_name": "   "})
    assert response.status_code == 422 and "display_name" in response.json["error"]["fields"]
    spaced = admin.patch(f"/api/users/{users['facilitator']}", json={"display_name": "  Ana   B "})
    assert spaced.json["display_name"] == "Ana B"
