"""Attendance: all present then corrections, replays from an offline tablet,
"I can't come", the follow-up after a first absence, the minimum-size warning."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from ipt_groups import timesource
from ipt_groups.extensions import db
from ipt_groups.models import Attendance
from tests.conftest import ApiClient
from tests.factories import SESSION_1, create_cohort, enrol, phone


def group(app: Flask, fac: ApiClient, members: int = 3) -> dict[str, Any]:
    cohort = create_cohort(fac)
    made = [enrol(fac, cohort["id"], f"Member {chr(65 + i)}") for i in range(members)]
    sessions = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    return {"cohort": cohort, "members": made, "sessions": sessions}


def test_all_present_then_correct_and_replay_stays_one_record(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    fac: ApiClient = as_role("facilitator")
    g = group(app, fac)
    s1 = g["sessions"][0]["id"]
    b = g["members"][1]["enrolment"]["id"]
    timesource.advance(SESSION_1)
    fac = as_role("facilitator")
    url = f"/api/sessions/{s1}/attendance"
    first = fac.post(f"{url}/all-present", json={"client_key": "batch-0001"})
    assert first.status_code == 200
    assert {e["status"] for e in first.json["entries"]} == {"present"}
    correction = {"entries": [{"enrolment_id": b, "status": "late"}], "client_key": "batch-0002"}
    assert fac.put(url, json=correction).status_code == 200
    # The tablet comes back online and replays both batches: nothing changes.
    replay = fac.post(f"{url}/all-present", json={"client_key": "batch-0001"})
    assert {e["display_name"]: e["status"] for e in replay.json["entries"]} == {
        "Member A": "present", "Member B": "late", "Member C": "present",
    }  # fmt: skip
    assert fac.put(url, json=correction).status_code == 200
    with app.app_context():
        count = db.session.scalar(select(func.count(Attendance.id)))
    assert count == 3


def test_first_absence_creates_one_follow_up_due_before_the_next_session(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    fac: ApiClient = as_role("facilitator")
    g = group(app, fac)
    s1, s2 = g["sessions"][0], g["sessions"][1]
    a = g["members"][0]["enrolment"]["id"]
    timesource.advance(SESSION_1)
    fac = as_role("facilitator")
    absent = {"entries": [{"enrolment_id": a, "status": "absent"}]}
    assert fac.put(f"/api/sessions/{s1['id']}/attendance", json=absent).status_code == 200
    tasks = fac.get(f"/api/cohorts/{g['cohort']['id']}/follow-ups").json
    assert [(t["display_name"], t["session_id"], t["due_at"]) for t in tasks] == [
        ("Member A", s1["id"], s2["starts_at"])
    ]
    timesource.advance(timedelta(days=7))
    fac = as_role("facilitator")
    fac.put(f"/api/sessions/{s2['id']}/attendance", json=absent)
    assert len(fac.get(f"/api/cohorts/{g['cohort']['id']}/follow-ups").json) == 1  # first only
    done = fac.post(f"/api/follow-ups/{tasks[0]['id']}/done")
    assert done.status_code == 200 and done.json["done_at"] is not None
    assert fac.get(f"/api/cohorts/{g['cohort']['id']}/follow-ups").json == []


def test_cannot_come_shows_in_the_register_and_lowers_expected(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    fac: ApiClient = as_role("facilitator")
    g = group(app, fac, members=6)  # the WHO minimum group size
    s1 = g["sessions"][0]["id"]
    member = phone(app, g["members"][0]["invite"]["code"])
    assert member.get("/api/me/schedule").json["next"]["cannot_come"] is False
    sent = member.put(f"/api/me/sessions/{s1}/cannot-come", json={"reason": "Work shift"})
    assert sent.status_code == 200 and sent.json["reason"] == "Work shift"
    # The member's own app shows what they said, on the session and only there.
    mine = member.get("/api/me/schedule").json
    assert mine["next"]["session_id"] == s1 and mine["next"]["cannot_come"] is True
    assert [e["cannot_come"] for e in mine["events"] if e["session_id"] != s1] == [False] * 7
    register = fac.get(f"/api/sessions/{s1}/attendance").json
    row = next(e for e in register["entries"] if e["display_name"] == "Member A")
    assert row["cannot_come"] is True and row["cannot_come_reason"] == "Work shift"
    assert register["expected"] == 5 and register["below_minimum"] is True
    assert "at least 6" in register["warning"]
    timesource.advance(SESSION_1)
    fac = as_role("facilitator")
    marks = fac.post(f"/api/sessions/{s1}/attendance/all-present", json={}).json["entries"]
    assert {e["display_name"]: e["status"] for e in marks}["Member A"] == "excused"


def test_member_can_only_apologise_for_their_own_upcoming_sessions(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    fac: ApiClient = as_role("facilitator")
    g = group(app, fac, members=1)
    other = create_cohort(fac, name="Other group")
    other_session = fac.get(f"/api/cohorts/{other['id']}/sessions").json[0]["id"]
    member = phone(app, g["members"][0]["invite"]["code"])
    assert member.put(f"/api/me/sessions/{other_session}/cannot-come", json={}).status_code == 404
    s1 = g["sessions"][0]["id"]
    assert member.put(f"/api/me/sessions/{s1}/cannot-come", json={}).status_code == 200
    assert member.delete(f"/api/me/sessions/{s1}/cannot-come").status_code == 204
    assert fac.get(f"/api/sessions/{s1}/attendance").json["entries"][0]["cannot_come"] is False
    assert member.get(f"/api/sessions/{s1}/attendance").status_code == 403
    timesource.advance(SESSION_1 + timedelta(minutes=1))
    member = phone_login(app, g["members"][0]["enrolment"]["username"])
    late = member.put(f"/api/me/sessions/{s1}/cannot-come", json={})
    assert late.status_code == 409


def phone_login(app: Flask, username: str) -> ApiClient:
    c = ApiClient(app.test_client())
    assert c.login(username=username, password="482915").status_code == 200
    return c


def test_attendance_rules_and_access(app: Flask, as_role: Any, frozen: datetime) -> None:
    from tests.conftest import create_user

    fac: ApiClient = as_role("facilitator")
    g = group(app, fac, members=1)
    s1, s2 = g["sessions"][0]["id"], g["sessions"][1]["id"]
    a = g["members"][0]["enrolment"]["id"]
    mark = {"entries": [{"enrolment_id": a, "status": "present"}]}
    early = fac.put(f"/api/sessions/{s1}/attendance", json=mark)
    assert early.status_code == 409 and early.json["error"]["code"] == "session_not_started"
    fac.post(f"/api/sessions/{s2}/cancel", json={})
    timesource.advance(SESSION_1)
    fac = as_role("facilitator")
    assert fac.put(f"/api/sessions/{s2}/attendance", json=mark).status_code == 409
    stranger = {"entries": [{"enrolment_id": 2**31 - 1, "status": "present"}]}
    assert fac.put(f"/api/sessions/{s1}/attendance", json=stranger).status_code == 422
    bad = {"entries": [{"enrolment_id": a, "status": "maybe"}]}
    assert fac.put(f"/api/sessions/{s1}/attendance", json=bad).status_code == 422
    with app.app_context():
        create_user("facilitator", "outsider.facilitator@test.example")
    outsider = ApiClient(app.test_client())
    outsider.login("outsider.facilitator@test.example")
    assert outsider.get(f"/api/sessions/{s1}/attendance").status_code == 404
    assert outsider.put(f"/api/sessions/{s1}/attendance", json=mark).status_code == 404
    sup: ApiClient = as_role("supervisor")
    assert sup.put(f"/api/sessions/{s1}/attendance", json=mark).status_code == 403
    assert ApiClient(app.test_client()).get(f"/api/sessions/{s1}/attendance").status_code == 401
    assert fac.get(f"/api/sessions/{s1}/attendance").json["entries"][0]["status"] is None
