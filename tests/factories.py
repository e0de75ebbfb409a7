"""Request bodies and small helpers shared by the cohort, enrolment and invite tests."""

from __future__ import annotations

from typing import Any

from tests.conftest import ApiClient


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
