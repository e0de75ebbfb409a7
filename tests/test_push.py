"""Reminders that arrive: subscriptions, the allow-list, planning, quiet hours and
DST, the dispatcher against a real (fake) push service that decrypts what we send.

The clock is frozen at Monday 2 March 2026 09:00 UTC; the cohort meets Tuesdays
17:00 in London from 9 March, so session 1 is Tuesday 10 March, 17:00 UTC, and
its day-before reminder is due Monday 9 March, 17:00 UTC.
"""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from ipt_groups import timesource
from ipt_groups.extensions import db
from ipt_groups.messaging import messages
from ipt_groups.messaging.endpoints import policy
from ipt_groups.models import (
    DeliveryAttempt,
    GroupSession,
    Notification,
    NotificationKind,
    PushSubscription,
)
from ipt_groups.push import dispatcher
from ipt_groups.push.dispatcher import Dispatcher
from ipt_groups.push.transport import Transport
from ipt_groups.services import outbox, reminders
from tests.conftest import ApiClient
from tests.factories import (
    DAY_BEFORE_S1,
    phone_login,
    rows,
    run_clock,
    wait_until,
)

SESSION_1 = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)


# -- keys and subscriptions ---------------------------------------------------


def test_the_vapid_public_key_is_public_and_is_the_apps(app: Flask) -> None:
    response = app.test_client().get("/api/push/vapid-public-key")
    assert response.status_code == 200
    key = response.json["public_key"]
    assert key == app.config["VAPID_KEYS"].public_key
    assert len(key) == 87 and "=" not in key  # 65 bytes, base64url without padding


def test_a_subscription_is_upserted_by_endpoint_and_capped_per_person(
    app: Flask, as_role: Any, fake_push: Any, frozen: datetime
) -> None:
    me = as_role("participant")
    first = fake_push.new_subscription()
    assert me.post("/api/push/subscriptions", json=first).status_code == 201
    again = me.post("/api/push/subscriptions", json=first)  # every app start re-sends it
    assert again.status_code == 200
    assert len(me.get("/api/push/subscriptions").json) == 1
    later = []
    for _ in range(5):
        timesource.advance(timedelta(seconds=1))
        later.append(fake_push.new_subscription())
        assert me.post("/api/push/subscriptions", json=later[-1]).status_code == 201
    mine = me.get("/api/push/subscriptions").json
    assert len(mine) == 5  # the cap: the device seen longest ago (the first) made way
    assert all(d["push_host"] == "127.0.0.1" for d in mine)
    gone = me.delete("/api/push/subscriptions", json={"endpoint": first["endpoint"]})
    assert gone.status_code == 404
    # Removing a device by id, then by endpoint.
    assert me.delete(f"/api/push/subscriptions/{mine[0]['id']}").status_code == 204
    kept = me.delete("/api/push/subscriptions", json={"endpoint": later[0]["endpoint"]})
    assert kept.status_code == 204
    assert len(me.get("/api/push/subscriptions").json) == 3


def test_a_shared_tablet_moves_to_whoever_subscribes_it(
    app: Flask, as_role: Any, fake_push: Any
) -> None:
    sub = fake_push.new_subscription()
    staff = as_role("facilitator")
    assert staff.post("/api/push/subscriptions", json=sub).status_code == 201
    member = as_role("participant")
    assert member.post("/api/push/subscriptions", json=sub).status_code == 200
    assert staff.get("/api/push/subscriptions").json == []
    assert len(member.get("/api/push/subscriptions").json) == 1


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://10.0.0.5/push/abc",
        "https://127.0.0.1/push/abc",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/push/abc",
        "http://fcm.googleapis.com/fcm/send/abc",
        "https://fcm.googleapis.com:8443/fcm/send/abc",
        "https://user:pw@fcm.googleapis.com/fcm/send/abc",
        "https://intranet.clinic.example/push",
        "https://push.apple.com.evil.example/x",
        "file:///etc/passwd",
    ],
)
def test_an_endpoint_that_is_not_a_known_push_service_is_refused(
    app: Flask, as_role: Any, fake_push: Any, endpoint: str
) -> None:
    me = as_role("participant")
    keys = fake_push.new_subscription()["keys"]
    response = me.post("/api/push/subscriptions", json={"endpoint": endpoint, "keys": keys})
    assert response.status_code == 422
    assert "endpoint" in response.json["error"]["fields"]
    assert me.get("/api/push/subscriptions").json == []


