"""Problem-area work per member per session, and the middle phase's guidance:
the guidance data, the suggestions in the runner (and which step comes next),
the record's API, validation, access, audit, export and erasure."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from ipt_groups import timesource
from ipt_groups.extensions import db
from ipt_groups.models import AuditEvent, GroupSession, ProblemWork, User
from ipt_groups.protocol.problem_areas import (
    AREA_LABELS,
    LANGUAGES,
    STEPS,
    TECHNIQUE_LABELS,
    ProblemArea,
    Technique,
    next_step,
)
from ipt_groups.services import demo
from ipt_groups.services.enrolments import PROBLEM_AREAS
from tests import browser
from tests.browser import TABLET, chromium_context, log_in, running_session_id, screenshot
from tests.conftest import PASSWORD, ApiClient, create_user
from tests.factories import create_cohort, enrol
from tests.querycount import count_queries

SESSION_1 = timedelta(days=8, hours=8)  # from the frozen Monday 09:00 to Tuesday 17:00
WEEK = timedelta(days=7)
PIN = "864213"


def group(fac: ApiClient, users: dict[str, int]) -> dict[str, Any]:
    """A supervised WHO-8 cohort: Ana (grief), Ben (disputes and loneliness),
    Cara (life changes)."""
    cohort = create_cohort(fac, supervisor_ids=[users["supervisor"]])
    made = {
        name: enrol(fac, cohort["id"], name, problem_areas=areas)
        for name, areas in [
            ("Ana", ["grief"]),
            ("Ben", ["disputes", "loneliness"]),
            ("Cara", ["life_changes"]),
        ]
    }
    sessions = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    return {
        "cohort": cohort,
        "ids": {name: m["enrolment"]["id"] for name, m in made.items()},
        "invites": {name: m["invite"]["code"] for name, m in made.items()},
        "sessions": [s["id"] for s in sessions],
        "phases": [s["phase"] for s in sessions],
    }


def runner_members(client: ApiClient, session_id: int) -> dict[str, Any]:
    view = client.get(f"/api/sessions/{session_id}/runner")
    assert view.status_code == 200, view.json
    return {m["display_name"]: m for m in view.json["members"]}


def put_work(client: ApiClient, session_id: int, enrolment_id: int, **body: Any) -> Any:
    body = {"techniques": ["problem_solving"], **body}
    return client.put(f"/api/sessions/{session_id}/work/{enrolment_id}", json=body)


def audit_rows(app: Flask, action: str) -> list[tuple[int | None, str | None, int | None]]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.actor_id, AuditEvent.target_type, AuditEvent.subject_id)
            .where(AuditEvent.action == action)
            .order_by(AuditEvent.id)
        )
        return [tuple(r) for r in rows]


# -- the guidance as data ---------------------------------------------------------------


def test_every_problem_area_has_its_steps_in_english_and_spanish() -> None:
    assert {a.value for a in ProblemArea} == set(PROBLEM_AREAS)
    assert set(STEPS) == set(ProblemArea) == set(AREA_LABELS)
    keys: set[str] = set()
    for area, steps in STEPS.items():
        assert len(steps) >= 3, area
        for step in steps:
            assert step.key.startswith(f"{area.value}.") and step.key not in keys
            keys.add(step.key)
            assert step.techniques and set(step.techniques) <= set(Technique)
            for language in LANGUAGES:
                assert step.title[language].strip() and step.guidance[language].strip()
            # Translated, not copied: the Spanish differs from the English.
            assert step.title["es"] != step.title["en"], step.key
            assert step.guidance["es"] != step.guidance["en"], step.key
        for language in LANGUAGES:
            assert AREA_LABELS[area][language].strip()
    assert set(TECHNIQUE_LABELS) == set(Technique)
    assert {t.value for t in Technique} == {
        "communication_analysis", "role_play", "problem_solving", "exploring_support",
        "grief_work", "psychoeducation", "task_review",
    }  # fmt: skip
    for labels in TECHNIQUE_LABELS.values():
        assert labels["en"].strip() and labels["es"].strip()
    # What the manual has for each area, in order.
    assert [s.key for s in STEPS[ProblemArea.GRIEF]] == [
        "grief.story", "grief.feelings", "grief.new_connections",
    ]  # fmt: skip
    assert "impasse" in STEPS[ProblemArea.DISPUTES][0].guidance["en"]


def test_the_next_step_follows_what_was_done() -> None:
    assert next_step("grief", set()).key == "grief.story"
    assert next_step("grief", {"grief.story"}).key == "grief.feelings"
    # Out of order: the first step not yet worked on.
    assert next_step("grief", {"grief.feelings"}).key == "grief.story"
    done = {s.key for s in STEPS[ProblemArea.GRIEF]}
    assert next_step("grief", done).key == "grief.new_connections"  # that work goes on
    assert next_step("unknown", set()) is None


# -- suggestions in the runner ---------------------------------------------------------


def test_middle_sessions_suggest_each_members_next_steps_in_their_language(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = group(fac, users)
    s1, s2, s3, s4 = g["sessions"][:4]
    assert g["phases"][:2] == ["initial", "middle"]
    ids = g["ids"]

    timesource.advance(SESSION_1)
    fac = as_role("facilitator")
    first = runner_members(fac, s1)
    # Session 1 is the initial phase: no problem-area steps yet, but work can be recorded.
    assert all(m["suggested_steps"] == [] and m["work"] is None for m in first.values())
    assert put_work(fac, s1, ids["Ana"], techniques=["psychoeducation"]).status_code == 200

    timesource.advance(WEEK)
    fac = as_role("facilitator")
    view = fac.get(f"/api/sessions/{s2}/runner").json
    assert [t["key"] for t in view["techniques"]][:2] == ["communication_analysis", "role_play"]
    assert view["techniques"][1]["label"] == "Role play"
    rows = {m["display_name"]: m for m in view["members"]}
    (ana,) = rows["Ana"]["suggested_steps"]
    assert (ana["area"], ana["label"], ana["next_step"], ana["all_done"]) == (
        "grief", "Grief", "grief.story", False
    )  # fmt: skip
    assert [(s["key"], s["done"], s["suggested"]) for s in ana["steps"]] == [
        ("grief.story", False, True),
        ("grief.feelings", False, False),
        ("grief.new_connections", False, False),
    ]
    assert ana["steps"][0]["title"] == "The story of the death"
    assert ana["steps"][0]["techniques"] == ["grief_work", "communication_analysis"]
    ben = rows["Ben"]["suggested_steps"]
    assert [(a["area"], a["next_step"]) for a in ben] == [
        ("disputes", "disputes.stage"), ("loneliness", "loneliness.past"),
    ]  # fmt: skip
    assert rows["Cara"]["suggested_steps"][0]["next_step"] == "life_changes.old_role"

    # Work this week: Ana tells the story; Ben stages the dispute and looks at options.
    assert put_work(fac, s2, ids["Ana"], steps=["grief.story"], progress=1).status_code == 200
    both = ["disputes.stage", "disputes.options"]
    assert put_work(fac, s2, ids["Ben"], steps=both, progress=2).status_code == 200
    here = runner_members(fac, s2)
    # The steps done *this* session do not move this session's suggestion...
    assert here["Ana"]["suggested_steps"][0]["next_step"] == "grief.story"
    assert here["Ana"]["work"]["steps"] == ["grief.story"] and here["Ana"]["work"]["progress"] == 1

    # ...the next session's: Ana is offered her feelings about the loss.
    timesource.advance(WEEK)
    fac = as_role("facilitator")
    rows = runner_members(fac, s3)
    ana = rows["Ana"]["suggested_steps"][0]
    assert ana["next_step"] == "grief.feelings"
    assert [(s["key"], s["done"]) for s in ana["steps"]][:2] == [
        ("grief.story", True), ("grief.feelings", False),
    ]  # fmt: skip
    assert [a["next_step"] for a in rows["Ben"]["suggested_steps"]] == [
        "disputes.practice", "loneliness.past",
    ]  # fmt: skip
    assert rows["Ana"]["work"] is None  # nothing recorded at session 3 yet
    rest = ["grief.feelings", "grief.new_connections"]
    assert put_work(fac, s3, ids["Ana"], steps=rest, progress=3).status_code == 200

    # The member's record shows the work session by session: progress over time.
    record = as_role("supervisor").get(f"/api/enrolments/{ids['Ana']}/record").json
    assert [(w["session_id"], w["progress"]) for w in record["problem_work"]] == [
        (s1, None), (s2, 1), (s3, 3),
    ]  # fmt: skip

    # Every grief step done: the last one is suggested again, and it says so.
    timesource.advance(WEEK)
    fac = as_role("facilitator")
    ana = runner_members(fac, s4)["Ana"]["suggested_steps"][0]
    assert (ana["next_step"], ana["all_done"]) == ("grief.new_connections", True)

    # A Spanish-speaking facilitator reads the same guidance in Spanish.
    assert fac.patch("/api/me", json={"language": "es"}).status_code == 200
    view = fac.get(f"/api/sessions/{s4}/runner").json
    rows = {m["display_name"]: m for m in view["members"]}
    cara = rows["Cara"]["suggested_steps"][0]
    assert cara["label"] == "Cambios de vida" and cara["steps"][0]["title"] == "La vida de antes"
    assert view["techniques"][1]["label"] == "Juego de roles"
    listed = fac.get(f"/api/sessions/{s4}/work").json
    by_name = {m["display_name"]: m for m in listed["members"]}
    assert by_name["Ben"]["suggested_steps"][0]["label"] == "Conflictos"
    assert listed["phase"] == "middle"


# -- the record: API, validation, edits, audit ----------------------------------------------


def test_work_is_recorded_once_per_session_and_member_and_corrected_in_the_room(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = group(fac, users)
    s1, s2 = g["sessions"][:2]
    ana = g["ids"]["Ana"]
    early = put_work(fac, s2, ana)
    assert early.status_code == 409 and early.json["error"]["code"] == "session_not_started"

    timesource.advance(SESSION_1 + WEEK)
    fac = as_role("facilitator")
    made = put_work(
        fac, s2, ana, techniques=["grief_work", "role_play", "grief_work"],
        steps=["grief.story"], progress=0,
    )  # fmt: skip
    assert made.status_code == 200, made.json
    body = made.json
    assert (body["session_id"], body["enrolment_id"]) == (s2, ana)
    assert body["techniques"] == ["grief_work", "role_play"]  # each once
    assert (body["steps"], body["progress"]) == (["grief.story"], 0)
    assert body["recorded_by_id"] == users["facilitator"]
    assert body["recorded_at"] == "2026-03-17T17:00:00+00:00"

    # The admin corrects it ten minutes later: the same row, a new writer and time.
    timesource.advance(timedelta(minutes=10))
    admin = as_role("admin")
    fixed = put_work(admin, s2, ana, techniques=["grief_work"], steps=[], progress=2)
    assert fixed.status_code == 200 and fixed.json["id"] == body["id"]
    assert fixed.json["recorded_by_id"] == users["admin"]
    assert fixed.json["recorded_at"] == "2026-03-17T17:10:00+00:00"
    with app.app_context():
        (row,) = db.session.scalars(select(ProblemWork)).all()
        assert (row.session_id, row.enrolment_id, row.techniques, row.steps, row.progress) == (
            s2, ana, ["grief_work"], [], 2
        )  # fmt: skip
    assert audit_rows(app, "problem_work.create") == [(users["facilitator"], "problem_work", ana)]
    assert audit_rows(app, "problem_work.update") == [(users["admin"], "problem_work", ana)]

    # Reading the session's work is audited once per member shown.
    sup = as_role("supervisor")
    listed = sup.get(f"/api/sessions/{s2}/work")
    assert listed.status_code == 200
    members = {m["display_name"]: m for m in listed.json["members"]}
    assert members["Ana"]["work"]["progress"] == 2 and members["Ben"]["work"] is None
    reads = audit_rows(app, "problem_work.read")
    assert sorted(r[2] for r in reads) == sorted(g["ids"].values())
    assert {(r[0], r[1]) for r in reads} == {(users["supervisor"], "group_session")}

    # Another cohort's facilitator: not found, whether the session exists or not.
    with app.app_context():
        create_user("facilitator", "other.fac@test.example")
    other_fac = ApiClient(app.test_client())
    assert other_fac.login("other.fac@test.example", PASSWORD).status_code == 200
    assert put_work(other_fac, s2, ana).status_code == 404
    assert other_fac.get(f"/api/sessions/{s2}/work").status_code == 404
    # Like notes and tasks, an earlier session's record can be completed later.
    assert put_work(fac, s1, ana).status_code == 200


def test_two_first_saves_at_once_make_one_record_not_a_500(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime, monkeypatch: Any
) -> None:
    from ipt_groups.services import problem_work

    fac = as_role("facilitator")
    g = group(fac, users)
    s2, ana = g["sessions"][1], g["ids"]["Ana"]
    timesource.advance(SESSION_1 + WEEK)
    fac = as_role("facilitator")
    first = put_work(fac, s2, ana, techniques=["grief_work"], progress=1)
    assert first.status_code == 200, first.json
    # The co-facilitator's tablet read "nothing yet" before that insert landed
    # (the read misses the row once, as in a race); its insert then clashes.
    real, missed = problem_work._find, []

    def racing(session_id: int, enrolment_id: int) -> Any:
        if not missed:
            missed.append(True)
            return None
        return real(session_id, enrolment_id)

    monkeypatch.setattr(problem_work, "_find", racing)
    admin = as_role("admin")
    second = put_work(admin, s2, ana, techniques=["role_play"], progress=3)
    assert second.status_code == 200, second.json
    assert second.json["id"] == first.json["id"] and second.json["progress"] == 3
    with app.app_context():
        (row,) = db.session.scalars(select(ProblemWork)).all()
        assert (row.techniques, row.progress, row.recorded_by_id) == (
            ["role_play"], 3, users["admin"]
        )  # fmt: skip
    assert audit_rows(app, "problem_work.create") == [(users["facilitator"], "problem_work", ana)]
    assert audit_rows(app, "problem_work.update") == [(users["admin"], "problem_work", ana)]


def test_clear_422s_for_what_cannot_be_recorded(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = group(fac, users)
    elsewhere = create_cohort(fac, name="Another group")
    stranger = enrol(fac, elsewhere["id"], "Dan")["enrolment"]["id"]
    s2 = g["sessions"][1]
    ana = g["ids"]["Ana"]
    timesource.advance(SESSION_1 + WEEK)
    fac = as_role("facilitator")

    def fields(response: Any) -> dict[str, Any]:
        assert response.status_code == 422, response.json
        return response.json["error"]["fields"]

    assert "techniques" in fields(put_work(fac, s2, ana, techniques=["hypnosis"]))
    assert "techniques" in fields(fac.put(f"/api/sessions/{s2}/work/{ana}", json={}))
    assert "progress" in fields(put_work(fac, s2, ana, progress=5))
    assert "progress" in fields(put_work(fac, s2, ana, progress=-1))
    assert "progress" in fields(put_work(fac, s2, ana, progress="a lot"))
    assert "steps" in fields(put_work(fac, s2, ana, steps=["grief.unknown"]))
    # A real step, of an area Ana is not working on.
    wrong_area = fields(put_work(fac, s2, ana, steps=["disputes.stage"]))
    message = "Not steps of this member's problem areas: ['disputes.stage']."
    assert wrong_area == {"steps": [message]}
    assert fields(put_work(fac, s2, stranger)) == {
        "enrolment_id": ["Not a member of this session's cohort."]
    }
    with app.app_context():
        assert db.session.scalars(select(ProblemWork)).all() == []


def test_who_may_read_and_write_the_work(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = group(fac, users)
    s2, ana = g["sessions"][1], g["ids"]["Ana"]
    timesource.advance(SESSION_1 + WEEK)
    fac = as_role("facilitator")
    assert put_work(fac, s2, ana, progress=3).status_code == 200
    sup = as_role("supervisor")
    assert sup.get(f"/api/sessions/{s2}/work").status_code == 200
    assert put_work(sup, s2, ana).status_code == 403  # supervisors read only
    member = as_role("participant")
    assert member.get(f"/api/sessions/{s2}/work").status_code == 403
    assert put_work(member, s2, ana).status_code == 403
    anon = ApiClient(app.test_client())
    assert anon.get(f"/api/sessions/{s2}/work").status_code == 401
    with app.app_context():
        (row,) = db.session.scalars(select(ProblemWork)).all()
        assert (row.progress, row.recorded_by_id) == (3, users["facilitator"])


def test_the_middle_phase_runner_and_the_work_list_cost_the_same_queries_for_any_group(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    """Suggestions read the earlier sessions' work in one query, whatever the
    group's size or history."""

    def queries(members: int) -> tuple[int, int]:
        fac = as_role("facilitator")
        cohort = create_cohort(fac, supervisor_ids=[users["supervisor"]])
        ids = [
            enrol(fac, cohort["id"], f"Member {n}", problem_areas=["grief", "loneliness"])[
                "enrolment"
            ]["id"]
            for n in range(members)
        ]
        s2, s3 = [s["id"] for s in fac.get(f"/api/cohorts/{cohort['id']}/sessions").json][1:3]
        with timesource.freeze(timesource.utcnow() + SESSION_1 + WEEK):
            fac = as_role("facilitator")
            for eid in ids:
                assert put_work(fac, s2, eid, steps=["grief.story"]).status_code == 200
        with timesource.freeze(timesource.utcnow() + SESSION_1 + 2 * WEEK):
            fac = as_role("facilitator")
            with app.app_context():
                engine = db.engine
            with count_queries(engine) as runner:
                view = fac.get(f"/api/sessions/{s3}/runner").json
            with count_queries(engine) as listed:
                work = fac.get(f"/api/sessions/{s3}/work").json
        nexts = {m["suggested_steps"][0]["next_step"] for m in view["members"]}
        assert nexts == {"grief.feelings"} and len(work["members"]) == members
        return runner.count, listed.count

    assert queries(2) == queries(6)


