"""Schemathesis against /api/openapi.json, logged in as each role.

Every operation gets ``FUZZ_EXAMPLES`` generated requests per role for valid
data and as many for invalid data (anonymously only the operations open to
anyone: the rest answer 401 whatever the input, which the security test below
checks once each); half of them take their path ids from a small
seeded world (a running cohort with sessions, two members, a reading, an alert, a
skipped and a closed date, a calendar feed), so the fuzzer reaches real rows and
not only 404s. Every response must:

- not be a 5xx;
- have a status the operation documents, or one the whole API gives any
  operation (``GENERIC_STATUSES``: the login gate, roles and CSRF, unknown ids,
  a body too large or not JSON, bad characters, rate limits), in the envelope;
- match its documented content type, headers and body schema;
- turn invalid data (wrong types, unknown fields, missing fields) away with a 4xx.

Beside the generated requests, with exact expectations: each operation's
``security`` is what the gate enforces; a path answers a method it lacks with 405
and an ``Allow`` header naming its documented methods; an oversized body is a
413; every JSON body refuses unknown fields and wrong types with a 422.

Runs are reproducible (``derandomize``); ``FUZZ_EXAMPLES=50 .venv/bin/python -m
pytest tests/test_fuzz.py`` looks harder (``-s`` prints the statuses seen).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
)

from tests.conftest import ApiClient
from tests.factories import create_cohort, enrol, phone

# Per operation, role and mode (valid, invalid). 2 keeps the file near a minute
# per backend on a 2-core machine; both backends were clean at 20.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2"))
ROLES = ("anonymous", "participant", "facilitator", "supervisor", "admin")
MEMBER_PIN = "482915"  # what tests.factories.phone sets
METHODS = ("get", "post", "put", "patch", "delete")
WRITES = frozenset({"post", "put", "patch", "delete"})
JSON = "application/json"

# Answers any operation may give, documented once by the spec's ``default``
# error response: bad characters or unparsable JSON, not logged in, wrong role
# or CSRF token, an unknown or hidden id, a method the path lacks, a body too
# large or not JSON, a rate limit. Anything else must be listed on the operation.
GENERIC_STATUSES = frozenset({400, 401, 403, 404, 405, 413, 415, 429})

# Logging out would end the persona's session halfway through; logout is
# fuzzed anonymously only.
LOGGED_IN_SKIP = frozenset({("POST", "/api/auth/logout")})

# Path ``{key}``s name different things under different prefixes.
KEYS = {
    "/api/programmes/": "who-8",
    "/api/instruments/": "phq9",
    "/api/content/": "breathing-space",
    "/api/me/readings/": "breathing-space",
    "/releases/": "breathing-space",
    "/api/sms/africastalking/": "k" * 40,  # no provider in the fuzz world: 404
}


def documented_status(ctx: Any, response: Any, case: Any) -> None:
    """The status is listed on the operation, or is a generic error answer."""
    declared = {int(code) for code in case.operation.definition.raw["responses"] if code.isdigit()}
    status = response.status_code
    if status in declared:
        return
    if status not in GENERIC_STATUSES:
        raise AssertionError(
            f"{case.operation.label} answered {status}, which it does not document (it "
            f"documents {sorted(declared)}; any operation may answer {sorted(GENERIC_STATUSES)})"
        )
    body = response.json()
    if not (isinstance(body, dict) and body.get("error", {}).get("status") == status):
        raise AssertionError(f"{case.operation.label} answered {status} without the envelope")


def open_to_anyone(security: list[dict[str, Any]]) -> bool:
    return security == [] or {} in security


@dataclass
class World:
    """Real values for path parameters, and the member's login."""

    ids: dict[str, Any]
    member_username: str
    member: ApiClient

    def path_values(self, path: str) -> dict[str, Any]:
        values = {}
        for name in re.findall(r"{(\w+)}", path):
            if name == "key":
                values[name] = next(v for prefix, v in KEYS.items() if prefix in path)
            elif name in self.ids:
                values[name] = self.ids[name]
        return values

    def url(self, path: str) -> str:
        values = self.path_values(path)
        return re.sub(r"{(\w+)}", lambda m: str(values.get(m.group(1), 1)), path)


