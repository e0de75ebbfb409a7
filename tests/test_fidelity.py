"""Fidelity checklists and supervision: items per phase from the protocol data,
prefill from the records, the score, validation, edit-until-reviewed, the
supervisor's review and feedback as the facilitator sees it, the meeting log,
the overview of missing and low checklists, and the audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from ipt_groups import timesource
from ipt_groups.extensions import db
from ipt_groups.models import AuditEvent, Cohort, Enrolment, FidelityChecklist, SupervisionMeeting
from ipt_groups.protocol.fidelity import CHECKLISTS, items_for
from tests.conftest import ApiClient, create_user
from tests.factories import create_cohort, enrol

SESSION_1 = timedelta(days=8, hours=8, minutes=30)  # frozen Monday 09:00 -> Tuesday 17:30
WEEK = timedelta(days=7)
SUP_READ = "supervision.read"


def answers_for(items: list[dict[str, Any]], answer: str = "yes") -> list[dict[str, Any]]:
    return [{"key": i["key"], "enrolment_id": i["enrolment_id"], "answer": answer} for i in items]


@pytest.fixture
def group(app: Flask, as_role: Any, users: dict[str, int], frozen: datetime) -> dict[str, Any]:
    """A WHO-8 cohort supervised by the supervisor, three members, at session 1."""
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac, supervisor_ids=[users["supervisor"]])
    members = [enrol(fac, cohort["id"], f"Member {c}")["enrolment"]["id"] for c in "ABC"]
    assert fac.post(f"/api/cohorts/{cohort['id']}/status", json={"status": "active"}).status_code
    sessions = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    timesource.advance(SESSION_1)
    return {"cohort": cohort, "members": members, "sessions": sessions}


def mark(fac: ApiClient, session_id: int, marks: dict[int, str]) -> None:
    entries = [{"enrolment_id": e, "status": s} for e, s in marks.items()]
    response = fac.put(f"/api/sessions/{session_id}/attendance", json={"entries": entries})
    assert response.status_code == 200, response.json


def open_session_1(
    as_role: Any, group: dict[str, Any], marks: dict[int, str]
) -> tuple[ApiClient, str, list[dict[str, Any]]]:
    """The facilitator marks session 1 so and opens its checklist: their client,
    the checklist's URL and its items."""
    fac: ApiClient = as_role("facilitator")
    s1 = group["sessions"][0]["id"]
    mark(fac, s1, marks)
    url = f"/api/sessions/{s1}/fidelity"
    return fac, url, fac.get(url).json["items"]


def test_items_per_phase_come_from_the_protocol_in_both_languages(
    app: Flask, group: dict[str, Any], as_role: Any
) -> None:
    for phase, items in CHECKLISTS.items():
        assert items, phase
        for item in items:
            assert item.text["en"] and item.text["es"] and item.text["en"] != item.text["es"]
    assert [i.key for i in items_for("middle")][:3] == [
        "attendance",
        "mood_round",
        "tasks_reviewed",
    ]
    assert {i.key for i in items_for("middle") if i.per_member} == {"area_worked"}
    assert {i.key for i in items_for("termination") if i.per_member} == {
        "gains_reviewed", "relapse_plan",
    }  # fmt: skip
    assert items_for(None) == items_for("middle")  # a catch-up session

    fac: ApiClient = as_role("facilitator")
    s1, s2, s8 = (group["sessions"][n] for n in (0, 1, 7))
    first = fac.get(f"/api/sessions/{s1['id']}/fidelity").json
    assert first["phase"] == "initial" and first["editable"] is True and first["checklist"] is None
    assert [i["key"] for i in first["items"]] == [
        "attendance",
        "introductions",
        "group_rules",
        "psychoeducation",
        "first_task",
    ]  # fmt: skip  (no one marked present yet: no per-member questions)
    assert first["items"][2]["text"] == "Group rules and confidentiality were agreed"
    assert fac.get(f"/api/sessions/{s8['id']}/fidelity").json["phase"] == "termination"
    assert fac.patch("/api/me", json={"language": "es"}).status_code == 200
    spanish = fac.get(f"/api/sessions/{s2['id']}/fidelity").json
    assert spanish["phase"] == "middle"
    assert spanish["items"][1]["text"] == "Se hizo la ronda de ánimo"


