"""Helpers shared by the test modules: request bodies, members on their phones,
measures, push, the outcomes data set (``clinic``) and the privacy story.

One home for what more than one test module needs, so no test module imports
another. Browser helpers are in tests/browser.py, fixtures in tests/conftest.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event, select

from ipt_groups import clock, timesource
from ipt_groups.extensions import db
from ipt_groups.messaging.endpoints import DEFAULT_PUSH_HOSTS
from ipt_groups.models import (
    Assessment,
    Cohort,
    Enrolment,
    Notification,
    NotificationKind,
    RiskAlert,
)
from ipt_groups.protocol.instruments import GAD7, PHQ9, Instrument, score
from ipt_groups.push import dispatcher
from ipt_groups.services import content, reminders
from ipt_groups.services.audit import SYSTEM
from tests.conftest import TEST_SECRET, ApiClient, create_user


def cohort_body(**overrides: Any) -> dict[str, Any]:
    """A WHO 8-session cohort meeting Tuesdays 17:00 in London from 9 March 2026.

    With the ``frozen`` clock (Monday 2 March 2026 09:00 UTC) session 1 is a week away.
    """
    return {
        "name": "Tuesday evening group",
        "programme_key": "who-8",
        "time_zone": "Europe/London",
        "weekday": 1,
        "local_time": "17:00",
        "start_date": "2026-03-09",
        "location": "Community hall, room 2",
        **overrides,
    }


def member_body(name: str = "Member A", **overrides: Any) -> dict[str, Any]:
    """A member who passes screening and has given consent."""
    return {
        "display_name": name,
        "problem_areas": ["life_changes"],
        "screening": {"suicide_plan_or_attempt": False, "needs_specialist_care": False},
        "consent": {"version": "2026-01", "given": True},
        **overrides,
    }


def create_cohort(client: ApiClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/cohorts", json=cohort_body(**overrides))
    assert response.status_code == 201, response.json
    return response.json


def enrol(client: ApiClient, cohort_id: int, name: str = "Member A", **kw: Any) -> dict[str, Any]:
    response = client.post(f"/api/cohorts/{cohort_id}/enrolments", json=member_body(name, **kw))
    assert response.status_code == 201, response.json
    return response.json


def group(app: Flask, fac: ApiClient, members: int = 2, **cohort: Any) -> dict[str, Any]:
    made = create_cohort(fac, **cohort)
    enrolled = [enrol(fac, made["id"], f"Member {chr(65 + i)}") for i in range(members)]
    sessions = fac.get(f"/api/cohorts/{made['id']}/sessions").json
    return {"cohort": made, "members": enrolled, "sessions": sessions}


# -- members on their phones -------------------------------------------------------------


PIN = "482915"


def phone(app: Flask, code: str) -> ApiClient:
    c = ApiClient(app.test_client())
    response = c.post("/api/invites/redeem", json={"code": code, "pin": "482915"})
    assert response.status_code == 200, response.json
    c.csrf = response.json["csrf_token"]
    return c


def phone_login(app: Flask, username: str) -> ApiClient:
    """Log the member in again (moving the clock on ends their earlier session)."""
    fresh = ApiClient(app.test_client())
    response = fresh.login(username=username, password="482915")
    assert response.status_code == 200, response.json
    return fresh


def subscribe(client: ApiClient, fake: Any) -> dict[str, Any]:
    sub = fake.new_subscription()
    response = client.post("/api/push/subscriptions", json={**sub, "expirationTime": None})
    assert response.status_code == 201, response.json
    return sub


# -- the clock ---------------------------------------------------------------------------


SESSION_1 = timedelta(days=8, hours=8)  # from the frozen Monday 09:00 to Tuesday 17:00
DAY_BEFORE_S1 = datetime(2026, 3, 9, 17, 0, tzinfo=UTC)


def move_clock_to(at: datetime) -> None:
    timesource.advance(at - timesource.utcnow())


def wait_until(condition: Callable[[], bool], seconds: float = 60.0) -> bool:
    """Poll for something another process or thread does (not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# -- measures and the risk pathway -------------------------------------------------------


NO_RISK = {f"phq9_{n}": 1 for n in range(1, 10)} | {"phq9_9": 0}  # total 8
ITEM_9 = {**NO_RISK, "phq9_9": 1}  # total 9, item 9 flags risk


def phq9(*values: int) -> dict[str, int]:
    return {f"phq9_{n}": v for n, v in enumerate(values, start=1)}


def answers_for(instrument: Instrument, total: int) -> dict[str, int]:
    """Item answers adding up to ``total``, with no risk item endorsed."""
    answers: dict[str, int] = {}
    left = total
    for item in instrument.items:
        if item.key in instrument.risk_items:
            answers[item.key] = 0
            continue
        answers[item.key] = min(left, instrument.max_answer)
        left -= answers[item.key]
    assert left == 0
    return answers


def add_score(
    enrolment_id: int,
    cohort_id: int,
    total: int,
    at: datetime,
    instrument: Instrument = PHQ9,
    *,
    source: str = "staff",
    session_id: int | None = None,
    meeting_id: int | None = None,
) -> None:
    """An assessment row as the assessments API would store it (at a session or an
    individual meeting when given)."""
    answers = answers_for(instrument, total)
    scored = score(instrument, answers)
    assert scored.total == total
    db.session.add(
        Assessment(
            enrolment_id=enrolment_id,
            cohort_id=cohort_id,
            session_id=session_id,
            meeting_id=meeting_id,
            instrument=instrument.key,
            instrument_name=instrument.name,
            answers=answers,
            total=scored.total,
            band=scored.band,
            risk_items=list(scored.risk_items),
            source=source,
            completed_at=at,
        )
    )


def enter(fac: ApiClient, enrolment_id: int, answers: dict[str, int], **kw: Any) -> Any:
    body = {"instrument": "phq9", "answers": answers, **kw}
    return fac.post(f"/api/enrolments/{enrolment_id}/assessments", json=body)


def supervised_group(fac: ApiClient, users: dict[str, int], members: int = 2) -> dict[str, Any]:
    cohort = create_cohort(fac, supervisor_ids=[users["supervisor"]])
    made = [enrol(fac, cohort["id"], f"Member {chr(65 + i)}") for i in range(members)]
    sessions = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    return {"cohort": cohort, "members": made, "sessions": sessions}


def member_id(g: dict[str, Any], n: int = 0) -> int:
    return g["members"][n]["enrolment"]["id"]


def mark(client: ApiClient, session_id: int, marks: dict[int, str]) -> None:
    entries = [{"enrolment_id": e, "status": s} for e, s in marks.items()]
    response = client.put(f"/api/sessions/{session_id}/attendance", json={"entries": entries})
    assert response.status_code == 200, response.json


# -- push and the clock process ----------------------------------------------------------


def run_clock(app: Flask) -> dispatcher.Report:
    """What the clock's plan and dispatch jobs do on one tick."""
    with app.app_context():
        reminders.plan()
        db.session.commit()
        report = dispatcher.for_app(app).drain()
        db.session.remove()
    return report


def rows(app: Flask, **where: Any) -> list[Notification]:
    with app.app_context():
        stmt = select(Notification).order_by(Notification.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(Notification, name) == value)
        found = list(db.session.scalars(stmt))
        db.session.expunge_all()
        return found


def push_member(app: Flask, as_role: Any, fake_push: Any) -> dict[str, Any]:
    """A cohort of two; member A has a phone subscribed, no quiet hours, and (so
    each test sees one message kind) no check-in nudges. The ``member`` fixture
    (tests/conftest.py) calls it with the ``frozen`` clock."""
    fac = as_role("facilitator")
    g = group(app, fac)
    a = g["members"][0]
    client = phone(app, a["invite"]["code"])
    sub = subscribe(client, fake_push)
    prefs = {"quiet_hours": None, "checkin_due": False}
    put = client.put("/api/me/notification-preferences", json=prefs)
    assert put.status_code == 200 and put.json["quiet_hours"] is None
    return {**g, "client": client, "sub": sub, "username": a["enrolment"]["username"], "fac": fac}


ROOT = Path(__file__).resolve().parent.parent


def start_clock(app: Flask, fake: Any, **env: str) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "APP_ENV": "test",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_PATH": app.instance_path,  # the same VAPID keys as the app
        "PUSH_ALLOWED_HOSTS": ",".join((*DEFAULT_PUSH_HOSTS, fake.origin)),
        "LOG_LEVEL": "INFO",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "clock"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def due_test_pushes(
    app: Flask, as_role: Any, fake_push: Any, user_id: int, prefix: str, count: int = 12
) -> tuple[dict[str, Any], list[int]]:
    """The participant's phone subscribed, and ``count`` test notifications due
    now on the wall clock (the clock process does not share the frozen one):
    the subscription and the notifications' ids."""
    member = as_role("participant")
    sub = fake_push.new_subscription()
    assert member.post("/api/push/subscriptions", json=sub).status_code == 201
    now = datetime.now(UTC)
    with app.app_context():
        made = [
            Notification(
                user_id=user_id,
                kind=NotificationKind.TEST,
                dedupe_key=f"{prefix}:{i}",
                ref_type="test",
                due_at=now,
            )
            for i in range(count)
        ]
        db.session.add_all(made)
        db.session.commit()
        return sub, sorted(m.id for m in made)


# -- programmes, instruments and the access matrix ---------------------------------------


CUSTOM = {
    "key": "clinic-6",
    "name": "Short clinic programme",
    "group_sessions": 6,
    "session_minutes": 75,
    "phases": {"initial": [1], "middle": [2, 3, 4, 5], "termination": [6]},
    "meetings": [{"kind": "pre_group", "after_session": 0, "label": "Pre-group meeting"}],
    "group_size_min": 5,
    "group_size_max": 9,
    "late_join_sessions": 1,
}
PROGRAMME_FIELDS = (
    "description", "group_sessions", "session_minutes", "phases", "meetings",
    "group_size_min", "group_size_max", "late_join_sessions", "measures",
)  # fmt: skip
INSTRUMENT = {
    "key": "local_sleep",
    "name": "Sleep this week",
    "items": [{"key": "sl_1", "text": {"en": "How well did you sleep?"}}],
    "min_answer": 0,
    "max_answer": 3,
    "bands": [{"low": 0, "high": 3, "label": "any"}],
}
MATRIX_PIN = "864213"


# -- the outcomes data set (tests/test_outcomes.py describes it) -------------------------


SHORT_4 = {
    "key": "short-4", "name": "Four-session programme", "group_sessions": 4,
    "session_minutes": 60, "phases": {"initial": [1], "middle": [2, 3], "termination": [4]},
    "meetings": [{"kind": "pre_group", "after_session": 0, "label": "Pre-group meeting"}],
    "group_size_min": 2, "group_size_max": 10,
}  # fmt: skip

FORMULA_NAME = '=HYPERLINK("https://evil.example","Eve")'
NAMES = {
    "eve": FORMULA_NAME, "ada": "Ada Rivers", "ben": "Ben Okafor", "cleo": "Cleo Marsh",
    "dev": "Dev Lanning", "hal": "Hal Moreno", "fay": "Fay Waiting", "gus": "Gus Referred",
    "ivy": "Ivy Stone", "jon": "Jon Pike",
}  # fmt: skip
ADA_EMAIL = "ada.rivers@example.org"
ADA_PHONE = "+447400123458"

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the frozen clock
AFTER_S3 = datetime(2026, 3, 24, 18, 0, tzinfo=UTC)
AFTER_S4 = datetime(2026, 3, 31, 18, 0, tzinfo=UTC)


def clinic(app: Flask, as_role: Any, users: dict[str, int]) -> dict[str, Any]:
    """Build the data set described at the top of tests/test_outcomes.py; the
    clock ends at 31 March 18:00 UTC."""
    admin: ApiClient = as_role("admin")
    assert admin.post("/api/programmes", json=SHORT_4).status_code == 201
    with app.app_context():
        fac2_id = create_user(
            "facilitator", "second.facilitator@test.example", display_name="Second Facilitator"
        ).id
    fac: ApiClient = as_role("facilitator")
    a = create_cohort(fac, name="Group A", programme_key="short-4", capacity=5)["id"]
    fac2 = ApiClient(app.test_client())
    assert fac2.login("second.facilitator@test.example").status_code == 200
    b = create_cohort(fac2, name="Group B", supervisor_ids=[users["supervisor"]])["id"]

    ids: dict[str, int] = {}

    def add(cohort_id: int, key: str, client: ApiClient = fac, **kw: Any) -> None:
        ids[key] = enrol(client, cohort_id, NAMES[key], **kw)["enrolment"]["id"]

    add(a, "ada", contact_email=ADA_EMAIL, contact_phone=ADA_PHONE)
    add(a, "ben")
    add(a, "cleo")
    add(a, "hal")
    moved = admin.post(f"/api/enrolments/{ids['hal']}/move", json={"cohort_id": b})
    assert moved.status_code == 200
    ids["hal_old"], ids["hal"] = ids["hal"], moved.json["id"]
    add(a, "dev")
    add(a, "eve")
    add(a, "fay")  # the group is full: waitlisted
    add(a, "gus", screening={"suicide_plan_or_attempt": True, "needs_specialist_care": False})
    add(b, "ivy", fac2)
    add(b, "jon", fac2)
    listed = {e["display_name"]: e["status"] for e in fac.get(f"/api/cohorts/{a}/enrolments").json}
    assert listed[NAMES["fay"]] == "waitlisted" and listed[NAMES["gus"]] == "referred"
    assert listed[NAMES["hal"]] == "moved"

    sa = [s["id"] for s in fac.get(f"/api/cohorts/{a}/sessions").json]
    sb = [s["id"] for s in fac2.get(f"/api/cohorts/{b}/sessions").json]
    assert len(sa) == 4 and len(sb) == 8

    move_clock_to(AFTER_S3)
    fac = as_role("facilitator")  # the old login timed out while the clock moved
    i = ids
    mark(fac, sa[0], {i["eve"]: "present", i["ada"]: "present", i["ben"]: "present",
                      i["cleo"]: "late", i["dev"]: "absent"})  # fmt: skip
    mark(fac, sa[1], {i["eve"]: "present", i["ada"]: "absent", i["ben"]: "absent"})
    mark(fac, sa[2], {i["eve"]: "present", i["ada"]: "excused", i["ben"]: "absent",
                      i["cleo"]: "present", i["dev"]: "excused"})  # fmt: skip
    out = fac.post(f"/api/enrolments/{i['dev']}/withdraw", json={"reason": "Moved away"})
    assert out.status_code == 200 and out.json["status"] == "withdrawn"
    fac2 = ApiClient(app.test_client())
    fac2.login("second.facilitator@test.example")
    mark(fac2, sb[0], {i["hal"]: "present", i["ivy"]: "present", i["jon"]: "absent"})
    mark(fac2, sb[1], {i["hal"]: "present", i["ivy"]: "absent", i["jon"]: "absent"})

    move_clock_to(AFTER_S4)
    fac = as_role("facilitator")
    mark(fac, sa[3], {i["eve"]: "present", i["ada"]: "present", i["ben"]: "absent",
                      i["cleo"]: "absent"})  # fmt: skip

    day = timedelta(days=1)
    with app.app_context():
        # Inserted latest first: the order of completion counts, not of insertion.
        add_score(i["eve"], a, 8, START + 29 * day)
        add_score(i["eve"], a, 20, START)
        add_score(i["eve"], a, 15, START + 15 * day)
        add_score(i["eve"], a, 3, START + 29 * day + timedelta(hours=1), instrument=GAD7)
        add_score(i["ada"], a, 14, START + day)
        add_score(i["ada"], a, 4, START + 28 * day, source="self")
        add_score(i["ben"], a, 12, START)
        add_score(i["ben"], a, 15, START + 22 * day)
        add_score(i["cleo"], a, 11, START)
        add_score(i["hal_old"], a, 22, START)
        add_score(i["hal"], b, 18, START + day)
        add_score(i["hal"], b, 6, START + 29 * day)
        add_score(i["ivy"], b, 9, START)
        add_score(i["ivy"], b, 3, START + 29 * day)
        db.session.commit()
    return {"a": a, "b": b, "sa": sa, "sb": sb, "ids": ids, "fac": fac, "fac2_id": fac2_id}


def grow_cohorts(app: Flask, fac: ApiClient, supervisor: int, n: int, first_k: int = 0) -> None:
    """n more cohorts, each with members, an open alert and a reminder row."""
    for k in range(first_k, first_k + n):
        cohort = create_cohort(fac, name=f"Grown {k}", supervisor_ids=[supervisor])
        first = enrol(fac, cohort["id"], f"Grown member {k}")["enrolment"]["id"]
        enrol(fac, cohort["id"], f"Other grown member {k}")
        with app.app_context():
            session_id = db.session.get(Cohort, cohort["id"]).sessions[0].id
            db.session.add(RiskAlert(cohort_id=cohort["id"], enrolment_id=first, source="worried"))
            user = create_user("participant", None, username=f"grown-{k}").id
            db.session.get(Enrolment, first).user_id = user
            db.session.add(
                Notification(
                    user_id=user, kind="session_24h", dedupe_key=f"g:{k}", ref_type="session",
                    ref_id=session_id, due_at=datetime(2026, 3, 1, tzinfo=UTC), status="sent",
                    channel="push",
                )
            )  # fmt: skip
            db.session.commit()


@contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


# -- the privacy story (tests/test_privacy.py) -------------------------------------------


MARKS_KEY = {"Idempotency-Key": "marks-session-2"}
STORY_SESSION_1 = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
STORY_SESSION_2 = datetime(2026, 3, 17, 17, 0, tzinfo=UTC)

A_PRE = phq9(3, 3, 2, 2, 2, 2, 1, 1, 0)  # 16
A_S2 = phq9(2, 2, 1, 1, 1, 1, 1, 0, 0)  # 9
B_PRE = phq9(2, 2, 2, 2, 1, 1, 1, 1, 0)  # 12
B_S2 = phq9(2, 2, 2, 2, 2, 1, 1, 1, 0)  # 13

# Everything personal about A that the story stores, and that erasure must remove.
A_SECRETS = {
    "name": "Ada Quill",
    "phone": "+447400123456",
    "email": "ada.quill@example.org",
    "goal": "Talk to Maria about the move",
    "note": "Spoke about her sister Maria and the move",
    "task": "Ask Maria to meet for tea",
    "concern": "Said she feels hopeless since the move",
    "action_note": "Called her; safety plan reviewed together",
    "apology": "Hospital appointment",
    "withdrawal": "Moving to another city",
    "fidelity_comment": "Ada named the move as her area straight away",
}


def privacy_story(
    app: Flask, as_role: Any, users: dict[str, int], fake_push: Any
) -> dict[str, Any]:
    """Member A's whole journey, for the erasure tests (the ``story`` fixture:
    tests/conftest.py). Call with the ``frozen`` clock running."""
    with app.app_context():
        assert content.import_library(SYSTEM).problems == []
        db.session.commit()
    fac = as_role("facilitator")
    cohort = create_cohort(fac, supervisor_ids=[users["supervisor"]])
    cid = cohort["id"]
    assert fac.post(f"/api/cohorts/{cid}/status", json={"status": "active"}).status_code == 200
    a = enrol(
        fac, cid, A_SECRETS["name"], contact_phone=A_SECRETS["phone"],
        contact_email=A_SECRETS["email"], goal=A_SECRETS["goal"],
    )  # fmt: skip
    b = enrol(fac, cid, "Member B")
    c = enrol(fac, cid, "Member C")
    a_id, b_id, c_id = (m["enrolment"]["id"] for m in (a, b, c))
    username = a["enrolment"]["username"]
    sessions = fac.get(f"/api/cohorts/{cid}/sessions").json
    s1, s2, s3 = (s["id"] for s in sessions[:3])

    # A joins on her phone: PIN, preferences, a push device, a calendar feed.
    redeemed = ApiClient(app.test_client()).post(
        "/api/invites/redeem", json={"code": a["invite"]["code"], "pin": PIN}
    )
    assert redeemed.status_code == 200, redeemed.json
    me = phone_login(app, username)
    prefs = {"quiet_hours": None, "checkin_due": False}
    assert me.put("/api/me/notification-preferences", json=prefs).status_code == 200
    sub = fake_push.new_subscription()
    assert me.post("/api/push/subscriptions", json=sub).status_code == 201
    assert me.post("/api/me/calendar-feed").status_code == 201

    for member, answers in ((a_id, A_PRE), (b_id, B_PRE)):
        body = {"instrument": "phq9", "answers": answers}
        assert fac.post(f"/api/enrolments/{member}/assessments", json=body).status_code == 201

    move_clock_to(STORY_SESSION_1 - timedelta(hours=40))  # the check-in for session 1 is open
    me = phone_login(app, username)
    checkin = {"instrument": "mood", "answers": {"mood": 6}}
    assert me.post("/api/me/check-in", json=checkin).status_code == 201

    move_clock_to(STORY_SESSION_1)
    fac = as_role("facilitator")
    assert fac.post(f"/api/sessions/{s1}/attendance/all-present", json={}).status_code == 200
    note = {"enrolment_id": a_id, "body": A_SECRETS["note"]}
    assert fac.post(f"/api/sessions/{s1}/notes", json=note).status_code == 201
    group_note = {"body": "Group note: Member B spoke first"}
    assert fac.post(f"/api/sessions/{s1}/notes", json=group_note).status_code == 201
    tasks = {"tasks": [{"enrolment_id": a_id, "text": A_SECRETS["task"]}]}
    assert fac.put(f"/api/sessions/{s1}/tasks", json=tasks).status_code == 200
    # The facilitator's fidelity checklist, with her own words about A.
    checklist = fac.get(f"/api/sessions/{s1}/fidelity").json["items"]
    answers = [
        {"key": i["key"], "enrolment_id": i["enrolment_id"], "answer": "yes"}
        | ({"comment": A_SECRETS["fidelity_comment"]} if i["enrolment_id"] == a_id else {})
        for i in checklist
    ]
    assert fac.put(f"/api/sessions/{s1}/fidelity", json={"answers": answers}).status_code == 200
    with app.app_context():
        clock.release_content()  # the clock's job: readings out, one notification each
        db.session.commit()
    me = phone_login(app, username)
    assert me.get("/api/me/readings/what-is-depression").status_code == 200
    apology = {"reason": A_SECRETS["apology"]}
    assert me.put(f"/api/me/sessions/{s3}/cannot-come", json=apology).status_code == 200

    move_clock_to(STORY_SESSION_2 + timedelta(hours=1))
    fac = as_role("facilitator")
    marks = {"entries": [
        {"enrolment_id": a_id, "status": "present"},
        {"enrolment_id": b_id, "status": "late"},
        {"enrolment_id": c_id, "status": "absent"},
    ]}  # fmt: skip
    # Sent as an offline tablet would: the reply, naming every member, is kept.
    sent = fac.put(f"/api/sessions/{s2}/attendance", json=marks, headers=MARKS_KEY)
    assert sent.status_code == 200 and A_SECRETS["name"] in sent.get_data(as_text=True)
    for member, answers in ((a_id, A_S2), (b_id, B_S2)):
        body = {"instrument": "phq9", "answers": answers, "session_id": s2}
        assert fac.post(f"/api/enrolments/{member}/assessments", json=body).status_code == 201
    worried = fac.post(f"/api/enrolments/{a_id}/worried", json={"concern": A_SECRETS["concern"]})
    assert worried.status_code == 201
    return {
        "cohort_id": cid, "a": a_id, "b": b_id, "c": c_id, "username": username,
        "user_id": me.user_id, "alert_id": worried.json["alert"]["id"], "sessions": (s1, s2, s3),
        "endpoint": sub["endpoint"], "fac": fac, "phone": me,
    }  # fmt: skip


def withdraw_and_acknowledge(story: dict[str, Any], as_role: Any) -> None:
    withdrawn = story["fac"].post(
        f"/api/enrolments/{story['a']}/withdraw", json={"reason": A_SECRETS["withdrawal"]}
    )
    assert withdrawn.status_code == 200, withdrawn.json
    ack = {"action": "contacted", "note": A_SECRETS["action_note"]}
    sup = as_role("supervisor")
    assert sup.post(f"/api/alerts/{story['alert_id']}/acknowledge", json=ack).status_code == 200


def erase(admin: ApiClient, user_id: int, **body: Any) -> Any:
    return admin.post(
        f"/api/users/{user_id}/erase",
        json={"confirm": "erase", "reason": "member_request", **body},
    )
