"""No N+1: every list and dashboard endpoint sends the same number of SQL
statements whatever the number of rows it shows.

The same clinic is built twice from an empty database, once small and once
larger (more cohorts, members, held sessions with attendance and assessments,
releases, invites, devices...), and every endpoint is read in both. The counts
must be equal, not merely "below N": a query per row shows up as a difference
however small the data. Each reading is taken on a second call, so a cache the
first call fills (settings, instruments) cannot make the sizes differ. Where a
body can grow, the test also checks it did grow, so an empty list cannot pass
for a constant one.

Which endpoints must be here comes from ``/api/openapi.json``: every GET whose
200 answer is an array, plus the dashboards listed below. One missing from both
the measurements and the commented exemptions fails the last test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from ipt_groups import timesource
from ipt_groups.clock import release_content
from ipt_groups.extensions import db
from ipt_groups.services import content
from ipt_groups.services.audit import SYSTEM
from tests.conftest import ApiClient, create_user
from tests.factories import (
    INSTRUMENT,
    ITEM_9,
    MATRIX_PIN,
    NO_RISK,
    PROGRAMME_FIELDS,
    create_cohort,
    enrol,
)
from tests.querycount import count_queries

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STAFF_EMAILS = {
    "admin": "admin@test.example",
    "supervisor": "supervisor@test.example",
    "facilitator": "facilitator@test.example",
}
# Library items a facilitator shares with the main cohort, one more per "extra".
SHARED = ("role-play", "solving-a-problem", "saying-what-you-need", "mood-and-relationships")

# Non-array answers that are lists all the same (a page, a feed, a dashboard).
DASHBOARDS = frozenset(
    {
        "/api/audit",
        "/api/users",
        "/api/outcomes",
        "/api/programme",
        "/api/programme.csv",
        "/api/cohorts/{cohort_id}/outcomes",
        "/api/cohorts/{cohort_id}/outcomes.csv",
        "/api/cohorts/{cohort_id}/trends",
        "/api/me/schedule",
        "/api/me/readings",
        "/api/me/notifications",
        "/api/me/export",
        "/api/users/{user_id}/export",
        "/api/calendar/{token}.ics",
        "/api/sessions/{session_id}/runner",
        "/api/sessions/{session_id}/attendance",
        "/api/enrolments/{enrolment_id}/record",
    }
)
# List endpoints measured elsewhere or on purpose not here, each with why.
EXEMPT = {
    # test_the_runner_is_audited_per_member_and_needs_a_fixed_number_of_queries in
    # tests/test_runner.py compares 2 and 8 members with the same kind of counter;
    # its world (risk alerts and an audit row per member) is its own, so it is not
    # built a second time here.
    "/api/sessions/{session_id}/runner": "tests/test_runner.py",
    # test_sms_replies_cost_the_same_queries_for_one_or_many in tests/test_channels.py:
    # its replies come in through the signed webhook, which this world has no provider for.
    "/api/cohorts/{cohort_id}/sms-replies": "tests/test_channels.py",
    # test_the_history_costs_the_same_queries_for_one_version_or_many in
    # tests/test_safety_plan.py: one member's versions by several authors.
    "/api/enrolments/{enrolment_id}/safety-plan/versions": "tests/test_safety_plan.py",
}


@dataclass(frozen=True)
class Size:
    cohorts: int  # the facilitator's cohorts, each with a supervisor and a member
    members: int  # enrolled in the main cohort (its capacity)
    held: int  # main-cohort sessions held: attendance, a mood rating each, one absence
    extra: int  # one more of each small thing: waitlisted, invites, releases, devices...


SMALL = Size(cohorts=2, members=2, held=1, extra=1)
LARGE = Size(cohorts=5, members=8, held=3, extra=3)


@dataclass(frozen=True)
class Reading:
    count: int
    statements: list[str]
    rows: int | None


def _reset(app: Flask) -> None:
    """An empty database (the same as conftest's cleanup between tests)."""
    with app.app_context():
        db.session.remove()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()


def _login(app: Flask, email: str | None = None, username: str | None = None) -> ApiClient:
    client = ApiClient(app.test_client())
    if username:
        assert client.login(username=username, password=MATRIX_PIN).status_code == 200
    else:
        assert client.login(email).status_code == 200
    return client


def _ok(response: Any, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200, 201)), response.get_data(as_text=True)
    return response.json


def _move_to(starts_at: str) -> None:
    """Half an hour into the session that starts at ``starts_at``."""
    target = datetime.fromisoformat(starts_at) + timedelta(minutes=30)
    timesource.advance(target - timesource.utcnow())


