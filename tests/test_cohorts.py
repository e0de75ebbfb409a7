"""Cohorts from programme templates: the generated calendar, DST, closed dates,
rescheduling, cancelling, catch-up sessions and the lifecycle."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from ipt_groups import timesource
from tests.conftest import ApiClient
from tests.factories import cohort_body, create_cohort


def local_starts(client: ApiClient, cohort_id: int) -> list[str]:
    sessions = client.get(f"/api/cohorts/{cohort_id}/sessions").json
    return [s["local_starts_at"] for s in sessions if s["status"] == "scheduled"]


def test_who_template_yields_dates_numbers_and_phases(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    assert cohort["programme_key"] == "who-8" and cohort["group_sessions"] == 8
    assert cohort["capacity"] == 10  # the WHO template's maximum group size
    assert cohort["status"] == "planned" and cohort["can_manage"] is True
    sessions = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    assert [s["number"] for s in sessions] == list(range(1, 9))
    assert [s["phase"] for s in sessions] == ["initial"] + ["middle"] * 6 + ["termination"]
    assert [s["local_starts_at"][:10] for s in sessions] == [
        "2026-03-10", "2026-03-17", "2026-03-24", "2026-03-31",
        "2026-04-07", "2026-04-14", "2026-04-21", "2026-04-28",
    ]  # fmt: skip
    assert all(s["duration_minutes"] == 90 and s["of"] == 8 for s in sessions)
    assert cohort["next_session"]["number"] == 1


def test_a_session_in_progress_is_shown_until_it_ends(as_role: Any, frozen: datetime) -> None:
    """At 17:10 the facilitator looks for the session they are running, not next week's."""
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    first, second, third = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json[:3]
    assert first["starts_at"] == "2026-03-10T17:00:00+00:00"  # 90 minutes long

    def shown() -> tuple[int, int]:
        me = as_role("facilitator")  # the clock moved past the idle timeout: sign in again
        listed = {c["id"]: c for c in me.get("/api/cohorts").json}
        one = me.get(f"/api/cohorts/{cohort['id']}").json
        return listed[cohort["id"]]["next_session"]["id"], one["next_session"]["id"]

    timesource.advance(datetime.fromisoformat("2026-03-10T17:10:00+00:00") - timesource.utcnow())
    assert shown() == (first["id"], first["id"])
    timesource.advance(timedelta(minutes=79))  # 18:29, one minute before its end
    assert shown() == (first["id"], first["id"])
    timesource.advance(timedelta(minutes=1))  # 18:30: over
    assert shown() == (second["id"], second["id"])

    # A cancelled session is never the current one.
    cancelled = as_role("facilitator").post(f"/api/sessions/{second['id']}/cancel", json={})
    assert cancelled.json["status"] == "cancelled"
    timesource.advance(datetime.fromisoformat("2026-03-17T17:10:00+00:00") - timesource.utcnow())
    assert shown() == (third["id"], third["id"])


