"""Measures entered in the runner and by members themselves, and the risk
pathway: item 9 above 0 or "I am worried" opens an alert at once, supervisors
are told, the crisis text is shown, a supervisor acknowledges with the action
taken, and an alert nobody acknowledges is escalated to the admins."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from ipt_groups import timesource
from ipt_groups.clock import escalate_alerts
from ipt_groups.extensions import db
from ipt_groups.models import Assessment, AuditEvent, Cohort, Notification, RiskAlert
from tests.conftest import ApiClient, create_user
from tests.factories import (
    INSTRUMENT,
    ITEM_9,
    NO_RISK,
    SESSION_1,
    create_cohort,
    enrol,
    enter,
    member_id,
    phone,
    phone_login,
    supervised_group,
)


def test_a_phq9_is_scored_and_every_answer_kept(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = supervised_group(fac, users)
    answers = {f"phq9_{n}": a for n, a in enumerate([3, 3, 2, 2, 1, 1, 1, 1, 0], start=1)}
    response = enter(fac, member_id(g), answers, session_id=g["sessions"][0]["id"])
    assert response.status_code == 201, response.json
    body = response.json
    assert body["assessment"]["total"] == 14 and body["assessment"]["band"] == "moderate"
    assert body["assessment"]["answers"] == answers
    assert body["assessment"]["source"] == "staff"
    assert body["assessment"]["entered_by_id"] == users["facilitator"]
    assert body["alert"] is None and body["crisis_text"] is None
    history = fac.get(f"/api/enrolments/{member_id(g)}/assessments").json
    assert [(a["instrument"], a["total"]) for a in history] == [("phq9", 14)]


def test_band_boundaries_through_the_api(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = supervised_group(fac, users)

    def phq9_total(total: int) -> dict[str, int]:
        values = [min(3, max(0, total - 3 * i)) for i in range(8)] + [0]
        assert sum(values) == total  # 8 items can carry up to 24 without item 9
        return {f"phq9_{n}": v for n, v in enumerate(values, start=1)}

    bands = {}
    for total in (4, 5, 9, 10, 14, 15, 19, 20, 24):
        bands[total] = enter(fac, member_id(g), phq9_total(total)).json["assessment"]["band"]
    assert bands == {
        4: "minimal", 5: "mild", 9: "mild", 10: "moderate", 14: "moderate",
        15: "moderately_severe", 19: "moderately_severe", 20: "severe", 24: "severe",
    }  # fmt: skip
    gad = {f"gad7_{n}": v for n, v in enumerate([3, 3, 3, 3, 2, 0, 0], start=1)}  # 14
    body = {"instrument": "gad7", "answers": gad}
    assert (
        fac.post(f"/api/enrolments/{member_id(g)}/assessments", json=body).json["assessment"][
            "band"
        ]
        == "moderate"
    )
    body["answers"] = {**gad, "gad7_6": 1}  # 15
    assert (
        fac.post(f"/api/enrolments/{member_id(g)}/assessments", json=body).json["assessment"][
            "band"
        ]
        == "severe"
    )


def test_out_of_range_and_missing_answers_are_refused_and_nothing_is_stored(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = supervised_group(fac, users)
    bad = {**NO_RISK, "phq9_3": 4, "phq9_5": "2", "phq9_10": 1}
    del bad["phq9_1"]
    response = enter(fac, member_id(g), bad)
    assert response.status_code == 422
    fields = response.json["error"]["fields"]["answers"]
    assert set(fields) == {"phq9_1", "phq9_3", "phq9_5", "phq9_10"}
    assert "0-3" in fields["phq9_3"]
    unknown = fac.post(
        f"/api/enrolments/{member_id(g)}/assessments", json={"instrument": "bdi", "answers": {}}
    )
    assert unknown.status_code == 404 and "bdi" in unknown.json["error"]["message"]
    with app.app_context():
        assert db.session.scalars(select(Assessment)).all() == []


def test_item_9_opens_an_alert_that_a_supervisor_acknowledges(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = supervised_group(fac, users)
    response = enter(fac, member_id(g), ITEM_9)
    assert response.status_code == 201
    alert = response.json["alert"]
    assert alert is not None
    assert "emergency" in response.json["crisis_text"]  # the clinic's instructions, at once
    with app.app_context():
        rows = db.session.scalars(select(Notification).order_by(Notification.id)).all()
        # One in the app and one outside it (email / SMS), each sent on its own.
        assert [(n.user_id, n.kind, n.ref_id, n.leg) for n in rows] == [
            (users["supervisor"], "risk_alert", alert["id"], "push"),
            (users["supervisor"], "risk_alert", alert["id"], "outside"),
        ]
    sup = as_role("supervisor")
    inbox = sup.get("/api/me/notifications").json
    assert inbox["unread"] == 1
    assert inbox["items"][0]["text"] == "You have an item that needs attention."
    open_alerts = sup.get("/api/alerts").json
    assert [(a["id"], a["display_name"], a["source"], a["risk_items"]) for a in open_alerts] == [
        (alert["id"], "Member A", "risk_item", ["phq9_9"])
    ]
    assert open_alerts[0]["can_acknowledge"] is True
    assert open_alerts[0]["escalates_at"] == "2026-03-03T09:00:00+00:00"
    # The facilitator sees it but cannot close it: that is the supervisor's job.
    assert fac.get("/api/alerts").json[0]["can_acknowledge"] is False
    refused = fac.post(f"/api/alerts/{alert['id']}/acknowledge", json={"action": "contacted"})
    assert refused.status_code == 403
    other = sup.post(f"/api/alerts/{alert['id']}/acknowledge", json={"action": "other"})
    assert other.status_code == 422 and "note" in other.json["error"]["fields"]
    done = sup.post(
        f"/api/alerts/{alert['id']}/acknowledge",
        json={"action": "safety_plan", "note": "Called; safety plan agreed."},
    )
    assert done.status_code == 200
    assert done.json["status"] == "acknowledged" and done.json["action"] == "safety_plan"
    assert done.json["acknowledged_by_id"] == users["supervisor"]
    assert sup.get("/api/alerts").json == []
    again = sup.post(f"/api/alerts/{alert['id']}/acknowledge", json={"action": "contacted"})
    assert again.status_code == 409
    # Acknowledged in time: the escalation job leaves it alone.
    timesource.advance(timedelta(hours=30))
    with app.app_context():
        escalate_alerts()
        db.session.commit()
        assert db.session.get(RiskAlert, alert["id"]).escalated_at is None


def test_an_unacknowledged_alert_is_escalated_to_admins_once(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = supervised_group(fac, users)
    alert_id = enter(fac, member_id(g), ITEM_9).json["alert"]["id"]
    timesource.advance(timedelta(hours=23, minutes=59))
    with app.app_context():
        escalate_alerts()
        db.session.commit()
        assert db.session.get(RiskAlert, alert_id).escalated_at is None
    timesource.advance(timedelta(minutes=2))
    with app.app_context():
        escalate_alerts()
        escalate_alerts()  # a second clock, or the next tick: no second message
        db.session.commit()
        assert db.session.get(RiskAlert, alert_id).escalated_at is not None
        sent = db.session.scalars(
            select(Notification).where(Notification.kind == "risk_escalation")
        ).all()
        assert sorted((n.user_id, n.ref_id, n.leg) for n in sent) == [
            (users["admin"], alert_id, "outside"),
            (users["admin"], alert_id, "push"),
        ]
    admin = as_role("admin")
    listed = admin.get("/api/alerts").json
    assert listed[0]["escalated_at"] is not None and listed[0]["can_acknowledge"] is True
    ok = admin.post(f"/api/alerts/{alert_id}/acknowledge", json={"action": "emergency_services"})
    assert ok.status_code == 200


def test_the_escalation_time_is_a_clinic_setting(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    admin = as_role("admin")
    changed = admin.patch("/api/clinic/settings", json={"alert_escalation_hours": 2})
    assert changed.json["alert_escalation_hours"] == 2
    fac = as_role("facilitator")
    g = supervised_group(fac, users)
    alert_id = enter(fac, member_id(g), ITEM_9).json["alert"]["id"]
    timesource.advance(timedelta(hours=2, minutes=1))
    with app.app_context():
        escalate_alerts()
        db.session.commit()
        assert db.session.get(RiskAlert, alert_id).escalated_at is not None


def test_a_cohort_without_a_supervisor_sends_its_alert_to_admins_at_once(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    fac = as_role("facilitator")
    cohort = create_cohort(fac)  # planned, no supervisor yet
    member = enrol(fac, cohort["id"])["enrolment"]["id"]
    alert = enter(fac, member, ITEM_9).json["alert"]
    assert alert["escalated_at"] is not None
    with app.app_context():
        kinds = [(n.kind, n.leg) for n in db.session.scalars(select(Notification))]
    assert sorted(kinds) == [("risk_escalation", "outside"), ("risk_escalation", "push")]


def test_i_am_worried_opens_an_alert_with_the_crisis_text(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = supervised_group(fac, users)
    response = fac.post(
        f"/api/enrolments/{member_id(g, 1)}/worried",
        json={"concern": "Said goodbye to everyone in an unusual way."},
    )
    assert response.status_code == 201
    assert response.json["alert"]["source"] == "worried"
    assert response.json["alert"]["concern"] == "Said goodbye to everyone in an unusual way."
    assert response.json["crisis_text"]
    sup = as_role("supervisor")
    assert [a["display_name"] for a in sup.get("/api/alerts").json] == ["Member B"]
    # A supervisor reads, but does not raise flags for the facilitator's group.
    assert sup.post(f"/api/enrolments/{member_id(g)}/worried", json={}).status_code == 403


def test_crisis_text_is_the_clinics_own_in_the_members_language(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    admin = as_role("admin")
    text = {"en": "Call the clinic line 0100 000 000, or 999 in an emergency."}
    assert admin.patch("/api/clinic/settings", json={"crisis_text": text}).status_code == 200
    fac = as_role("facilitator")
    g = supervised_group(fac, users)
    assert enter(fac, member_id(g), ITEM_9).json["crisis_text"] == text["en"]
    settings = admin.get("/api/clinic/settings").json
    assert settings["crisis_text"]["en"] == text["en"]
    assert settings["crisis_text"]["es"].startswith("Si puede")  # untouched default
    bad = admin.patch("/api/clinic/settings", json={"crisis_text": {"fr": "Appelez le 15."}})
    assert bad.status_code == 422


def test_a_members_own_check_in_with_item_9_shows_the_crisis_text_at_once(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = supervised_group(fac, users)
    member = phone(app, g["members"][0]["invite"]["code"])
    username = g["members"][0]["enrolment"]["username"]
    # A week before session 1 nothing is due yet.
    assert member.get("/api/me/check-in").json["due"] is False
    early = member.post("/api/me/check-in", json={"instrument": "mood", "answers": {"mood": 5}})
    assert early.status_code == 409
    timesource.advance(SESSION_1 - timedelta(days=1))  # the evening before session 1
    member = phone_login(app, username)
    due = member.get("/api/me/check-in").json
    assert due["due"] is True and due["session_id"] == g["sessions"][0]["id"]
    assert [i["key"] for i in due["instruments"]] == ["mood"]  # WHO-8: mood every session
    assert due["instruments"][0]["items"][0]["text"].startswith("How has your mood")
    mood = member.post(
        "/api/me/check-in",
        json={"instrument": "mood", "answers": {"mood": 3}, "client_key": "phone-key-0001"},
    )
    assert mood.status_code == 201, mood.json
    assert mood.json["crisis_text"] is None
    assert mood.json["more_due"] == []
    # Replayed from an offline phone: the same record, no second copy.
    again = member.post(
        "/api/me/check-in",
        json={"instrument": "mood", "answers": {"mood": 3}, "client_key": "phone-key-0001"},
    )
    assert again.json["id"] == mood.json["id"]
    with app.app_context():
        assert len(db.session.scalars(select(Assessment)).all()) == 1

    # Session 8 of WHO-8 is the last: the PHQ-9 is due as well as the mood rating (the
    # midpoint PHQ-9 is taken at the mid-group meeting, one-to-one, not at session 4).
    timesource.advance(timedelta(days=21))
    member = phone_login(app, username)
    assert [i["key"] for i in member.get("/api/me/check-in").json["instruments"]] == ["mood"]
    timesource.advance(timedelta(days=28))
    member = phone_login(app, username)
    due = member.get("/api/me/check-in").json
    assert [i["key"] for i in due["instruments"]] == ["mood", "phq9"]
    # The app shows the crisis text as soon as item 9 is answered above 0.
    assert due["instruments"][1]["risk_items"] == {"phq9_9": 0}
    assert due["instruments"][0]["risk_items"] == {}
    answered = member.post("/api/me/check-in", json={"instrument": "phq9", "answers": ITEM_9})
    assert answered.status_code == 201
    assert "emergency" in answered.json["crisis_text"]
    assert answered.json["more_due"] == ["mood"]
    sup = as_role("supervisor")
    alerts = sup.get("/api/alerts").json
    assert [(a["display_name"], a["source"]) for a in alerts] == [("Member A", "self_check_in")]
    with app.app_context():
        stored = db.session.scalars(select(Assessment).where(Assessment.instrument == "phq9")).one()
        assert stored.source == "self" and stored.session_id == g["sessions"][7]["id"]


def test_replayed_staff_entry_is_one_record_and_one_alert(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = supervised_group(fac, users)
    first = enter(fac, member_id(g), ITEM_9, client_key="tablet-0001")
    second = enter(fac, member_id(g), ITEM_9, client_key="tablet-0001")
    assert second.status_code == 201 and second.json["replayed"] is True
    assert second.json["assessment"]["id"] == first.json["assessment"]["id"]
    assert second.json["alert"]["id"] == first.json["alert"]["id"]
    with app.app_context():
        assert len(db.session.scalars(select(RiskAlert)).all()) == 1


def test_audit_trail_records_reads_and_writes_without_clinical_content(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = supervised_group(fac, users)
    a = member_id(g)
    alert_id = enter(fac, a, ITEM_9).json["alert"]["id"]
    fac.get(f"/api/enrolments/{a}/assessments")
    sup = as_role("supervisor")
    sup.get(f"/api/alerts/{alert_id}")
    sup.post(f"/api/alerts/{alert_id}/acknowledge", json={"action": "contacted", "note": "Spoke."})
    admin = as_role("admin")
    trail = admin.get(f"/api/audit?member_id={a}&per_page=50").json
    seen = [(e["actor_id"], e["action"]) for e in reversed(trail["items"])]
    assert seen == [
        (users["facilitator"], "enrolment.enrolled"),
        (users["facilitator"], "assessment.create"),
        (users["facilitator"], "risk_alert.open"),
        (users["facilitator"], "assessment.read"),
        (users["supervisor"], "risk_alert.read"),
        (users["supervisor"], "risk_alert.acknowledge"),
    ]
    assert all(e["member_id"] == a and e["ip_address"] for e in trail["items"])
    by_actor = admin.get(f"/api/audit?actor_id={users['supervisor']}&action=risk_alert").json
    assert [e["action"] for e in by_actor["items"]] == ["risk_alert.acknowledge", "risk_alert.read"]
    later = admin.get("/api/audit", query_string={"since": "2026-03-03T00:00:00+00:00"}).json
    assert later["total"] == 0
    with app.app_context():
        columns = {c.name for c in AuditEvent.__table__.columns}
    assert columns == {
        "id",
        "at",
        "actor_id",
        "action",
        "target_type",
        "target_id",
        "subject_id",
        "ip_address",
    }  # identifiers only: nothing that could hold an answer or a note
    assert fac.get("/api/audit").status_code == 403
    assert sup.get("/api/audit").status_code == 403


def test_who_may_touch_measures_and_alerts(
    app: Flask, as_role: Any, users: dict[str, int], client: ApiClient, frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = supervised_group(fac, users)
    a = member_id(g)
    alert_id = enter(fac, a, ITEM_9).json["alert"]["id"]
    with app.app_context():
        create_user("facilitator", "other-fac@test.example")
        create_user("supervisor", "other-sup@test.example")
    outsider = ApiClient(app.test_client())
    assert outsider.login("other-fac@test.example").status_code == 200
    other_sup = ApiClient(app.test_client())
    assert other_sup.login("other-sup@test.example").status_code == 200
    participant = as_role("participant")
    # (who, reading, entering): a supervisor role never enters measures, so the
    # role check answers before the cohort check does.
    cases = (
        (outsider, 404, 404),
        (other_sup, 404, 403),
        (participant, 403, 403),
        (client, 401, 401),
    )
    for who, expected, writing in cases:
        assert who.get(f"/api/enrolments/{a}/assessments").status_code == expected
        assert enter(who, a, NO_RISK).status_code == writing
        assert who.get(f"/api/alerts/{alert_id}").status_code == expected
        assert who.get(f"/api/enrolments/{a}/record").status_code == expected
    assert outsider.get("/api/alerts").json == [] and other_sup.get("/api/alerts").json == []
    ack = other_sup.post(f"/api/alerts/{alert_id}/acknowledge", json={"action": "contacted"})
    assert ack.status_code == 404
    # Supervisors read the group's records but do not enter measures.
    sup = as_role("supervisor")
    assert sup.get(f"/api/enrolments/{a}/assessments").status_code == 200
    assert enter(sup, a, NO_RISK).status_code == 403


def test_a_clinic_adds_its_own_instrument_and_uses_it(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    admin = as_role("admin")
    scale = {
        "key": "local_distress",
        "name": "Local distress scale",
        "items": [
            {
                "key": "ld_1",
                "text": {"en": "Worry about family", "es": "Preocupación por la familia"},
            },
            {"key": "ld_2", "text": {"en": "Thoughts of not wanting to live"}},
        ],
        "min_answer": 0,
        "max_answer": 4,
        "bands": [{"low": 0, "high": 3, "label": "low"}, {"low": 4, "high": 8, "label": "high"}],
        "risk_items": {"ld_2": 1},
        "period": {"en": "This week"},
    }
    created = admin.post("/api/instruments", json=scale)
    assert created.status_code == 201 and created.json["shipped"] is False
    assert admin.post("/api/instruments", json=scale).status_code == 409
    gap = {**scale, "key": "gappy", "bands": [{"low": 0, "high": 2, "label": "low"}]}
    refused = admin.post("/api/instruments", json=gap)
    assert refused.status_code == 422 and "maximum total" in str(refused.json["error"]["fields"])
    fac = as_role("facilitator")
    assert "local_distress" in [i["key"] for i in fac.get("/api/instruments").json]
    g = supervised_group(fac, users)
    body = {"instrument": "local_distress", "answers": {"ld_1": 4, "ld_2": 1}}
    ok = fac.post(f"/api/enrolments/{member_id(g)}/assessments", json=body).json
    assert (ok["assessment"]["total"], ok["assessment"]["band"], ok["alert"]) == (5, "high", None)
    body["answers"] = {"ld_1": 0, "ld_2": 2}  # above the item's risk threshold
    risky = fac.post(f"/api/enrolments/{member_id(g)}/assessments", json=body).json
    assert risky["alert"] is not None and risky["assessment"]["risk_items"] == ["ld_2"]
    # A programme may schedule it; an unknown instrument is refused.
    assert admin.delete("/api/instruments/phq9").status_code == 409
    assert admin.delete("/api/instruments/local_distress").status_code == 204
    assert "local_distress" not in [i["key"] for i in fac.get("/api/instruments").json]
    again = fac.post(f"/api/enrolments/{member_id(g)}/assessments", json=body)
    assert again.status_code == 404


def test_a_risk_answer_is_never_turned_away(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    """Review findings: a waitlisted member's pre-group PHQ-9, and a member's own
    answers that are no longer due, still open an alert when they signal risk."""
    fac = as_role("facilitator")
    cohort = create_cohort(fac, supervisor_ids=[users["supervisor"]], capacity=1)
    enrol(fac, cohort["id"], "Member A")
    waiting = enrol(fac, cohort["id"], "Member W")["enrolment"]
    assert waiting["status"] == "waitlisted"
    meeting = waiting["meetings"][0]["id"]
    response = enter(fac, waiting["id"], ITEM_9, meeting_id=meeting)
    assert response.status_code == 201 and response.json["alert"] is not None

    g = supervised_group(fac, users)
    username = g["members"][0]["enrolment"]["username"]
    phone(app, g["members"][0]["invite"]["code"])
    # Nothing is due a week before session 1; calm answers are refused, risky kept.
    member = phone_login(app, username)
    calm = member.post("/api/me/check-in", json={"instrument": "phq9", "answers": NO_RISK})
    assert calm.status_code == 409
    risky = member.post("/api/me/check-in", json={"instrument": "phq9", "answers": ITEM_9})
    assert risky.status_code == 201 and risky.json["crisis_text"]
    sources = [a["source"] for a in as_role("supervisor").get("/api/alerts").json]
    assert sorted(sources) == ["risk_item", "self_check_in"]


def test_a_local_risk_threshold_must_be_reachable(app: Flask, as_role: Any) -> None:
    admin = as_role("admin")
    body = {
        "key": "never_flags", "name": "Never flags",
        "items": [{"key": "n_1", "text": {"en": "Item"}}],
        "min_answer": 0, "max_answer": 3, "risk_items": {"n_1": 3},
    }  # fmt: skip
    refused = admin.post("/api/instruments", json=body)
    assert refused.status_code == 422 and "threshold" in str(refused.json["error"]["fields"])


def test_two_acknowledgements_cannot_both_win(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = supervised_group(fac, users)
    alert_id = enter(fac, member_id(g), ITEM_9).json["alert"]["id"]
    sup, admin = as_role("supervisor"), as_role("admin")
    first = sup.post(f"/api/alerts/{alert_id}/acknowledge", json={"action": "contacted"})
    second = admin.post(f"/api/alerts/{alert_id}/acknowledge", json={"action": "referred"})
    assert (first.status_code, second.status_code) == (200, 409)
    assert admin.get(f"/api/alerts/{alert_id}").json["action"] == "contacted"


def test_a_local_instrument_is_asked_at_check_in_until_it_is_archived(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    """The check-in reads the local instruments only when one is due (shipped ones
    are always live): a due local one is asked, an archived one no longer is."""
    admin = as_role("admin")
    assert admin.post("/api/instruments", json=INSTRUMENT).status_code == 201
    fac = as_role("facilitator")
    g = supervised_group(fac, users)
    with app.app_context():
        cohort = db.session.get(Cohort, g["cohort"]["id"])
        rule = {"instrument": INSTRUMENT["key"], "every_session": True}
        cohort.programme = {**cohort.programme, "measures": [*cohort.programme["measures"], rule]}
        db.session.commit()
    username = g["members"][0]["enrolment"]["username"]
    phone(app, g["members"][0]["invite"]["code"])
    timesource.advance(SESSION_1 - timedelta(days=1))  # the evening before session 1
    member = phone_login(app, username)
    due = member.get("/api/me/check-in").json
    assert [i["key"] for i in due["instruments"]] == ["mood", INSTRUMENT["key"]]
    sent = {"instrument": "mood", "answers": {"mood": 4}}
    assert member.post("/api/me/check-in", json=sent).json["more_due"] == [INSTRUMENT["key"]]
    admin = as_role("admin")  # a week on: log in again
    assert admin.delete(f"/api/instruments/{INSTRUMENT['key']}").status_code == 204
    assert member.get("/api/me/check-in").json == {
        "due": False, "session_id": None, "session_starts_at": None, "instruments": []
    }  # fmt: skip