def build(app: Flask, push: Any, size: Size) -> dict[str, Any]:
    """The clinic at ``size``; returns logged-in clients and the ids to read."""
    with app.app_context():
        assert content.import_library(SYSTEM).problems == []
        db.session.commit()
        ids = {role: create_user(role, email).id for role, email in STAFF_EMAILS.items()}
        for n in range(size.extra):  # the staff directory grows
            create_user("facilitator", f"colleague{n}@test.example")
    admin = _login(app, STAFF_EMAILS["admin"])
    fac = _login(app, STAFF_EMAILS["facilitator"])

    # The clinic's own things: readings (with versions), closed dates, programmes, instruments.
    who8 = _ok(admin.get("/api/programmes/who-8"))
    for n in range(size.extra):
        _ok(admin.post("/api/content", json={
            "key": f"local-{n}", "title": f"Local reading {n}", "summary": "Short.",
            "body": "Some words.", "tags": {"phase": "initial", "release_session": 1},
        }))  # fmt: skip
        edit = {"title": "Local reading", "summary": "Short.", "body": f"Words {n}."}
        _ok(admin.put("/api/content/local-0/texts/en", json=edit))
        _ok(admin.post("/api/closed-dates", json={"day": f"2027-01-{n + 10:02d}"}))
        programme = {k: who8[k] for k in PROGRAMME_FIELDS}
        _ok(admin.post("/api/programmes", json=programme | {"key": f"local-{n}", "name": "L"}))
        _ok(admin.post("/api/instruments", json=INSTRUMENT | {"key": f"local_{n}"}))

    # The main cohort, full, with a waitlist; the facilitator's other cohorts, one member each.
    main = create_cohort(fac, supervisor_ids=[ids["supervisor"]], capacity=size.members)
    members = [enrol(fac, main["id"], f"Member {n}") for n in range(size.members)]
    for n in range(size.extra):
        waiting = enrol(fac, main["id"], f"Waiting {n}")
        assert waiting["enrolment"]["status"] == "waitlisted"
    others = []
    for n in range(size.cohorts - 1):
        other = create_cohort(fac, name=f"Group {n}", supervisor_ids=[ids["supervisor"]])
        others.append(enrol(fac, other["id"], f"Other {n}")["enrolment"]["id"])
        _ok(fac.post(f"/api/cohorts/{other['id']}/status", json={"status": "active"}))
    _ok(fac.post(f"/api/cohorts/{main['id']}/status", json={"status": "active"}))
    enrolments = [m["enrolment"]["id"] for m in members]

    # Member 0 joins with the invite; member 1 lost codes and got new ones.
    redeemed = app.test_client().post(
        "/api/invites/redeem", json={"code": members[0]["invite"]["code"], "pin": MATRIX_PIN}
    )
    username, member_user_id = redeemed.json["user"]["username"], redeemed.json["user"]["id"]
    for _ in range(size.extra):
        _ok(fac.post(f"/api/enrolments/{enrolments[1]}/invites"))

    # Pre-group PHQ-9s: member 0 and every other cohort's member flag risk (one alert each).
    for n, enrolment_id in enumerate(enrolments + others):
        answers = ITEM_9 if n == 0 or enrolment_id in others else NO_RISK
        body = {"instrument": "phq9", "answers": answers}
        _ok(fac.post(f"/api/enrolments/{enrolment_id}/assessments", json=body))

    # Readings shared now, skipped dates, the member's devices and calendar feed.
    for key in SHARED[: size.extra]:
        _ok(fac.post(f"/api/cohorts/{main['id']}/releases", json={"item_key": key}))
    for n in range(size.extra):
        _ok(fac.post(f"/api/cohorts/{main['id']}/skipped-dates", json={"day": f"2027-02-0{n + 1}"}))
    member = _login(app, username=username)
    for _ in range(size.extra):
        _ok(member.post("/api/push/subscriptions", json=push.new_subscription()))
    token = _ok(member.post("/api/me/calendar-feed"))["url"].rsplit("/", 1)[-1]

    # Sessions held: everyone present but one absent member (a follow-up each time),
    # a mood rating from everyone, a group note and a note and a task per member.
    sessions = _ok(fac.get(f"/api/cohorts/{main['id']}/sessions"))
    for n in range(size.held):
        sid = sessions[n]["id"]
        _move_to(sessions[n]["starts_at"])
        fac = _login(app, STAFF_EMAILS["facilitator"])  # sessions time out in a week
        _ok(fac.post(f"/api/sessions/{sid}/attendance/all-present", json={}))
        absent = {"entries": [{"enrolment_id": enrolments[n + 1], "status": "absent"}]}
        _ok(fac.put(f"/api/sessions/{sid}/attendance", json=absent))
        for enrolment_id in enrolments:
            mood = {"instrument": "mood", "answers": {"mood": 6}, "session_id": sid}
            _ok(fac.post(f"/api/enrolments/{enrolment_id}/assessments", json=mood))
    held = sessions[size.held - 1]["id"]
    _ok(fac.post(f"/api/sessions/{held}/notes", json={"body": "A good meeting."}))
    for enrolment_id in enrolments:
        note = {"enrolment_id": enrolment_id, "body": "Spoke about the move."}
        _ok(fac.post(f"/api/sessions/{held}/notes", json=note))
    tasks = [{"enrolment_id": e, "text": "Call a friend"} for e in enrolments]
    _ok(fac.put(f"/api/sessions/{held}/tasks", json={"tasks": tasks}))
    # Everyone's interpersonal inventory; member 0's revised once more per "extra".
    friend = {"name": "J", "relationship": "friend", "closeness": "inner"}
    for enrolment_id in enrolments:
        first = {"base_version": 0, "people": [friend, {**friend, "name": "K"}]}
        _ok(fac.put(f"/api/enrolments/{enrolment_id}/inventory", json=first))
    for n in range(size.extra):
        circle = "middle" if n % 2 == 0 else "inner"
        again = {"base_version": n + 1, "people": [{**friend, "id": 1, "closeness": circle}]}
        _ok(fac.put(f"/api/enrolments/{enrolments[0]}/inventory", json=again))
    with app.app_context():
        release_content()  # the clock's job: a "new reading" message per member
        db.session.commit()

    return {
        "admin": _login(app, STAFF_EMAILS["admin"]),
        "supervisor": _login(app, STAFF_EMAILS["supervisor"]),
        "facilitator": _login(app, STAFF_EMAILS["facilitator"]),
        "participant": _login(app, username=username),
        "anonymous": ApiClient(app.test_client()),
        "cohort_id": main["id"],
        "session_id": held,
        "next_session_id": sessions[size.held]["id"],
        "enrolment_id": enrolments[0],
        "invited_id": enrolments[1],
        "user_id": member_user_id,
        "token": token,
    }


