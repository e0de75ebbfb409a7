"""Programme templates through the API: the five shipped, and a clinic's own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.conftest import ApiClient
from tests.factories import CUSTOM, cohort_body, create_cohort


def test_shipped_templates_are_listed(as_role: Any) -> None:
    fac: ApiClient = as_role("facilitator")
    listed = {p["key"]: p for p in fac.get("/api/programmes").json}
    assert set(listed) == {"who-8", "community-12", "uganda-16", "adolescent-10", "extended-20"}
    who = listed["who-8"]
    assert who["shipped"] is True and who["group_sessions"] == 8
    assert who["phases"] == {"initial": [1], "middle": [2, 3, 4, 5, 6, 7], "termination": [8]}
    teen = listed["adolescent-10"]
    # Adapted from the WHO manual: its mid-group and post-group meetings too.
    assert [m["kind"] for m in teen["meetings"]] == [
        "pre_group", "pre_group", "mid_programme", "post_group",
    ]  # fmt: skip
    assert who["follow_up_weeks"] == 13
    ext = listed["extended-20"]
    assert [(m["kind"], m["after_session"]) for m in ext["meetings"]] == [
        ("pre_group", 0), ("mid_programme", 10), ("post_group", 20),
    ]  # fmt: skip


def test_admin_creates_a_custom_programme_with_default_measures(as_role: Any) -> None:
    admin: ApiClient = as_role("admin")
    response = admin.post("/api/programmes", json=CUSTOM)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["shipped"] is False and body["late_join_sessions"] == 1
    assert {m["instrument"] for m in body["measures"]} == {"mood", "phq9"}
    phq9 = next(m for m in body["measures"] if m["instrument"] == "phq9")
    # The default schedule includes the follow-up contact (13 weeks by default).
    assert phq9["sessions"] == [3, 6] and phq9["meetings"] == ["pre_group", "follow_up"]
    assert body["follow_up_weeks"] == 13
    assert admin.get("/api/programmes/clinic-6").json["name"] == "Short clinic programme"
    dup = admin.post("/api/programmes", json=CUSTOM)
    assert dup.status_code == 409 and dup.json["error"]["code"] == "key_taken"


def test_phase_map_must_cover_every_session_once(as_role: Any) -> None:
    admin: ApiClient = as_role("admin")
    gap = {**CUSTOM, "phases": {"initial": [1], "middle": [2, 3], "termination": [6]}}
    response = admin.post("/api/programmes", json=gap)
    assert response.status_code == 422
    assert response.json["error"]["fields"]["programme"] == ["Session(s) 4, 5 have no phase."]
    twice = {**CUSTOM, "phases": {"initial": [1, 2], "middle": [2, 3, 4, 5], "termination": [6]}}
    problems = admin.post("/api/programmes", json=twice).json["error"]["fields"]["programme"]
    assert problems == ["Session 2 is in both initial and middle."]
    no_pre = {**CUSTOM, "meetings": []}
    assert admin.post("/api/programmes", json=no_pre).status_code == 422
    assert [p["key"] for p in admin.get("/api/programmes").json if not p["shipped"]] == []


def test_only_admins_write_programmes_and_shipped_ones_are_read_only(as_role: Any) -> None:
    fac: ApiClient = as_role("facilitator")
    assert fac.post("/api/programmes", json=CUSTOM).status_code == 403
    admin: ApiClient = as_role("admin")
    shipped = admin.patch("/api/programmes/who-8", json={"name": "Changed"})
    assert shipped.status_code == 409 and shipped.json["error"]["code"] == "shipped_programme"
    assert admin.get("/api/programmes/who-8").json["name"] == "WHO Group IPT (8 sessions)"
    assert admin.get("/api/programmes/nope").status_code == 404


def test_cohort_keeps_its_copy_when_the_programme_changes(as_role: Any, frozen: datetime) -> None:
    admin: ApiClient = as_role("admin")
    admin.post("/api/programmes", json=CUSTOM)
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac, programme_key="clinic-6")
    assert cohort["group_sessions"] == 6 and cohort["capacity"] == 9
    assert cohort["session_minutes"] == 75
    changed = admin.patch(
        "/api/programmes/clinic-6",
        json={
            "group_sessions": 7,
            "phases": {"initial": [1], "middle": [2, 3, 4, 5, 6], "termination": [7]},
        },
    )
    assert changed.status_code == 200 and changed.json["group_sessions"] == 7
    assert len(fac.get(f"/api/cohorts/{cohort['id']}/sessions").json) == 6
    # Archived: no new cohorts, the existing one is untouched.
    assert admin.delete("/api/programmes/clinic-6").status_code == 204
    refused = fac.post("/api/cohorts", json=cohort_body(programme_key="clinic-6"))
    assert refused.status_code == 422 and "programme_key" in refused.json["error"]["fields"]
    assert (
        fac.get(f"/api/cohorts/{cohort['id']}").json["programme_name"] == "Short clinic programme"
    )