def test_known_push_services_are_accepted(app: Flask, as_role: Any, fake_push: Any) -> None:
    me = as_role("participant")
    keys = fake_push.new_subscription()["keys"]
    for endpoint in (
        "https://fcm.googleapis.com/fcm/send/d3v1c3",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
        "https://web.push.apple.com/QGx1c2Vy",
        "https://wns2-par02p.notify.windows.com/w/?token=AwYAAA",
    ):
        response = me.post("/api/push/subscriptions", json={"endpoint": endpoint, "keys": keys})
        assert response.status_code == 201, (endpoint, response.json)


def test_malformed_keys_are_refused_naming_the_key(
    app: Flask, as_role: Any, fake_push: Any
) -> None:
    me = as_role("participant")
    sub = fake_push.new_subscription()
    bad = {**sub, "keys": {"p256dh": "A" * 87, "auth": sub["keys"]["auth"]}}
    response = me.post("/api/push/subscriptions", json=bad)
    assert response.status_code == 422
    assert "keys.p256dh" in response.json["error"]["fields"]


def test_an_endpoint_refused_at_send_time_is_never_contacted(
    app: Flask, member: dict[str, Any], fake_push: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The operator narrows the allow-list after the phone subscribed.
    monkeypatch.setitem(app.config, "PUSH_ALLOWED_HOSTS", ("fcm.googleapis.com",))
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    run_clock(app)
    assert fake_push.attempts == []
    with app.app_context():
        attempt = db.session.scalars(select(DeliveryAttempt)).one()
        assert attempt.outcome == "refused" and attempt.status_code is None
    assert {r.status for r in rows(app, kind="session_24h")} >= {"failed"}


# -- a reminder end to end ---------------------------------------------------


def test_a_reminder_arrives_decrypted_and_discreet(
    app: Flask, member: dict[str, Any], fake_push: Any
) -> None:
    session_1 = member["sessions"][0]["id"]
    run_clock(app)  # a week early: planned for later, nothing sent
    assert fake_push.received == []
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    report = run_clock(app)
    assert report.sent == 1  # member B has no phone: their day-before and check-in rows
    assert report.no_channel == 2

    (got,) = fake_push.received
    assert got.endpoint == member["sub"]["endpoint"]
    assert got.json["title"] == "Reminder"
    assert got.json["body"] == "See you Tuesday at 17:00."
    assert got.json["url"] == f"/#/sessions/{session_1}"
    text = got.payload.decode()
    assert messages.clinical_words_in(text) == []
    assert member["cohort"]["name"].lower() not in text.lower()
    assert "Member A" not in text
    assert got.claims["sub"] == "mailto:admin@example.org"
    assert got.claims["aud"] == fake_push.origin
    assert got.ttl is not None and 0 < got.ttl <= 24 * 3600
    assert got.urgency == "normal"
    assert got.topic and len(got.topic) == 32 and "session" not in got.topic

    sent = rows(app, kind="session_24h", status="sent")
    assert [r.ref_id for r in sent] == [session_1]
    with app.app_context():
        attempt = db.session.scalars(select(DeliveryAttempt)).one()
        assert (attempt.status_code, attempt.outcome) == (201, "sent")

    # The facilitator sees who got it and whom to phone.
    board = ApiClient(app.test_client())
    assert board.login("facilitator@test.example").status_code == 200
    seen = board.get(f"/api/sessions/{session_1}/reminders").json
    assert {m["display_name"]: m["status"] for m in seen} == {
        "Member A": "delivered",
        "Member B": "no_channel",
    }
    # The member's inbox shows the same neutral words.
    inbox = phone_login(app, member["username"]).get("/api/me/notifications").json
    assert inbox["items"][0]["text"] == "See you Tuesday at 17:00."


def test_the_hour_before_reminder_is_high_urgency_and_shares_the_topic(
    app: Flask, member: dict[str, Any], fake_push: Any
) -> None:
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    run_clock(app)
    timesource.advance(timedelta(hours=23))
    run_clock(app)
    day_before, hour_before = fake_push.received
    assert hour_before.json["body"] == "Today at 17:00."
    assert hour_before.urgency == "high"
    assert hour_before.topic == day_before.topic  # the newer replaces an undelivered older one


def test_a_spanish_speaker_reads_spanish(
    app: Flask, member: dict[str, Any], fake_push: Any
) -> None:
    me = phone_login(app, member["username"])
    assert me.put("/api/me/notification-preferences", json={"language": "es"}).status_code == 200
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    run_clock(app)
    assert fake_push.received[0].json["body"] == "Nos vemos el martes a las 17:00."


def test_a_check_in_nudge_comes_the_day_before_until_it_is_answered(
    app: Flask, member: dict[str, Any], fake_push: Any
) -> None:
    me = phone_login(app, member["username"])
    assert me.put("/api/me/notification-preferences", json={"checkin_due": True}).status_code == 200
    # Session 1 has a PHQ-9 due: the nudge is planned 30 hours ahead (Monday 11:00).
    timesource.advance(SESSION_1 - timedelta(hours=30) - timesource.utcnow())
    run_clock(app)
    (got,) = fake_push.received
    assert got.json["body"] == "A few questions are waiting for you before Tuesday."
    assert got.json["url"] == "/#/check-in"
    assert messages.clinical_words_in(got.payload.decode()) == []


def test_no_check_in_nudge_once_it_is_answered(
    app: Flask, member: dict[str, Any], fake_push: Any
) -> None:
    me = phone_login(app, member["username"])
    assert me.put("/api/me/notification-preferences", json={"checkin_due": True}).status_code == 200
    timesource.advance(SESSION_1 - timedelta(hours=40) - timesource.utcnow())
    me = phone_login(app, member["username"])
    done = me.post("/api/me/check-in", json={"instrument": "mood", "answers": {"mood": 6}})
    assert done.status_code == 201, done.json
    timesource.advance(timedelta(hours=10))
    run_clock(app)
    assert fake_push.received == []
    assert rows(app, kind="checkin_due", user_id=_user_of(app, member)) == []


# -- answers from the push service -------------------------------------------


def test_a_410_deletes_the_subscription(app: Flask, member: dict[str, Any], fake_push: Any) -> None:
    fake_push.gone(member["sub"]["endpoint"])
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    run_clock(app)
    with app.app_context():
        assert db.session.scalars(select(PushSubscription)).all() == []
        attempt = db.session.scalars(select(DeliveryAttempt)).one()
        assert (attempt.status_code, attempt.outcome, attempt.subscription_id) == (
            410,
            "gone",
            None,  # the attempt outlives the deleted subscription
        )
    assert [r.status for r in rows(app, kind="session_24h")] == ["no_channel", "no_channel"]
    fac = ApiClient(app.test_client())
    fac.login("facilitator@test.example")
    seen = fac.get(f"/api/sessions/{member['sessions'][0]['id']}/reminders").json
    assert {m["status"] for m in seen} == {"no_channel"}


def test_429_with_retry_after_is_honoured(
    app: Flask, member: dict[str, Any], fake_push: Any
) -> None:
    fake_push.script(member["sub"]["endpoint"], 429, retry_after="120")
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    first = run_clock(app)
    assert first.retrying == 1 and fake_push.received == []
    (row,) = [r for r in rows(app, kind="session_24h") if r.status == "pending"]
    assert row.due_at == DAY_BEFORE_S1 + timedelta(seconds=120)
    assert row.attempts == 1 and row.last_error == "throttled"

    timesource.advance(timedelta(seconds=119))
    assert run_clock(app).claimed == 0  # not before the push service said
    timesource.advance(timedelta(seconds=2))
    assert run_clock(app).sent == 1
    assert len(fake_push.received) == 1
    assert [a.status for a in fake_push.attempts] == [429, 201]


def test_server_errors_retry_with_backoff_a_bounded_number_of_times(
    app: Flask, member: dict[str, Any], fake_push: Any
) -> None:
    fake_push.script(member["sub"]["endpoint"], *([500] * dispatcher.MAX_ATTEMPTS))
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    waits = []
    for _ in range(dispatcher.MAX_ATTEMPTS):
        run_clock(app)
        (row,) = [r for r in rows(app, kind="session_24h") if r.user_id == _user_of(app, member)]
        if row.status != "pending":
            break
        waits.append(row.due_at - timesource.utcnow())
        timesource.advance(row.due_at - timesource.utcnow())
    assert row.status == "failed" and row.last_error == "retry_limit"
    assert row.attempts == dispatcher.MAX_ATTEMPTS
    assert len(fake_push.attempts) == dispatcher.MAX_ATTEMPTS
    assert waits == sorted(waits) and waits[0] >= timedelta(seconds=24)  # it backs off


def _user_of(app: Flask, member: dict[str, Any]) -> int:
    """Member A's user id (the one with the phone)."""
    with app.app_context():
        return db.session.scalar(
            select(PushSubscription.user_id).where(
                PushSubscription.endpoint == member["sub"]["endpoint"]
            )
        )


def test_413_fails_at_once_without_retry(
    app: Flask, member: dict[str, Any], fake_push: Any
) -> None:
    fake_push.script(member["sub"]["endpoint"], 413)
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    run_clock(app)
    timesource.advance(timedelta(hours=1))
    run_clock(app)
    assert len(fake_push.attempts) == 1
    assert "failed" in {r.status for r in rows(app, kind="session_24h")}


def test_401_tells_the_admins_and_retries(
    app: Flask, member: dict[str, Any], fake_push: Any, users: dict[str, int]
) -> None:
    fake_push.script(member["sub"]["endpoint"], 401)
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    run_clock(app)
    (notice,) = rows(app, kind=NotificationKind.PUSH_REJECTED)
    assert notice.user_id == users["admin"]
    timesource.advance(timedelta(minutes=5))
    run_clock(app)
    assert len(fake_push.received) == 1  # the retry got through


def test_send_a_test_to_my_own_devices(app: Flask, member: dict[str, Any], fake_push: Any) -> None:
    me = phone_login(app, member["username"])
    response = me.post("/api/push/test")
    assert response.status_code == 200
    assert response.json["devices"] == 1 and response.json["delivered"] == 1
    assert fake_push.received[-1].json["title"] == "Test"
    fac = ApiClient(app.test_client())
    fac.login("facilitator@test.example")
    none = fac.post("/api/push/test")
    assert none.status_code == 409 and "no device" in none.json["error"]["message"]


# -- planning: changes rewrite the outbox ------------------------------------


def test_a_rescheduled_sessions_old_reminders_are_never_sent(
    app: Flask, member: dict[str, Any], fake_push: Any
) -> None:
    session_1 = member["sessions"][0]["id"]
    timesource.advance(
        DAY_BEFORE_S1 - timedelta(hours=20) - timesource.utcnow()
    )  # planning horizon
    run_clock(app)
    planned = rows(app, kind="session_24h", status="pending", user_id=_user_of(app, member))
    assert len(planned) == 1 and planned[0].due_at == DAY_BEFORE_S1
    fac = ApiClient(app.test_client())
    fac.login("facilitator@test.example")
    moved = fac.post(
        f"/api/sessions/{session_1}/reschedule",
        json={"starts_at_local": "2026-03-11T17:00", "scope": "this"},
    )
    assert moved.status_code == 200, moved.json
    old = rows(app, id=planned[0].id)[0]
    assert old.status == "cancelled" and old.last_error == "replanned"

    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())  # the old reminder's moment
    run_clock(app)
    assert fake_push.received == []
    timesource.advance(timedelta(days=1))
    run_clock(app)
    (got,) = fake_push.received
    assert got.json["body"] == "See you Wednesday at 17:00."


