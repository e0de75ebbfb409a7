"""The session runner, notes written once, tasks agreed and reviewed, and a
member's record."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import marshmallow as ma
from flask import Flask
from sqlalchemy import event, select

from ipt_groups import timesource
from ipt_groups.api.attendance import RegisterSchema
from ipt_groups.api.runner import RunnerSchema
from ipt_groups.extensions import db
from ipt_groups.models import AuditEvent
from tests.conftest import ApiClient
from tests.factories import ITEM_9, NO_RISK, SESSION_1, enter, member_id, supervised_group

WEEK = timedelta(days=7)


def loadable(schema: ma.Schema, data: Any) -> Any:
    """``data`` without the schema's dump-only fields (a client never sends them),
    nested schemas included, so that ``schema.validate`` checks every other field."""
    if isinstance(data, list):
        return [loadable(schema, x) for x in data]
    if not isinstance(data, dict):
        return data
    out = {}
    for key, value in data.items():
        field = schema.fields.get(key)  # an unknown key stays: validate reports it
        if field is not None and field.dump_only:
            continue
        inner = field.inner if field is not None and isinstance(field, ma.fields.List) else field
        if isinstance(inner, ma.fields.Nested) and value is not None:
            value = loadable(inner.schema, value)
        out[key] = value
    return out


def test_the_runner_shows_each_member_and_what_is_due(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = supervised_group(fac, users, members=3)
    a, b, c = (member_id(g, n) for n in range(3))
    fac.patch(f"/api/enrolments/{a}", json={"goal": "Talk to my sister about the move"})
    enter(fac, a, NO_RISK)  # the pre-group PHQ-9: total 8
    s1, s2 = g["sessions"][0]["id"], g["sessions"][1]["id"]
    timesource.advance(SESSION_1)
    fac = as_role("facilitator")
    view = fac.get(f"/api/sessions/{s1}/runner").json
    assert view["session"]["number"] == 1 and view["due"] == ["mood"]
    assert view["agenda"]["items"][0]["kind"] == "check_in"
    rows = {m["display_name"]: m for m in view["members"]}
    assert rows["Member A"]["goal"] == "Talk to my sister about the move"
    assert rows["Member A"]["problem_areas"] == ["life_changes"]
    assert rows["Member A"]["last_score"]["instrument"] == "phq9"
    assert rows["Member A"]["last_score"]["total"] == 8
    assert rows["Member B"]["last_score"] is None
    assert all(m["due"] == ["mood"] and m["attendance"] is None for m in rows.values())
    assert view["crisis_text"] and view["open_alerts"] == [] and view["group_note"] is None

    fac.post(f"/api/sessions/{s1}/attendance/all-present", json={})
    body = {"instrument": "mood", "answers": {"mood": 6}, "session_id": s1}
    assert fac.post(f"/api/enrolments/{b}/assessments", json=body).status_code == 201
    enter(fac, c, ITEM_9, session_id=s1)
    fac.put(f"/api/sessions/{s1}/tasks", json={"tasks": [
        {"enrolment_id": a, "text": "Ask your sister to meet for tea"},
        {"enrolment_id": b, "text": "Call one old friend"},
    ]})  # fmt: skip
    fac.post(f"/api/sessions/{s1}/notes", json={"body": "Good first meeting; names learnt."})
    fac.post(f"/api/sessions/{s1}/notes", json={"enrolment_id": c, "body": "Quiet; see alert."})
    view = fac.get(f"/api/sessions/{s1}/runner").json
    rows = {m["display_name"]: m for m in view["members"]}
    assert {n: m["attendance"] for n, m in rows.items()} == dict.fromkeys(rows, "present")
    assert rows["Member B"]["due"] == [] and rows["Member A"]["due"] == ["mood"]
    assert rows["Member B"]["last_score"]["instrument"] == "mood"
    assert rows["Member C"]["open_alerts"] == 1 and rows["Member C"]["note_written"] is True
    assert rows["Member A"]["task_here"]["text"] == "Ask your sister to meet for tea"
    assert rows["Member A"]["task_to_review"] is None
    assert view["group_note"]["body"] == "Good first meeting; names learnt."
    assert [al["display_name"] for al in view["open_alerts"]] == ["Member C"]
    # The answer, read as plain rows, still validates against its documented schema.
    assert RunnerSchema().validate(loadable(RunnerSchema(), view)) == {}
    attendance = fac.get(f"/api/sessions/{s1}/attendance").json
    assert RegisterSchema().validate(loadable(RegisterSchema(), attendance)) == {}

    # Next week, last week's tasks are there to review.
    timesource.advance(WEEK)
    fac = as_role("facilitator")
    view = fac.get(f"/api/sessions/{s2}/runner").json
    rows = {m["display_name"]: m for m in view["members"]}
    task = rows["Member A"]["task_to_review"]
    assert task["text"] == "Ask your sister to meet for tea" and task["review"] is None
    assert rows["Member C"]["task_to_review"] is None
    reviewed = fac.post(
        f"/api/tasks/{task['id']}/review", json={"review": "partly", "session_id": s2}
    )
    assert reviewed.status_code == 200
    assert (reviewed.json["review"], reviewed.json["reviewed_session_id"]) == ("partly", s2)
    same_session = fac.post(
        f"/api/tasks/{task['id']}/review", json={"review": "done", "session_id": s1}
    )
    assert same_session.status_code == 422
    rewrite = fac.put(
        f"/api/sessions/{s1}/tasks", json={"tasks": [{"enrolment_id": a, "text": "Changed"}]}
    )
    assert rewrite.status_code == 409  # reviewed: it is history now


def test_notes_are_written_once_and_shown_in_the_members_record(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = supervised_group(fac, users, members=2)
    a, b = member_id(g, 0), member_id(g, 1)
    s1 = g["sessions"][0]["id"]
    early = fac.post(f"/api/sessions/{s1}/notes", json={"body": "Too soon"})
    assert early.status_code == 409  # the session has not started
    timesource.advance(SESSION_1)
    fac = as_role("facilitator")
    fac.put(f"/api/sessions/{s1}/attendance", json={"entries": [
        {"enrolment_id": a, "status": "present"}, {"enrolment_id": b, "status": "absent"},
    ]})  # fmt: skip
    group_note = fac.post(f"/api/sessions/{s1}/notes", json={"body": "We agreed group rules."})
    assert group_note.status_code == 201 and group_note.json["enrolment_id"] is None
    second = fac.post(f"/api/sessions/{s1}/notes", json={"body": "Edited rules."})
    assert second.status_code == 409 and second.json["error"]["code"] == "note_exists"
    about_a = fac.post(f"/api/sessions/{s1}/notes", json={"enrolment_id": a, "body": "Tearful."})
    assert about_a.status_code == 201
    assert (
        fac.post(
            f"/api/sessions/{s1}/notes", json={"enrolment_id": a, "body": "Changed my mind"}
        ).status_code
        == 409
    )
    notes = fac.get(f"/api/sessions/{s1}/notes").json
    assert [(n["enrolment_id"], n["body"]) for n in notes] == [
        (None, "We agreed group rules."), (a, "Tearful."),
    ]  # fmt: skip
    record_a = fac.get(f"/api/enrolments/{a}/record").json
    assert [n["body"] for n in record_a["notes"]] == ["We agreed group rules.", "Tearful."]
    assert [(x["number"], x["status"]) for x in record_a["attendance"]] == [(1, "present")]
    # B was absent: the group note is not part of their record, and A's note never is.
    record_b = fac.get(f"/api/enrolments/{b}/record").json
    assert record_b["notes"] == []
    sup = as_role("supervisor")
    assert sup.post(f"/api/sessions/{s1}/notes", json={"body": "x"}).status_code == 403
    assert [n["body"] for n in sup.get(f"/api/enrolments/{a}/record").json["notes"]] == [
        "We agreed group rules.", "Tearful.",
    ]  # fmt: skip
    with app.app_context():
        reads = db.session.scalars(
            select(AuditEvent.actor_id)
            .where(AuditEvent.action == "member_record.read", AuditEvent.subject_id == a)
            .order_by(AuditEvent.id)  # no ORDER BY, no order: PostgreSQL may return either
        ).all()
    assert reads == [users["facilitator"], users["supervisor"]]


def test_the_runner_is_audited_per_member_and_needs_a_fixed_number_of_queries(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    def queries_for_runner(members: int) -> int:
        fac = as_role("facilitator")
        g = supervised_group(fac, users, members=members)
        s1 = g["sessions"][0]["id"]
        for n in range(members):
            enter(fac, member_id(g, n), ITEM_9 if n == 0 else NO_RISK)
        count = 0

        def counter(*_: Any) -> None:
            nonlocal count
            count += 1

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", counter)
        try:
            assert fac.get(f"/api/sessions/{s1}/runner").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", counter)
        with app.app_context():
            audited = db.session.scalars(
                select(AuditEvent.subject_id).where(
                    AuditEvent.action == "runner.read", AuditEvent.target_id == s1
                )
            ).all()
        assert sorted(audited) == sorted(member_id(g, n) for n in range(members))
        return count

    assert queries_for_runner(2) == queries_for_runner(8)


def test_only_the_cohorts_own_facilitators_write_notes_and_tasks(
    app: Flask, as_role: Any, users: dict[str, int], client: ApiClient, frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = supervised_group(fac, users, members=1)
    s1, a = g["sessions"][0]["id"], member_id(g)
    timesource.advance(SESSION_1)
    participant = as_role("participant")
    for who, expected in ((participant, 403), (client, 401)):
        assert who.get(f"/api/sessions/{s1}/runner").status_code == expected
        assert who.post(f"/api/sessions/{s1}/notes", json={"body": "x"}).status_code == expected
        tasks = {"tasks": [{"enrolment_id": a, "text": "x"}]}
        assert who.put(f"/api/sessions/{s1}/tasks", json=tasks).status_code == expected
    from tests.conftest import create_user

    with app.app_context():
        create_user("facilitator", "another@test.example")
    other = ApiClient(app.test_client())
    other.login("another@test.example")
    assert other.get(f"/api/sessions/{s1}/runner").status_code == 404
    assert other.post(f"/api/sessions/{s1}/notes", json={"body": "x"}).status_code == 404
    wrong_member = as_role("facilitator").put(
        f"/api/sessions/{s1}/tasks", json={"tasks": [{"enrolment_id": 99999, "text": "x"}]}
    )
    assert wrong_member.status_code == 422


def test_a_one_to_one_meeting_has_its_own_guide_and_due_measures(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = supervised_group(fac, users, members=1)
    a = member_id(g)
    (meeting,) = [m for m in g["members"][0]["enrolment"]["meetings"] if m["kind"] == "pre_group"]
    guide = fac.get(f"/api/meetings/{meeting['id']}/guide").json
    assert guide["meeting"]["kind"] == "pre_group" and guide["due"] == ["phq9"]
    assert guide["recorded"] == [] and guide["display_name"] == "Member A"
    assert {i["kind"] for i in guide["agenda"]} <= {
        "check_in", "review_task", "problem_area_work", "role_play", "psychoeducation",
        "new_task", "closing",
    }  # fmt: skip
    assert sum(i["minutes"] for i in guide["agenda"]) > 0
    entered = enter(fac, a, NO_RISK, meeting_id=meeting["id"])
    assert entered.status_code == 201 and entered.json["assessment"]["meeting_id"] == meeting["id"]
    guide = fac.get(f"/api/meetings/{meeting['id']}/guide").json
    assert guide["recorded"] == ["phq9"] and guide["last_score"]["total"] == 8
    assert as_role("participant").get(f"/api/meetings/{meeting['id']}/guide").status_code == 403


def test_review_findings_tasks_and_notes_audit(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = supervised_group(fac, users, members=2)
    a, b = member_id(g, 0), member_id(g, 1)
    s1, s2 = g["sessions"][0]["id"], g["sessions"][1]["id"]
    timesource.advance(SESSION_1)
    fac = as_role("facilitator")
    missing = fac.put(f"/api/sessions/{s1}/tasks", json={"tasks": [{"text": "x"}]})
    assert missing.status_code == 422 and "enrolment_id" in str(missing.json["error"]["fields"])
    (task,) = fac.put(
        f"/api/sessions/{s1}/tasks", json={"tasks": [{"enrolment_id": a, "text": "Call"}]}
    ).json
    fac.put(f"/api/sessions/{s1}/attendance", json={"entries": [
        {"enrolment_id": a, "status": "present"}, {"enrolment_id": b, "status": "absent"},
    ]})  # fmt: skip
    fac.post(f"/api/sessions/{s1}/notes", json={"body": "Group note only."})
    fac.get(f"/api/sessions/{s1}/notes")
    with app.app_context():
        read = db.session.scalars(
            select(AuditEvent.subject_id).where(AuditEvent.action == "note.read")
        ).all()
    assert sorted(read, key=lambda x: x or 0) == [None, a]  # the session, and who came
    timesource.advance(WEEK)
    fac = as_role("facilitator")
    url = f"/api/tasks/{task['id']}/review"
    assert fac.post(url, json={"review": "done", "session_id": s2}).status_code == 200
    again = fac.post(url, json={"review": "not_done", "session_id": s2})
    assert again.status_code == 409
