"""The access matrix: every operation in the OpenAPI spec, called as every persona.

The expected status of each call is written in ``tests/access_matrix.txt``, one
row per operation, so who may do what is reviewable in one place. The operations
come from ``/api/openapi.json`` itself: a new endpoint without a row fails here,
and so does a row for an endpoint that no longer exists.

Every call starts from the same data: the world is built once, snapshotted, and
restored after any call that may have changed it, so an admin's successful
delete cannot turn a later persona's answer into a 404. Every call also uses a
fresh client carrying only that persona's cookie, so a login, logout or invite
redemption cannot leak into the next call.

Targets all belong to cohort A (or to a person in it), so the columns read:
who may touch cohort A's things, and who must get 401 / 403 / 404 instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from ipt_groups import timesource
from ipt_groups.extensions import db
from ipt_groups.messaging import messages
from ipt_groups.models import Notification, SmsReply, User
from ipt_groups.services import content
from ipt_groups.services.audit import SYSTEM
from tests.conftest import PASSWORD, ApiClient, create_user
from tests.factories import (
    INSTRUMENT,
    MATRIX_PIN,
    PROGRAMME_FIELDS,
    create_cohort,
    enrol,
    member_body,
)

TABLE = Path(__file__).with_name("access_matrix.txt")
PERSONAS = ("anon", "mem_a", "mem_b", "fac_a", "fac_b", "sup_a", "admin")
METHODS = ("get", "post", "put", "patch", "delete")
# Words only cohort A's staff may ever see (checked in every other persona's answers).
CONCERN = "Said the week felt hopeless"
GROUP_NOTE = "Rules agreed, two members quiet"
COOKIE = "ipt_session"


def read_table() -> dict[str, dict[str, int]]:
    """``{"GET /api/cohorts/{cohort_id}": {"anon": 401, ...}}`` from the text table."""
    rows: dict[str, dict[str, int]] = {}
    for number, line in enumerate(TABLE.read_text().splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        method, path, *codes = line.split()
        if len(codes) != len(PERSONAS):
            raise AssertionError(f"access_matrix.txt line {number}: {len(codes)} columns")
        key = f"{method} {path}"
        if key in rows:
            raise AssertionError(f"access_matrix.txt line {number}: {key} twice")
        rows[key] = dict(zip(PERSONAS, map(int, codes), strict=True))
    return rows


def spec_operations(app: Flask) -> list[str]:
    spec = app.test_client().get("/api/openapi.json").json
    return [
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in METHODS
        if method in item
    ]


# What each persona must never read, in any answer to any operation: another
# cohort's names and clinical words, another member's name.
NOT_THEIRS = {
    "anon": ("Member A", "Tuesday evening group", CONCERN, GROUP_NOTE),
    "mem_b": ("Member A", "Tuesday evening group", CONCERN, GROUP_NOTE),
    "fac_b": ("Member A", "Tuesday evening group", CONCERN, GROUP_NOTE),
    "mem_a": ("Member A2", "Member A3", CONCERN, GROUP_NOTE),
}
# Whoever holds the invite code or the feed token is that member, by design.
CAPABILITY_OPERATIONS = frozenset(
    {
        "POST /api/invites/check",
        "POST /api/invites/redeem",
        "GET /api/calendar/{token}.ics",
        "POST /api/push/shown",
    }
)


# --- The world ---------------------------------------------------------------------


@dataclass
class Persona:
    cookie: str | None
    csrf: str | None


def _cookie_of(client: ApiClient) -> str:
    cookie = client.client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def _receipt(app: Flask, notification_id: int) -> str:
    """The "shown" token the push payload of that notification carries."""
    with app.app_context():
        row = db.session.get(Notification, notification_id)
        return messages.receipt(row, app.config["SECRET_KEY"].encode())


def _redeem(app: Flask, code: str) -> tuple[str, int]:
    """Join with the invite; returns the member's username and user id."""
    response = app.test_client().post("/api/invites/redeem", json={"code": code, "pin": MATRIX_PIN})
    assert response.status_code == 200, response.json
    return response.json["user"]["username"], response.json["user"]["id"]


def _member(app: Flask, username: str) -> ApiClient:
    client = ApiClient(app.test_client())
    assert client.login(username=username, password=MATRIX_PIN).status_code == 200
    return client


def _login(app: Flask, email: str) -> ApiClient:
    client = ApiClient(app.test_client())
    assert client.login(email).status_code == 200
    return client


