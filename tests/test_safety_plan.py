"""Safety plans: the six sections, prefilled with the clinic's crisis text,
saved as versions (409 on a stale save), written by a cohort's facilitators and
supervisors, read by the member in their own language, linked from a risk
alert's acknowledgement, audited, exported and erased.

Clock frozen Monday 2 March 2026 09:00 UTC; the cohort is the factories' WHO-8
group, supervised by the ``users`` fixture's supervisor.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from ipt_groups.extensions import db
from ipt_groups.models import AuditEvent, Notification, RiskAlert, SafetyPlanVersion, User
from tests.conftest import ApiClient, create_user
from tests.factories import create_cohort, enrol
from tests.querycount import count_queries

PIN = "482915"
SPANISH_CRISIS = "Si no está a salvo ahora, llame al 0800 000 000 (línea de crisis, 24 horas)."
PLAN = {
    "warning_signs": ["Not sleeping", "Staying in my room"],
    "coping": ["Walk to the river"],
    "distractions": ["The market on Saturday"],
    "people": [{"name": "Sam", "contact": "0700 111 222"}],
    "professionals": ["Clinic nurse: 0700 333 444"],
    "environment": ["Ask my brother to keep the tablets"],
}


@pytest.fixture
def group(app: Flask, as_role: Any, users: dict[str, int], frozen: datetime) -> dict[str, Any]:
    """A supervised cohort with two members who have joined (A speaks Spanish)."""
    fac = as_role("facilitator")
    cohort = create_cohort(fac, supervisor_ids=[users["supervisor"]])
    made = {}
    for key, name in (("a", "Member A"), ("b", "Member B")):
        enrolled = enrol(fac, cohort["id"], name)
        redeemed = app.test_client().post(
            "/api/invites/redeem", json={"code": enrolled["invite"]["code"], "pin": PIN}
        )
        assert redeemed.status_code == 200, redeemed.json
        made[key] = {
            "id": enrolled["enrolment"]["id"],
            "username": redeemed.json["user"]["username"],
            "user_id": redeemed.json["user"]["id"],
        }
    with app.app_context():
        db.session.get(User, made["a"]["user_id"]).language = "es"
        db.session.commit()
    return {"cohort": cohort, "fac": fac, "sup": as_role("supervisor"), **made}


def member(app: Flask, username: str) -> ApiClient:
    c = ApiClient(app.test_client())
    assert c.login(username=username, password=PIN).status_code == 200
    return c


def url(enrolment_id: int, tail: str = "") -> str:
    return f"/api/enrolments/{enrolment_id}/safety-plan{tail}"


def save(client: ApiClient, enrolment_id: int, base: int, sections: dict[str, Any]) -> Any:
    return client.put(url(enrolment_id), json={"base_version": base, "sections": sections})


def audit_actions(app: Flask, subject_id: int, prefix: str = "safety_plan") -> list[tuple]:
    with app.app_context():
        return [
            tuple(row)
            for row in db.session.execute(
                select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.target_type)
                .where(AuditEvent.subject_id == subject_id, AuditEvent.action.startswith(prefix))
                .order_by(AuditEvent.id)
            )
        ]


def test_a_first_plan_is_prefilled_with_the_clinics_crisis_text_in_the_members_language(
    app: Flask, group: dict[str, Any], as_role: Any, users: dict[str, int]
) -> None:
    admin = as_role("admin")
    changed = admin.patch("/api/clinic/settings", json={"crisis_text": {"es": SPANISH_CRISIS}})
    assert changed.status_code == 200, changed.json
    draft = group["fac"].get(url(group["a"]["id"]))
    assert draft.status_code == 200, draft.json
    body = draft.json
    assert body["version"] == 0 and body["id"] is None and body["language"] == "es"
    assert body["sections"]["professionals"] == [SPANISH_CRISIS]
    assert all(body["sections"][k] == [] for k in PLAN if k != "professionals")
    assert body["can_edit"] is True
    # Member B reads English: the clinic's default English text.
    english = group["fac"].get(url(group["b"]["id"])).json["sections"]["professionals"]
    assert english[0].startswith("If you might act on thoughts")
    # Nothing is saved by reading a draft; the read itself is audited.
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SafetyPlanVersion)) == 0
    assert audit_actions(app, group["a"]["id"]) == [
        ("safety_plan.read", users["facilitator"], "enrolment")
    ]


def test_every_save_is_a_new_version_and_a_stale_save_is_refused(
    app: Flask, group: dict[str, Any], users: dict[str, int]
) -> None:
    fac, sup, a = group["fac"], group["sup"], group["a"]["id"]
    first = save(fac, a, 0, PLAN)
    assert first.status_code == 200, first.json
    assert first.json["version"] == 1 and first.json["author_name"] == "Test facilitator"
    assert first.json["sections"] == PLAN
    # The supervisor may write it too, although they cannot manage the cohort.
    revised = {**PLAN, "coping": ["Walk to the river", "Call my sister"]}
    second = save(sup, a, 1, revised)
    assert second.status_code == 200, second.json
    assert second.json["version"] == 2 and second.json["author_id"] == users["supervisor"]
    # The facilitator still has version 1 open: their save would undo the
    # supervisor's, so it is refused and nothing is written.
    stale = save(fac, a, 1, {**PLAN, "coping": ["Something else"]})
    assert stale.status_code == 409, stale.json
    assert stale.json["error"]["code"] == "stale_safety_plan"
    assert "version 2" in stale.json["error"]["message"]
    assert save(fac, a, 5, PLAN).status_code == 409
    current = fac.get(url(a)).json
    assert current["version"] == 2 and current["sections"]["coping"] == revised["coping"]

    history = fac.get(url(a, "/versions"))
    assert history.status_code == 200, history.json
    assert [(v["version"], v["author_id"], v["sections"]["coping"]) for v in history.json] == [
        (2, users["supervisor"], revised["coping"]),
        (1, users["facilitator"], PLAN["coping"]),
    ]
    with app.app_context():
        rows = db.session.scalars(
            select(SafetyPlanVersion).where(SafetyPlanVersion.enrolment_id == a)
        ).all()
        assert sorted(r.version for r in rows) == [1, 2]
        ids = {r.version: r.id for r in rows}
    assert audit_actions(app, a) == [
        ("safety_plan.save", users["facilitator"], "safety_plan_version"),
        ("safety_plan.save", users["supervisor"], "safety_plan_version"),
        ("safety_plan.read", users["facilitator"], "enrolment"),
        ("safety_plan.history.read", users["facilitator"], "enrolment"),
    ]
    with app.app_context():
        targets = db.session.scalars(
            select(AuditEvent.target_id)
            .where(AuditEvent.action == "safety_plan.save")
            .order_by(AuditEvent.id)  # PostgreSQL returns rows in no set order without it
        ).all()
        assert targets == [ids[1], ids[2]]


@pytest.mark.parametrize(
    ("sections", "field"),
    [
        ({"warning_signs": ["x" * 201]}, "warning_signs"),
        ({"coping": [f"step {n}" for n in range(11)]}, "coping"),
        ({"distractions": ["   "]}, "distractions"),
        ({"people": [{"name": "Sam"}]}, "people"),
        ({"people": [{"name": "Sam", "contact": "1", "age": 3}]}, "people"),
        ({"professionals": ["x" * 2001]}, "professionals"),
        ({"environment": "Lock the cupboard"}, "environment"),
        ({"hobbies": ["Football"]}, "hobbies"),
    ],
)
def test_sections_are_validated_with_a_clear_422(
    app: Flask, group: dict[str, Any], sections: dict[str, Any], field: str
) -> None:
    response = save(group["fac"], group["a"]["id"], 0, sections)
    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert error["code"] == "validation_error"
    assert field in json.dumps(error["fields"])
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SafetyPlanVersion)) == 0


def test_an_empty_plan_or_a_missing_base_version_is_refused(
    app: Flask, group: dict[str, Any]
) -> None:
    fac, a = group["fac"], group["a"]["id"]
    empty = save(fac, a, 0, {"warning_signs": [], "people": []})
    assert empty.status_code == 422
    assert empty.json["error"]["fields"] == {"sections": ["Write at least one item in the plan."]}
    no_base = fac.put(url(a), json={"sections": PLAN})
    assert no_base.status_code == 422 and "base_version" in json.dumps(no_base.json)
    negative = save(fac, a, -1, PLAN)
    assert negative.status_code == 422 and "base_version" in json.dumps(negative.json)
    # Items are kept without the spaces around them.
    saved = save(fac, a, 0, {"warning_signs": ["  Not sleeping  "]})
    assert saved.json["sections"]["warning_signs"] == ["Not sleeping"]


def test_who_may_read_and_write_a_plan(
    app: Flask, group: dict[str, Any], as_role: Any, users: dict[str, int]
) -> None:
    a = group["a"]["id"]
    assert save(group["fac"], a, 0, PLAN).status_code == 200
    with app.app_context():
        create_user("facilitator", "other.fac@test.example")
        create_user("supervisor", "other.sup@test.example")
    for email in ("other.fac@test.example", "other.sup@test.example"):
        outsider = ApiClient(app.test_client())
        assert outsider.login(email).status_code == 200
        # Not their cohort: the same 404 whether the member exists or not.
        assert outsider.get(url(a)).status_code == 404
        assert outsider.get(url(a, "/versions")).status_code == 404
        assert save(outsider, a, 1, PLAN).status_code == 404
        assert outsider.get(url(2_000_000)).status_code == 404
    # An admin may do all of it.
    admin = as_role("admin")
    assert save(admin, a, 1, {**PLAN, "coping": ["Breathe slowly"]}).json["version"] == 2
    # The member reads their own plan in the app, never through the staff API.
    mem_a = member(app, group["a"]["username"])
    assert mem_a.get(url(a)).status_code == 403
    assert save(mem_a, a, 2, PLAN).status_code == 403
    assert mem_a.get(url(a, "/versions")).status_code == 403
    mine = mem_a.get("/api/me/safety-plan")
    assert mine.status_code == 200, mine.json
    assert mine.json["version"] == 2 and mine.json["sections"]["coping"] == ["Breathe slowly"]
    assert mine.json["language"] == "es" and mine.json["crisis_text"].startswith("Si puede")
    assert "author_id" not in mine.json and "author_name" not in mine.json
    # Member B has no plan: theirs is empty, never A's.
    theirs = member(app, group["b"]["username"]).get("/api/me/safety-plan").json
    assert theirs["version"] == 0 and theirs["sections"]["coping"] == []
    assert "Breathe" not in json.dumps(theirs)
    assert group["fac"].get("/api/me/safety-plan").status_code == 403
    assert audit_actions(app, a, "safety_plan.read.own") == [
        ("safety_plan.read.own", group["a"]["user_id"], "enrolment")
    ]
    assert audit_actions(app, group["b"]["id"]) == []  # nothing was shown


def test_saving_a_plan_sends_nothing(app: Flask, group: dict[str, Any]) -> None:
    """The plan is read in the app only: no push, SMS or email carries it."""
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Notification))
    assert save(group["fac"], group["a"]["id"], 0, PLAN).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Notification)) == before


def worried(group: dict[str, Any], enrolment_id: int) -> int:
    response = group["fac"].post(
        f"/api/enrolments/{enrolment_id}/worried", json={"concern": "Seemed low."}
    )
    assert response.status_code == 201, response.json
    return response.json["alert"]["id"]


def test_an_alert_acknowledged_with_a_safety_plan_links_the_version_made(
    app: Flask, group: dict[str, Any]
) -> None:
    sup, a, b = group["sup"], group["a"]["id"], group["b"]["id"]
    alert_id = worried(group, a)
    assert sup.get(f"/api/alerts/{alert_id}").json["safety_plan_version_id"] is None
    made = save(sup, a, 0, PLAN).json
    ack = sup.post(f"/api/alerts/{alert_id}/acknowledge", json={"action": "safety_plan"})
    assert ack.status_code == 200, ack.json
    assert ack.json["action"] == "safety_plan"
    # No version given: the member's newest.
    assert ack.json["safety_plan_version_id"] == made["id"]
    assert sup.get(f"/api/alerts/{alert_id}").json["safety_plan_version_id"] == made["id"]
    with app.app_context():
        assert db.session.get(RiskAlert, alert_id).safety_plan_version_id == made["id"]

    # A version given explicitly must be this member's, and only with safety_plan.
    second = worried(group, a)
    other = worried(group, b)
    b_plan = save(sup, b, 0, PLAN).json
    v2 = save(sup, a, 1, {**PLAN, "coping": ["Call Sam"]}).json
    wrong = sup.post(
        f"/api/alerts/{second}/acknowledge",
        json={"action": "safety_plan", "safety_plan_version_id": b_plan["id"]},
    )
    assert wrong.status_code == 422
    assert "safety_plan_version_id" in wrong.json["error"]["fields"]
    not_plan = sup.post(
        f"/api/alerts/{second}/acknowledge",
        json={"action": "contacted", "safety_plan_version_id": made["id"]},
    )
    assert not_plan.status_code == 422
    old = sup.post(
        f"/api/alerts/{second}/acknowledge",
        json={"action": "safety_plan", "safety_plan_version_id": made["id"]},
    )
    assert old.status_code == 200 and old.json["safety_plan_version_id"] == made["id"]
    # Another action links nothing.
    plain = sup.post(f"/api/alerts/{other}/acknowledge", json={"action": "contacted"})
    assert plain.json["safety_plan_version_id"] is None
    assert v2["version"] == 2


def test_the_members_export_has_every_version_and_erasure_removes_them(
    app: Flask, group: dict[str, Any], as_role: Any
) -> None:
    fac, sup, a = group["fac"], group["sup"], group["a"]["id"]
    alert_id = worried(group, a)
    assert save(fac, a, 0, PLAN).status_code == 200
    assert save(sup, a, 1, {**PLAN, "coping": ["Call Sam"]}).status_code == 200
    ack = sup.post(f"/api/alerts/{alert_id}/acknowledge", json={"action": "safety_plan"})
    assert ack.status_code == 200, ack.json
    assert save(sup, group["b"]["id"], 0, {"coping": ["B's own step"]}).status_code == 200

    export = member(app, group["a"]["username"]).get("/api/me/export")
    assert export.status_code == 200, export.json
    plans = export.json["enrolments"][0]["safety_plans"]
    assert [(p["version"], p["sections"]["coping"]) for p in plans] == [
        (1, PLAN["coping"]),
        (2, ["Call Sam"]),
    ]
    assert plans[0]["sections"]["people"] == PLAN["people"]
    text = json.dumps(export.json)
    assert "B's own step" not in text and "Test supervisor" not in text

    withdrawn = fac.post(f"/api/enrolments/{a}/withdraw", json={"reason": "moved away"})
    assert withdrawn.status_code == 200, withdrawn.json
    admin = as_role("admin")
    erased = admin.post(
        f"/api/users/{group['a']['user_id']}/erase",
        json={"confirm": "erase", "reason": "member_request"},
    )
    assert erased.status_code == 200, erased.json
    assert erased.json["removed"]["safety_plan_versions"] == 2
    with app.app_context():
        left = db.session.scalars(select(SafetyPlanVersion.enrolment_id)).all()
        assert left == [group["b"]["id"]]  # B's plan is untouched
        alert = db.session.get(RiskAlert, alert_id)
        assert alert.safety_plan_version_id is None and alert.action == "safety_plan"
    # Staff see no plan left for the erased enrolment, and cannot write one.
    assert fac.get(url(a, "/versions")).json == []
    refused = save(fac, a, 0, PLAN)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "member_erased"


def test_the_history_costs_the_same_queries_for_one_version_or_many(
    app: Flask, group: dict[str, Any], as_role: Any
) -> None:
    """Authors' names come in one query, not one per version."""
    a, writers = group["a"]["id"], [group["fac"], group["sup"], as_role("admin")]

    def cost() -> tuple[int, int]:
        with app.app_context(), count_queries(db.engine) as q:
            got = group["fac"].get(url(a, "/versions"))
        assert got.status_code == 200
        return q.count, len(got.json)

    assert save(writers[0], a, 0, PLAN).status_code == 200
    one = cost()
    for n in range(1, 6):
        assert save(writers[n % 3], a, n, {"coping": [f"step {n}"]}).status_code == 200
    many = cost()
    assert (one[1], many[1]) == (1, 6)
    assert one[0] == many[0]


