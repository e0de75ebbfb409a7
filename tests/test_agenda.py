"""Every session gets its phase's agenda; facilitators edit, reorder and tick it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.conftest import ApiClient
from tests.factories import create_cohort


def test_sessions_get_their_phase_agenda(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    sessions = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    first = fac.get(f"/api/sessions/{sessions[0]['id']}/agenda").json
    middle = fac.get(f"/api/sessions/{sessions[3]['id']}/agenda").json
    last = fac.get(f"/api/sessions/{sessions[7]['id']}/agenda").json
    assert first["items"][0]["title"] == "Welcome and introductions"
    assert middle["items"][0]["kind"] == "check_in" and middle["items"][0]["title"] == "Mood round"
    assert "Warning signs and a plan" in [i["title"] for i in last["items"]]
    assert first["total_minutes"] == middle["total_minutes"] == 90
    assert all(i["guidance"] and i["done"] is False for i in middle["items"])
    catch_up = fac.post(
        f"/api/cohorts/{cohort['id']}/sessions", json={"starts_at_local": "2026-03-12T17:00"}
    ).json
    assert fac.get(f"/api/sessions/{catch_up['id']}/agenda").json["total_minutes"] == 90


def test_edit_reorder_tick_and_keep_ticks(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    session = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json[1]
    url = f"/api/sessions/{session['id']}/agenda"
    items = fac.get(url).json["items"]
    ticked = fac.post(f"/api/agenda-items/{items[0]['id']}/tick", json={"done": True})
    assert ticked.status_code == 200 and ticked.json["items"][0]["done"] is True
    # Reverse the order, drop the last item, add a new one.
    keep = [{k: i[k] for k in ("id", "title", "guidance", "minutes", "kind")} for i in items[:-1]]
    new = {"title": "Breathing exercise", "minutes": 5, "kind": "check_in"}
    response = fac.put(url, json={"items": [new, *reversed(keep)]})
    assert response.status_code == 200
    body = response.json
    assert [i["title"] for i in body["items"]] == ["Breathing exercise"] + [
        i["title"] for i in reversed(items[:-1])
    ]
    assert body["items"][-1]["done"] is True  # the ticked item kept its tick
    assert body["total_minutes"] == 90 - items[-1]["minutes"] + 5
    other = create_cohort(fac, name="Other group")
    foreign = fac.get(f"/api/cohorts/{other['id']}/sessions").json[0]
    foreign_id = fac.get(f"/api/sessions/{foreign['id']}/agenda").json["items"][0]["id"]
    stolen = fac.put(url, json={"items": [{**new, "id": foreign_id}]})
    assert stolen.status_code == 422
    untick = fac.post(f"/api/agenda-items/{items[0]['id']}/tick", json={"done": False})
    assert untick.json["items"][-1]["done"] is False


def test_agenda_access(app: Any, as_role: Any, frozen: datetime) -> None:
    from tests.conftest import create_user

    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    session = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json[0]
    item = fac.get(f"/api/sessions/{session['id']}/agenda").json["items"][0]
    with app.app_context():
        create_user("facilitator", "outsider.facilitator@test.example")
    outsider = ApiClient(app.test_client())
    outsider.login("outsider.facilitator@test.example")
    assert outsider.get(f"/api/sessions/{session['id']}/agenda").status_code == 404
    assert (
        outsider.post(f"/api/agenda-items/{item['id']}/tick", json={"done": True}).status_code
        == 404
    )
    participant: ApiClient = as_role("participant")
    assert participant.get(f"/api/sessions/{session['id']}/agenda").status_code == 403
    assert fac.get(f"/api/sessions/{session['id']}/agenda").json["items"][0]["done"] is False