def test_a_session_moved_behind_the_planners_back_is_caught_at_send_time(
    app: Flask, member: dict[str, Any], fake_push: Any
) -> None:
    timesource.advance(DAY_BEFORE_S1 - timedelta(minutes=1) - timesource.utcnow())
    run_clock(app)
    with app.app_context():  # a change that did not go through the services
        session = db.session.get(GroupSession, member["sessions"][0]["id"])
        session.starts_at += timedelta(days=2)
        db.session.commit()
    timesource.advance(timedelta(minutes=1))
    with app.app_context():
        report = dispatcher.for_app(app).drain()
    assert report.cancelled == 2 and fake_push.received == []  # members A and B
    assert rows(app, kind="session_24h", status="cancelled")[0].last_error == "session_moved"


def test_cancelling_withdrawing_cant_come_and_opting_out_cancel_pending_reminders(
    app: Flask, member: dict[str, Any], fake_push: Any
) -> None:
    s1 = member["sessions"][0]["id"]
    user_id = _user_of(app, member)
    timesource.advance(DAY_BEFORE_S1 - timedelta(hours=20) - timesource.utcnow())
    run_clock(app)

    def mine() -> dict[tuple[str, int | None], str]:
        return {
            (r.kind, r.ref_id): r.status
            for r in rows(app, ref_type="session")
            if r.user_id == user_id
        }

    assert mine()[("session_24h", s1)] == "pending"
    me = phone_login(app, member["username"])
    assert me.put(f"/api/me/sessions/{s1}/cannot-come", json={}).status_code == 200
    assert mine()[("session_24h", s1)] == "cancelled"
    assert me.delete(f"/api/me/sessions/{s1}/cannot-come").status_code == 204
    assert "pending" in {s for (k, ref), s in mine().items() if ref == s1}
    assert (
        me.put("/api/me/notification-preferences", json={"session_24h": False}).status_code == 200
    )
    statuses = mine()
    assert {s for (k, ref), s in statuses.items() if k == "session_24h"} == {"cancelled"}
    assert statuses[("session_1h", s1)] == "pending"
    fac = ApiClient(app.test_client())
    fac.login("facilitator@test.example")
    assert fac.post(f"/api/sessions/{s1}/cancel", json={"reason": "Hall closed"}).status_code == 200
    assert {s for (k, ref), s in mine().items() if ref == s1} == {"cancelled"}
    enrolment = member["members"][0]["enrolment"]["id"]
    out = fac.post(f"/api/enrolments/{enrolment}/withdraw", json={"reason": "Moved away"})
    assert out.status_code == 200, out.json
    assert "pending" not in set(mine().values())