@pytest.fixture
def world(app: Flask, as_role: Any, users: dict[str, int], frozen: datetime) -> World:
    fac: ApiClient = as_role("facilitator")
    admin: ApiClient = as_role("admin")
    cohort = create_cohort(fac, supervisor_ids=[users["supervisor"]])
    cid = cohort["id"]
    assert fac.post(f"/api/cohorts/{cid}/status", json={"status": "active"}).status_code == 200
    a = enrol(fac, cid, "Member A")
    b = enrol(fac, cid, "Member B")
    member = phone(app, a["invite"]["code"])
    session = fac.get(f"/api/cohorts/{cid}/sessions").json[0]
    agenda = fac.get(f"/api/sessions/{session['id']}/agenda").json
    reading = admin.post(
        "/api/content",
        json={"key": "breathing-space", "title": "A breathing space", "summary": "Two minutes.",
              "body": "Breathe in slowly.", "tags": {"phase": "initial", "release_session": 1}},
    )  # fmt: skip
    assert reading.status_code == 201, reading.json
    worried = fac.post(f"/api/enrolments/{a['enrolment']['id']}/worried", json={})
    assert worried.status_code == 201, worried.json
    skipped = fac.post(f"/api/cohorts/{cid}/skipped-dates", json={"day": "2026-04-07"})
    assert skipped.status_code == 201, skipped.json
    closed = admin.post("/api/closed-dates", json={"day": "2026-12-25"})
    assert closed.status_code == 201, closed.json
    feed = member.post("/api/me/calendar-feed")
    assert feed.status_code == 201, feed.json
    ids = {
        "cohort_id": cid,
        "session_id": session["id"],
        "enrolment_id": a["enrolment"]["id"],
        "user_id": users["facilitator"],
        "invite_id": b["invite"]["id"],
        "alert_id": worried.json["alert"]["id"],
        "item_id": agenda["items"][0]["id"],
        "date_id": skipped.json["id"],
        "language": "es",
        "token": feed.json["url"].rsplit("/", 1)[1].removesuffix(".ics"),
    }
    if a["enrolment"]["meetings"]:
        ids["meeting_id"] = a["enrolment"]["meetings"][0]["id"]
    return World(ids, a["enrolment"]["username"], member)


@dataclass
class Persona:
    """A role's client; logs in again if a fuzzed request ended its session
    (an admin may reset their own password through /api/users/{id})."""

    role: str
    app: Flask
    world: World
    client: ApiClient = field(init=False)
    relogins: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = ApiClient(self.app.test_client())
        self.log_in()

    def log_in(self) -> None:
        if self.role == "anonymous":
            return
        if self.role == "participant":
            response = self.client.login(username=self.world.member_username, password=MEMBER_PIN)
        else:
            response = self.client.login(f"{self.role}@test.example")
        assert response.status_code == 200, response.json

    @property
    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.client.csrf} if self.client.csrf else {}

    def still_logged_in(self, after: str) -> None:
        if self.role != "anonymous" and self.client.get("/api/me").status_code != 200:
            self.relogins.append(after)
            self.client = ApiClient(self.app.test_client())
            self.log_in()


@pytest.fixture(scope="module")
def schema(app: Flask) -> Any:
    loaded = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    # Each persona's client carries its own session cookie and CSRF token; made-up
    # values for them would only turn every request into a 401 or a 403.
    loaded.config.generation.update(with_security_parameters=False)
    return loaded