def test_per_member_questions_list_who_came_and_records_prefill_answers(
    app: Flask, group: dict[str, Any], as_role: Any
) -> None:
    fac: ApiClient = as_role("facilitator")
    a, b, c = group["members"]
    s1 = group["sessions"][0]["id"]
    url = f"/api/sessions/{s1}/fidelity"
    before = {i["key"]: i["prefill"] for i in fac.get(url).json["items"]}
    assert before["attendance"] == "no" and before["first_task"] is None  # nobody here yet

    mark(fac, s1, {a: "present", b: "late", c: "absent"})
    tasks = {"tasks": [{"enrolment_id": a, "text": "Call a friend"}]}
    assert fac.put(f"/api/sessions/{s1}/tasks", json=tasks).status_code == 200
    items = fac.get(url).json["items"]
    per_member = [(i["key"], i["display_name"]) for i in items if i["enrolment_id"]]
    assert per_member == [("named_area_goal", "Member A"), ("named_area_goal", "Member B")]
    prefill = {i["key"]: i["prefill"] for i in items}
    assert prefill["attendance"] == "yes"
    assert prefill["first_task"] == "partly"  # one of the two who came has a task
    assert prefill["introductions"] is None  # nothing in the records says
    tasks = {"tasks": [{"enrolment_id": b, "text": "Walk with a neighbour"}]}
    assert fac.put(f"/api/sessions/{s1}/tasks", json=tasks).status_code == 200
    assert {i["key"]: i["prefill"] for i in fac.get(url).json["items"]}["first_task"] == "yes"


def test_submit_scores_partly_as_half_and_can_be_sent_again(
    app: Flask, group: dict[str, Any], as_role: Any
) -> None:
    a, b, _ = group["members"]
    fac, url, items = open_session_1(as_role, group, {a: "present", b: "present"})
    answers = answers_for(items)  # 5 group items + 2 per member
    assert len(answers) == 7
    answers[1]["answer"] = "partly"
    answers[2] |= {"answer": "no", "comment": "Ran out of time"}
    saved = fac.put(url, json={"answers": answers})
    assert saved.status_code == 200, saved.json
    assert saved.json["checklist"]["score"] == pytest.approx(5.5 / 7, abs=1e-4)
    by_key = {(i["key"], i["enrolment_id"]): i for i in saved.json["items"]}
    assert by_key[("group_rules", None)]["comment"] == "Ran out of time"
    assert by_key[("named_area_goal", b)]["answer"] == "yes"

    answers[2]["answer"] = "yes"
    again = fac.put(url, json={"answers": answers})
    assert again.status_code == 200
    assert again.json["checklist"]["score"] == pytest.approx(6.5 / 7, abs=1e-4)
    with app.app_context():
        rows = db.session.scalars(select(FidelityChecklist)).all()
        found = [(r.session_id, r.phase, r.score) for r in rows]
        assert found == [(group["sessions"][0]["id"], "initial", 0.9286)]
        assert {a["key"]: a["answer"] for a in rows[0].answers}["group_rules"] == "yes"
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_type == "fidelity_checklist")
        ).all()
        assert actions == ["fidelity.submit", "fidelity.submit"]


