"""The demo data is a working cohort a newcomer can explore through the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask

from ipt_groups.extensions import db
from ipt_groups.services import demo
from tests.conftest import ApiClient


def test_demo_cohort_member_and_invite(app: Flask, frozen: datetime) -> None:
    with app.app_context():
        first = demo.seed_demo()
        db.session.commit()
        result = demo.seed_demo()
        db.session.commit()
    assert result.created == [] and first.created  # idempotent
    # Each run issues a fresh code; the earlier one stops working.
    assert result.invite_code is not None and result.invite_code != first.invite_code
    fac = ApiClient(app.test_client())
    assert fac.login("facilitator@example.org", demo.DEMO_PASSWORD).status_code == 200
    cohorts = {c["name"]: c for c in fac.get("/api/cohorts").json}
    assert set(cohorts) == {demo.DEMO_COHORT_NAME, demo.RUNNING_COHORT_NAME}
    cohort = cohorts[demo.DEMO_COHORT_NAME]
    assert cohort["programme_key"] == "who-8" and cohort["status"] == "active"
    assert cohort["enrolled"] == 3
    assert {s["role"] for s in cohort["staff"]} == {"lead", "supervisor"}
    # Frozen "now" is Monday 2 March 2026: next week's Monday is 9 March, Tuesdays at 17:00.
    assert cohort["next_session"]["local_starts_at"] == "2026-03-10T17:00:00+00:00"

    member = ApiClient(app.test_client())
    login: Any = member.login(username=demo.DEMO_PARTICIPANT, password=demo.DEMO_PIN)
    assert login.status_code == 200 and login.json["user"]["role"] == "participant"
    schedule = member.get("/api/me/schedule").json
    assert schedule["status"] == "enrolled" and len(schedule["events"]) == 8
    assert schedule["facilitators"] == ["Demo Facilitator"]

    newcomer = ApiClient(app.test_client())
    redeemed = newcomer.post(
        "/api/invites/redeem", json={"code": result.invite_code, "pin": "135790"}
    )
    assert redeemed.status_code == 200
    assert redeemed.json["user"]["display_name"] == demo.PENDING_MEMBER
    stale = ApiClient(app.test_client()).post(
        "/api/invites/redeem", json={"code": first.invite_code, "pin": "135790"}
    )
    assert stale.status_code == 410 and stale.json["error"]["code"] == "invite_revoked"


def test_demo_walkthrough_run_session_one_and_see_the_outcomes(
    app: Flask, frozen: datetime
) -> None:
    """The README's walkthrough, step by step, against the demo data."""
    with app.app_context():
        demo.seed_demo()
        db.session.commit()
    fac = ApiClient(app.test_client())
    assert fac.login("facilitator@example.org", demo.DEMO_PASSWORD).status_code == 200
    cohorts = {c["name"]: c for c in fac.get("/api/cohorts").json}
    cohort = cohorts[demo.RUNNING_COHORT_NAME]
    s1 = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json[0]
    # Seeded at Monday 09:00 London time: session 1 began at the top of the hour.
    assert s1["number"] == 1 and s1["starts_at"] == "2026-03-02T09:00:00+00:00"

    runner = fac.get(f"/api/sessions/{s1['id']}/runner").json
    members = {m["display_name"]: m["enrolment_id"] for m in runner["members"]}
    assert len(members) == 6 and runner["due"] == ["mood"]
    assert runner["members"][0]["goal"] == "Talk about my mother with my sister"
    for item in runner["agenda"]["items"]:
        assert (
            fac.post(f"/api/agenda-items/{item['id']}/tick", json={"done": True}).status_code == 200
        )
    fac.post(f"/api/sessions/{s1['id']}/attendance/all-present", json={})
    fac.put(
        f"/api/sessions/{s1['id']}/attendance",
        json={"entries": [{"enrolment_id": members["Fay Demo"], "status": "absent"}]},
    )
    phq9 = {f"phq9_{n}": 2 for n in range(1, 9)} | {"phq9_9": 1}  # total 17
    entered = fac.post(
        f"/api/enrolments/{members['Ana Demo']}/assessments",
        json={"instrument": "phq9", "answers": phq9, "session_id": s1["id"]},
    ).json
    assert entered["assessment"]["total"] == 17 and entered["alert"] is not None
    assert entered["crisis_text"]
    assert (
        fac.post(f"/api/sessions/{s1['id']}/notes", json={"body": "Rules agreed."}).status_code
        == 201
    )
    tasks = [{"enrolment_id": i, "text": "Notice one moment of low mood and who was there"}
             for name, i in members.items() if name != "Fay Demo"]  # fmt: skip
    assert len(fac.put(f"/api/sessions/{s1['id']}/tasks", json={"tasks": tasks}).json) == 5
    done = fac.get(f"/api/sessions/{s1['id']}/runner").json
    assert all(i["done"] for i in done["agenda"]["items"])

    sup = ApiClient(app.test_client())
    assert sup.login("supervisor@example.org", demo.DEMO_PASSWORD).status_code == 200
    assert sup.get("/api/me/notifications").json["unread"] == 1
    (alert,) = sup.get("/api/alerts").json
    assert alert["display_name"] == "Ana Demo"
    acknowledged = sup.post(
        f"/api/alerts/{alert['id']}/acknowledge",
        json={"action": "contacted", "note": "Phoned the same day; safe; plan agreed."},
    )
    assert acknowledged.json["status"] == "acknowledged"

    outcomes = fac.get(f"/api/cohorts/{cohort['id']}/outcomes").json
    (session_row,) = outcomes["sessions"]
    assert (session_row["present"], session_row["absent"]) == (5, 1)
    assert outcomes["funnel"]["enrolled"] == 6 and outcomes["funnel"]["started"] == 5
    firsts = {m["display_name"]: m["first_phq9"] for m in outcomes["members"]}
    assert firsts["Ana Demo"]["total"] == 17 and firsts["Ben Demo"] is None
    csv_text = fac.get(f"/api/cohorts/{cohort['id']}/outcomes.csv?pseudonymous=true").text
    assert "Ana Demo" not in csv_text and ",17," in csv_text
    trends = fac.get(f"/api/cohorts/{cohort['id']}/trends").json
    ana = [(p["instrument"], p["position"], p["total"]) for p in trends["members"][0]["points"]]
    assert trends["members"][0]["display_name"] == "Ana Demo" and ana == [("phq9", 1.0, 17)]
    assert trends["means"] == [{"instrument": "phq9", "position": 1.0, "mean": 17.0, "n": 1}]