# -- quiet hours and DST -----------------------------------------------------


def test_quiet_hours_move_a_reminder_to_their_end_or_just_before_them(
    app: Flask, member: dict[str, Any], fake_push: Any
) -> None:
    me = phone_login(app, member["username"])
    # The 1-hour reminder (16:00 London) falls inside 15:00-16:30: moved to 16:30.
    quiet = {"quiet_hours": {"start": "15:00", "end": "16:30"}}
    assert me.put("/api/me/notification-preferences", json=quiet).status_code == 200
    timesource.advance(DAY_BEFORE_S1 - timedelta(hours=10) - timesource.utcnow())
    run_clock(app)
    hour = next(
        r for r in rows(app, kind="session_1h") if r.status == "pending" and r.attempts == 0
    )
    assert hour.due_at == datetime(2026, 3, 10, 16, 30, tzinfo=UTC)
    # Quiet until 17:30 would end after the session began: moved before them instead.
    quiet = {"quiet_hours": {"start": "15:00", "end": "17:30"}}
    me = phone_login(app, member["username"])
    assert me.put("/api/me/notification-preferences", json=quiet).status_code == 200
    mine = [r for r in rows(app, kind="session_1h") if r.user_id == hour.user_id]
    assert [r.due_at for r in mine] == [datetime(2026, 3, 10, 14, 59, tzinfo=UTC)]
    # The day-before reminder (Monday 17:00) is also inside 15:00-17:30 on Monday.
    day = [r for r in rows(app, kind="session_24h") if r.user_id == hour.user_id]
    assert [r.due_at for r in day] == [datetime(2026, 3, 9, 17, 30, tzinfo=UTC)]