def test_the_problem_area_item_is_prefilled_from_the_work_recorded_per_member(
    app: Flask, group: dict[str, Any], as_role: Any
) -> None:
    a, b, c = group["members"]
    s2 = group["sessions"][1]["id"]
    timesource.advance(WEEK)
    fac: ApiClient = as_role("facilitator")
    mark(fac, s2, {a: "present", b: "present", c: "present"})
    # A: a technique; B: a record saved empty (nothing done); C: no record.
    for member, techniques in ((a, ["role_play"]), (b, [])):
        saved = fac.put(f"/api/sessions/{s2}/work/{member}", json={"techniques": techniques})
        assert saved.status_code == 200, saved.json
    items = fac.get(f"/api/sessions/{s2}/fidelity").json["items"]
    assert [(i["enrolment_id"], i["prefill"]) for i in items if i["key"] == "area_worked"] == [
        (a, "yes"), (b, "no"), (c, "no")
    ]  # fmt: skip
    # The offline tablet reads the template's source to do the same.
    template = fac.get(f"/api/sessions/{s2}/fidelity").json["template"]
    assert next(t for t in template if t["key"] == "area_worked")["prefill"] == "problem_work"


def test_two_first_saves_at_once_make_one_checklist_not_a_500(
    app: Flask, group: dict[str, Any], as_role: Any, users: dict[str, int], monkeypatch: Any
) -> None:
    from ipt_groups.services import fidelity

    a, b, _ = group["members"]
    fac, url, items = open_session_1(as_role, group, {a: "present", b: "present"})
    assert fac.put(url, json={"answers": answers_for(items, "no")}).status_code == 200
    # The other facilitator's save read "no checklist yet" before that insert
    # landed (the read misses it once, as in a race); its insert then clashes.
    real, missed = fidelity._record, []

    def racing(session: Any) -> Any:
        if not missed:
            missed.append(True)
            return None
        return real(session)

    monkeypatch.setattr(fidelity, "_record", racing)
    admin = as_role("admin")
    second = admin.put(url, json={"answers": answers_for(items, "yes")})
    assert second.status_code == 200, second.json
    with app.app_context():
        (record,) = db.session.scalars(select(FidelityChecklist)).all()
        assert record.score == 1.0 and record.submitted_by_id == users["admin"]
        assert {x["answer"] for x in record.answers} == {"yes"}
        saves = db.session.scalars(
            select(AuditEvent.actor_id).where(AuditEvent.action == "fidelity.submit")
        ).all()
        assert saves == [users["facilitator"], users["admin"]]


def test_invalid_checklists_are_422_with_what_is_wrong(
    app: Flask, group: dict[str, Any], as_role: Any
) -> None:
    a, _, c = group["members"]
    fac, url, items = open_session_1(as_role, group, {a: "present", c: "absent"})
    good = answers_for(items)

    bad_value = [dict(good[0], answer="maybe"), *good[1:]]
    response = fac.put(url, json={"answers": bad_value})
    assert response.status_code == 422
    assert "answers" in response.json["error"]["fields"]

    cases = {
        "Not answered: psychoeducation": [g for g in good if g["key"] != "psychoeducation"],
        "Not a question of this checklist: mood_round": [
            *good, {"key": "mood_round", "answer": "yes"},
        ],
        f"Not a question of this checklist: named_area_goal {c}": [
            *good, {"key": "named_area_goal", "enrolment_id": c, "answer": "no"},
        ],
        "Answered twice: attendance": [*good, good[0]],
    }  # fmt: skip
    for expected, answers in cases.items():
        response = fac.put(url, json={"answers": answers})
        assert response.status_code == 422, expected
        assert expected in response.json["error"]["fields"]["answers"], response.json
    assert fac.put(url, json={"answers": []}).status_code == 422
    with app.app_context():
        assert db.session.scalars(select(FidelityChecklist)).all() == []