def _move_clock_to(starts_at: str) -> None:
    """Half an hour into the session that starts at ``starts_at``."""
    target = datetime.fromisoformat(starts_at) + timedelta(minutes=30)
    timesource.advance(target - timesource.utcnow())


def build_world(app: Flask, push: Any) -> tuple[dict[str, Any], dict[str, Persona]]:
    """Cohort A (facilitator A, supervisor A, members A and A2) and cohort B
    (facilitator B, member B), with one of every kind of thing in cohort A."""
    with app.app_context():
        assert content.import_library(SYSTEM).problems == []
        db.session.commit()
        for role, email in [
            ("admin", "admin@test.example"),
            ("supervisor", "sup.a@test.example"),
            ("facilitator", "fac.a@test.example"),
            ("facilitator", "fac.b@test.example"),
            ("facilitator", "spare@test.example"),
        ]:
            create_user(role, email)
        ids = {
            name: db.session.scalar(select(User.id).where(User.email == f"{name}@test.example"))
            for name in ("sup.a", "spare")
        }
    fac_a = _login(app, "fac.a@test.example")
    fac_b = _login(app, "fac.b@test.example")

    cohort = create_cohort(fac_a, supervisor_ids=[ids["sup.a"]])
    a = enrol(fac_a, cohort["id"], "Member A")
    a2 = enrol(fac_a, cohort["id"], "Member A2")
    other = create_cohort(fac_b, name="Other group")
    b = enrol(fac_b, other["id"], "Member B")
    mem_a_name, mem_a_id = _redeem(app, a["invite"]["code"])
    mem_b_name, _ = _redeem(app, b["invite"]["code"])
    a3 = enrol(fac_a, cohort["id"], "Member A3")
    _, a3_user_id = _redeem(app, a3["invite"]["code"])
    referred = fac_a.post(
        f"/api/cohorts/{cohort['id']}/enrolments",
        json=member_body(
            "Member R",
            screening={"suicide_plan_or_attempt": False, "needs_specialist_care": True},
        ),
    )
    assert referred.status_code == 201, referred.json
    withdrawn = fac_a.post(
        f"/api/enrolments/{a3['enrolment']['id']}/withdraw", json={"reason": "moved away"}
    )
    assert withdrawn.status_code == 200, withdrawn.json
    later = create_cohort(fac_a, name="Spring group", start_date="2026-05-05")
    started = fac_a.post(f"/api/cohorts/{cohort['id']}/status", json={"status": "active"})
    assert started.status_code == 200, started.json
    sessions = fac_a.get(f"/api/cohorts/{cohort['id']}/sessions").json
    s1, s2, s3 = sessions[0], sessions[1], sessions[2]

    # Session 1 is held: attendance (A2 absent -> a follow-up), tasks for next week.
    _move_clock_to(s1["starts_at"])
    fac_a = _login(app, "fac.a@test.example")
    marks = {
        "entries": [
            {"enrolment_id": a["enrolment"]["id"], "status": "present"},
            {"enrolment_id": a2["enrolment"]["id"], "status": "absent"},
        ]
    }
    assert fac_a.put(f"/api/sessions/{s1['id']}/attendance", json=marks).status_code == 200
    tasks = {"tasks": [{"enrolment_id": a["enrolment"]["id"], "text": "Call a friend"}]}
    task = fac_a.put(f"/api/sessions/{s1['id']}/tasks", json=tasks).json[0]

    # Now during session 2: the check-in is open and last week's task can be reviewed.
    # (A week on, everyone logs in again: sessions time out.)
    _move_clock_to(s2["starts_at"])
    admin = _login(app, "admin@test.example")
    fac_a = _login(app, "fac.a@test.example")
    fac_b = _login(app, "fac.b@test.example")
    sup_a = _login(app, "sup.a@test.example")
    mem_a = _member(app, mem_a_name)
    mem_b = _member(app, mem_b_name)
    spare_invite = fac_a.post(f"/api/enrolments/{a2['enrolment']['id']}/invites").json
    worried = fac_a.post(
        f"/api/enrolments/{a['enrolment']['id']}/worried", json={"concern": CONCERN}
    )
    assert worried.status_code == 201, worried.json
    alert_id = worried.json["alert"]["id"]
    check_in = mem_a.get("/api/me/check-in").json
    assert check_in["due"], check_in
    due = check_in["instruments"][0]
    assert (
        fac_a.post(f"/api/sessions/{s1['id']}/notes", json={"body": GROUP_NOTE}).status_code == 201
    )
    sibling = {"name": "J", "relationship": "sibling", "closeness": "inner", "good": "Listens"}
    inventory = {"base_version": 0, "people": [sibling]}
    put = fac_a.put(f"/api/enrolments/{a['enrolment']['id']}/inventory", json=inventory)
    assert put.status_code == 200, put.json
    notification = sup_a.get("/api/me/notifications").json["items"][0]
    # Fidelity: session 1's checklist filled and reviewed (its feedback can be
    # marked read); session 2's filled and waiting for the supervisor.
    for session in (s1, s2):
        questions = fac_a.get(f"/api/sessions/{session['id']}/fidelity").json["items"]
        answers = [fidelity_answer(q) for q in questions]
        filled = fac_a.put(f"/api/sessions/{session['id']}/fidelity", json={"answers": answers})
        assert filled.status_code == 200, filled.json
    s2_answers = answers
    reviewed = sup_a.post(
        f"/api/sessions/{s1['id']}/fidelity/review", json={"rating": 4, "feedback": "Good round."}
    )
    assert reviewed.status_code == 200, reviewed.json
    follow_up = fac_a.get(f"/api/cohorts/{cohort['id']}/follow-ups").json[0]
    agenda_item = fac_a.get(f"/api/sessions/{s2['id']}/agenda").json["items"][0]
    skipped = fac_a.post(
        f"/api/cohorts/{cohort['id']}/skipped-dates", json={"day": "2026-04-07"}
    ).json
    closed = admin.post("/api/closed-dates", json={"day": "2026-12-25", "label": "Holiday"}).json
    assert fac_a.post(
        f"/api/cohorts/{cohort['id']}/releases", json={"item_key": "role-play"}
    ).status_code in (200, 201)
    who8 = admin.get("/api/programmes/who-8").json
    programme = {k: who8[k] for k in PROGRAMME_FIELDS} | {"key": "local-6", "name": "Local"}
    assert admin.post("/api/programmes", json=programme).status_code == 201
    assert admin.post("/api/instruments", json=INSTRUMENT).status_code == 201
    subscription = push.new_subscription()
    device = mem_a.post("/api/push/subscriptions", json=subscription).json
    agenda = [
        {k: item[k] for k in ("id", "title", "guidance", "minutes", "kind")}
        for item in fac_a.get(f"/api/sessions/{s2['id']}/agenda").json["items"]
    ]
    feed = mem_a.post("/api/me/calendar-feed").json
    reply = SmsReply(
        enrolment_id=a["enrolment"]["id"], action="message", text="running late",
        provider="twilio", provider_id="SM" + "0" * 32,
    )  # fmt: skip
    with app.app_context():
        db.session.add(reply)
        db.session.commit()
        reply_id = reply.id

    world = {
        "cohort_id": cohort["id"],
        "other_cohort_id": other["id"],
        "session_id": s2["id"],
        "later_session_id": s3["id"],
        "later_cohort_id": later["id"],
        "withdrawn_id": a3["enrolment"]["id"],
        "check_in": {
            "instrument": due["key"],
            "answers": {item["key"]: due["min_answer"] for item in due["items"]},
        },
        "meeting_id": a["enrolment"]["meetings"][0]["id"],
        "item_id": agenda_item["id"],
        "enrolment_id": a["enrolment"]["id"],
        "invite_id": spare_invite["id"],
        "invite_code": spare_invite["code"],
        "follow_up_id": follow_up["id"],
        "task_id": task["id"],
        "alert_id": alert_id,
        "notification_id": notification["id"],
        "receipt": _receipt(app, notification["id"]),
        "skipped_id": skipped["id"],
        "closed_id": closed["id"],
        "programme": programme,
        "programme_key": "local-6",
        "instrument_key": INSTRUMENT["key"],
        "new_subscription": push.new_subscription(),
        "device_endpoint": subscription["endpoint"],
        "agenda": agenda,
        "content_key": "role-play",
        "device_id": device["id"],
        "token": feed["url"].rsplit("/", 1)[-1].removesuffix(".ics"),
        "user_id": ids["spare"],
        "member_a_user_id": mem_a_id,
        "erasable_user_id": a3_user_id,  # left the group, no open alert
        "referred_id": referred.json["enrolment"]["id"],  # no account
        "language": "es",
        "reply_id": reply_id,
        "held_session_id": s1["id"],
        "fidelity_answers": s2_answers,
        "fac_a_user_id": fac_a.user_id,
    }
    personas = {"anon": Persona(None, None)}
    for name, c in [
        ("mem_a", mem_a),
        ("mem_b", mem_b),
        ("fac_a", fac_a),
        ("fac_b", fac_b),
        ("sup_a", sup_a),
        ("admin", admin),
    ]:
        personas[name] = Persona(_cookie_of(c), c.csrf)
    return world, personas


