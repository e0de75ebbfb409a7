"""My schedule (JSON) and private iCalendar feeds.

What ends up in a calendar app may be synced to a third party or shown on a lock
screen: neutral titles, no cohort name, nothing clinical, no other members.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import icalendar
from flask import Flask

from ipt_groups import timesource
from tests.conftest import ApiClient, create_user
from tests.factories import create_cohort, enrol

PIN = "246810"
SESSION_DATES = [
    date(2026, 3, 10),
    date(2026, 3, 17),
    date(2026, 3, 24),
    date(2026, 3, 31),  # after the UK clocks go forward on 29 March
    date(2026, 4, 7),
    date(2026, 4, 14),
    date(2026, 4, 21),
    date(2026, 4, 28),
]
CLINICAL_WORDS = [
    "therapy",
    "therapist",
    "depression",
    "depressive",
    "mental",
    "interpersonal",
    "psycho",
    "suicide",
    "phq",
    "gad",
    "who-8",
    "counsel",
]


def join(app: Flask, invite: dict[str, Any]) -> ApiClient:
    """The member redeems their invite on a new phone and is logged in."""
    phone = ApiClient(app.test_client())
    response = phone.post("/api/invites/redeem", json={"code": invite["code"], "pin": PIN})
    assert response.status_code == 200, response.json
    phone.csrf = response.json["csrf_token"]
    phone.user_id = response.json["user"]["id"]
    return phone


def member_of_new_cohort(
    app: Flask, as_role: Any, name: str = "Member A", **member: Any
) -> tuple[ApiClient, int]:
    """A cohort led by the facilitator persona and a member who has joined."""
    facilitator: ApiClient = as_role("facilitator")
    cohort_id = create_cohort(facilitator)["id"]
    created = enrol(facilitator, cohort_id, name, **member)
    return join(app, created["invite"]), cohort_id


def new_feed(c: ApiClient) -> str:
    """Create the caller's feed; returns the URL's path (no scheme or host)."""
    response = c.post("/api/me/calendar-feed")
    assert response.status_code == 201, response.json
    assert response.json["active"] is True
    url = response.json["url"]
    assert url.startswith("http") and url.endswith(".ics")
    return urlsplit(url).path


def fetch(app: Flask, path: str) -> Any:
    """GET a feed as a calendar app would: no cookie, no login."""
    return app.test_client(use_cookies=False).get(path)


def fetch_calendar(app: Flask, path: str) -> tuple[str, icalendar.Calendar]:
    response = fetch(app, path)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/calendar"
    text = response.get_data(as_text=True)
    return text, icalendar.Calendar.from_ical(text)


def vevents(cal: icalendar.Calendar) -> list[Any]:
    return list(cal.walk("VEVENT"))


# --- the participant's feed --------------------------------------------------


def test_participant_feed_lists_the_group_sessions_in_local_time(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    member, _ = member_of_new_cohort(app, as_role)
    text, cal = fetch_calendar(app, new_feed(member))
    events = vevents(cal)
    assert len(events) == 8
    assert {str(e["SUMMARY"]) for e in events} == {"Group meeting"}
    assert {str(e["LOCATION"]) for e in events} == {"Community hall, room 2"}
    assert {str(e["STATUS"]) for e in events} == {"CONFIRMED"}
    assert len({str(e["UID"]) for e in events}) == 8

    starts = sorted((e["DTSTART"] for e in events), key=lambda s: s.dt)
    assert [s.params["TZID"] for s in starts] == ["Europe/London"] * 8
    assert [s.dt.date() for s in starts] == SESSION_DATES
    # 17:00 on the wall clock on both sides of the DST change ...
    assert [(s.dt.hour, s.dt.minute) for s in starts] == [(17, 0)] * 8
    # ... which is 17:00 UTC in March and 16:00 UTC from 31 March.
    utc_hours = [s.dt.astimezone(UTC).hour for s in starts]
    assert utc_hours == [17, 17, 17, 16, 16, 16, 16, 16]
    for e in events:
        assert e["DTEND"].dt - e["DTSTART"].dt > timedelta(0)

    zones = [str(z["TZID"]) for z in cal.walk("VTIMEZONE")]
    assert zones == ["Europe/London"]
    assert "BST" in text and "GMT" in text  # both halves of the year are described


def test_feed_says_nothing_clinical(app: Flask, as_role: Any, frozen: datetime) -> None:
    member, _ = member_of_new_cohort(app, as_role)
    text, _ = fetch_calendar(app, new_feed(member))
    lowered = text.lower()
    for word in CLINICAL_WORDS:
        assert word not in lowered, word
    assert "WHO" not in text
    assert "tuesday evening group" not in lowered
    assert "Member A" not in text  # not even the member's own name


def test_feed_does_not_name_the_programme(app: Flask, as_role: Any, frozen: datetime) -> None:
    member, _ = member_of_new_cohort(app, as_role)
    text, _ = fetch_calendar(app, new_feed(member))
    # DESCRIPTION (the alarm's required property) contains the letters "ipt":
    # look at the values only.
    values = [line.partition(":")[2] for line in text.splitlines()]
    assert not [v for v in values if "ipt" in v.lower()]
    assert "DESCRIPTION:" in text  # the alarms are there


def test_feed_is_in_the_members_language(app: Flask, as_role: Any, frozen: datetime) -> None:
    member, _ = member_of_new_cohort(app, as_role, language="es")
    text, cal = fetch_calendar(app, new_feed(member))
    assert {str(e["SUMMARY"]) for e in vevents(cal)} == {"Reunión del grupo"}
    assert str(cal["X-WR-CALNAME"]) == "Reuniones del grupo"
    assert "Group meeting" not in text


def test_cancelled_session_stays_in_the_feed_as_cancelled(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    member, cohort_id = member_of_new_cohort(app, as_role)
    path = new_feed(member)
    facilitator: ApiClient = as_role("facilitator")
    sessions = facilitator.get(f"/api/cohorts/{cohort_id}/sessions").json
    second = next(s for s in sessions if s["number"] == 2)
    response = facilitator.post(
        f"/api/sessions/{second['id']}/cancel", json={"reason": "Facilitator unwell"}
    )
    assert response.status_code == 200, response.json

    text, cal = fetch_calendar(app, path)
    by_date = {e["DTSTART"].dt.date(): str(e["STATUS"]) for e in vevents(cal)}
    assert len(by_date) == 8
    assert by_date.pop(date(2026, 3, 17)) == "CANCELLED"
    assert set(by_date.values()) == {"CONFIRMED"}
    assert "unwell" not in text.lower()  # the reason is for staff only


def test_rescheduled_session_moves_in_the_same_feed(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    member, cohort_id = member_of_new_cohort(app, as_role)
    path = new_feed(member)
    facilitator: ApiClient = as_role("facilitator")
    third = next(
        s for s in facilitator.get(f"/api/cohorts/{cohort_id}/sessions").json if s["number"] == 3
    )
    response = facilitator.post(
        f"/api/sessions/{third['id']}/reschedule", json={"starts_at_local": "2026-03-26T18:30"}
    )
    assert response.status_code == 200, response.json
    _, cal = fetch_calendar(app, path)
    starts = {e["DTSTART"].dt.replace(tzinfo=None) for e in vevents(cal)}
    assert datetime(2026, 3, 26, 18, 30) in starts
    assert datetime(2026, 3, 24, 17, 0) not in starts
    assert len(starts) == 8


# --- turning a feed off and on -----------------------------------------------


def test_revoking_the_feed_makes_its_url_unknown(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    member, _ = member_of_new_cohort(app, as_role)
    old = new_feed(member)
    assert fetch(app, old).status_code == 200

    response = member.delete("/api/me/calendar-feed")
    assert response.status_code == 204
    gone = fetch(app, old)
    assert gone.status_code == 404
    assert gone.json["error"]["code"] == "not_found"
    assert member.get("/api/me/calendar-feed").json["active"] is False

    new = new_feed(member)
    assert new != old
    assert fetch(app, new).status_code == 200
    assert fetch(app, old).status_code == 404


def test_creating_a_feed_again_replaces_the_old_url(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    member, _ = member_of_new_cohort(app, as_role)
    old = new_feed(member)
    new = new_feed(member)
    assert new != old
    assert fetch(app, old).status_code == 404
    assert fetch(app, new).status_code == 200


def test_feed_status_never_shows_the_url(app: Flask, as_role: Any, frozen: datetime) -> None:
    member, _ = member_of_new_cohort(app, as_role)
    before = member.get("/api/me/calendar-feed")
    assert before.status_code == 200
    assert before.json == {"active": False}

    path = new_feed(member)
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    status = member.get("/api/me/calendar-feed")
    assert status.json["active"] is True
    assert status.json["created_at"] == frozen.isoformat()
    assert status.json["last_used_at"] is None
    assert "url" not in status.json
    assert token not in status.get_data(as_text=True)

    timesource.advance(timedelta(minutes=1))
    fetch(app, path)
    used = member.get("/api/me/calendar-feed").json
    assert used["last_used_at"] == (frozen + timedelta(minutes=1)).isoformat()

    member.delete("/api/me/calendar-feed")
    assert member.get("/api/me/calendar-feed").json == {"active": False}


def test_a_disabled_accounts_feed_stops(app: Flask, as_role: Any, frozen: datetime) -> None:
    member, _ = member_of_new_cohort(app, as_role)
    path = new_feed(member)
    response = as_role("admin").post(f"/api/users/{member.user_id}/disable")
    assert response.status_code == 200, response.json
    assert fetch(app, path).status_code == 404


def test_unknown_token_is_a_json_404(app: Flask, frozen: datetime) -> None:
    token = "A" * 43
    response = fetch(app, f"/api/calendar/{token}.ics")
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert response.json["error"] == {
        "status": 404,
        "code": "not_found",
        "message": "Not found.",
    }
    assert fetch(app, "/api/calendar/short.ics").status_code == 404


def test_feed_needs_no_cookie_and_sets_none(app: Flask, as_role: Any, frozen: datetime) -> None:
    member, _ = member_of_new_cohort(app, as_role)
    path = new_feed(member)
    response = fetch(app, path)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_feed_url_is_unguessable(app: Flask, as_role: Any, frozen: datetime) -> None:
    member, _ = member_of_new_cohort(app, as_role)
    path = new_feed(member)
    assert re.fullmatch(r"/api/calendar/[A-Za-z0-9_-]{43}\.ics", path), path


# --- one-to-one meetings --------------------------------------------------------


def book_pre_group_meeting(facilitator: ApiClient, enrolment_id: int, when: str) -> int:
    meetings = facilitator.get(f"/api/enrolments/{enrolment_id}").json["meetings"]
    # WHO 8: pre-group, mid-group and post-group meetings; the pre-group is first.
    assert [m["kind"] for m in meetings] == ["pre_group", "mid_programme", "post_group"]
    response = facilitator.patch(
        f"/api/meetings/{meetings[0]['id']}", json={"starts_at_local": when}
    )
    assert response.status_code == 200, response.json
    return int(meetings[0]["id"])


def test_booked_one_to_one_meeting_is_in_both_feeds_without_its_label(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    facilitator: ApiClient = as_role("facilitator")
    cohort_id = create_cohort(facilitator)["id"]
    created = enrol(facilitator, cohort_id, "Member A")
    book_pre_group_meeting(facilitator, created["enrolment"]["id"], "2026-03-05T14:00")
    member = join(app, created["invite"])

    for who in (member, facilitator):
        text, cal = fetch_calendar(app, new_feed(who))
        events = vevents(cal)
        assert len(events) == 9
        one_to_one = [e for e in events if str(e["SUMMARY"]) == "One-to-one meeting"]
        assert len(one_to_one) == 1
        start = one_to_one[0]["DTSTART"]
        assert start.params["TZID"] == "Europe/London"
        assert start.dt.replace(tzinfo=None) == datetime(2026, 3, 5, 14, 0)
        assert "pre-group" not in text.lower()
        assert "Member A" not in text
        for word in CLINICAL_WORDS:
            assert word not in text.lower(), word

    schedule = member.get("/api/me/schedule").json
    assert schedule["next"]["kind"] == "individual"
    assert schedule["next"]["title"] == "One-to-one meeting"
    assert len(schedule["events"]) == 9


def test_cancelling_the_cohort_cancels_booked_meetings_in_the_feed(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    facilitator: ApiClient = as_role("facilitator")
    cohort_id = create_cohort(facilitator)["id"]
    created = enrol(facilitator, cohort_id, "Member A")
    book_pre_group_meeting(facilitator, created["enrolment"]["id"], "2026-03-05T14:00")
    member = join(app, created["invite"])
    path = new_feed(member)
    response = facilitator.post(f"/api/cohorts/{cohort_id}/status", json={"status": "cancelled"})
    assert response.status_code == 200, response.json

    _, cal = fetch_calendar(app, path)
    statuses: dict[str, set[str]] = {}
    for e in vevents(cal):
        statuses.setdefault(str(e["SUMMARY"]), set()).add(str(e["STATUS"]))
    assert statuses["Group meeting"] == {"CANCELLED"}
    assert statuses["One-to-one meeting"] == {"CANCELLED"}


# --- staff feeds ---------------------------------------------------------------


def test_facilitator_feed_has_every_cohort_they_lead(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    facilitator: ApiClient = as_role("facilitator")
    tuesday = create_cohort(facilitator)["id"]
    thursday = create_cohort(
        facilitator,
        name="Thursday morning group",
        weekday=3,
        local_time="10:00",
        location="Library, upstairs room",
    )["id"]
    enrol(facilitator, tuesday, "Member A")
    assert tuesday != thursday

    text, cal = fetch_calendar(app, new_feed(facilitator))
    events = vevents(cal)
    assert len(events) == 16
    assert len({str(e["UID"]) for e in events}) == 16
    assert {str(e["SUMMARY"]) for e in events} == {"Group meeting"}
    locations = [str(e["LOCATION"]) for e in events]
    assert locations.count("Community hall, room 2") == 8
    assert locations.count("Library, upstairs room") == 8
    thursdays = [e["DTSTART"].dt for e in events if e["DTSTART"].dt.weekday() == 3]
    assert len(thursdays) == 8 and {(d.hour, d.minute) for d in thursdays} == {(10, 0)}
    lowered = text.lower()
    assert "tuesday evening group" not in lowered
    assert "thursday morning group" not in lowered
    assert "Member A" not in text
    for word in CLINICAL_WORDS:
        assert word not in lowered, word


def test_outsider_facilitator_feed_has_none_of_them(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    facilitator: ApiClient = as_role("facilitator")
    create_cohort(facilitator)
    create_cohort(facilitator, name="Thursday morning group", weekday=3)
    with app.app_context():
        create_user("facilitator", "other.facilitator@test.example")
    outsider = ApiClient(app.test_client())
    assert outsider.login("other.facilitator@test.example").status_code == 200
    text, cal = fetch_calendar(app, new_feed(outsider))
    assert vevents(cal) == []
    assert "Community hall" not in text
    assert outsider.get("/api/me/schedule").json["events"] == []


def test_supervisor_feed_has_the_cohorts_they_supervise(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    facilitator: ApiClient = as_role("facilitator")
    create_cohort(facilitator, supervisor_ids=[users["supervisor"]])
    create_cohort(facilitator, name="Thursday morning group", weekday=3)
    _, cal = fetch_calendar(app, new_feed(as_role("supervisor")))
    assert len(vevents(cal)) == 8


# --- my schedule (JSON) ----------------------------------------------------------


def test_participant_schedule_shows_their_group_and_nobody_else(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    facilitator: ApiClient = as_role("facilitator")
    cohort_id = create_cohort(facilitator)["id"]
    member = join(app, enrol(facilitator, cohort_id, "Member A")["invite"])
    enrol(facilitator, cohort_id, "Member B")

    response = member.get("/api/me/schedule")
    assert response.status_code == 200, response.json
    body = response.json
    text = response.get_data(as_text=True)
    assert body["status"] == "enrolled"
    assert body["waitlist_position"] is None
    assert body["group"]["id"] == cohort_id
    assert "name" not in body["group"]
    assert body["group"]["local_time"] == "17:00" and body["group"]["group_sessions"] == 8
    assert "Member B" not in text
    assert "Tuesday evening group" not in text
    assert body["facilitators"] == ["Test facilitator"]

    events = body["events"]
    assert len(events) == 8
    assert [e["number"] for e in events] == list(range(1, 9))
    assert {e["kind"] for e in events} == {"group"} and {e["of"] for e in events} == {8}
    assert {e["title"] for e in events} == {"Group meeting"}
    local = [datetime.fromisoformat(e["local_starts_at"]) for e in events]
    assert [d.date() for d in local] == SESSION_DATES
    assert {(d.hour, d.minute) for d in local} == {(17, 0)}
    assert [d.utcoffset() for d in local] == [timedelta(0)] * 3 + [timedelta(hours=1)] * 5

    nxt = body["next"]
    assert nxt["number"] == 1 and nxt["session_id"] == events[0]["session_id"]
    assert nxt["local_starts_at"] == "2026-03-10T17:00:00+00:00"
    assert nxt["starts_at"] == "2026-03-10T17:00:00+00:00"


def test_schedule_next_skips_past_and_cancelled_sessions(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    member, cohort_id = member_of_new_cohort(app, as_role)
    username = member.get("/api/me").json["username"]
    facilitator: ApiClient = as_role("facilitator")
    sessions = facilitator.get(f"/api/cohorts/{cohort_id}/sessions").json
    second = next(s for s in sessions if s["number"] == 2)
    assert facilitator.post(f"/api/sessions/{second['id']}/cancel", json={}).status_code == 200

    timesource.advance(timedelta(days=8, hours=10))  # Tuesday 10 March 19:00 UTC: session 1 is over
    later = ApiClient(app.test_client())
    assert later.login(username=username, password=PIN).status_code == 200
    body = later.get("/api/me/schedule").json
    assert body["next"]["number"] == 3
    statuses = {e["number"]: e["status"] for e in body["events"]}
    assert statuses[1] == "scheduled" and statuses[2] == "cancelled"
    assert len(body["events"]) == 8


def test_waitlisted_participant_sees_no_group_sessions(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    facilitator: ApiClient = as_role("facilitator")
    cohort_id = create_cohort(facilitator, capacity=1)["id"]
    enrol(facilitator, cohort_id, "Member A")
    waiting = enrol(facilitator, cohort_id, "Member B")
    assert waiting["enrolment"]["status"] == "waitlisted"
    member = join(app, waiting["invite"])

    response = member.get("/api/me/schedule")
    body = response.json
    assert body["status"] == "waitlisted"
    assert body["waitlist_position"] == 1
    assert [e for e in body["events"] if e["kind"] in ("group", "catch_up")] == []
    assert body["next"] is None
    assert "Member A" not in response.get_data(as_text=True)

    _, cal = fetch_calendar(app, new_feed(member))
    assert vevents(cal) == []


def test_schedule_needs_a_login(app: Flask) -> None:
    response = ApiClient(app.test_client()).get("/api/me/schedule")
    assert response.status_code == 401
    assert ApiClient(app.test_client()).post("/api/me/calendar-feed").status_code == 401


# --- alarms: reminders that cost nothing --------------------------------------


def alarms(event: Any) -> list[Any]:
    return [c for c in event.subcomponents if c.name == "VALARM"]


def test_each_session_carries_a_day_before_and_an_hour_before_alarm(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    member, _ = member_of_new_cohort(app, as_role)
    text, cal = fetch_calendar(app, new_feed(member))
    events = vevents(cal)
    assert len(events) == 8
    for event in events:
        found = alarms(event)
        assert sorted(a["TRIGGER"].dt for a in found) == [-timedelta(days=1), -timedelta(hours=1)]
        assert {str(a["ACTION"]) for a in found} == {"DISPLAY"}
        assert {str(a["DESCRIPTION"]) for a in found} == {
            "Group meeting tomorrow",
            "Group meeting in one hour",
        }
    # RFC 5545 spelling on the wire: a duration relative to the start.
    assert text.count("BEGIN:VALARM") == 16
    assert "TRIGGER:-P1D" in text and "TRIGGER:-PT1H" in text
    lowered = text.lower()
    assert not [w for w in CLINICAL_WORDS if w in lowered]


def test_alarms_follow_the_member_reminder_preferences(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    member, _ = member_of_new_cohort(app, as_role)
    path = new_feed(member)
    response = member.put("/api/me/notification-preferences", json={"session_24h": False})
    assert response.status_code == 200, response.json
    _, cal = fetch_calendar(app, path)
    for event in vevents(cal):
        assert [a["TRIGGER"].dt for a in alarms(event)] == [-timedelta(hours=1)]
    member.put("/api/me/notification-preferences", json={"session_1h": False})
    text, cal = fetch_calendar(app, path)
    assert "VALARM" not in text


def test_alarm_text_is_in_the_member_language_and_cancelled_sessions_have_none(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    member, cohort_id = member_of_new_cohort(app, as_role)
    assert member.patch("/api/me", json={"language": "es"}).status_code == 200
    facilitator = as_role("facilitator")
    sessions = facilitator.get(f"/api/cohorts/{cohort_id}/sessions").json
    response = facilitator.post(f"/api/sessions/{sessions[-1]['id']}/cancel", json={})
    assert response.status_code == 200, response.json
    _, cal = fetch_calendar(app, new_feed(member))
    by_status: dict[str, list[Any]] = {}
    for event in vevents(cal):
        by_status.setdefault(str(event["STATUS"]), []).append(event)
    assert [alarms(e) for e in by_status["CANCELLED"]] == [[]]
    descriptions = {str(a["DESCRIPTION"]) for e in by_status["CONFIRMED"] for a in alarms(e)}
    assert descriptions == {"Reunión del grupo mañana", "Reunión del grupo en una hora"}