@pytest.fixture
def generous_write_limit(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fuzzer writes far faster than any person; the general write limit
    would turn most of its requests into 429s. Per-view limits (login, invites,
    test push) stay, and their 429s are documented."""
    monkeypatch.setitem(app.config, "RATELIMIT_WRITES_PER_USER", 1_000_000)
    monkeypatch.setitem(app.config, "RATELIMIT_WRITES_PER_ADDRESS", 1_000_000)


def fuzz_operation(operation: Any, persona: Persona, world: World, seen: Counter[int]) -> str:
    """Run the examples for one operation; return the failures' report ('' if none)."""

    def record(ctx: Any, response: Any, case: Any) -> None:
        seen[response.status_code] += 1

    checks = [
        record,
        not_a_server_error,
        documented_status,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        negative_data_rejection,
    ]
    real = world.path_values(operation.path)
    failures = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategy = operation.as_strategy(generation_mode=mode)
        if real:
            real_ids = operation.as_strategy(generation_mode=mode, path_parameters=real)
            strategy = st.one_of(real_ids, strategy)

        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: Any) -> None:
            client = persona.client.client
            case.call_and_validate(session=client, headers=persona.headers, checks=checks)

        try:
            run()
        except Unsatisfiable:
            # No parameters and no body: nothing can be made invalid.
            if mode is GenerationMode.POSITIVE:
                failures.append(f"no valid request could be generated for {operation.label}")
        except Exception as exc:  # report every operation's failures, then fail
            failures.append(str(exc)[:4000])
    return "\n".join(failures)


@pytest.mark.usefixtures("generous_write_limit")
@pytest.mark.parametrize("role", ROLES)
def test_fuzz_every_operation_as_each_role(
    app: Flask, schema: Any, world: World, role: str
) -> None:
    persona = Persona(role, app, world)
    seen: Counter[int] = Counter()
    failures = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if role == "anonymous" and not open_to_anyone(operation.definition.raw["security"]):
            continue  # the gate's 401, whatever the input: see the security test below
        if role != "anonymous" and (operation.method.upper(), operation.path) in LOGGED_IN_SKIP:
            continue
        report = fuzz_operation(operation, persona, world, seen)
        if report:
            failures[operation.label] = report
        if operation.method.lower() in WRITES:  # only a write can end a session
            persona.still_logged_in(after=operation.label)
    print(f"\n{role}: {sum(seen.values())} requests, statuses {sorted(seen.items())}")
    if persona.relogins:
        print(f"{role} logged in again after: {persona.relogins}")
    assert not failures, "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())
    # The run reached real rows, not only the gate and 404s.
    assert sum(n for status, n in seen.items() if status < 300) > 5, seen


# -- exact expectations, for every operation in the spec ----------------------


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


@pytest.fixture
def spec(app: Flask) -> dict[str, Any]:
    return app.test_client().get("/api/openapi.json").json


def send(client: ApiClient, method: str, url: str, **kw: Any) -> Any:
    return getattr(client, method)(url, **kw)


def test_each_operation_documents_the_security_the_gate_enforces(
    app: Flask, spec: dict[str, Any], world: World, as_role: Any
) -> None:
    admin: ApiClient = as_role("admin")
    for path, method, op in operations(spec):
        url = world.url(path)
        body = {"json": {}} if method in WRITES else {}
        security = op["security"]
        anonymous = send(ApiClient(app.test_client()), method, url, **body)
        if open_to_anyone(security):
            assert anonymous.status_code != 401, (method, path, anonymous.json)
        else:
            assert anonymous.status_code == 401, (method, path, anonymous.json)
            assert anonymous.json["error"]["code"] == "unauthenticated"
        if method in WRITES:
            # Logged in, without the token: every write is refused at the gate.
            assert all("csrf" in s for s in security if s), (method, path, security)
            no_token = ApiClient(admin.client)
            refused = send(no_token, method, url, **body)
            assert refused.status_code == 403, (method, path, refused.json)
            assert refused.json["error"]["code"] == "csrf_failed"
        else:
            assert all("csrf" not in s for s in security), (method, path, security)