def fidelity_answer(question: dict[str, Any]) -> dict[str, Any]:
    return {"key": question["key"], "enrolment_id": question["enrolment_id"], "answer": "yes"}


# --- What each call sends ----------------------------------------------------------

Body = dict[str, Any] | None
BODIES: dict[str, Callable[[dict[str, Any], str], Body]] = {
    "POST /api/auth/login": lambda w, p: {"email": "nobody@test.example", "password": "wrong"},
    "PATCH /api/me": lambda w, p: {"language": "es"},
    "PUT /api/me/channels": lambda w, p: {"channels": ["push", "sms"]},
    "PUT /api/clinic/sms-usage": lambda w, p: {"sms_cap": 1000},
    "POST /api/me/password": lambda w, p: {
        "current_password": MATRIX_PIN if p.startswith("mem") else PASSWORD,
        "new_password": "another long passphrase 42" if not p.startswith("mem") else "975310",
    },
    "POST /api/users": lambda w, p: {
        "email": "new.staff@test.example",
        "display_name": "New staff",
        "role": "facilitator",
        "password": "a long enough passphrase 7",
    },
    "PATCH /api/users/{user_id}": lambda w, p: {"display_name": "Renamed"},
    "POST /api/programmes": lambda w, p: {**w["programme"], "key": "local-7"},
    "PATCH /api/programmes/{key}": lambda w, p: {"name": "Renamed programme"},
    "POST /api/cohorts": lambda w, p: {
        "name": "New group",
        "programme_key": "who-8",
        "time_zone": "Europe/London",
        "weekday": 3,
        "local_time": "10:00",
        "start_date": "2026-05-06",
    },
    "PATCH /api/cohorts/{cohort_id}": lambda w, p: {"name": "Renamed"},
    "POST /api/cohorts/{cohort_id}/status": lambda w, p: {"status": "cancelled"},
    "POST /api/cohorts/{cohort_id}/skipped-dates": lambda w, p: {"day": "2026-04-14"},
    "POST /api/closed-dates": lambda w, p: {"day": "2026-12-26", "label": "Closed"},
    "POST /api/cohorts/{cohort_id}/sessions": lambda w, p: {"starts_at_local": "2026-05-02T17:00"},
    "POST /api/sessions/{session_id}/reschedule": lambda w, p: {
        "starts_at_local": "2026-03-18T17:00"
    },
    "PATCH /api/meetings/{meeting_id}": lambda w, p: {"location": "Room 9"},
    "PUT /api/sessions/{session_id}/agenda": lambda w, p: {"items": w["agenda"]},
    "POST /api/agenda-items/{item_id}/tick": lambda w, p: {"done": True},
    "POST /api/cohorts/{cohort_id}/enrolments": lambda w, p: {
        "display_name": "Member C",
        "problem_areas": ["life_changes"],
        "screening": {"suicide_plan_or_attempt": False, "needs_specialist_care": False},
        "consent": {"version": "2026-01", "given": True},
    },
    "PATCH /api/enrolments/{enrolment_id}": lambda w, p: {"goal": "Sleep better"},
    "POST /api/enrolments/{enrolment_id}/withdraw": lambda w, p: {"reason": "moved away"},
    "POST /api/enrolments/{enrolment_id}/move": lambda w, p: {"cohort_id": w["later_cohort_id"]},
    "POST /api/invites/check": lambda w, p: {"code": w["invite_code"]},
    "POST /api/invites/redeem": lambda w, p: {"code": w["invite_code"], "pin": "135792"},
    "POST /api/push/shown": lambda w, p: {"token": w["receipt"]},
    "PUT /api/sessions/{session_id}/attendance": lambda w, p: {
        "entries": [{"enrolment_id": w["enrolment_id"], "status": "late"}]
    },
    "PUT /api/me/sessions/{session_id}/cannot-come": lambda w, p: {},
    "POST /api/instruments": lambda w, p: {**INSTRUMENT, "key": "local_mood"},
    "POST /api/enrolments/{enrolment_id}/assessments": lambda w, p: {
        "instrument": "gad7",
        "answers": {f"gad7_{n}": 1 for n in range(1, 8)},
    },
    "POST /api/me/check-in": lambda w, p: w["check_in"],
    "POST /api/alerts/{alert_id}/acknowledge": lambda w, p: {
        "action": "contacted",
        "note": "Spoke to them.",
    },
    "POST /api/enrolments/{enrolment_id}/worried": lambda w, p: {"concern": "Seemed low."},
    "PUT /api/enrolments/{enrolment_id}/safety-plan": lambda w, p: {
        "base_version": 0,
        "sections": {
            "warning_signs": ["Not sleeping"],
            "people": [{"name": "Sam", "contact": "0"}],
        },
    },
    "POST /api/sessions/{session_id}/notes": lambda w, p: {"body": "Went well."},
    "PUT /api/enrolments/{enrolment_id}/inventory": lambda w, p: {
        "base_version": 1,
        "people": [{"id": 1, "name": "J", "relationship": "sibling", "closeness": "middle"}],
    },
    "PUT /api/sessions/{session_id}/tasks": lambda w, p: {
        "tasks": [{"enrolment_id": w["enrolment_id"], "text": "Take a walk"}]
    },
    "PUT /api/sessions/{session_id}/work/{enrolment_id}": lambda w, p: {
        "techniques": ["role_play", "problem_solving"],
        "steps": ["life_changes.old_role"],
        "progress": 2,
    },
    "POST /api/tasks/{task_id}/review": lambda w, p: {
        "review": "done",
        "session_id": w["session_id"],
    },
    "POST /api/users/{user_id}/erase": lambda w, p: {
        "confirm": "erase",
        "reason": "member_request",
    },
    "POST /api/enrolments/{enrolment_id}/erase": lambda w, p: {
        "confirm": "erase",
        "reason": "member_request",
    },
    "PATCH /api/clinic/settings": lambda w, p: {"alert_escalation_hours": 2},
    "POST /api/content": lambda w, p: {
        "key": "new-item",
        "language": "en",
        "title": "A new reading",
        "body": "Some words.",
        "tags": {"phase": "middle"},
    },
    "PATCH /api/content/{key}": lambda w, p: {"tags": {"phase": "middle"}},
    "PUT /api/content/{key}/texts/{language}": lambda w, p: {
        "title": "Juego de roles",
        "body": "Texto.",
    },
    "POST /api/cohorts/{cohort_id}/releases": lambda w, p: {"item_key": "solving-a-problem"},
    "POST /api/sessions/{session_id}/share": lambda w, p: {"item_key": "solving-a-problem"},
    "PUT /api/sessions/{session_id}/fidelity": lambda w, p: {"answers": w["fidelity_answers"]},
    "POST /api/sessions/{session_id}/fidelity/review": lambda w, p: {
        "rating": 3,
        "feedback": "Try a longer mood round.",
    },
    "POST /api/cohorts/{cohort_id}/supervision-meetings": lambda w, p: {
        "held_on": "2026-03-12",
        "duration_minutes": 60,
        "facilitator_ids": [w["fac_a_user_id"]],
        "notes": "Talked through session 1.",
        "actions": "Tick the agenda as you go.",
    },
    "PUT /api/me/notification-preferences": lambda w, p: {"session_1h": False},
    "PUT /api/push/templates": lambda w, p: {
        "templates": {"en": {"session_24h": {"body": "Tomorrow, {time}."}}}
    },
    "POST /api/push/subscriptions": lambda w, p: w["new_subscription"],
    "DELETE /api/push/subscriptions": lambda w, p: {"endpoint": w["device_endpoint"]},
}