def test_review_closes_the_checklist_and_the_facilitator_sees_the_feedback(
    app: Flask, group: dict[str, Any], as_role: Any, users: dict[str, int]
) -> None:
    fac: ApiClient = as_role("facilitator")
    sup: ApiClient = as_role("supervisor")
    s1 = group["sessions"][0]["id"]
    cohort_id = group["cohort"]["id"]
    url = f"/api/sessions/{s1}/fidelity"
    review = {"rating": 4, "feedback": "Rules were agreed well; leave more time for goals."}

    missing = sup.post(f"{url}/review", json=review)
    assert missing.status_code == 409 and missing.json["error"]["code"] == "fidelity_missing"
    answers = answers_for(fac.get(url).json["items"])
    assert fac.put(url, json={"answers": answers}).status_code == 200
    assert sup.post(f"{url}/review", json={"rating": 6, "feedback": "x"}).status_code == 422
    assert sup.post(f"{url}/review", json={"rating": 3, "feedback": ""}).status_code == 422
    reviewed = sup.post(f"{url}/review", json=review)
    assert reviewed.status_code == 200, reviewed.json
    assert (reviewed.json["rating"], reviewed.json["reviewed_by_id"]) == (4, users["supervisor"])

    closed = fac.put(url, json={"answers": answers})
    assert closed.status_code == 409 and closed.json["error"]["code"] == "fidelity_reviewed"
    seen = fac.get(url).json
    assert seen["editable"] is False and seen["checklist"]["feedback"] == review["feedback"]

    log = fac.get(f"/api/cohorts/{cohort_id}/supervision").json
    assert log["can_supervise"] is False
    first = log["sessions"][0]
    assert (first["session_id"], first["rating"], first["unread"]) == (s1, 4, True)
    assert first["feedback"] == review["feedback"] and first["score"] == 1.0
    assert all(not s["has_checklist"] for s in log["sessions"][1:])
    read = fac.post(f"{url}/read")
    assert read.status_code == 200 and read.json["feedback_read_at"] is not None
    assert fac.get(f"/api/cohorts/{cohort_id}/supervision").json["sessions"][0]["unread"] is False
    # The supervisor cannot mark the facilitator's feedback read; a new review is unread again.
    assert sup.post(f"{url}/read").status_code == 403
    assert sup.post(f"{url}/review", json={**review, "rating": 5}).status_code == 200
    assert fac.get(f"/api/cohorts/{cohort_id}/supervision").json["sessions"][0]["unread"] is True
    with app.app_context():
        trail = db.session.execute(
            select(AuditEvent.action, AuditEvent.actor_id)
            .where(AuditEvent.target_type.in_(("fidelity_checklist", "cohort")))
            .where(AuditEvent.action.startswith("fidelity.") | (AuditEvent.action == SUP_READ))
            .order_by(AuditEvent.id)
        ).all()  # fmt: skip
    assert [tuple(r) for r in trail] == [
        ("fidelity.submit", users["facilitator"]),
        ("fidelity.review", users["supervisor"]),
        ("supervision.read", users["facilitator"]),
        ("fidelity.feedback_read", users["facilitator"]),
        ("supervision.read", users["facilitator"]),
        ("fidelity.review", users["supervisor"]),
        ("supervision.read", users["facilitator"]),
    ]


def test_reading_a_checklist_is_audited_for_each_member_it_names(
    app: Flask, group: dict[str, Any], as_role: Any, users: dict[str, int]
) -> None:
    fac: ApiClient = as_role("facilitator")
    a, b, c = group["members"]
    s1 = group["sessions"][0]["id"]
    mark(fac, s1, {a: "present", b: "present", c: "absent"})
    sup: ApiClient = as_role("supervisor")
    assert sup.get(f"/api/sessions/{s1}/fidelity").status_code == 200
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.subject_id).where(
                AuditEvent.action == "fidelity.read", AuditEvent.actor_id == users["supervisor"]
            )
        ).scalars()
        assert sorted(rows, key=lambda x: x or 0) == [None, a, b]