def test_overnight_quiet_hours_follow_the_wall_clock_across_dst() -> None:
    prefs = outbox.Preferences(
        quiet_start=datetime(2000, 1, 1, 22).time(), quiet_end=datetime(2000, 1, 1, 7).time()
    )
    london = "Europe/London"
    # Saturday 28 March 2026, 23:00 GMT: quiet. Clocks go forward that night, so
    # 07:00 on Sunday is 06:00 UTC.
    due = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert outbox.respect_quiet_hours(due, None, london, prefs) == datetime(
        2026, 3, 29, 6, 0, tzinfo=UTC
    )
    # Autumn: 25 October 2026, clocks go back; 07:00 GMT is 07:00 UTC.
    due = datetime(2026, 10, 24, 22, 30, tzinfo=UTC)  # 23:30 BST
    assert outbox.respect_quiet_hours(due, None, london, prefs) == datetime(
        2026, 10, 25, 7, 0, tzinfo=UTC
    )
    # Outside quiet hours nothing moves.
    due = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    assert outbox.respect_quiet_hours(due, None, london, prefs) == due


def test_reminders_say_17_00_on_both_sides_of_the_clock_change(
    app: Flask, member: dict[str, Any], fake_push: Any
) -> None:
    # Session 3 is Tuesday 24 March (17:00 GMT = 17:00 UTC); session 4 is
    # Tuesday 31 March, after the change (17:00 BST = 16:00 UTC).
    s3, s4 = member["sessions"][2], member["sessions"][3]
    assert s3["starts_at"].startswith("2026-03-24T17:00") and s4["starts_at"].startswith(
        "2026-03-31T16:00"
    )
    bodies = []
    for start in (datetime(2026, 3, 24, 17, tzinfo=UTC), datetime(2026, 3, 31, 16, tzinfo=UTC)):
        timesource.advance(start - timedelta(hours=24) - timesource.utcnow())
        run_clock(app)
        bodies.append(fake_push.received[-1].json["body"])
    assert bodies == ["See you Tuesday at 17:00.", "See you Tuesday at 17:00."]
    due = sorted(r.due_at for r in rows(app, kind="session_24h", status="sent"))
    assert due == [datetime(2026, 3, 23, 17, tzinfo=UTC), datetime(2026, 3, 30, 16, tzinfo=UTC)]