# Path parameters whose world object depends on the operation.
PARAMS: dict[str, dict[str, str]] = {
    # Session 2 is in progress; these act on one still to come.
    "/api/sessions/{session_id}/reschedule": {"session_id": "later_session_id"},
    "/api/sessions/{session_id}/cancel": {"session_id": "later_session_id"},
    "/api/me/sessions/{session_id}/cannot-come": {"session_id": "later_session_id"},
    # Cohort A is past its late-join limit: enrol into facilitator A's next group.
    "POST /api/cohorts/{cohort_id}/enrolments": {"cohort_id": "later_cohort_id"},
    "/api/enrolments/{enrolment_id}/reactivate": {"enrolment_id": "withdrawn_id"},
    "/api/users/{user_id}/export": {"user_id": "member_a_user_id"},
    "/api/users/{user_id}/erase": {"user_id": "erasable_user_id"},
    "/api/enrolments/{enrolment_id}/export": {"enrolment_id": "referred_id"},
    "/api/enrolments/{enrolment_id}/erase": {"enrolment_id": "referred_id"},
    "/api/sessions/{session_id}/fidelity/read": {"session_id": "held_session_id"},
    "/api/follow-ups/{task_id}/done": {"task_id": "follow_up_id"},
    "/api/cohorts/{cohort_id}/skipped-dates/{date_id}": {"date_id": "skipped_id"},
    "/api/closed-dates/{date_id}": {"date_id": "closed_id"},
    "/api/programmes/{key}": {"key": "programme_key"},
    "/api/instruments/{key}": {"key": "instrument_key"},
    "/api/content/{key}": {"key": "content_key"},
    "/api/content/{key}/texts/{language}": {"key": "content_key"},
    "/api/content/{key}/versions": {"key": "content_key"},
    "/api/content/{key}/retire": {"key": "content_key"},
    "/api/cohorts/{cohort_id}/releases/{key}": {"key": "content_key"},
    "/api/me/readings/{key}": {"key": "content_key"},
    "/api/sms/africastalking/{key}/delivery": {"key": "programme_key"},
    "/api/sms/africastalking/{key}/incoming": {"key": "programme_key"},
}


