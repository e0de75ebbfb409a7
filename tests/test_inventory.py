"""The interpersonal inventory: versions, concurrency, validation, access, audit,
the runner's summary, the member's export and erasure.

The story (clock frozen Monday 2 March 2026): a WHO-8 cohort from 10 March led
by the facilitator, supervised by the supervisor. Member A's problem areas are
disputes and life changes. At the pre-group meeting the facilitator records
two people (her partner "R", with whom the dispute is, and her friend "Bea");
later she revises it: R moves to the middle circle, Bea is removed, her sister
"K" is added.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from ipt_groups.extensions import db
from ipt_groups.models import AuditEvent, InventoryPerson, InventoryVersion
from tests.conftest import ApiClient, create_user
from tests.factories import create_cohort, enrol

PIN = "482915"
R = {
    "name": "R",
    "relationship": "partner",
    "closeness": "inner",
    "good": "Makes me laugh",
    "difficult": "We argue about money every evening",
    "recent_change": "Lost his job in January",
    "concerns": "disputes",
}
BEA = {"name": "Bea", "relationship": "friend", "closeness": "outer", "good": "Old friend"}
K = {"name": "K", "relationship": "sibling", "closeness": "middle", "difficult": "Far away"}


def url(enrolment_id: int, tail: str = "") -> str:
    return f"/api/enrolments/{enrolment_id}/inventory{tail}"


@pytest.fixture
def story(app: Flask, as_role: Any, users: dict[str, int], frozen: datetime) -> dict[str, Any]:
    fac = as_role("facilitator")
    cohort = create_cohort(fac, supervisor_ids=[users["supervisor"]])
    a = enrol(fac, cohort["id"], "Member A", problem_areas=["disputes", "life_changes"])
    b = enrol(fac, cohort["id"], "Member B")
    sessions = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    return {
        "fac": fac, "cohort_id": cohort["id"], "a": a["enrolment"]["id"], "b": b["enrolment"]["id"],
        "invite": a["invite"]["code"], "username": a["enrolment"]["username"],
        "s1": sessions[0]["id"], "users": users,
    }  # fmt: skip


def save(client: ApiClient, enrolment_id: int, base: int, people: list[dict[str, Any]]) -> Any:
    return client.put(url(enrolment_id), json={"base_version": base, "people": people})


def revise(story: dict[str, Any]) -> tuple[Any, Any]:
    """Version 1 (R and Bea), then version 2 (R edited, Bea removed, K added)."""
    first = save(story["fac"], story["a"], 0, [R, BEA])
    assert first.status_code == 200, first.json
    r_id = first.json["people"][0]["id"]
    second = save(story["fac"], story["a"], 1, [{**R, "id": r_id, "closeness": "middle"}, K])
    assert second.status_code == 200, second.json
    return first, second


def error_at(response: Any, path: str) -> list[str]:
    """The messages at ``people.0.name`` in the envelope's nested ``fields``."""
    node = response.json["error"]["fields"]
    for part in path.split("."):
        node = node[part]
    return node


def audit_rows(app: Flask, action: str) -> list[tuple[Any, ...]]:
    with app.app_context():
        return [
            (e.actor_id, e.target_type, e.target_id, e.subject_id)
            for e in db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        ]


# -- versions ----------------------------------------------------------------


def test_an_empty_inventory_reads_as_version_zero(story: dict[str, Any]) -> None:
    got = story["fac"].get(url(story["a"]))
    assert got.status_code == 200
    assert got.json == {
        "enrolment_id": story["a"], "problem_areas": ["disputes", "life_changes"],
        "version": 0, "created_at": None, "author_id": None,
        "author_name": None, "people": [], "changes": {"added": [], "removed": [], "edited": []},
    }  # fmt: skip


