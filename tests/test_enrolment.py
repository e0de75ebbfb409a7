"""Enrolment: screening refers, consent, capacity and the waitlist, the
late-join window, withdraw / re-activate / move, and the audited record."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from ipt_groups import timesource
from ipt_groups.extensions import db
from ipt_groups.models import AuditEvent, User
from tests.conftest import ApiClient
from tests.factories import create_cohort, enrol, member_body


def statuses(client: ApiClient, cohort_id: int) -> dict[str, str]:
    rows = client.get(f"/api/cohorts/{cohort_id}/enrolments").json
    return {r["display_name"]: r["status"] for r in rows}


def test_enrolment_creates_account_meetings_and_invite(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    created = enrol(fac, cohort["id"], "Member A", problem_areas=["grief", "disputes"])
    member = created["enrolment"]
    assert member["status"] == "enrolled" and member["problem_areas"] == ["grief", "disputes"]
    assert member["consent_version"] == "2026-01"
    assert member["consent_taken_by_id"] == users["facilitator"]
    assert member["consent_at"] == "2026-03-02T09:00:00+00:00"
    assert member["time_zone"] == "Europe/London" and member["language"] == "en"
    # WHO 8 as the manual has it: pre-group, mid-group (after 4), post-group (after 8).
    assert [m["kind"] for m in member["meetings"]] == ["pre_group", "mid_programme", "post_group"]
    assert member["meetings"][0]["starts_at"] is None  # booked individually later
    assert created["invite"]["state"] == "pending" and member["has_logged_in"] is False
    with app.app_context():
        user = db.session.get(User, member_id_user(app, member["id"]))
        assert user is not None and user.role == "participant" and user.password_hash is None
        # A neutral username, never the person's name.
        assert "member" not in (user.username or "") and user.display_name == "Member A"


def member_id_user(app: Flask, enrolment_id: int) -> int:
    from ipt_groups.models import Enrolment

    row = db.session.get(Enrolment, enrolment_id)
    assert row is not None and row.user_id is not None
    return row.user_id


def test_screening_refers_instead_of_enrolling(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    body = member_body(
        "Member R",
        screening={"suicide_plan_or_attempt": True, "needs_specialist_care": False},
        referral_note="Referred to the district crisis team",
    )
    response = fac.post(f"/api/cohorts/{cohort['id']}/enrolments", json=body)
    assert response.status_code == 201
    assert response.json["invite"] is None
    member = response.json["enrolment"]
    assert member["status"] == "referred" and member["username"] is None
    assert member["referral_note"] == "Referred to the district crisis team"
    detail = fac.get(f"/api/cohorts/{cohort['id']}").json
    assert detail["enrolled"] == 0 and detail["waitlisted"] == 0
    # No invite can be issued for a referred person.
    again = fac.post(f"/api/enrolments/{member['id']}/invites")
    assert again.status_code == 409


def test_consent_and_problem_areas_are_required_to_enrol(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    url = f"/api/cohorts/{cohort['id']}/enrolments"
    no_consent = member_body()
    del no_consent["consent"]
    response = fac.post(url, json=no_consent)
    assert response.status_code == 422 and "consent" in response.json["error"]["fields"]
    refused = fac.post(url, json=member_body(consent={"version": "2026-01", "given": False}))
    assert refused.status_code == 422
    three = fac.post(url, json=member_body(problem_areas=["grief", "disputes", "loneliness"]))
    assert three.status_code == 422 and "problem_areas" in three.json["error"]["fields"]
    unknown = fac.post(url, json=member_body(problem_areas=["money"]))
    assert unknown.status_code == 422
    no_screen = member_body()
    del no_screen["screening"]
    assert fac.post(url, json=no_screen).status_code == 422
    assert fac.get(url).json == []


def test_capacity_waitlist_and_promotion_in_order(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac, capacity=2)
    a = enrol(fac, cohort["id"], "Member A")["enrolment"]
    enrol(fac, cohort["id"], "Member B")
    c = enrol(fac, cohort["id"], "Member C")["enrolment"]
    d = enrol(fac, cohort["id"], "Member D")["enrolment"]
    assert c["status"] == "waitlisted" and c["waitlist_position"] == 1
    assert d["waitlist_position"] == 2
    waitlist = fac.get(f"/api/cohorts/{cohort['id']}/waitlist").json
    assert [(w["display_name"], w["waitlist_position"]) for w in waitlist] == [
        ("Member C", 1), ("Member D", 2),
    ]  # fmt: skip
    out = fac.post(f"/api/enrolments/{a['id']}/withdraw", json={"reason": "Moved away"})
    assert out.status_code == 200 and out.json["status"] == "withdrawn"
    assert out.json["withdrawal_reason"] == "Moved away"
    assert statuses(fac, cohort["id"]) == {
        "Member A": "withdrawn", "Member B": "enrolled",
        "Member C": "enrolled", "Member D": "waitlisted",
    }  # fmt: skip
    # More places: the rest of the waitlist is promoted.
    grown = fac.patch(f"/api/cohorts/{cohort['id']}", json={"capacity": 3})
    assert grown.json["enrolled"] == 3 and grown.json["waitlisted"] == 0
    shrink = fac.patch(f"/api/cohorts/{cohort['id']}", json={"capacity": 2})
    assert shrink.status_code == 409
    # Re-activating the withdrawn member: the group is full, so the waitlist.
    back = fac.post(f"/api/enrolments/{a['id']}/reactivate")
    assert back.status_code == 200 and back.json["status"] == "waitlisted"


def test_late_join_window(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)  # sessions on Tuesdays from 10 March, 17:00 UTC
    url = f"/api/cohorts/{cohort['id']}/enrolments"
    timesource.advance(timedelta(days=8, hours=9))  # 10 March 18:00: session 1 has begun
    fac = as_role("facilitator")
    assert fac.post(url, json=member_body("Joins at 2")).json["enrolment"]["status"] == "enrolled"
    timesource.advance(timedelta(days=7))  # session 2 has begun: the WHO window (2) is closed
    fac = as_role("facilitator")
    late = fac.post(url, json=member_body("Too late"))
    assert late.status_code == 409 and late.json["error"]["code"] == "late_join_closed"
    assert "later cohort" in late.json["error"]["message"]
    assert set(statuses(fac, cohort["id"])) == {"Joins at 2"}


def test_cancelled_sessions_do_not_count_towards_late_join(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    sessions = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    fac.post(f"/api/sessions/{sessions[0]['id']}/cancel", json={})
    timesource.advance(timedelta(days=15, hours=9))  # 17 March 18:00: only session 2 was held
    fac = as_role("facilitator")
    response = fac.post(f"/api/cohorts/{cohort['id']}/enrolments", json=member_body())
    assert response.status_code == 201


def test_move_to_another_cohort(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    first = create_cohort(fac, capacity=1)
    second = create_cohort(fac, name="Thursday group", weekday=3)
    a = enrol(fac, first["id"], "Member A")["enrolment"]
    b = enrol(fac, first["id"], "Member B")["enrolment"]
    assert b["status"] == "waitlisted"
    moved = fac.post(f"/api/enrolments/{a['id']}/move", json={"cohort_id": second["id"]})
    assert moved.status_code == 200
    assert moved.json["cohort_id"] == second["id"] and moved.json["status"] == "enrolled"
    assert moved.json["username"] == a["username"]  # same account, same login
    old = fac.get(f"/api/enrolments/{a['id']}").json
    assert old["status"] == "moved" and old["moved_to_id"] == moved.json["id"]
    # The place freed in the first cohort went to the waitlist.
    assert statuses(fac, first["id"])["Member B"] == "enrolled"
    same = fac.post(f"/api/enrolments/{moved.json['id']}/move", json={"cohort_id": second["id"]})
    assert same.status_code == 422


def test_update_member_details(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    member = enrol(fac, cohort["id"])["enrolment"]
    response = fac.patch(
        f"/api/enrolments/{member['id']}",
        json={
            "display_name": "  Member   A2 ",
            "time_zone": "Africa/Kampala",
            "problem_areas": ["loneliness"],
        },
    )
    assert response.status_code == 200
    body = response.json
    assert body["display_name"] == "Member A2" and body["time_zone"] == "Africa/Kampala"
    assert body["problem_areas"] == ["loneliness"]
    bad = fac.patch(f"/api/enrolments/{member['id']}", json={"contact_phone": "call me"})
    assert bad.status_code == 422


def test_reading_a_member_record_is_audited(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    member = enrol(fac, cohort["id"])["enrolment"]
    assert fac.get(f"/api/enrolments/{member['id']}").status_code == 200
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.target_type == "enrolment")
        ).all()
        actions = [(e.action, e.actor_id, e.target_id) for e in events]
    assert ("enrolment.enrolled", users["facilitator"], member["id"]) in actions
    assert ("enrolment.read", users["facilitator"], member["id"]) in actions


def test_individual_meeting_is_booked_in_the_cohort_zone(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac, time_zone="Africa/Kampala")
    member = enrol(fac, cohort["id"])["enrolment"]
    meeting = member["meetings"][0]
    response = fac.patch(
        f"/api/meetings/{meeting['id']}", json={"starts_at_local": "2026-03-05T10:00"}
    )
    assert response.status_code == 200
    assert response.json["starts_at"] == "2026-03-05T07:00:00+00:00"
    assert response.json["local_starts_at"] == "2026-03-05T10:00:00+03:00"
    past = fac.patch(f"/api/meetings/{meeting['id']}", json={"starts_at_local": "2026-03-01T10:00"})
    assert past.status_code == 422


def test_reactivation_is_fair_to_the_waitlist(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac, capacity=1)
    a = enrol(fac, cohort["id"], "Member A")["enrolment"]
    b = enrol(fac, cohort["id"], "Member B")["enrolment"]
    c = enrol(fac, cohort["id"], "Member C")["enrolment"]
    assert (b["status"], c["status"]) == ("waitlisted", "waitlisted")
    fac.post(f"/api/enrolments/{a['id']}/withdraw", json={"reason": "Unwell"})
    fac.post(f"/api/enrolments/{b['id']}/withdraw", json={"reason": "Busy"})
    # A's withdrawal promoted B; B's withdrawal then promoted C.
    assert statuses(fac, cohort["id"])["Member C"] == "enrolled"
    # A held a place before, but the group is full again: A queues like anyone else.
    back = fac.post(f"/api/enrolments/{a['id']}/reactivate")
    assert back.json["status"] == "waitlisted" and back.json["waitlist_position"] == 1


def test_waitlisted_only_member_cannot_rejoin_after_the_window(
    as_role: Any, frozen: datetime
) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac, capacity=1)
    enrol(fac, cohort["id"], "Member A")
    waiting = enrol(fac, cohort["id"], "Member W")["enrolment"]
    fac.post(f"/api/enrolments/{waiting['id']}/withdraw", json={"reason": "Changed mind"})
    timesource.advance(timedelta(days=16))  # sessions 1 and 2 have taken place
    fac = as_role("facilitator")
    response = fac.post(f"/api/enrolments/{waiting['id']}/reactivate")
    assert response.status_code == 409 and response.json["error"]["code"] == "late_join_closed"


def test_late_join_window_of_one_means_before_the_start(as_role: Any, frozen: datetime) -> None:
    admin: ApiClient = as_role("admin")
    body = {
        "key": "closed-4", "name": "Closed group", "group_sessions": 4, "session_minutes": 60,
        "phases": {"initial": [1], "middle": [2, 3], "termination": [4]},
        "meetings": [{"kind": "pre_group", "after_session": 0, "label": "Pre-group"}],
        "group_size_min": 2, "group_size_max": 8, "late_join_sessions": 0,
    }  # fmt: skip
    assert admin.post("/api/programmes", json=body).status_code == 422
    assert admin.post("/api/programmes", json={**body, "late_join_sessions": 1}).status_code == 201
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac, programme_key="closed-4")
    assert enrol(fac, cohort["id"])["enrolment"]["status"] == "enrolled"
    timesource.advance(timedelta(days=8, hours=9))  # session 1 has begun
    fac = as_role("facilitator")
    late = fac.post(f"/api/cohorts/{cohort['id']}/enrolments", json=member_body("Member B"))
    assert late.status_code == 409
