"""A member's PIN: chosen at redemption, changed later with the PIN rules, and
reset by a re-issued invite (which ends sessions opened with the old PIN)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask

from tests.conftest import ApiClient
from tests.factories import create_cohort, enrol


def joined_member(app: Flask, fac: ApiClient) -> tuple[ApiClient, dict[str, Any]]:
    cohort = create_cohort(fac)
    created = enrol(fac, cohort["id"])
    phone = ApiClient(app.test_client())
    response = phone.post(
        "/api/invites/redeem", json={"code": created["invite"]["code"], "pin": "482915"}
    )
    assert response.status_code == 200
    phone.csrf = response.json["csrf_token"]
    return phone, created["enrolment"]


def test_member_changes_pin_under_pin_rules(app: Flask, as_role: Any, frozen: datetime) -> None:
    phone, member = joined_member(app, as_role("facilitator"))
    weak = phone.post(
        "/api/me/password", json={"current_password": "482915", "new_password": "000000"}
    )
    assert weak.status_code == 422 and "new_password" in weak.json["error"]["fields"]
    ok = phone.post(
        "/api/me/password", json={"current_password": "482915", "new_password": "907153"}
    )
    assert ok.status_code == 204
    fresh = ApiClient(app.test_client())
    assert fresh.login(username=member["username"], password="482915").status_code == 401
    assert fresh.login(username=member["username"], password="907153").status_code == 200


def test_reissued_invite_resets_a_forgotten_pin(app: Flask, as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    lost_phone, member = joined_member(app, fac)
    reissued = fac.post(f"/api/enrolments/{member['id']}/invites")
    assert reissued.status_code == 201
    new_phone = ApiClient(app.test_client())
    response = new_phone.post(
        "/api/invites/redeem", json={"code": reissued.json["code"], "pin": "731864"}
    )
    assert response.status_code == 200
    assert lost_phone.get("/api/me").status_code == 401  # the old session has ended
    assert new_phone.get("/api/me").json["username"] == member["username"]


def test_disabled_member_cannot_redeem(app: Flask, as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    created = enrol(fac, cohort["id"])
    admin: ApiClient = as_role("admin")
    participants = admin.get("/api/users?role=participant").json["items"]
    target = next(u for u in participants if u["username"] == created["enrolment"]["username"])
    assert admin.post(f"/api/users/{target['id']}/disable").status_code == 200
    response = ApiClient(app.test_client()).post(
        "/api/invites/redeem", json={"code": created["invite"]["code"], "pin": "731864"}
    )
    assert response.status_code == 410 and response.json["error"]["code"] == "invite_revoked"