def test_every_save_is_a_new_version_and_nothing_is_overwritten(
    app: Flask, story: dict[str, Any]
) -> None:
    first, second = revise(story)
    fac_id = story["users"]["facilitator"]
    assert first.json["version"] == 1 and first.json["author_id"] == fac_id
    assert first.json["author_name"] == "Test facilitator"
    assert [p["name"] for p in first.json["people"]] == ["R", "Bea"]
    assert first.json["people"][0] == {**R, "id": 1}
    assert first.json["people"][1] == {
        **BEA, "id": 2, "difficult": "", "recent_change": "", "concerns": None,
    }  # fmt: skip
    assert first.json["changes"] == {
        "added": [{"id": 1, "name": "R"}, {"id": 2, "name": "Bea"}], "removed": [], "edited": [],
    }  # fmt: skip

    assert second.json["version"] == 2
    assert [(p["id"], p["name"], p["closeness"]) for p in second.json["people"]] == [
        (1, "R", "middle"),
        (3, "K", "middle"),  # keys are never reused: Bea's 2 stays hers
    ]
    assert second.json["changes"] == {
        "added": [{"id": 3, "name": "K"}],
        "removed": [{"id": 2, "name": "Bea"}],
        "edited": [{"id": 1, "name": "R"}],
    }
    assert story["fac"].get(url(story["a"])).json == second.json

    history = story["fac"].get(url(story["a"], "/versions"))
    assert history.status_code == 200
    assert [v["version"] for v in history.json] == [2, 1]
    assert history.json[0] == second.json and history.json[1] == first.json

    with app.app_context():
        versions = db.session.scalars(
            select(InventoryVersion).order_by(InventoryVersion.version)
        ).all()
        assert [(v.enrolment_id, v.version, v.author_id) for v in versions] == [
            (story["a"], 1, fac_id),
            (story["a"], 2, fac_id),
        ]
        assert versions[1].changes == {"added": [3], "removed": [2], "edited": [1]}
        # Version 1 still holds R in the inner circle and Bea: it was not rewritten.
        assert [(p.name, p.closeness) for p in versions[0].people] == [
            ("R", "inner"),
            ("Bea", "outer"),
        ]
        assert [(p.name, p.relation, p.concerns) for p in versions[1].people] == [
            ("R", "partner", "disputes"),
            ("K", "sibling", None),
        ]


def test_a_save_that_changes_nothing_makes_no_version(app: Flask, story: dict[str, Any]) -> None:
    first = save(story["fac"], story["a"], 0, [R])
    again = save(story["fac"], story["a"], 1, [{**R, "id": 1}])
    assert again.status_code == 200 and again.json == first.json
    with app.app_context():
        assert db.session.query(InventoryVersion).count() == 1
    assert len(audit_rows(app, "inventory.save")) == 1


def test_a_stale_write_is_refused_so_nobody_is_overwritten(
    app: Flask, story: dict[str, Any], as_role: Any
) -> None:
    admin = as_role("admin")
    assert save(story["fac"], story["a"], 0, [R]).status_code == 200
    # Both open version 1; the facilitator saves first.
    assert save(story["fac"], story["a"], 1, [{**R, "id": 1}, BEA]).status_code == 200
    late = save(admin, story["a"], 1, [{**R, "id": 1, "closeness": "outer"}])
    assert late.status_code == 409
    assert late.json["error"]["code"] == "inventory_stale"
    assert "version 2" in late.json["error"]["message"]
    # A first save on top of nothing, when something is there, is stale too.
    assert save(admin, story["a"], 0, [K]).json["error"]["code"] == "inventory_stale"
    with app.app_context():
        assert db.session.query(InventoryVersion).count() == 2
    current = story["fac"].get(url(story["a"])).json
    assert (current["version"], [p["name"] for p in current["people"]]) == (2, ["R", "Bea"])
    # Reloaded, the admin's change goes on top.
    redo = save(admin, story["a"], 2, [{**R, "id": 1, "closeness": "outer"}])
    assert redo.status_code == 200 and redo.json["version"] == 3
    assert redo.json["changes"]["removed"] == [{"id": 2, "name": "Bea"}]