def test_the_readme_walkthrough_for_a_safety_plan(app: Flask, frozen: datetime) -> None:
    """README "Walkthrough: a safety plan from a risk alert", on the demo data."""
    from ipt_groups.services import demo

    with app.app_context():
        demo.seed_demo()
        db.session.commit()
    fac, sup = ApiClient(app.test_client()), ApiClient(app.test_client())
    assert fac.login("facilitator@example.org", demo.DEMO_PASSWORD).status_code == 200
    assert sup.login("supervisor@example.org", demo.DEMO_PASSWORD).status_code == 200
    cohort = next(c for c in fac.get("/api/cohorts").json if "running" in c["name"])
    s1 = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json[0]
    ana = fac.get(f"/api/sessions/{s1['id']}/runner").json["members"][0]["enrolment_id"]
    alert = fac.post(f"/api/enrolments/{ana}/worried", json={"concern": "Quiet all session."})
    draft = sup.get(url(ana)).json
    assert (draft["version"], draft["sections"]["professionals"][0][:30]) == (
        0,
        "If you might act on thoughts o",
    )
    sections = {
        "warning_signs": ["Not sleeping"],
        "coping": ["Walk to the river"],
        "people": [{"name": "Sam", "contact": "0700 111 222"}],
        "professionals": ["Clinic nurse: 0700 333 444"],
        "environment": ["Brother keeps the tablets"],
    }
    made = save(sup, ana, 0, sections).json
    assert (made["version"], made["author_name"]) == (1, "Demo Supervisor")
    assert save(sup, ana, 0, {"coping": ["x"]}).json["error"]["code"] == "stale_safety_plan"
    alert_id = alert.json["alert"]["id"]
    ack = sup.post(f"/api/alerts/{alert_id}/acknowledge", json={"action": "safety_plan"}).json
    assert (ack["action"], ack["safety_plan_version_id"]) == ("safety_plan", made["id"])
    ana_phone = ApiClient(app.test_client())
    assert ana_phone.login(username="demo-ana", password=demo.DEMO_PIN).status_code == 200
    assert ana_phone.get("/api/me/safety-plan").json["sections"] == sections | {"distractions": []}