def test_supervision_meetings_are_logged_per_cohort(
    app: Flask, group: dict[str, Any], as_role: Any, users: dict[str, int]
) -> None:
    sup: ApiClient = as_role("supervisor")
    fac: ApiClient = as_role("facilitator")
    cohort_id = group["cohort"]["id"]
    url = f"/api/cohorts/{cohort_id}/supervision-meetings"
    body = {
        "held_on": "2026-03-10", "duration_minutes": 45, "facilitator_ids": [users["facilitator"]],
        "notes": "Went through session 1.", "actions": "Tick the agenda during the session.",
    }  # fmt: skip
    stranger = sup.post(url, json={**body, "facilitator_ids": [users["supervisor"]]})
    assert stranger.status_code == 422 and "facilitator_ids" in stranger.json["error"]["fields"]
    future = sup.post(url, json={**body, "held_on": "2026-04-01"})
    assert future.status_code == 422 and "held_on" in future.json["error"]["fields"]
    # Years before the group (2006 for 2026): refused; a year before it is fine.
    typo = sup.post(url, json={**body, "held_on": "2006-03-10"})
    assert typo.status_code == 422 and "2025-03-09" in typo.json["error"]["fields"]["held_on"][0]
    assert sup.post(url, json={**body, "held_on": "2025-03-08"}).status_code == 422
    assert sup.post(url, json={**body, "duration_minutes": 2}).status_code == 422
    assert fac.post(url, json=body).status_code == 403
    made = sup.post(url, json=body)
    assert made.status_code == 201, made.json
    assert made.json["supervisor_id"] == users["supervisor"]
    log = fac.get(f"/api/cohorts/{cohort_id}/supervision").json
    assert [(m["held_on"], m["duration_minutes"], m["actions"]) for m in log["meetings"]] == [
        ("2026-03-10", 45, "Tick the agenda during the session.")
    ]
    assert log["facilitators"] == [
        {"id": users["facilitator"], "display_name": "Test facilitator", "role": "lead"}
    ]
    with app.app_context():
        meeting = db.session.scalars(select(SupervisionMeeting)).one()
        assert meeting.facilitator_ids == [users["facilitator"]]
        assert (
            db.session.scalar(
                select(AuditEvent.action).where(AuditEvent.target_type == "supervision_meeting")
            )
            == "supervision.meeting"
        )


def test_not_in_the_future_means_today_where_the_cohort_meets(
    app: Flask, group: dict[str, Any], as_role: Any, users: dict[str, int]
) -> None:
    # 17:30 UTC on Tuesday 10 March is already Wednesday 06:30 in Auckland.
    cohort_id = group["cohort"]["id"]
    with app.app_context():
        db.session.get(Cohort, cohort_id).time_zone = "Pacific/Auckland"
        db.session.commit()
    sup: ApiClient = as_role("supervisor")
    url = f"/api/cohorts/{cohort_id}/supervision-meetings"
    body = {"duration_minutes": 45, "facilitator_ids": [users["facilitator"]], "notes": "",
            "actions": ""}  # fmt: skip
    made = sup.post(url, json={**body, "held_on": "2026-03-11"})
    assert made.status_code == 201, made.json
    assert made.json["held_on"] == "2026-03-11"
    tomorrow = sup.post(url, json={**body, "held_on": "2026-03-12"})
    assert tomorrow.status_code == 422 and "held_on" in tomorrow.json["error"]["fields"]