def url_for(operation: str, world: dict[str, Any]) -> str:
    path = operation.split(" ", 1)[1]
    names = PARAMS.get(operation) or PARAMS.get(path, {})
    return re.sub(r"\{(\w+)\}", lambda m: str(world[names.get(m[1], m[1])]), path)


# --- Snapshot and restore ----------------------------------------------------------


def snapshot() -> dict[str, list[dict[str, Any]]]:
    return {
        table.name: [dict(row) for row in db.session.execute(select(table)).mappings()]
        for table in db.metadata.sorted_tables
    }


def restore(saved: dict[str, list[dict[str, Any]]]) -> None:
    db.session.remove()
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    for table in db.metadata.sorted_tables:
        if saved[table.name]:
            db.session.execute(table.insert(), saved[table.name])
    db.session.commit()


def call(app: Flask, persona: Persona, operation: str, world: dict[str, Any], name: str) -> Any:
    method = operation.split(" ", 1)[0]
    client = app.test_client()
    headers = {}
    if persona.cookie:
        client.set_cookie(COOKIE, persona.cookie)
        headers["X-CSRF-Token"] = persona.csrf or ""
    body = BODIES.get(operation, lambda w, p: None)(world, name)
    kwargs: dict[str, Any] = {"headers": headers}
    if method != "GET" and body is not None:
        kwargs["json"] = body
    return client.open(url_for(operation, world), method=method, **kwargs)