def _length(key: str | None = None) -> Callable[[Any], int]:
    return lambda body: len(body if key is None else body[key])


def _members_in_outcomes(body: Any) -> int:
    return len(body["members"])


def _trend_points(body: Any) -> int:
    return sum(len(m["points"]) for m in body["members"])


def _record_rows(body: Any) -> int:
    return len(body["attendance"]) + len(body["assessments"]) + len(body["notes"])


def _export_rows(body: Any) -> int:
    (member,) = body["enrolments"]
    return len(member["attendance"]) + len(member["assessments"]) + len(body["notifications"])


def _csv_lines(body: str) -> int:
    return len(body.splitlines())


# (path template, persona, rows in the body or None where nothing can grow).
# The runner is measured in tests/test_runner.py (see EXEMPT).
MEASURED: list[tuple[str, str, Callable[[Any], int] | None]] = [
    ("/api/cohorts", "facilitator", _length()),
    ("/api/cohorts", "supervisor", _length()),
    ("/api/cohorts", "admin", _length()),
    ("/api/cohorts/{cohort_id}/enrolments", "facilitator", _length()),
    ("/api/cohorts/{cohort_id}/sessions", "facilitator", None),  # always 8; attendance grows
    ("/api/cohorts/{cohort_id}/waitlist", "facilitator", _length()),
    ("/api/cohorts/{cohort_id}/follow-ups", "facilitator", _length()),
    ("/api/cohorts/{cohort_id}/releases", "facilitator", _length()),
    ("/api/cohorts/{cohort_id}/skipped-dates", "facilitator", _length()),
    ("/api/cohorts/{cohort_id}/outcomes", "facilitator", _members_in_outcomes),
    ("/api/cohorts/{cohort_id}/outcomes.csv", "facilitator", _csv_lines),
    ("/api/cohorts/{cohort_id}/trends", "facilitator", _trend_points),
    ("/api/outcomes", "supervisor", _length("cohorts")),
    ("/api/programme", "supervisor", _length("cohorts")),
    ("/api/programme.csv", "supervisor", _csv_lines),
    ("/api/alerts", "supervisor", _length()),
    ("/api/closed-dates", "admin", _length()),
    ("/api/staff", "facilitator", _length()),
    ("/api/content", "admin", _length()),
    ("/api/content/{key}/versions", "admin", _length()),
    ("/api/programmes", "admin", _length()),
    ("/api/instruments", "admin", _length()),
    ("/api/users", "admin", _length("items")),
    ("/api/audit", "admin", None),  # a full page of 50 at both sizes
    ("/api/audit?member_id={enrolment_id}", "admin", _length("items")),  # less than a page
    ("/api/sessions/{session_id}/attendance", "facilitator", _length("entries")),
    ("/api/sessions/{session_id}/notes", "facilitator", _length()),
    ("/api/sessions/{next_session_id}/reminders", "facilitator", _length()),
    ("/api/enrolments/{enrolment_id}/assessments", "facilitator", _length()),
    ("/api/enrolments/{enrolment_id}/record", "facilitator", _record_rows),
    ("/api/enrolments/{invited_id}/invites", "facilitator", _length()),
    ("/api/enrolments/{enrolment_id}/inventory/versions", "facilitator", _length()),
    ("/api/sessions/{session_id}/inventories", "facilitator", _length()),
    ("/api/users/{user_id}/export", "admin", _export_rows),
    ("/api/me/schedule", "participant", None),  # the programme's 8 sessions, one member
    ("/api/me/readings", "participant", _length("items")),
    ("/api/me/notifications", "participant", _length("items")),
    ("/api/me/notifications", "supervisor", _length("items")),
    ("/api/me/export", "participant", _export_rows),
    ("/api/push/subscriptions", "participant", _length()),
    ("/api/calendar/{token}", "anonymous", None),  # the programme's 8 sessions
    ("/api/sessions/{session_id}/fidelity", "facilitator", _length("items")),  # per member
    ("/api/cohorts/{cohort_id}/supervision", "facilitator", None),  # the cohort's 8 sessions
    ("/api/supervision/overview", "admin", None),  # one facilitator, more cohorts
]
# Path parameters named differently in the spec than in the world.
SPEC_NAMES = {"{next_session_id}": "{session_id}", "{invited_id}": "{enrolment_id}"}


