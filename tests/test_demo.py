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
    (cohort,) = fac.get("/api/cohorts").json
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