# -- validation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("person", "field"),
    [
        ({**K, "name": "A" * 41}, "people.0.name"),
        ({**K, "name": "   "}, "people.0.name"),
        ({**K, "name": "Ann 07700 900123"}, "people.0.name"),
        ({**K, "name": "ann@example.org"}, "people.0.name"),
        ({**K, "relationship": "boss"}, "people.0.relationship"),
        ({**K, "closeness": 4}, "people.0.closeness"),
        ({**K, "good": "x" * 1001}, "people.0.good"),
        ({**K, "concerns": "grief"}, "people.0.concerns"),  # not one of hers
        ({**K, "concerns": "anything"}, "people.0.concerns"),
        ({**K, "id": 99}, "people.0.id"),  # not in the version edited
        ({k: v for k, v in K.items() if k != "closeness"}, "people.0.closeness"),
    ],
)
def test_each_person_is_checked(
    app: Flask, story: dict[str, Any], person: dict[str, Any], field: str
) -> None:
    response = save(story["fac"], story["a"], 0, [person])
    assert response.status_code == 422, response.json
    assert error_at(response, field), response.json
    with app.app_context():
        assert db.session.query(InventoryVersion).count() == 0


def test_the_body_is_checked(story: dict[str, Any]) -> None:
    fac, a = story["fac"], story["a"]
    missing = fac.put(url(a), json={"people": []})
    assert missing.status_code == 422 and "base_version" in missing.json["error"]["fields"]
    crowd = fac.put(url(a), json={"base_version": 0, "people": [K] * 31})
    assert crowd.status_code == 422 and "people" in crowd.json["error"]["fields"]
    assert save(fac, a, 0, [R]).status_code == 200
    twice = save(fac, a, 1, [{**R, "id": 1}, {**R, "id": 1}])
    assert twice.status_code == 422 and error_at(twice, "people.1.id") == ["The same person twice."]


def test_a_person_is_marked_only_with_the_members_own_problem_area(story: dict[str, Any]) -> None:
    # Member B's only problem area is life changes: a dispute with R is refused.
    refused = save(story["fac"], story["b"], 0, [R])
    assert refused.status_code == 422
    assert "life_changes" in error_at(refused, "people.0.concerns")[0]
    ok = save(story["fac"], story["b"], 0, [{**R, "concerns": "life_changes"}])
    assert ok.status_code == 200 and ok.json["people"][0]["concerns"] == "life_changes"


# -- access and audit ----------------------------------------------------------


def test_who_may_read_and_write(app: Flask, story: dict[str, Any], as_role: Any) -> None:
    assert save(story["fac"], story["a"], 0, [R]).status_code == 200
    sup, admin = as_role("supervisor"), as_role("admin")
    assert sup.get(url(story["a"])).json["people"][0]["name"] == "R"
    assert sup.get(url(story["a"], "/versions")).status_code == 200
    assert save(sup, story["a"], 1, [K]).status_code == 403
    assert save(admin, story["a"], 1, [{**R, "id": 1}, K]).status_code == 200

    with app.app_context():
        create_user("facilitator", "other.fac@test.example")
    other = ApiClient(app.test_client())
    assert other.login("other.fac@test.example").status_code == 200
    for response in (
        other.get(url(story["a"])),
        other.get(url(story["a"], "/versions")),
        save(other, story["a"], 2, []),
        other.get(f"/api/sessions/{story['s1']}/inventories"),
    ):
        assert response.status_code == 404
        assert "We argue" not in response.get_data(as_text=True)

    member = as_role("participant")
    assert member.get(url(story["a"])).status_code == 403
    assert save(member, story["a"], 2, []).status_code == 403
    assert ApiClient(app.test_client()).get(url(story["a"])).status_code == 401
    with app.app_context():
        assert db.session.query(InventoryVersion).count() == 2