def test_overview_counts_missing_and_low_checklists_per_facilitator(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    with app.app_context():
        other = create_user("facilitator", "fac.two@test.example", display_name="Fac Two")
        unsupervised = create_user("facilitator", "fac.three@test.example", display_name="Fac 3")
        other_id, third_id = other.id, unsupervised.id
    fac: ApiClient = as_role("facilitator")
    fac2, fac3 = ApiClient(app.test_client()), ApiClient(app.test_client())
    fac2.login("fac.two@test.example")
    fac3.login("fac.three@test.example")
    mine = create_cohort(fac, supervisor_ids=[users["supervisor"]])
    theirs = create_cohort(fac2, name="Thursday group", supervisor_ids=[users["supervisor"]])
    create_cohort(fac3, name="Unsupervised group")
    sessions = fac.get(f"/api/cohorts/{mine['id']}/sessions").json
    for c, client in ((mine, fac), (theirs, fac2)):
        assert client.post(f"/api/cohorts/{c['id']}/status", json={"status": "active"}).status_code

    # Three sessions held: session 1 fully done, session 2 half done, session 3 no checklist.
    timesource.advance(SESSION_1 + 2 * WEEK + timedelta(hours=2))
    fac = as_role("facilitator")
    for n, answer in ((0, "yes"), (1, "partly")):
        url = f"/api/sessions/{sessions[n]['id']}/fidelity"
        sent = fac.put(url, json={"answers": answers_for(fac.get(url).json["items"], answer)})
        assert sent.status_code == 200, sent.json
    sup = as_role("supervisor")
    meeting = {
        "held_on": "2026-03-12",
        "duration_minutes": 60,
        "facilitator_ids": [users["facilitator"]],
    }
    assert (
        sup.post(f"/api/cohorts/{mine['id']}/supervision-meetings", json=meeting).status_code == 201
    )

    overview = sup.get("/api/supervision/overview")
    assert overview.status_code == 200, overview.json
    rows = {r["display_name"]: r for r in overview.json["facilitators"]}
    assert list(rows) == ["Fac Two", "Test facilitator"]  # most missing first
    assert {k: rows["Test facilitator"][k] for k in (
        "sessions_held", "checklists_missing", "mean_score", "below_threshold", "unreviewed",
        "last_meeting_on",
    )} == {
        "sessions_held": 3, "checklists_missing": 1, "mean_score": 0.75, "below_threshold": 1,
        "unreviewed": 2, "last_meeting_on": "2026-03-12",
    }  # fmt: skip
    assert rows["Test facilitator"]["cohorts"] == [{"id": mine["id"], "name": mine["name"]}]
    assert (rows["Fac Two"]["sessions_held"], rows["Fac Two"]["checklists_missing"]) == (3, 3)
    assert rows["Fac Two"]["mean_score"] is None and rows["Fac Two"]["last_meeting_on"] is None
    stricter = sup.get("/api/supervision/overview?threshold=0.4").json
    assert {r["display_name"]: r["below_threshold"] for r in stricter["facilitators"]} == {
        "Fac Two": 0, "Test facilitator": 0,
    }  # fmt: skip
    assert sup.get("/api/supervision/overview?threshold=2").status_code == 422
    # The admin sees the clinic: the unsupervised (planned, not yet held) group too.
    admin_rows = as_role("admin").get("/api/supervision/overview").json["facilitators"]
    assert {r["facilitator_id"] for r in admin_rows} == {users["facilitator"], other_id, third_id}
    assert fac.get("/api/supervision/overview").status_code == 403


def test_another_cohorts_supervisor_and_facilitator_are_told_not_found(
    app: Flask, group: dict[str, Any], as_role: Any
) -> None:
    with app.app_context():
        create_user("supervisor", "sup.two@test.example")
        create_user("facilitator", "fac.two@test.example")
    s1 = group["sessions"][0]["id"]
    cohort_id = group["cohort"]["id"]
    for email in ("sup.two@test.example", "fac.two@test.example"):
        outsider = ApiClient(app.test_client())
        assert outsider.login(email).status_code == 200
        assert outsider.get(f"/api/sessions/{s1}/fidelity").status_code == 404
        assert outsider.get(f"/api/cohorts/{cohort_id}/supervision").status_code == 404
    outsider = ApiClient(app.test_client())
    outsider.login("sup.two@test.example")
    review = {"rating": 3, "feedback": "Fine."}
    assert outsider.post(f"/api/sessions/{s1}/fidelity/review", json=review).status_code == 404
    assert outsider.get("/api/supervision/overview").json["facilitators"] == []
    assert as_role("participant").get(f"/api/sessions/{s1}/fidelity").status_code == 403


def test_answers_about_a_member_are_in_their_export_and_go_with_their_erasure(
    app: Flask, group: dict[str, Any], as_role: Any
) -> None:
    a, b, _ = group["members"]
    fac, url, items = open_session_1(as_role, group, {a: "present", b: "present"})
    answers = answers_for(items)
    for answer in answers:
        if answer["enrolment_id"] == b:
            answer |= {"answer": "partly", "comment": "Member B spoke about her sister"}
    assert fac.put(url, json={"answers": answers}).status_code == 200
    score = fac.get(url).json["checklist"]["score"]

    with app.app_context():
        user_id = db.session.get(Enrolment, b).user_id
    admin = as_role("admin")
    exported = admin.get(f"/api/users/{user_id}/export")
    assert exported.status_code == 200, exported.json
    assert exported.json["enrolments"][0]["fidelity"] == [
        {"session_id": group["sessions"][0]["id"], "key": "named_area_goal", "answer": "partly",
         "comment": "Member B spoke about her sister"},
    ]  # fmt: skip
    withdrawn = fac.post(f"/api/enrolments/{b}/withdraw", json={"reason": "moved away"})
    assert withdrawn.status_code == 200
    erased = admin.post(
        f"/api/users/{user_id}/erase", json={"confirm": "erase", "reason": "member_request"}
    )
    assert erased.status_code == 200, erased.json
    assert erased.json["removed"]["fidelity_answers"] == 1
    with app.app_context():
        record = db.session.scalars(select(FidelityChecklist)).one()
        assert [x["enrolment_id"] for x in record.answers if x["enrolment_id"]] == [a]
        assert "sister" not in str(record.answers)
        assert record.score == score  # how the session went, as it was rated


def test_middle_and_ending_sessions_prefill_from_agenda_tasks_and_scores(
    app: Flask, group: dict[str, Any], as_role: Any
) -> None:
    a, b, _ = group["members"]
    s1, s2, s8 = (group["sessions"][n]["id"] for n in (0, 1, 7))
    fac: ApiClient = as_role("facilitator")
    mark(fac, s1, {a: "present", b: "present"})
    task = fac.put(f"/api/sessions/{s1}/tasks", json={
        "tasks": [{"enrolment_id": a, "text": "Call a friend"}]
    }).json[0]  # fmt: skip

    timesource.advance(WEEK)
    fac = as_role("facilitator")
    mark(fac, s2, {a: "present", b: "present"})
    url = f"/api/sessions/{s2}/fidelity"
    before = {i["key"]: i["prefill"] for i in fac.get(url).json["items"]}
    # No mood ratings recorded, the round not ticked, no review, no tasks yet.
    assert (before["mood_round"], before["tasks_reviewed"], before["tasks_set"]) == (
        "no", None, "no",
    )  # fmt: skip
    mood = fac.get(f"/api/sessions/{s2}/agenda").json["items"][0]
    assert mood["kind"] == "check_in"
    assert fac.post(f"/api/agenda-items/{mood['id']}/tick", json={"done": True}).status_code == 200
    reviewed = fac.post(
        f"/api/tasks/{task['id']}/review", json={"review": "done", "session_id": s2}
    )
    assert reviewed.status_code == 200
    after = {i["key"]: i["prefill"] for i in fac.get(url).json["items"]}
    assert (after["mood_round"], after["tasks_reviewed"]) == ("yes", "yes")

    timesource.advance(6 * WEEK)
    fac = as_role("facilitator")
    mark(fac, s8, {a: "present", b: "present"})
    url = f"/api/sessions/{s8}/fidelity"
    assert {i["key"]: i["prefill"] for i in fac.get(url).json["items"]}["rescored"] == "no"
    phq9 = {f"phq9_{n}": 1 for n in range(1, 10)} | {"phq9_9": 0}
    scored = fac.post(
        f"/api/enrolments/{a}/assessments",
        json={"instrument": "phq9", "session_id": s8, "answers": phq9},
    )
    assert scored.status_code == 201, scored.json
    ending = fac.get(url).json
    assert ending["phase"] == "termination"
    assert {i["key"]: i["prefill"] for i in ending["items"]}["rescored"] == "partly"
    assert [(i["key"], i["enrolment_id"]) for i in ending["items"] if i["enrolment_id"]] == [
        ("gains_reviewed", a), ("gains_reviewed", b), ("relapse_plan", a), ("relapse_plan", b),
    ]  # fmt: skip