def spec_path(template: str) -> str:
    template = template.split("?")[0]
    for ours, theirs in SPEC_NAMES.items():
        template = template.replace(ours, theirs)
    return "/api/calendar/{token}.ics" if template == "/api/calendar/{token}" else template


def read_all(app: Flask, world: dict[str, Any]) -> dict[str, Reading]:
    with app.app_context():
        engine = db.engine
    values = {k: str(v) for k, v in world.items() if not isinstance(v, ApiClient)}
    values["key"] = "local-0"
    readings = {}
    for template, persona, rows in MEASURED:
        url = template.format(**values)
        client: ApiClient = world[persona]
        _ok(client.get(url), 200)  # the first call may fill caches
        with count_queries(engine) as counted:
            response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.json if response.is_json else response.get_data(as_text=True)
        readings[f"GET {template} as {persona}"] = Reading(
            counted.count, counted.statements, rows(body) if rows else None
        )
    return readings


def test_list_and_dashboard_endpoints_need_the_same_queries_at_any_size(
    app: Flask, fake_push: Any
) -> None:
    seen = {}
    for size in (SMALL, LARGE):
        _reset(app)
        with timesource.freeze(START):
            seen[size] = read_all(app, build(app, fake_push, size))
    small, large = seen[SMALL], seen[LARGE]

    grew = {k: (small[k].rows, large[k].rows) for k in small if small[k].rows is not None}
    assert {k: v for k, v in grew.items() if not v[0] < v[1]} == {}
    differ = {
        name: (small[name].count, large[name].count)
        for name in small
        if small[name].count != large[name].count
    }
    if differ:
        name = next(iter(differ))
        extra = [s for s in large[name].statements if s not in small[name].statements]
        repeated = sorted(set(large[name].statements), key=large[name].statements.count)[-1]
        raise AssertionError(
            f"statements per request (small, large): {differ}\n"
            f"{name}: the most repeated statement: {repeated[:400]}\n"
            f"statements only at the larger size: {extra[:3]}"
        )


def test_every_list_endpoint_is_measured_or_exempt(app: Flask) -> None:
    spec = app.test_client().get("/api/openapi.json").json
    lists = set(DASHBOARDS)
    for path, item in spec["paths"].items():
        answer = item.get("get", {}).get("responses", {}).get("200", {})
        schemas = [c.get("schema", {}) for c in answer.get("content", {}).values()]
        if any(s.get("type") == "array" for s in schemas):
            lists.add(path)
    assert "/api/cohorts/{cohort_id}/enrolments" in lists  # the spec is read as it should be
    measured = {spec_path(template) for template, _, _ in MEASURED}
    assert sorted(lists - measured - set(EXEMPT)) == []
    # Nothing stale: every name here is a GET the API still has.
    gets = {path for path, item in spec["paths"].items() if "get" in item}
    assert sorted((measured | set(EXEMPT) | DASHBOARDS) - gets) == []