# -- the member's data: export and erasure --------------------------------------------


def test_the_work_is_in_the_members_export_and_erasure_deletes_it(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = group(fac, users)
    s2 = g["sessions"][1]
    ana, ben = g["ids"]["Ana"], g["ids"]["Ben"]
    joined = ApiClient(app.test_client()).post(
        "/api/invites/redeem", json={"code": g["invites"]["Ana"], "pin": PIN}
    )
    assert joined.status_code == 200, joined.json
    user_id = joined.json["user"]["id"]
    timesource.advance(SESSION_1 + WEEK)
    fac = as_role("facilitator")
    body = {"techniques": ["grief_work"], "steps": ["grief.story"], "progress": 1}
    assert fac.put(f"/api/sessions/{s2}/work/{ana}", json=body).status_code == 200
    assert put_work(fac, s2, ben, steps=["disputes.stage"]).status_code == 200

    phone = ApiClient(app.test_client())
    assert phone.login(username=joined.json["user"]["username"], password=PIN).status_code == 200
    (mine,) = phone.get("/api/me/export").json["enrolments"]
    assert [
        (w["session"]["number"], w["techniques"], w["steps"], w["progress"])
        for w in mine["problem_work"]
    ] == [(2, ["grief_work"], ["grief.story"], 1)]  # hers only, not Ben's

    withdrawn = fac.post(f"/api/enrolments/{ana}/withdraw", json={"reason": "moved"})
    assert withdrawn.status_code == 200, withdrawn.json
    erased = as_role("admin").post(
        f"/api/users/{user_id}/erase", json={"confirm": "erase", "reason": "member_request"}
    )
    assert erased.status_code == 200, erased.json
    assert erased.json["removed"]["problem_work"] == 1
    with app.app_context():
        left = db.session.execute(select(ProblemWork.enrolment_id, ProblemWork.steps)).all()
        assert [tuple(r) for r in left] == [(ben, ["disputes.stage"])]


# -- the runner, offline ----------------------------------------------------------------


def test_work_entered_offline_in_the_runner_arrives_when_back_online(
    app: Flask,
    live: browser.LiveServer,
    pw: Any,
    seeded: demo.DemoResult,
    tmp_path: Path,
) -> None:
    session_id = running_session_id(app)
    with app.app_context():
        # The demo's session in progress is its first (initial phase): played
        # here as a middle-phase one, so the runner suggests each member's steps.
        db.session.get(GroupSession, session_id).phase = "middle"
        db.session.commit()
    with chromium_context(pw, tmp_path / "profile", TABLET) as context:
        page = context.new_page()
        log_in(page, live, "facilitator@example.org", demo.DEMO_PASSWORD)
        browser.service_worker_ready(page)
        page.goto(f"{live.url}/#/sessions/{session_id}")
        page.wait_for_selector("[data-all-present]")
        first = page.locator("[data-member]").first
        assert first.locator("h3").inner_text() == "Ana Demo"  # grief
        enrolment_id = int(first.get_attribute("data-member") or 0)
        work = first.locator("details[data-work]")
        summary = work.locator("summary").inner_text()
        assert summary == "Problem-area work · Next: The story of the death"

        context.set_offline(True)
        work.locator("summary").click()
        grief = work.locator("[data-area=grief]")
        assert "Next: The story of the death" in grief.inner_text()
        assert grief.locator("[data-suggested=true]").get_attribute("data-step") == "grief.story"
        grief.locator("[data-step='grief.story']").click()
        work.locator("[data-technique=role_play]").click()
        work.locator("[data-technique=exploring_support]").click()
        work.locator("[data-technique=exploring_support]").click()  # changed their mind
        work.locator("[data-technique=communication_analysis]").click()
        work.locator("[data-progress='3']").click()
        work.locator("[data-save-work]").click()
        work.get_by_text("Saved on this tablet").wait_for()
        screenshot(page, "tablet-runner-work-offline")
        browser.wait_until(page, "document.getElementById('status').dataset.waiting === '1'")
        assert "Work with" in page.evaluate("IptOutbox.outbox.list().then(l => l[0].label)")

        # Opened again with no signal: the runner comes from the device, with the work in it.
        page.reload()
        page.wait_for_selector("[data-all-present]")
        work = page.locator(f"[data-member='{enrolment_id}'] details[data-work]")
        assert work.locator("summary").inner_text() == "Problem-area work · recorded"
        work.locator("summary").click()
        pressed = work.locator("[data-technique][aria-pressed=true]")
        assert sorted(pressed.evaluate_all("bs => bs.map(b => b.dataset.technique)")) == [
            "communication_analysis", "role_play",
        ]  # fmt: skip
        assert work.locator("[data-progress='3']").get_attribute("aria-checked") == "true"
        assert work.locator("[data-step='grief.story']").get_attribute("aria-pressed") == "true"
        with app.app_context():
            assert db.session.scalars(select(ProblemWork)).all() == []

        context.set_offline(False)
        browser.wait_until(page, "document.getElementById('status').dataset.waiting === '0'")

    with app.app_context():
        (row,) = db.session.scalars(select(ProblemWork)).all()
        assert (row.session_id, row.enrolment_id) == (session_id, enrolment_id)
        assert (row.techniques, row.steps, row.progress) == (
            ["role_play", "communication_analysis"], ["grief.story"], 3
        )  # fmt: skip
        facilitator = db.session.scalar(
            select(User.id).where(User.email == "facilitator@example.org")
        )
        assert row.recorded_by_id == facilitator
        created = db.session.scalars(
            select(AuditEvent.subject_id).where(AuditEvent.action == "problem_work.create")
        ).all()
        assert created == [enrolment_id]