def test_reads_and_saves_are_audited(app: Flask, story: dict[str, Any], as_role: Any) -> None:
    fac_id, sup_id = story["users"]["facilitator"], story["users"]["supervisor"]
    revise(story)
    with app.app_context():
        ids = db.session.scalars(select(InventoryVersion.id).order_by(InventoryVersion.id)).all()
    assert audit_rows(app, "inventory.save") == [
        (fac_id, "inventory_version", ids[0], story["a"]),
        (fac_id, "inventory_version", ids[1], story["a"]),
    ]
    sup = as_role("supervisor")
    sup.get(url(story["a"]))
    sup.get(url(story["a"], "/versions"))
    assert audit_rows(app, "inventory.read") == [(sup_id, "enrolment", story["a"], story["a"])]
    assert audit_rows(app, "inventory.history.read") == [
        (sup_id, "enrolment", story["a"], story["a"])
    ]
    with app.app_context():
        texts = db.session.scalars(select(AuditEvent.action)).all()
    # The trail holds identifiers and action words, never the names or the words.
    assert not any("R" in t.split(".") or "money" in t for t in texts)


# -- the runner ----------------------------------------------------------------


def test_the_runner_gets_each_members_inventory_in_short(
    app: Flask, story: dict[str, Any], as_role: Any
) -> None:
    revise(story)
    sup = as_role("supervisor")
    response = sup.get(f"/api/sessions/{story['s1']}/inventories")
    assert response.status_code == 200
    assert response.json == [
        {
            "enrolment_id": story["a"],
            "version": 2,
            "people": [
                {"id": 1, "name": "R", "relationship": "partner", "closeness": "middle",
                 "concerns": "disputes"},
                {"id": 3, "name": "K", "relationship": "sibling", "closeness": "middle",
                 "concerns": None},
            ],
        }
    ]  # fmt: skip
    # Only the short form: what is good and difficult stays in the full record.
    assert "money" not in response.get_data(as_text=True)
    # One row for the member whose inventory it showed (B has none).
    assert audit_rows(app, "inventory.read") == [
        (story["users"]["supervisor"], "group_session", story["s1"], story["a"])
    ]


# -- export and erasure ----------------------------------------------------------


def test_the_member_export_has_every_version_and_erasure_removes_them(
    app: Flask, story: dict[str, Any], as_role: Any
) -> None:
    redeemed = ApiClient(app.test_client()).post(
        "/api/invites/redeem", json={"code": story["invite"], "pin": PIN}
    )
    assert redeemed.status_code == 200, redeemed.json
    user_id = redeemed.json["user"]["id"]
    revise(story)
    assert save(story["fac"], story["b"], 0, [{**K, "name": "Zed"}]).status_code == 200

    me = ApiClient(app.test_client())
    assert me.login(username=story["username"], password=PIN).status_code == 200
    export = me.get("/api/me/export")
    assert export.status_code == 200, export.json
    mine = export.json["enrolments"][0]["inventory"]
    assert [v["version"] for v in mine] == [1, 2]
    assert mine[0]["people"][0] == {**R, "id": 1}
    assert mine[1]["changes"]["removed"] == [{"id": 2, "name": "Bea"}]
    assert "Zed" not in export.get_data(as_text=True)  # another member's inventory
    assert "Test facilitator" not in json.dumps(mine)  # staff are not named

    withdrawn = story["fac"].post(
        f"/api/enrolments/{story['a']}/withdraw", json={"reason": "moved away"}
    )
    assert withdrawn.status_code == 200
    admin = as_role("admin")
    erased = admin.post(f"/api/users/{user_id}/erase", json={"confirm": "erase", "reason": "other"})
    assert erased.status_code == 200, erased.json
    assert erased.json["removed"]["inventory_versions"] == 2
    with app.app_context():
        left = db.session.scalars(select(InventoryVersion.enrolment_id)).all()
        assert left == [story["b"]]  # B's stays
        names = db.session.scalars(select(InventoryPerson.name)).all()
        assert names == ["Zed"]
    after = admin.get(f"/api/users/{user_id}/export")
    assert after.json["enrolments"] == []  # erasure unlinks the enrolment from the account
    text = after.get_data(as_text=True)
    assert "We argue about money" not in text and "Makes me laugh" not in text
    # The record reads as empty, and it cannot be filled again.
    assert story["fac"].get(url(story["a"])).json["version"] == 0
    refused = save(story["fac"], story["a"], 0, [K])
    assert refused.status_code == 409 and refused.json["error"]["code"] == "erased"