def run_matrix(app: Flask, push: Any) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Every operation as every persona: ``(operations, {operation: {persona: response}})``."""
    world, personas = build_world(app, push)
    operations = spec_operations(app)
    answers: dict[str, dict[str, Any]] = {}
    with app.app_context():
        saved = snapshot()
        db.session.remove()
    for operation in operations:
        answers[operation] = {}
        for name in PERSONAS:
            response = call(app, personas[name], operation, world, name)
            answers[operation][name] = response
            if not operation.startswith("GET") or response.status_code >= 500:
                with app.app_context():
                    restore(saved)
    return operations, answers


def test_every_operation_as_every_persona(app: Flask, fake_push: Any, frozen: Any) -> None:
    table = read_table()
    operations, answers = run_matrix(app, fake_push)
    assert sorted(set(operations) - set(table)) == [], "operations without a row in the table"
    assert sorted(set(table) - set(operations)) == [], "rows for operations that do not exist"
    wrong = [
        f"{op}: {name} got {answers[op][name].status_code}, table says {expected}"
        f" ({(answers[op][name].get_json(silent=True) or {}).get('error', {}).get('message')})"
        for op, row in table.items()
        for name, expected in row.items()
        if answers[op][name].status_code != expected
    ]
    assert wrong == []
    leaks = [
        f"{op}: {name} saw {word!r}"
        for op, by_persona in answers.items()
        if op not in CAPABILITY_OPERATIONS
        for name, words in NOT_THEIRS.items()
        for word in words
        if word in by_persona[name].get_data(as_text=True)
    ]
    assert leaks == []
