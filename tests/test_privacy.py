"""A member's data export, erasure that keeps a cohort's figures, and retention.

The story (clock frozen Monday 2 March 2026 09:00 UTC; the cohort meets
Tuesdays 17:00 London from 10 March, WHO 8 sessions, midpoint session 4):

    member   pre-group PHQ-9   s1        s2        PHQ-9 at s2
    A        16                present   present   9    (change -7)
    B        12                present   late      13   (change +1)
    C        -                 present   absent    -

A also answered a mood check-in (6) before s1, opened a reading, said she
cannot come to s3, has a phone subscribed for push, a calendar feed, a task, a
note about her, and an "I am worried" alert (acknowledged). She is withdrawn
after s2. Figures for the cohort at s2: 3 members, all started, none at the
midpoint; 5 of 6 marks attended (0.833); PHQ-9 change for 2 members, mean
(-7 + 1) / 2 = -3.0, one of them (A, 9) below 10: share 0.5; no dropout (C has
one absence only).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from ipt_groups import clock
from ipt_groups.config import ConfigError, load_settings
from ipt_groups.extensions import db
from ipt_groups.models import (
    Apology,
    Assessment,
    Attendance,
    AuditEvent,
    AuthSession,
    CalendarFeed,
    ContentRead,
    DeliveryAttempt,
    Enrolment,
    Invite,
    MemberTask,
    Notification,
    NotificationPreference,
    PushSubscription,
    RiskAlert,
    SessionNote,
    User,
)
from tests.conftest import ApiClient, create_user
from tests.factories import (
    A_PRE,
    A_S2,
    A_SECRETS,
    B_PRE,
    B_S2,
    MARKS_KEY,
    PIN,
    create_cohort,
    enrol,
    erase,
    member_body,
    phone_login,
    withdraw_and_acknowledge,
)

# -- export -------------------------------------------------------------------


def test_a_member_exports_everything_held_about_them_and_nothing_of_others(
    app: Flask, story: dict[str, Any], as_role: Any
) -> None:
    withdraw_and_acknowledge(story, as_role)
    me = phone_login(app, story["username"])
    response = me.get("/api/me/export")
    assert response.status_code == 200, response.json
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    text = json.dumps(body)

    profile = body["profile"]
    assert (profile["id"], profile["username"], profile["display_name"]) == (
        story["user_id"],
        story["username"],
        A_SECRETS["name"],
    )
    assert profile["role"] == "participant" and profile["erased_at"] is None
    for secret_word in ("password", "pin_hash", "token", "p256dh", "auth_key", "endpoint"):
        assert secret_word not in text, secret_word
    assert story["endpoint"] not in text  # the device's push address is never shown

    (mine,) = body["enrolments"]
    assert mine["id"] == story["a"] and mine["cohort"]["name"] == "Tuesday evening group"
    assert mine["cohort"]["start_date"] == "2026-03-09"
    assert (mine["status"], mine["withdrawal_reason"]) == ("withdrawn", A_SECRETS["withdrawal"])
    assert mine["joined_at"] == "2026-03-02T09:00:00+00:00" and mine["withdrawn_at"]
    assert (mine["contact_phone"], mine["contact_email"], mine["goal"]) == (
        A_SECRETS["phone"],
        A_SECRETS["email"],
        A_SECRETS["goal"],
    )
    assert mine["problem_areas"] == ["life_changes"]
    assert mine["screening"] == {"suicide_plan_or_attempt": False, "needs_specialist_care": False}
    assert "pre_group" in [m["kind"] for m in mine["meetings"]]
    assert [(a["session"]["number"], a["status"]) for a in mine["attendance"]] == [
        (1, "present"), (2, "present")
    ]  # fmt: skip
    assert [(a["total"], a["answers"], a["source"]) for a in mine["assessments"]] == [
        (16, A_PRE, "staff"), (9, A_S2, "staff")
    ]  # fmt: skip
    assert mine["assessments"][1]["session"]["number"] == 2
    assert [(c["instrument"], c["answers"], c["session"]["number"]) for c in mine["check_ins"]] == [
        ("mood", {"mood": 6}, 1)
    ]
    assert [(n["session"]["number"], n["body"]) for n in mine["notes"]] == [(1, A_SECRETS["note"])]
    assert [t["text"] for t in mine["tasks"]] == [A_SECRETS["task"]]
    assert [(a["session"]["number"], a["reason"]) for a in mine["apologies"]] == [
        (3, A_SECRETS["apology"])
    ]
    (alert,) = mine["alerts"]
    assert (alert["source"], alert["status"], alert["action"]) == (
        "worried", "acknowledged", "contacted"
    )  # fmt: skip
    # Staff's own words about the risk are for a clinician to go through with her.
    assert (alert["concern"], alert["action_note"]) == (None, None)
    assert A_SECRETS["concern"] not in text and A_SECRETS["action_note"] not in text
    # Her fidelity answer is hers; the facilitator's comment on it is staff's words.
    assert [(f["session_id"], f["answer"], f["comment"]) for f in mine["fidelity"]] == [
        (story["sessions"][0], "yes", None)
    ]
    assert A_SECRETS["fidelity_comment"] not in text
    readings = {r["key"]: r for r in mine["readings"]}
    assert readings["what-is-depression"]["first_opened_at"] == "2026-03-10T17:00:00+00:00"
    assert readings["what-is-depression"]["title"]
    assert all(r["released_at"] for r in readings.values())
    assert sum(1 for r in readings.values() if r["first_opened_at"]) == 1

    assert body["notification_preferences"]["checkin_due"] is False
    assert body["notification_preferences"]["quiet_start"] is None
    (device,) = body["devices"]
    assert device["push_service"] == "127.0.0.1" and set(device) == {
        "id", "push_service", "user_agent", "created_at", "last_seen_at", "last_success_at"
    }  # fmt: skip
    assert len(body["calendar_feeds"]) == 1 and body["calendar_feeds"][0]["revoked_at"] is None
    assert {n["kind"] for n in body["notifications"]} == {"content_released"}
    assert len(body["login_sessions"]) >= 4 and all(s["created_at"] for s in body["login_sessions"])
    actions = [(e["action"], e["actor_role"]) for e in body["audit"]]
    assert ("enrolment.enrolled", "facilitator") in actions
    assert ("risk_alert.open", "facilitator") in actions
    assert ("risk_alert.acknowledge", "supervisor") in actions
    assert ("user.export", "participant") in actions  # this export, on her own trail

    # Nothing about the other members (names, B's answers), nor the group's own
    # note. (Her own assessments are compared exactly above.)
    for other in ("Member B", "Member C", "Group note", json.dumps(B_PRE)):
        assert other not in json.dumps(mine), other


def test_an_admin_exports_a_members_data_others_may_not(
    app: Flask, story: dict[str, Any], as_role: Any, users: dict[str, int]
) -> None:
    own = phone_login(app, story["username"]).get("/api/me/export").json
    admin = as_role("admin")
    url = f"/api/users/{story['user_id']}/export"
    response = admin.get(url)
    assert response.status_code == 200, response.json
    assert response.json["profile"] == own["profile"]
    (full,) = response.json["enrolments"]
    # The clinic's copy adds staff's words on the alert, to review before handing it over.
    (alert,) = full["alerts"]
    assert (alert["concern"], alert["status"]) == (A_SECRETS["concern"], "open")
    (answer,) = full["fidelity"]
    assert answer["comment"] == A_SECRETS["fidelity_comment"]
    assert {
        **full,
        "alerts": [{**alert, "concern": None}],
        "fidelity": [{**answer, "comment": None}],
    } == own["enrolments"][0]

    for role in ("facilitator", "supervisor", "participant"):
        refused = as_role(role).get(url)
        assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden", role
    assert phone_login(app, story["username"]).get(url).status_code == 403
    assert ApiClient(app.test_client()).get(url).status_code == 401
    assert admin.get("/api/users/2147483647/export").status_code == 404

    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.actor_id, AuditEvent.target_id, AuditEvent.subject_id).where(
                AuditEvent.action == "user.export"
            )
        ).all()
    assert (users["admin"], story["user_id"], story["a"]) in rows
    assert (story["user_id"], story["user_id"], story["a"]) in rows


def test_the_export_is_described_in_the_openapi_spec(client: ApiClient) -> None:
    spec = client.get("/api/openapi.json").json
    for path, method in (
        ("/api/me/export", "get"),
        ("/api/users/{user_id}/export", "get"),
        ("/api/users/{user_id}/erase", "post"),
    ):
        assert method in spec["paths"][path], path
    ref = spec["paths"]["/api/me/export"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]["$ref"]
    schemas = spec["components"]["schemas"]
    export = schemas[ref.rsplit("/", 1)[-1]]
    assert set(export["properties"]) == {
        "generated_at", "profile", "enrolments", "notification_preferences", "devices",
        "login_sessions", "calendar_feeds", "notifications", "audit",
    }  # fmt: skip
    assert {"answers", "total", "band"} <= set(schemas["ExportAssessment"]["properties"])
    assert "endpoint" not in schemas["ExportDevice"]["properties"]
    erase_body = schemas["ErasureRequest"]
    assert set(erase_body["required"]) == {"confirm", "reason"}


# -- erasure ------------------------------------------------------------------


def test_erasure_waits_for_withdrawal_and_for_an_open_alert(
    app: Flask, story: dict[str, Any], as_role: Any
) -> None:
    admin = as_role("admin")
    in_group = erase(admin, story["user_id"])
    assert in_group.status_code == 409 and in_group.json["error"]["code"] == "still_in_group"
    withdrawn = story["fac"].post(
        f"/api/enrolments/{story['a']}/withdraw", json={"reason": A_SECRETS["withdrawal"]}
    )
    assert withdrawn.status_code == 200
    alert_open = erase(admin, story["user_id"])
    assert alert_open.status_code == 409 and alert_open.json["error"]["code"] == "open_risk_alert"
    # Refused means untouched: she still logs in and her record is whole.
    assert phone_login(app, story["username"]).get("/api/me").status_code == 200
    mine = admin.get(f"/api/users/{story['user_id']}/export").json["enrolments"][0]
    assert mine["display_name"] == A_SECRETS["name"] and mine["alerts"][0]["status"] == "open"
    assert mine["alerts"][0]["concern"] == A_SECRETS["concern"]
    with app.app_context():
        assert db.session.get(User, story["user_id"]).erased_at is None
        erasures = select(func.count()).where(AuditEvent.action.startswith("user.erase"))
        assert db.session.scalar(erasures) == 0


def test_erasure_needs_the_confirmation_word_an_admin_and_a_member_account(
    app: Flask, story: dict[str, Any], as_role: Any, users: dict[str, int]
) -> None:
    withdraw_and_acknowledge(story, as_role)
    admin = as_role("admin")
    uid = story["user_id"]
    bad = [
        ({"confirm": "yes"}, "confirm"),
        ({"reason": "she asked at reception"}, "reason"),
        ({"note": "free text"}, "note"),
    ]
    for extra, name in bad:
        response = erase(admin, uid, **extra)
        assert response.status_code == 422 and name in response.json["error"]["fields"], extra
    for role in ("facilitator", "supervisor"):
        assert erase(as_role(role), uid).status_code == 403
    staff = erase(admin, users["facilitator"])
    assert staff.status_code == 409 and staff.json["error"]["code"] == "not_a_member"
    assert erase(admin, 2147483647).status_code == 404
    with app.app_context():
        assert db.session.get(User, uid).erased_at is None


def outcomes(fac: ApiClient, cohort_id: int) -> dict[str, Any]:
    response = fac.get(f"/api/cohorts/{cohort_id}/outcomes")
    assert response.status_code == 200, response.json
    return response.json


def test_erasure_removes_personal_data_and_keeps_the_cohorts_figures(
    app: Flask, story: dict[str, Any], as_role: Any
) -> None:
    withdraw_and_acknowledge(story, as_role)
    fac = as_role("facilitator")
    before = outcomes(fac, story["cohort_id"])
    phone = phone_login(app, story["username"])
    admin = as_role("admin")

    response = erase(admin, story["user_id"])
    assert response.status_code == 200, response.json
    result = response.json
    assert result["user_id"] == story["user_id"] and result["already_erased"] is False
    assert result["removed"] == {
        "login_sessions": result["removed"]["login_sessions"], "devices": 1,
        "notification_preferences": 1, "calendar_feeds": 1,
        "notifications": result["removed"]["notifications"], "replay_keys": 0, "invites": 1,
        "notes": 1, "tasks": 1, "problem_work": 0, "apologies": 1, "readings_opened": 1,
        "stored_replies": 1,
        "inventory_versions": 0,  # tests/test_inventory.py erases an inventory
        "safety_plan_versions": 0, "fidelity_answers": 1,
    }  # fmt: skip
    assert result["removed"]["login_sessions"] >= 4 and result["removed"]["notifications"] >= 1

    # The tablet's stored reply named her: a replay now only says it was applied.
    marks = {"entries": [
        {"enrolment_id": story["a"], "status": "present"},
        {"enrolment_id": story["b"], "status": "late"},
        {"enrolment_id": story["c"], "status": "absent"},
    ]}  # fmt: skip
    replay = as_role("facilitator").put(
        f"/api/sessions/{story['sessions'][1]}/attendance", json=marks, headers=MARKS_KEY
    )
    assert replay.status_code == 409
    assert replay.json["error"]["code"] == "idempotency_already_applied"

    # Logged out at once, and the PIN no longer opens anything.
    assert phone.get("/api/me").status_code == 401
    again = ApiClient(app.test_client()).login(username=story["username"], password=PIN)
    assert again.status_code == 401

    # The export now holds nothing personal.
    export = admin.get(f"/api/users/{story['user_id']}/export").json
    text = json.dumps(export)
    for secret in (*A_SECRETS.values(), story["username"], "Maria"):
        assert secret not in text, secret
    assert export["profile"]["display_name"] == "Erased member"
    assert export["profile"]["email"] is None and export["profile"]["active"] is False
    assert export["profile"]["erased_at"] == result["erased_at"]
    for kind in ("enrolments", "devices", "login_sessions", "calendar_feeds", "notifications"):
        assert export[kind] == [], kind
    assert all(e["member_id"] is None for e in export["audit"])  # no way back to her record

    # The cohort's figures are the same, with numbers.
    after = outcomes(as_role("facilitator"), story["cohort_id"])
    for key in ("sessions", "funnel", "summary"):
        assert after[key] == before[key], key
    summary = after["summary"]
    assert (summary["members"], summary["with_change"], summary["mean_change"]) == (3, 2, -3.0)
    assert (summary["share_latest_below_10"], summary["share_latest_below_5"]) == (0.5, 0.0)
    assert (summary["attended_marks"], summary["recorded_marks"]) == (5, 6)
    assert (summary["attendance_rate"], summary["dropouts"]) == (0.833, 0)
    assert after["funnel"] == {
        "enrolled": 3, "started": 3, "reached_midpoint": 0, "completed": 0,
        "midpoint_session": 4, "final_session": 8,
    }  # fmt: skip
    counts = [(s["present"], s["late"], s["absent"], s["not_recorded"]) for s in after["sessions"]]
    assert counts == [(3, 0, 0, 0), (1, 1, 1, 0)]
    rows = {m["enrolment_id"]: m for m in after["members"]}
    erased = rows[story["a"]]
    assert erased["display_name"] == "Erased member" and erased["status"] == "withdrawn"
    assert (erased["first_phq9"]["total"], erased["latest_phq9"]["total"]) == (16, 9)
    assert (erased["change"], erased["sessions_attended"]) == (-7, 2)
    assert (erased["marks"], erased["dropout"]) == (["present", "present"], False)
    before_a = next(m for m in before["members"] if m["enrolment_id"] == story["a"])
    assert {**before_a, "display_name": "Erased member"} == erased
    assert rows[story["b"]]["display_name"] == "Member B" and rows[story["b"]]["change"] == 1

    with app.app_context():
        member = db.session.get(Enrolment, story["a"])
        assert member.user_id is None and member.display_name == "Erased member"
        assert (member.contact_phone, member.contact_email, member.goal) == (None, None, None)
        assert (member.problem_areas, member.screening, member.withdrawal_reason) == ([], {}, None)
        assert member.status == "withdrawn" and member.joined_at and member.withdrawn_at
        assert member.consent_version == "2026-01"
        kept = db.session.scalars(
            select(Assessment).where(Assessment.enrolment_id == story["a"]).order_by(Assessment.id)
        ).all()
        assert [(a.instrument, a.total, a.answers, a.risk_items) for a in kept] == [
            ("phq9", 16, {}, []), ("mood", 6, {}, []), ("phq9", 9, {}, []),
        ]  # fmt: skip
        assert [a.band for a in kept if a.instrument == "phq9"] == ["moderately_severe", "mild"]
        marks = db.session.scalars(
            select(Attendance.status).where(Attendance.enrolment_id == story["a"])
        ).all()
        assert sorted(marks) == ["present", "present"]
        alert = db.session.get(RiskAlert, story["alert_id"])
        assert (alert.source, alert.action, alert.concern, alert.action_note) == (
            "worried",
            "contacted",
            None,
            None,
        )
        assert alert.acknowledged_at is not None
        for model in (SessionNote, MemberTask, Apology, ContentRead, Invite):
            left = db.session.scalar(
                select(func.count()).select_from(model).where(model.enrolment_id == story["a"])
            )
            assert left == 0, model.__name__
        for model in (AuthSession, PushSubscription, CalendarFeed, Notification):
            left = db.session.scalar(
                select(func.count()).select_from(model).where(model.user_id == story["user_id"])
            )
            assert left == 0, model.__name__
        assert db.session.get(NotificationPreference, story["user_id"]) is None
        group_notes = db.session.scalars(select(SessionNote.body)).all()
        assert group_notes == ["Group note: Member B spoke first"]
        # Where she acted from is gone (her logins have no actor yet); an admin's stays.
        rows = db.session.execute(
            select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.ip_address).where(
                (AuditEvent.actor_id == story["user_id"])
                | (AuditEvent.target_id == story["user_id"]) & (AuditEvent.target_type == "user")
            )
        ).all()
        hers = {(action, ip) for action, actor, ip in rows if actor in (story["user_id"], None)}
        assert {"auth.login", "invite.redeem"} <= {a for a, _ in hers}
        assert {ip for _, ip in hers} == {None}
        by_admin = {(a, ip) for a, actor, ip in rows if actor not in (story["user_id"], None)}
        assert ("user.erase.member_request", "127.0.0.1") in by_admin
        b_answers = db.session.scalars(
            select(Assessment.answers).where(Assessment.enrolment_id == story["b"])
        ).all()
        assert b_answers == [B_PRE, B_S2]  # other members untouched


def test_erasure_is_audited_without_clinical_content_and_safe_to_repeat(
    app: Flask, story: dict[str, Any], as_role: Any, users: dict[str, int]
) -> None:
    withdraw_and_acknowledge(story, as_role)
    admin = as_role("admin")
    first = erase(admin, story["user_id"], reason="consent_withdrawn")
    assert first.status_code == 200
    repeat = erase(admin, story["user_id"])
    assert repeat.status_code == 200
    assert repeat.json == {
        "user_id": story["user_id"], "erased_at": first.json["erased_at"],
        "already_erased": True, "removed": {},
    }  # fmt: skip
    with app.app_context():
        (row,) = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.startswith("user.erase"))
        ).all()
        assert (row.action, row.actor_id, row.target_type, row.target_id, row.subject_id) == (
            "user.erase.consent_withdrawn",
            users["admin"],
            "user",
            story["user_id"],
            story["a"],
        )
        assert row.at.isoformat() == first.json["erased_at"]
        # The trail about her survives, and holds identifiers and action words only.
        trail = db.session.scalars(
            select(AuditEvent).where(AuditEvent.subject_id == story["a"])
        ).all()
        assert {
            "enrolment.enrolled", "risk_alert.open", "enrolment.withdraw",
            "risk_alert.acknowledge", "user.erase.consent_withdrawn",
        } <= {e.action for e in trail}  # fmt: skip
        for event in db.session.scalars(select(AuditEvent)):
            assert re.fullmatch(r"[a-z0-9_.]+", event.action), event.action


def test_an_erased_account_cannot_be_enabled_back_into_use(
    app: Flask, story: dict[str, Any], as_role: Any
) -> None:
    withdraw_and_acknowledge(story, as_role)
    admin = as_role("admin")
    assert erase(admin, story["user_id"]).status_code == 200
    refused = admin.post(f"/api/users/{story['user_id']}/enable")
    assert refused.status_code == 409 and refused.json["error"]["code"] == "erased"
    with app.app_context():
        user = db.session.get(User, story["user_id"])
        assert user.erased_at is not None and user.is_active is False
    login = ApiClient(app.test_client()).login(username=f"erased-{story['user_id']}", password=PIN)
    assert login.status_code == 401


# -- retention ----------------------------------------------------------------


# -- a person referred at screening ---------------------------------------------

R_SECRETS = {
    "name": "Rowan Pike",
    "phone": "+447400123457",
    "email": "rowan.pike@example.org",
    "note": "Referred to the district mental health team on Friday",
}
REFER_KEY = {"Idempotency-Key": "refer-rowan-0001"}


def referral(fac: ApiClient, cohort_id: int) -> dict[str, Any]:
    body = member_body(
        R_SECRETS["name"],
        contact_phone=R_SECRETS["phone"],
        contact_email=R_SECRETS["email"],
        problem_areas=["grief"],
        screening={"suicide_plan_or_attempt": False, "needs_specialist_care": True},
        referral_note=R_SECRETS["note"],
    )
    response = fac.post(f"/api/cohorts/{cohort_id}/enrolments", json=body, headers=REFER_KEY)
    assert response.status_code == 201, response.json
    assert response.json["enrolment"]["status"] == "referred"
    return body


def test_a_person_referred_at_screening_is_exported_and_erased_through_the_enrolment(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    fac = as_role("facilitator")
    cohort = create_cohort(fac)
    body = referral(fac, cohort["id"])
    rowan = fac.get(f"/api/cohorts/{cohort['id']}/enrolments?status=referred").json[0]["id"]
    member = enrol(fac, cohort["id"], "Member B")["enrolment"]
    admin = as_role("admin")

    # Their copy: the enrolment as recorded, and who touched it.
    export = admin.get(f"/api/enrolments/{rowan}/export")
    assert export.status_code == 200, export.json
    record = export.json["enrolment"]
    assert (record["display_name"], record["contact_phone"]) == (
        R_SECRETS["name"],
        R_SECRETS["phone"],
    )
    assert record["screening"] == body["screening"] and record["referral_note"] == R_SECRETS["note"]
    assert record["status"] == "referred" and record["cohort"]["id"] == cohort["id"]
    actions = [(e["action"], e["actor_role"], e["member_id"]) for e in export.json["audit"]]
    assert ("enrolment.refer", "facilitator", rowan) in actions
    # Admins only; a person with an account is reached through the account.
    assert fac.get(f"/api/enrolments/{rowan}/export").status_code == 403
    has_account = admin.get(f"/api/enrolments/{member['id']}/export")
    assert has_account.status_code == 409 and has_account.json["error"]["code"] == "has_account"

    url = f"/api/enrolments/{rowan}/erase"
    bad = admin.post(url, json={"confirm": "yes", "reason": "member_request"})
    assert bad.status_code == 422 and "confirm" in bad.json["error"]["fields"]
    assert fac.post(url, json={"confirm": "erase", "reason": "member_request"}).status_code == 403
    refused = admin.post(
        f"/api/enrolments/{member['id']}/erase", json={"confirm": "erase", "reason": "other"}
    )
    assert refused.status_code == 409 and refused.json["error"]["code"] == "has_account"

    erased = admin.post(url, json={"confirm": "erase", "reason": "member_request"})
    assert erased.status_code == 200, erased.json
    result = erased.json
    assert (result["enrolment_id"], result["already_erased"]) == (rowan, False)
    # The facilitator's stored reply to the referral named them and held the screening.
    assert result["removed"] == {
        "stored_replies": 1, "invites": 0, "notes": 0, "tasks": 0, "problem_work": 0,
        "apologies": 0, "readings_opened": 0, "inventory_versions": 0, "safety_plan_versions": 0,
        "fidelity_answers": 0,
    }  # fmt: skip
    replay = fac.post(f"/api/cohorts/{cohort['id']}/enrolments", json=body, headers=REFER_KEY)
    assert replay.status_code == 409
    assert replay.json["error"]["code"] == "idempotency_already_applied"

    # What stays: a nameless referral in the cohort's list, marked erased.
    shown = fac.get(f"/api/enrolments/{rowan}").json
    assert shown["display_name"] == "Erased member" and shown["status"] == "referred"
    assert shown["erased_at"] == result["erased_at"]
    assert (shown["problem_areas"], shown["referral_note"], shown["contact_email"]) == (
        [],
        None,
        None,
    )
    text = json.dumps(admin.get(f"/api/enrolments/{rowan}/export").json)
    for secret in R_SECRETS.values():
        assert secret not in text, secret
    assert fac.get(f"/api/enrolments/{member['id']}").json["display_name"] == "Member B"

    again = admin.post(url, json={"confirm": "erase", "reason": "other"})
    assert again.status_code == 200
    assert (again.json["already_erased"], again.json["removed"]) == (True, {})
    assert again.json["erased_at"] == result["erased_at"]
    with app.app_context():
        row = db.session.get(Enrolment, rowan)
        assert (row.screening, row.contact_phone, row.user_id) == ({}, None, None)
        trail = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_id == rowan).order_by(AuditEvent.id)
        ).all()
        assert trail.count("enrolment.erase.member_request") == 1
        assert "enrolment.erase.other" not in trail and "enrolment.export" in trail


def test_prune_deletes_only_rows_older_than_the_retention_settings(
    app: Flask, frozen: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = frozen
    with app.app_context():
        user = create_user("participant", username="kept-member")
        ages = {"n89": 89, "n91": 91, "n400": 400}
        for label, days in ages.items():
            db.session.add(
                Notification(
                    user_id=user.id, kind="session_24h", dedupe_key=label, status="sent",
                    created_at=now - timedelta(days=days), due_at=now - timedelta(days=days),
                )
            )  # fmt: skip
        # Not finished: never pruned, however old (the dispatcher expires it).
        db.session.add(
            Notification(
                user_id=user.id, kind="session_24h", dedupe_key="pending400", status="pending",
                created_at=now - timedelta(days=400), due_at=now - timedelta(days=400),
            )
        )  # fmt: skip
        for label, days in {"a364": 364, "a366": 366, "a2554": 2554, "a2556": 2556}.items():
            db.session.add(AuditEvent(action=label, at=now - timedelta(days=days)))
        db.session.flush()
        young = db.session.scalar(select(Notification.id).where(Notification.dedupe_key == "n89"))
        db.session.add(
            DeliveryAttempt(
                notification_id=young, push_host="push.example", outcome="sent",
                at=now - timedelta(days=60),
            )
        )  # fmt: skip
        db.session.commit()

        def left() -> tuple[set[str], set[str], int]:
            return (
                set(db.session.scalars(select(Notification.dedupe_key))),
                set(db.session.scalars(select(AuditEvent.action))),
                db.session.scalar(select(func.count()).select_from(DeliveryAttempt)),
            )

        # Defaults: notifications 90 days, audit entries 2555 days (seven years).
        assert app.config["NOTIFICATION_RETENTION"] == timedelta(days=90)
        assert app.config["AUDIT_RETENTION"] == timedelta(days=2555)
        clock.prune()
        db.session.commit()
        assert left() == ({"n89", "pending400"}, {"a364", "a366", "a2554"}, 1)

        monkeypatch.setitem(app.config, "NOTIFICATION_RETENTION", timedelta(days=30))
        monkeypatch.setitem(app.config, "AUDIT_RETENTION", timedelta(days=365))
        clock.prune()
        db.session.commit()
        assert left() == ({"pending400"}, {"a364"}, 0)


def test_retention_settings_are_parsed_strictly(tmp_path: Path) -> None:
    defaults = load_settings({}, tmp_path)
    assert defaults.notification_retention == timedelta(days=90)
    assert defaults.audit_retention == timedelta(days=2555)
    custom = load_settings(
        {"NOTIFICATION_RETENTION_DAYS": "30", "AUDIT_RETENTION_DAYS": "3650"}, tmp_path
    )
    assert custom.notification_retention == timedelta(days=30)
    assert custom.flask_config()["AUDIT_RETENTION"] == timedelta(days=3650)
    for name, raw in (
        ("NOTIFICATION_RETENTION_DAYS", "ninety"),
        ("NOTIFICATION_RETENTION_DAYS", "6"),
        ("NOTIFICATION_RETENTION_DAYS", "-1"),
        ("AUDIT_RETENTION_DAYS", "364"),
        ("AUDIT_RETENTION_DAYS", "7 years"),
        ("AUDIT_RETENTION_DAYS", "36501"),
    ):
        with pytest.raises(ConfigError, match=name):
            load_settings({name: raw}, tmp_path)