def test_london_cohort_keeps_17_00_across_dst(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    sessions = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    # The UK clocks go forward on 29 March 2026: local time stays, UTC moves.
    assert {s["local_starts_at"][11:16] for s in sessions} == {"17:00"}
    assert sessions[2]["starts_at"] == "2026-03-24T17:00:00+00:00"
    assert sessions[3]["starts_at"] == "2026-03-31T16:00:00+00:00"
    assert sessions[3]["local_starts_at"] == "2026-03-31T17:00:00+01:00"


def test_new_york_cohort_keeps_17_00_across_dst_end(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    # Thursdays from 8 October: US clocks go back on 1 November 2026.
    cohort = create_cohort(
        fac, time_zone="America/New_York", weekday=3, start_date="2026-10-05", programme_key="who-8"
    )
    sessions = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    assert {s["local_starts_at"][11:16] for s in sessions} == {"17:00"}
    utc = {s["local_starts_at"][:10]: s["starts_at"][11:16] for s in sessions}
    assert utc["2026-10-29"] == "21:00"  # EDT, UTC-4
    assert utc["2026-11-05"] == "22:00"  # EST, UTC-5


def test_clinic_holiday_pushes_the_series_back_a_week(
    as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    admin: ApiClient = as_role("admin")
    fac: ApiClient = as_role("facilitator")
    # Closed before the cohort exists: the generated calendar skips it.
    assert (
        admin.post("/api/closed-dates", json={"day": "2026-03-24", "label": "Holiday"}).status_code
        == 201
    )
    before = create_cohort(fac)
    dates = [d[:10] for d in local_starts(fac, before["id"])]
    assert dates[:3] == ["2026-03-10", "2026-03-17", "2026-03-31"]
    assert dates[-1] == "2026-05-05" and len(dates) == 8
    # Closed after the cohort exists: sessions from that date on move back a week.
    response = admin.post("/api/closed-dates", json={"day": "2026-04-14", "label": "Closed"})
    assert response.status_code == 201
    moved = [d[:10] for d in local_starts(fac, before["id"])]
    assert moved[:4] == dates[:4]
    assert moved[4:] == ["2026-04-21", "2026-04-28", "2026-05-05", "2026-05-12"]
    sessions = fac.get(f"/api/cohorts/{before['id']}/sessions").json
    assert sessions[4]["rescheduled"] is True and sessions[3]["rescheduled"] is False
    # Only admins close the clinic.
    assert fac.post("/api/closed-dates", json={"day": "2026-05-01"}).status_code == 403


def test_cohort_skipped_date_moves_only_that_cohort(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    a, b = create_cohort(fac), create_cohort(fac, name="Other group")
    response = fac.post(f"/api/cohorts/{a['id']}/skipped-dates", json={"day": "2026-03-17"})
    assert response.status_code == 201
    assert [d[:10] for d in local_starts(fac, a["id"])][1] == "2026-03-24"
    assert [d[:10] for d in local_starts(fac, b["id"])][1] == "2026-03-17"
    again = fac.post(f"/api/cohorts/{a['id']}/skipped-dates", json={"day": "2026-03-17"})
    assert again.status_code == 409 and again.json["error"]["code"] == "already_closed"


def test_reschedule_this_and_later_keeps_local_time(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    sessions = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    third = sessions[2]
    # Session 3 (24 March, before the DST change) and all later ones move a week later.
    response = fac.post(
        f"/api/sessions/{third['id']}/reschedule",
        json={"starts_at_local": "2026-03-31T17:00", "scope": "this_and_later"},
    )
    assert response.status_code == 200, response.json
    assert [s["number"] for s in response.json["moved"]] == [3, 4, 5, 6, 7, 8]
    after = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    assert [s["local_starts_at"] for s in after][:4] == [
        "2026-03-10T17:00:00+00:00", "2026-03-17T17:00:00+00:00",
        "2026-03-31T17:00:00+01:00", "2026-04-07T17:00:00+01:00",
    ]  # fmt: skip
    assert after[-1]["local_starts_at"] == "2026-05-05T17:00:00+01:00"
    assert after[2]["original_starts_at"] == "2026-03-24T17:00:00+00:00"


def test_reschedule_one_session_only(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    sessions = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    response = fac.post(
        f"/api/sessions/{sessions[1]['id']}/reschedule",
        json={"starts_at_local": "2026-03-19T18:30"},
    )
    assert response.status_code == 200
    after = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    assert after[1]["local_starts_at"] == "2026-03-19T18:30:00+00:00"
    assert after[2]["local_starts_at"] == "2026-03-24T17:00:00+00:00"
    # Past the next session: refused, nothing moves.
    bad = fac.post(
        f"/api/sessions/{sessions[1]['id']}/reschedule",
        json={"starts_at_local": "2026-03-25T17:00", "scope": "this"},
    )
    assert bad.status_code == 422 and "starts_at_local" in bad.json["error"]["fields"]
    assert (
        fac.get(f"/api/sessions/{sessions[1]['id']}")
        .json["local_starts_at"]
        .startswith("2026-03-19T18:30")
    )
    past = fac.post(
        f"/api/sessions/{sessions[1]['id']}/reschedule",
        json={"starts_at_local": "2026-03-01T17:00"},
    )
    assert past.status_code == 422
    aware = fac.post(
        f"/api/sessions/{sessions[1]['id']}/reschedule",
        json={"starts_at_local": "2026-03-20T17:00:00+02:00"},
    )
    assert aware.status_code == 422


def test_cancel_and_catch_up(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    sessions = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    response = fac.post(f"/api/sessions/{sessions[3]['id']}/cancel", json={"reason": "Storm"})
    assert response.status_code == 200
    assert response.json["status"] == "cancelled" and response.json["cancel_reason"] == "Storm"
    again = fac.post(f"/api/sessions/{sessions[3]['id']}/cancel", json={})
    assert again.status_code == 409 and again.json["error"]["code"] == "session_cancelled"
    catch_up = fac.post(
        f"/api/cohorts/{cohort['id']}/sessions",
        json={"starts_at_local": "2026-04-02T17:00", "replaces_number": 4},
    )
    assert catch_up.status_code == 201
    body = catch_up.json
    assert body["kind"] == "catch_up" and body["number"] == 4 and body["phase"] == "middle"
    assert body["local_starts_at"] == "2026-04-02T17:00:00+01:00"
    listed = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    assert [s["kind"] for s in listed].count("catch_up") == 1 and len(listed) == 9


def test_started_session_cannot_move(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    first = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json[0]
    timesource.advance(timedelta(days=8, hours=8, minutes=1))  # 10 March 17:01 UTC
    fac = as_role("facilitator")  # the old session timed out while the clock moved
    response = fac.post(
        f"/api/sessions/{first['id']}/reschedule", json={"starts_at_local": "2026-03-12T17:00"}
    )
    assert response.status_code == 409 and response.json["error"]["code"] == "session_started"


def test_lifecycle_transitions(as_role: Any, users: dict[str, int], frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    url = f"/api/cohorts/{cohort['id']}/status"
    assert cohort["allowed_transitions"] == ["active", "cancelled"]
    no_supervisor = fac.post(url, json={"status": "active"})
    assert no_supervisor.status_code == 409
    assert no_supervisor.json["error"]["code"] == "supervisor_required"
    patched = fac.patch(
        f"/api/cohorts/{cohort['id']}", json={"supervisor_ids": [users["supervisor"]]}
    )
    assert patched.status_code == 200
    assert {
        "user_id": users["supervisor"],
        "display_name": "Test supervisor",
        "role": "supervisor",
    } in patched.json["staff"]
    assert fac.post(url, json={"status": "active"}).json["status"] == "active"
    early = fac.post(url, json={"status": "completed"})
    assert early.status_code == 409 and early.json["error"]["code"] == "sessions_remaining"
    backwards = fac.post(url, json={"status": "planned"})
    assert backwards.status_code == 409 and backwards.json["error"]["code"] == "invalid_transition"
    timesource.advance(timedelta(days=60))
    fac = as_role("facilitator")
    done = fac.post(url, json={"status": "completed"})
    assert done.status_code == 200 and done.json["allowed_transitions"] == []
    # A completed cohort's calendar is frozen.
    sessions = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    catch_up = fac.post(
        f"/api/cohorts/{cohort['id']}/sessions", json={"starts_at_local": "2026-06-01T17:00"}
    )
    assert catch_up.status_code == 409 and len(sessions) == 8


def test_cancelling_a_cohort_cancels_future_sessions(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    response = fac.post(f"/api/cohorts/{cohort['id']}/status", json={"status": "cancelled"})
    assert response.status_code == 200 and response.json["next_session"] is None
    sessions = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    assert {s["status"] for s in sessions} == {"cancelled"}


def test_slot_change_before_start_regenerates_calendar(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    response = fac.patch(f"/api/cohorts/{cohort['id']}", json={"weekday": 3, "local_time": "10:30"})
    assert response.status_code == 200
    starts = local_starts(fac, cohort["id"])
    assert starts[0] == "2026-03-12T10:30:00+00:00" and len(starts) == 8
    timesource.advance(timedelta(days=11))  # session 1 has taken place
    fac = as_role("facilitator")
    late = fac.patch(f"/api/cohorts/{cohort['id']}", json={"weekday": 4})
    assert late.status_code == 409 and late.json["error"]["code"] == "cohort_started"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("time_zone", "Mars/Olympus"),
        ("time_zone", "EST5EDT"),  # a legacy alias, not a place
        ("weekday", 7),
        ("local_time", "25:00"),
        ("programme_key", "no-such-programme"),
        ("start_date", "2026-02-30"),
        ("capacity", 0),
    ],
)
def test_bad_cohort_fields_are_refused(
    as_role: Any, frozen: datetime, field: str, value: Any
) -> None:
    fac: ApiClient = as_role("facilitator")
    response = fac.post("/api/cohorts", json=cohort_body(**{field: value}))
    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == [field]
    assert fac.get("/api/cohorts").json == []


def test_online_location_must_be_https(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    bad = fac.post(
        "/api/cohorts", json=cohort_body(location_kind="online", location="javascript:alert(1)")
    )
    assert bad.status_code == 422 and "location" in bad.json["error"]["fields"]
    ok = create_cohort(fac, location_kind="online", location="https://meet.example.org/abc")
    assert ok["location_kind"] == "online"


def test_creator_who_names_another_lead_keeps_access(
    app: Any, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    from tests.conftest import create_user

    with app.app_context():
        other = create_user("facilitator", "second.facilitator@test.example").id
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac, lead_id=other)
    roles = {s["user_id"]: s["role"] for s in cohort["staff"]}
    assert roles == {other: "lead", users["facilitator"]: "co_facilitator"}
    dup = fac.post(
        "/api/cohorts", json=cohort_body(supervisor_ids=[users["supervisor"], users["supervisor"]])
    )
    assert dup.status_code == 422
    wrong_role = fac.post("/api/cohorts", json=cohort_body(supervisor_ids=[users["participant"]]))
    assert wrong_role.status_code == 422 and "supervisor_ids" in wrong_role.json["error"]["fields"]


def test_running_cohort_keeps_a_supervisor(
    as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac, supervisor_ids=[users["supervisor"]])
    url = f"/api/cohorts/{cohort['id']}"
    assert fac.post(f"{url}/status", json={"status": "active"}).status_code == 200
    response = fac.patch(url, json={"supervisor_ids": []})
    assert response.status_code == 409 and response.json["error"]["code"] == "supervisor_required"
    staff = fac.get(url).json["staff"]
    assert [s["user_id"] for s in staff if s["role"] == "supervisor"] == [users["supervisor"]]


@pytest.mark.parametrize(
    "body",
    [
        {"start_date": "9999-12-25"},
        {"start_date": "2026-03-01"},  # yesterday
        {"lead_id": 2**31},
        {"supervisor_ids": [2**64]},
    ],
)
def test_out_of_range_values_are_422_not_500(
    as_role: Any, frozen: datetime, body: dict[str, Any]
) -> None:
    fac: ApiClient = as_role("facilitator")
    response = fac.post("/api/cohorts", json=cohort_body(**body))
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == set(body)


def test_far_future_reschedule_is_refused_and_nothing_is_saved(
    as_role: Any, frozen: datetime
) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    last = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json[-1]
    response = fac.post(
        f"/api/sessions/{last['id']}/reschedule", json={"starts_at_local": "9999-12-31T23:00"}
    )
    assert response.status_code == 422
    assert fac.get(f"/api/sessions/{last['id']}").json["starts_at"] == last["starts_at"]


def test_reschedule_respects_closed_dates(as_role: Any, frozen: datetime) -> None:
    admin: ApiClient = as_role("admin")
    admin.post("/api/closed-dates", json={"day": "2026-04-14", "label": "Holiday"})
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    sessions = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    onto = fac.post(
        f"/api/sessions/{sessions[1]['id']}/reschedule",
        json={"starts_at_local": "2026-04-14T17:00"},
    )
    assert onto.status_code == 422
    # Session 2 and later move a week: session 5 would land on 14 April, so it and
    # the later ones move one more week.
    moved = fac.post(
        f"/api/sessions/{sessions[1]['id']}/reschedule",
        json={"starts_at_local": "2026-03-24T17:00", "scope": "this_and_later"},
    )
    assert moved.status_code == 200
    dates = [
        s["local_starts_at"][:10] for s in fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    ]
    assert "2026-04-14" not in dates
    assert dates == [
        "2026-03-10", "2026-03-24", "2026-03-31", "2026-04-07",
        "2026-04-21", "2026-04-28", "2026-05-05", "2026-05-12",
    ]  # fmt: skip


def test_online_link_checked_on_its_own_too(as_role: Any, frozen: datetime) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac, location_kind="online", location="https://meet.example.org/a")
    bad = fac.patch(f"/api/cohorts/{cohort['id']}", json={"location": "javascript:alert(1)"})
    assert bad.status_code == 422 and "location" in bad.json["error"]["fields"]
    assert fac.get(f"/api/cohorts/{cohort['id']}").json["location"] == "https://meet.example.org/a"


def test_clinic_closed_date_only_once(as_role: Any) -> None:
    admin: ApiClient = as_role("admin")
    assert admin.post("/api/closed-dates", json={"day": "2026-12-25"}).status_code == 201
    again = admin.post("/api/closed-dates", json={"day": "2026-12-25"})
    assert again.status_code == 409 and again.json["error"]["code"] == "already_closed"
    assert len(admin.get("/api/closed-dates").json) == 1


def test_cohort_list_queries_do_not_grow_with_cohorts(
    app: Any, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    from sqlalchemy import event

    from ipt_groups.extensions import db
    from tests.factories import enrol

    fac: ApiClient = as_role("facilitator")

    def queries_for_list() -> int:
        statements: list[str] = []
        with app.app_context():
            engine = db.engine

        def count(*_: Any) -> None:
            statements.append("q")

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert fac.get("/api/cohorts").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    first = create_cohort(fac, supervisor_ids=[users["supervisor"]])
    enrol(fac, first["id"])
    one = queries_for_list()
    for n in range(3):
        extra = create_cohort(fac, name=f"Group {n}", supervisor_ids=[users["supervisor"]])
        enrol(fac, extra["id"])
    assert queries_for_list() == one