def test_demo_members_read_session_1_items_in_their_language(app: Flask, frozen: datetime) -> None:
    with app.app_context():
        demo.seed_demo()
        db.session.commit()
    readings = {}
    for username in ("demo-ana", "demo-cara"):
        member = ApiClient(app.test_client())
        assert member.login(username=username, password=demo.DEMO_PIN).status_code == 200
        readings[username] = member.get("/api/me/readings").json["items"]
    # Session 1 of the running cohort began at the top of the hour: its opening readings.
    assert {i["key"] for i in readings["demo-ana"]} == {
        "what-is-depression", "how-the-group-works", "warning-signs",
    }  # fmt: skip
    assert {i["language"] for i in readings["demo-ana"]} == {"en"}
    assert {i["language"] for i in readings["demo-cara"]} == {"es"}
    titles = {i["key"]: i["title"] for i in readings["demo-cara"]}
    assert (
        titles["warning-signs"]
        != {i["key"]: i["title"] for i in readings["demo-ana"]}["warning-signs"]
    )
    # The Tuesday cohort starts next week: its member has nothing to read yet.
    waiting = ApiClient(app.test_client())
    waiting.login(username=demo.DEMO_PARTICIPANT, password=demo.DEMO_PIN)
    assert waiting.get("/api/me/readings").json["items"] == []
