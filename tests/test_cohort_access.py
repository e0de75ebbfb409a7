"""Who sees what: the facilitator's own cohorts, the supervisor's (read only),
admins all; an outsider facilitator, an outsider supervisor and a participant of
another cohort get 404 (or 403 where the role can never do it), never the data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from flask import Flask

from tests.conftest import ApiClient, create_user
from tests.factories import create_cohort, enrol


@pytest.fixture
def world(app: Flask, as_role: Any, users: dict[str, int], frozen: datetime) -> dict[str, Any]:
    """One cohort led by the facilitator and supervised by the supervisor, one member
    in it; an outsider of each staff role; a participant of another cohort."""
    with app.app_context():
        create_user("facilitator", "outsider.facilitator@test.example")
        create_user("supervisor", "outsider.supervisor@test.example")
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac, supervisor_ids=[users["supervisor"]])
    member = enrol(fac, cohort["id"], "Member A")
    session = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json[0]

    outsider = ApiClient(app.test_client())
    assert outsider.login("outsider.facilitator@test.example").status_code == 200
    other_cohort = create_cohort(outsider, name="Other group")
    other = enrol(outsider, other_cohort["id"], "Member Z")
    other_member = ApiClient(app.test_client())
    redeem = other_member.post(
        "/api/invites/redeem", json={"code": other["invite"]["code"], "pin": "864213"}
    )
    assert redeem.status_code == 200
    other_member.csrf = redeem.json["csrf_token"]
    outsider_sup = ApiClient(app.test_client())
    assert outsider_sup.login("outsider.supervisor@test.example").status_code == 200
    return {
        "cohort": cohort["id"],
        "enrolment": member["enrolment"]["id"],
        "invite": member["invite"]["id"],
        "meeting": member["enrolment"]["meetings"][0]["id"],
        "session": session["id"],
        "outsider": outsider,
        "outsider_supervisor": outsider_sup,
        "other_member": other_member,
    }


def reads(w: dict[str, Any]) -> list[str]:
    c, e, s, m = w["cohort"], w["enrolment"], w["session"], w["meeting"]
    return [
        f"/api/cohorts/{c}", f"/api/cohorts/{c}/sessions", f"/api/cohorts/{c}/enrolments",
        f"/api/cohorts/{c}/waitlist", f"/api/cohorts/{c}/skipped-dates", f"/api/sessions/{s}",
        f"/api/enrolments/{e}", f"/api/enrolments/{e}/invites", f"/api/meetings/{m}",
    ]  # fmt: skip


def writes(w: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    c, e, s, m, i = w["cohort"], w["enrolment"], w["session"], w["meeting"], w["invite"]
    return [
        ("patch", f"/api/cohorts/{c}", {"name": "Renamed"}),
        ("post", f"/api/cohorts/{c}/status", {"status": "cancelled"}),
        ("post", f"/api/cohorts/{c}/sessions", {"starts_at_local": "2026-04-02T17:00"}),
        ("post", f"/api/cohorts/{c}/skipped-dates", {"day": "2026-03-17"}),
        ("post", f"/api/cohorts/{c}/enrolments", {"display_name": "X", "screening": {
            "suicide_plan_or_attempt": False, "needs_specialist_care": False}}),
        ("post", f"/api/sessions/{s}/reschedule", {"starts_at_local": "2026-03-11T17:00"}),
        ("post", f"/api/sessions/{s}/cancel", {}),
        ("patch", f"/api/enrolments/{e}", {"display_name": "Renamed"}),
        ("post", f"/api/enrolments/{e}/withdraw", {"reason": "x"}),
        ("post", f"/api/enrolments/{e}/invites", {}),
        ("post", f"/api/invites/{i}/revoke", {}),
        ("patch", f"/api/meetings/{m}", {"location": "Room 9"}),
    ]  # fmt: skip


def assert_untouched(as_role: Any, w: dict[str, Any]) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = fac.get(f"/api/cohorts/{w['cohort']}").json
    assert cohort["name"] == "Tuesday evening group" and cohort["status"] == "planned"
    assert fac.get(f"/api/sessions/{w['session']}").json["status"] == "scheduled"
    member = fac.get(f"/api/enrolments/{w['enrolment']}").json
    assert member["display_name"] == "Member A" and member["status"] == "enrolled"


def test_outsider_facilitator_gets_404_everywhere(as_role: Any, world: dict[str, Any]) -> None:
    outsider: ApiClient = world["outsider"]
    for url in reads(world):
        response = outsider.get(url)
        assert response.status_code == 404, url
        assert response.json["error"]["code"] == "not_found"
    for method, url, body in writes(world):
        assert getattr(outsider, method)(url, json=body).status_code == 404, url
    listed = outsider.get("/api/cohorts").json
    assert [c["name"] for c in listed] == ["Other group"]
    assert_untouched(as_role, world)


def test_outsider_supervisor_gets_404(as_role: Any, world: dict[str, Any]) -> None:
    sup: ApiClient = world["outsider_supervisor"]
    for url in reads(world):
        assert sup.get(url).status_code == 404, url
    assert sup.get("/api/cohorts").json == []


def test_supervisor_reads_but_cannot_change(as_role: Any, world: dict[str, Any]) -> None:
    sup: ApiClient = as_role("supervisor")
    for url in reads(world):
        assert sup.get(url).status_code == 200, url
    cohort = sup.get(f"/api/cohorts/{world['cohort']}").json
    assert cohort["can_manage"] is False
    for method, url, body in writes(world):
        response = getattr(sup, method)(url, json=body)
        assert response.status_code == 403, url
    assert_untouched(as_role, world)


def test_participant_of_another_cohort_sees_nothing(as_role: Any, world: dict[str, Any]) -> None:
    member: ApiClient = world["other_member"]
    for url in [*reads(world), "/api/cohorts", "/api/staff", "/api/programmes"]:
        response = member.get(url)
        assert response.status_code in (403, 404), url
        assert "Member A" not in response.get_data(as_text=True)
    for method, url, body in writes(world):
        assert getattr(member, method)(url, json=body).status_code in (403, 404), url
    schedule = member.get("/api/me/schedule").json
    assert {e["cohort_id"] for e in schedule["events"]} == {schedule["group"]["id"]}
    assert schedule["group"]["id"] != world["cohort"]
    assert_untouched(as_role, world)


def test_admin_sees_and_manages_every_cohort(as_role: Any, world: dict[str, Any]) -> None:
    admin: ApiClient = as_role("admin")
    assert len(admin.get("/api/cohorts").json) == 2
    for url in reads(world):
        assert admin.get(url).status_code == 200, url
    response = admin.patch(f"/api/cohorts/{world['cohort']}", json={"location": "Room 4"})
    assert response.status_code == 200 and response.json["location"] == "Room 4"


def test_anonymous_gets_401(client: ApiClient, world: dict[str, Any]) -> None:
    for url in reads(world):
        assert client.get(url).status_code == 401, url


def test_ids_beyond_range_are_404(as_role: Any, world: dict[str, Any]) -> None:
    fac: ApiClient = as_role("facilitator")
    for url in ("/api/cohorts/99999999999", "/api/cohorts/0", "/api/sessions/-1"):
        assert fac.get(url).status_code == 404