def test_a_method_a_path_lacks_is_405_with_allow(
    app: Flask, spec: dict[str, Any], world: World, as_role: Any
) -> None:
    clients = {"anonymous": ApiClient(app.test_client()), "admin": as_role("admin")}
    checked = 0
    for path, item in spec["paths"].items():
        documented = {m.upper() for m in item if m in METHODS}
        url = world.url(path)
        for method in METHODS:
            if method.upper() in documented:
                continue
            for who, client in clients.items():
                response = send(client, method, url, **({"json": {}} if method in WRITES else {}))
                assert response.status_code == 405, (who, method, path, response.status_code)
                assert response.json["error"]["code"] == "method_not_allowed"
                allow = {m.strip() for m in response.headers["Allow"].split(",")}
                assert allow - {"HEAD", "OPTIONS"} == documented, (method, path, allow)
                checked += 1
    assert checked > 200


def test_an_oversized_body_is_413_on_every_write(
    app: Flask, spec: dict[str, Any], world: World, as_role: Any
) -> None:
    """Past the gate (a stranger is still told to log in first), whether or not
    the operation reads a body."""
    admin: ApiClient = as_role("admin")
    huge = '{"x": "' + "a" * app.config["MAX_CONTENT_LENGTH"] + '"}'
    for path, method, op in operations(spec):
        if method not in WRITES:
            continue
        clients = [admin]
        if {} in op["security"]:
            clients.append(ApiClient(app.test_client()))
        for client in clients:
            response = send(client, method, world.url(path), data=huge, content_type=JSON)
            assert response.status_code == 413, (method, path, response.status_code)
            assert response.json["error"]["code"] == "payload_too_large"


def test_every_json_body_refuses_unknown_fields(
    app: Flask, spec: dict[str, Any], world: World, as_role: Any
) -> None:
    admin: ApiClient = as_role("admin")
    checked = 0
    for path, method, op in operations(spec):
        if "requestBody" not in op:
            continue
        response = send(admin, method, world.url(path), json={"surprise_field": 1})
        if response.status_code == 403:  # the member's own operations
            response = send(world.member, method, world.url(path), json={"surprise_field": 1})
        assert response.status_code == 422, (method, path, response.json)
        assert response.json["error"]["fields"]["surprise_field"] == ["Unknown field."], (
            method,
            path,
            response.json,
        )
        checked += 1
    assert checked > 40


# A nested schema refuses unknown fields too.
PLUS = {"suicide_plan_or_attempt": False, "needs_specialist_care": False, "x": 1}


@pytest.mark.parametrize(
    ("method", "path", "body", "bad"),
    [
        ("post", "/api/cohorts", {"weekday": "Tuesday"}, "weekday"),
        ("post", "/api/cohorts", {"supervisor_ids": "2"}, "supervisor_ids"),
        ("patch", "/api/me", {"display_name": 12}, "display_name"),
        ("post", "/api/cohorts/{cohort_id}/enrolments", {"screening": "no risk"}, "screening"),
        ("post", "/api/cohorts/{cohort_id}/enrolments", {"screening": PLUS}, "screening.x"),
        ("put", "/api/sessions/{session_id}/attendance", {"entries": {"a": 1}}, "entries"),
        ("post", "/api/enrolments/{enrolment_id}/assessments", {"answers": [1, 2]}, "answers"),
    ],
)
def test_wrong_types_and_nested_unknown_fields_are_422(
    world: World, as_role: Any, method: str, path: str, body: dict[str, Any], bad: str
) -> None:
    facilitator: ApiClient = as_role("facilitator")
    response = send(facilitator, method, world.url(path), json=body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_error"
    fields = response.json["error"]["fields"]
    for name in bad.split("."):  # a nested field's errors nest too
        assert name in fields, response.json
        fields = fields[name]
    if bad == "screening.x":
        assert fields == ["Unknown field."]