# -- wording -----------------------------------------------------------------


def test_every_default_text_is_neutral_and_fits_a_push_message() -> None:
    for language, kinds in messages.DEFAULT_TEMPLATES.items():
        for kind, fields in kinds.items():
            for text in fields.values():
                assert messages.clinical_words_in(text) == [], (language, kind, text)
            row = Notification(id=123456, kind=kind, ref_id=99, user_id=1, dedupe_key="k")
            row.expires_at = SESSION_1
            words = messages.render(row, language, "Europe/London", messages.merged(None))
            assert len(messages.payload(row, words, "t" * 32)) < messages.MAX_PAYLOAD_BYTES


def test_a_clinic_edits_the_wording_but_not_into_clinical_words(
    app: Flask, as_role: Any, member: dict[str, Any], fake_push: Any
) -> None:
    admin = as_role("admin")
    bad = admin.put(
        "/api/push/templates",
        json={"templates": {"en": {"session_24h": {"body": "Your therapy group is {day}."}}}},
    )
    assert bad.status_code == 422
    assert "therapy" in bad.json["error"]["fields"]["en.session_24h.body"][0]
    unknown = admin.put(
        "/api/push/templates",
        json={"templates": {"en": {"session_24h": {"body": "{cohort} on {day}"}}}},
    )
    assert unknown.status_code == 422
    good = admin.put(
        "/api/push/templates",
        json={"templates": {"en": {"session_24h": {"body": "Tomorrow, {time}. Tea is on us."}}}},
    )
    assert good.status_code == 200
    assert good.json["templates"]["en"]["session_24h"]["title"] == "Reminder"  # kept
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    run_clock(app)
    assert fake_push.received[0].json["body"] == "Tomorrow, 17:00. Tea is on us."


def test_preferences_validate_and_default(app: Flask, as_role: Any) -> None:
    me = as_role("participant")
    got = me.get("/api/me/notification-preferences").json
    assert got["session_24h"] and got["session_1h"] and got["content_released"]
    assert got["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    bad = me.put("/api/me/notification-preferences", json={"quiet_hours": {"start": "25:00"}})
    assert bad.status_code == 422
    same = me.put(
        "/api/me/notification-preferences", json={"quiet_hours": {"start": "08:00", "end": "08:00"}}
    )
    assert same.status_code == 422
    zone = me.put("/api/me/notification-preferences", json={"time_zone": "Mars/Olympus"})
    assert zone.status_code == 422 and "time_zone" in zone.json["error"]["fields"]


# -- the dispatcher under concurrency and failure ----------------------------


def _outbox(app: Flask, member: dict[str, Any], n: int) -> list[int]:
    """n due test messages for member A (whose phone is subscribed)."""
    with app.app_context():
        user_id = db.session.scalar(
            select(PushSubscription.user_id).where(
                PushSubscription.endpoint == member["sub"]["endpoint"]
            )
        )
        made = [
            Notification(
                user_id=user_id,
                kind=NotificationKind.TEST,
                dedupe_key=f"bulk:{i}",
                ref_type="test",
                due_at=timesource.utcnow(),
            )
            for i in range(n)
        ]
        db.session.add_all(made)
        db.session.commit()
        return [m.id for m in made]


def _own_dispatcher(app: Flask) -> Dispatcher:
    transport = Transport(
        app.config["VAPID_KEYS"], policy(app.config["PUSH_ALLOWED_HOSTS"]), concurrency=8
    )
    return Dispatcher(transport, b"k" * 32, batch_size=7)


def test_two_dispatchers_at_once_send_every_row_exactly_once(
    app: Flask, member: dict[str, Any], fake_push: Any
) -> None:
    ids = _outbox(app, member, 60)
    fake_push.latency = 0.01
    errors: list[BaseException] = []

    def work(d: Dispatcher) -> None:
        try:
            with app.app_context():
                while d.run_once().claimed:
                    pass
                db.session.remove()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    pair = [_own_dispatcher(app), _own_dispatcher(app)]
    threads = [threading.Thread(target=work, args=(d,)) for d in pair]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    got = sorted(r.json["id"] for r in fake_push.received)
    assert got == sorted(ids)  # every row once: none missing, none twice
    assert {r.status for r in rows(app, kind="test")} == {"sent"}


def test_a_dispatcher_killed_after_claiming_loses_nothing(
    app: Flask, member: dict[str, Any], fake_push: Any
) -> None:
    ids = _outbox(app, member, 10)
    with app.app_context():
        dead = _own_dispatcher(app)
        _token, claimed = dead.claim(
            timesource.utcnow(), limit=10
        )  # committed, then the process dies
        assert sorted(claimed) == sorted(ids)
        survivor = _own_dispatcher(app)
        assert survivor.run_once().claimed == 0  # leased: not taken while it may be alive
        timesource.advance(dispatcher.LEASE + timedelta(seconds=1))
        while survivor.run_once().claimed:
            pass
        db.session.remove()
    assert sorted(r.json["id"] for r in fake_push.received) == sorted(ids)


def test_a_stopping_dispatcher_hands_back_what_it_has_not_sent(
    app: Flask, member: dict[str, Any], fake_push: Any
) -> None:
    ids = _outbox(app, member, 5)
    with app.app_context():
        stopping = _own_dispatcher(app)
        stopping.stop.set()  # SIGTERM arrived after the claim
        report = stopping.run_once()
        assert report.released == report.claimed > 0
        db.session.remove()
    assert fake_push.attempts == []
    back = rows(app, kind="test")
    assert {r.status for r in back} == {"pending"} and {r.claim_token for r in back} == {None}
    assert {r.attempts for r in back} == {0}
    with app.app_context():
        while _own_dispatcher(app).run_once().claimed:
            pass
    assert sorted(r.json["id"] for r in fake_push.received) == sorted(ids)


def test_a_reminder_past_its_session_expires_instead_of_arriving_late(
    app: Flask, member: dict[str, Any], fake_push: Any
) -> None:
    timesource.advance(DAY_BEFORE_S1 - timedelta(hours=1) - timesource.utcnow())
    run_clock(app)  # planned, not yet due
    timesource.advance(timedelta(days=2))  # the clock was down until after the session
    with app.app_context():
        report = dispatcher.for_app(app).drain()
    assert report.expired >= 2 and fake_push.received == []
    reminders_ = [r for r in rows(app, ref_type="session") if r.kind != "checkin_due"]
    assert {r.status for r in reminders_} == {"expired"}


def test_a_push_service_slower_than_the_timeout_backs_off_then_gives_up_when_the_moment_passes(
    app: Flask, member: dict[str, Any], fake_push: Any
) -> None:
    """A service that answers after our timeout may have taken the message: each
    retry reuses the Topic (one notification on the phone), waits longer than the
    one before, and stops once the session has begun, saying why."""
    assert (
        member["client"]
        .put("/api/me/notification-preferences", json={"session_24h": False})
        .status_code
        == 200
    )
    transport = Transport(
        app.config["VAPID_KEYS"], policy(app.config["PUSH_ALLOWED_HOSTS"]), timeout=0.3
    )
    slow = Dispatcher(transport, b"k" * 32)
    fake_push.latency = 1.0  # always slower than the 0.3 s timeout
    timesource.advance(SESSION_1 - timedelta(hours=1) - timesource.utcnow())
    waits, attempts = [], []
    try:
        for _ in range(dispatcher.MAX_ATTEMPTS):
            with app.app_context():
                reminders.plan()
                db.session.commit()
                slow.drain()
                db.session.remove()
            (row,) = [r for r in rows(app, kind="session_1h") if r.user_id == _user_of(app, member)]
            if row.status != "pending":
                break
            assert (row.last_error, row.channel_notes) == ("timeout", "sms:off push:timeout")
            attempts.append(row.attempts)
            waits.append(row.due_at - timesource.utcnow())
            timesource.advance(row.due_at - timesource.utcnow())
    finally:
        transport.close()
    assert attempts == list(range(1, len(attempts) + 1)) and len(attempts) >= 3
    assert all(later > earlier for earlier, later in itertools.pairwise(waits))
    assert (row.status, row.last_error, row.channel_notes) == (
        "expired",
        "timeout",
        "sms:off push:timeout",
    )
    assert timesource.utcnow() < SESSION_1  # gave up before the session, never sent late
    assert wait_until(lambda: fake_push.in_flight == 0)  # every copy answered
    topics = {m.topic for m in fake_push.received}
    assert len(fake_push.received) == row.attempts and len(topics) == 1
    fac = ApiClient(app.test_client())
    fac.login("facilitator@test.example")
    seen = fac.get(f"/api/sessions/{member['sessions'][0]['id']}/reminders").json
    mine = [m for m in seen if m["display_name"] == "Member A"]
    assert [(m["status"], m["why"]) for m in mine] == [("expired", "sms:off push:timeout")]
