"""Reaching people beside Web Push: SMS through a fake Twilio / Africa's Talking
gateway (a real HTTP server speaking their APIs), email through a real SMTP
server (aiosmtpd), fallback in the same tick, STOP, replies, webhooks, the cap.

The clock is frozen at Monday 2 March 2026 09:00 UTC; the cohort meets Tuesdays
17:00 in London from 9 March (see test_push.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from ipt_groups import timesource
from ipt_groups.channels_config import ChannelSettings
from ipt_groups.extensions import db
from ipt_groups.messaging import messages
from ipt_groups.models import (
    Apology,
    AuditEvent,
    DeliveryAttempt,
    NotificationPreference,
    SmsOptOut,
    SmsReply,
    User,
)
from tests.conftest import ApiClient
from tests.factories import (
    DAY_BEFORE_S1,
    ITEM_9,
    create_cohort,
    enrol,
    enter,
    phone,
    rows,
    run_clock,
    subscribe,
)
from tests.fake_sms import INVALID_NUMBER, FakeSms
from tests.fake_smtp import FakeSmtp
from tests.querycount import count_queries

SID = "AC" + "1" * 32
TOKEN = "twilio-test-token-" + "2" * 14
AT_KEY = "k" + secrets.token_urlsafe(32)
PUBLIC = "http://ipt.test"
NUMBER_A = "+447400123456"
NUMBER_B = "+447400123457"


@pytest.fixture(scope="module")
def gateway() -> Iterator[FakeSms]:
    with FakeSms(
        account_sid=SID, auth_token=TOKEN, at_username="sandbox", at_api_key="at-key"
    ) as fake:
        yield fake


@pytest.fixture(scope="module")
def smtp() -> Iterator[FakeSmtp]:
    server = FakeSmtp()
    server.start()
    yield server
    server.stop()


def settings(gateway: FakeSms, smtp: FakeSmtp | None, provider: str = "twilio") -> ChannelSettings:
    return ChannelSettings(
        sms_provider=provider,
        twilio_account_sid=SID,
        twilio_auth_token=TOKEN,
        twilio_from="+15005550006",
        twilio_base_url=gateway.origin,
        at_username="sandbox",
        at_api_key="at-key",
        at_base_url=gateway.origin,
        at_callback_key=AT_KEY,
        smtp_url=smtp.url() if smtp else "",
        mail_from="reminders@clinic.example",
    )


@pytest.fixture
def channels(
    app: Flask, gateway: FakeSms, smtp: FakeSmtp, fake_push: Any, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    gateway.clear()
    smtp.messages.clear()
    monkeypatch.setitem(app.config, "CHANNELS", settings(gateway, smtp))
    monkeypatch.setitem(app.config, "PUBLIC_URL", PUBLIC)
    return {"sms": gateway, "smtp": smtp, "push": fake_push}


def sms_group(
    app: Flask, as_role: Any, users: dict[str, int], numbers: tuple[str, ...] = (NUMBER_A,)
) -> dict[str, Any]:
    """A cohort whose members gave a number and agreed to SMS; nobody has the app."""
    fac = as_role("facilitator")
    cohort = create_cohort(fac, supervisor_ids=[users["supervisor"]])
    members = [
        enrol(fac, cohort["id"], f"Member {chr(65 + i)}", contact_phone=n, sms_consent=True)
        for i, n in enumerate(numbers)
    ]
    sessions = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json
    with app.app_context():  # one message kind per test: no check-in nudges, no quiet hours
        for m in members:
            pref = db.session.get(NotificationPreference, _uid(m))
            pref.quiet_start = pref.quiet_end = None
            pref.checkin_due = False
        db.session.commit()
    return {"fac": fac, "cohort": cohort, "members": members, "sessions": sessions}


def _uid(member: dict[str, Any]) -> int:
    from ipt_groups.models import Enrolment

    return db.session.get(Enrolment, member["enrolment"]["id"]).user_id


def texts(gateway: FakeSms) -> list[str]:
    return [r.body for r in gateway.received]


def signed_post(
    client: ApiClient, gateway: FakeSms, path: str, params: dict[str, str], *, forge: bool = False
) -> Any:
    signature = gateway.twilio_signature(PUBLIC + path, params, forge=forge)
    return client.client.post(path, data=params, headers={"X-Twilio-Signature": signature})


# -- sending --------------------------------------------------------------------


def test_a_member_without_the_app_gets_the_reminder_by_sms(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime, channels: dict[str, Any]
) -> None:
    g = sms_group(app, as_role, users)
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    report = run_clock(app)
    assert report.by_channel == {"sms": 1}
    (got,) = channels["sms"].received
    assert got.provider == "twilio" and got.to == NUMBER_A
    assert got.status_callback == PUBLIC + "/api/sms/twilio/status"
    assert "17:00" in got.body and "Reply 1" in got.body
    assert messages.clinical_words_in(got.body) == []
    (row,) = rows(app, kind="session_24h")
    assert (row.status, row.channel, row.provider_id, row.segments) == (
        "sent", "sms", got.provider_id, 1,
    )  # fmt: skip
    assert row.channel_notes == "push:none"
    # The facilitator sees which channel delivered.
    fac = as_role("facilitator")  # a week later: a new login
    seen = fac.get(f"/api/sessions/{g['sessions'][0]['id']}/reminders").json
    assert [(m["status"], m["channel"], m["why"]) for m in seen] == [
        ("delivered", "sms", "push:none")
    ]


def test_push_410_falls_back_to_sms_in_the_same_tick(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime, channels: dict[str, Any]
) -> None:
    g = sms_group(app, as_role, users)
    client = phone(app, g["members"][0]["invite"]["code"])
    sub = subscribe(client, channels["push"])
    channels["push"].gone(sub["endpoint"])
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    report = run_clock(app)
    assert (report.sent, report.by_channel) == (1, {"sms": 1})
    assert len(channels["sms"].received) == 1
    (row,) = rows(app, kind="session_24h")
    assert (row.status, row.channel, row.channel_notes) == ("sent", "sms", "push:gone")
    with app.app_context():
        tried = db.session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()
        assert [(a.channel, a.outcome) for a in tried] == [("push", "gone"), ("sms", "sent")]


def test_an_invalid_number_is_final_for_sms_and_shows_why(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime, channels: dict[str, Any]
) -> None:
    sms_group(app, as_role, users)
    channels["sms"].for_number(NUMBER_A, INVALID_NUMBER)
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    report = run_clock(app)
    assert report.no_channel == 1 and channels["sms"].received == []
    (row,) = rows(app, kind="session_24h")
    assert (row.status, row.last_error, row.channel_notes) == (
        "no_channel", "invalid_number", "push:none sms:invalid_number",
    )  # fmt: skip


def test_without_consent_no_sms_is_sent(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime, channels: dict[str, Any]
) -> None:
    fac = as_role("facilitator")
    cohort = create_cohort(fac)
    enrol(fac, cohort["id"], "Member A", contact_phone=NUMBER_A)  # no sms_consent
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    run_clock(app)
    assert channels["sms"].received == []
    assert {r.channel_notes for r in rows(app, kind="session_24h")} == {"push:none sms:no_consent"}


def test_a_risk_alert_reaches_the_supervisor_by_email_while_push_is_down(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime, channels: dict[str, Any]
) -> None:
    sup = as_role("supervisor")
    sub = subscribe(sup, channels["push"])
    channels["push"].script(sub["endpoint"], 500)
    fac = as_role("facilitator")
    cohort = create_cohort(fac, supervisor_ids=[users["supervisor"]])
    member = enrol(fac, cohort["id"], "Member A")
    assert enter(fac, member["enrolment"]["id"], ITEM_9).status_code == 201
    report = run_clock(app)
    assert report.by_channel == {"email": 1} and report.retrying == 1  # push retries
    assert channels["smtp"].wait_for(1)
    (mail,) = channels["smtp"].messages
    assert mail.rcpt_tos == ("supervisor@test.example",)
    body = mail.message.get_body(("plain",)).get_content()
    assert messages.clinical_words_in(mail.message["Subject"] + " " + body) == []
    legs = {(r.leg, r.status, r.channel) for r in rows(app, kind="risk_alert")}
    assert legs == {("push", "pending", "push"), ("outside", "sent", "email")}
    # Push recovers: the app's inbox shows the alert once, not once per leg.
    timesource.advance(timedelta(hours=1))
    assert run_clock(app).by_channel == {"push": 1}
    assert len(channels["push"].received) == 1
    inbox = as_role("supervisor").get("/api/me/notifications").json["items"]
    assert [i["kind"] for i in inbox] == ["risk_alert"]


# -- webhooks ---------------------------------------------------------------------


def test_delivery_reports_move_forward_only_and_forgeries_change_nothing(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime, channels: dict[str, Any]
) -> None:
    sms_group(app, as_role, users)
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    run_clock(app)
    (got,) = channels["sms"].received
    web = ApiClient(app.test_client())
    path = "/api/sms/twilio/status"
    params = {"MessageSid": got.provider_id, "MessageStatus": "delivered", "AccountSid": SID}
    forged = signed_post(web, channels["sms"], path, params, forge=True)
    assert forged.status_code == 403 and forged.json["error"]["code"] == "bad_signature"
    assert rows(app, kind="session_24h")[0].delivery_state == "queued"
    assert signed_post(web, channels["sms"], path, params).status_code == 204
    late = {**params, "MessageStatus": "sent"}  # arrives after "delivered"
    assert signed_post(web, channels["sms"], path, late).status_code == 204
    assert rows(app, kind="session_24h")[0].delivery_state == "delivered"


def test_stop_then_no_sms_and_start_resumes(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime, channels: dict[str, Any]
) -> None:
    g = sms_group(app, as_role, users)
    web = ApiClient(app.test_client())
    path = "/api/sms/twilio/incoming"
    stop = {"MessageSid": "SM" + "a" * 32, "From": NUMBER_A, "Body": "Stop", "AccountSid": SID}
    answer = signed_post(web, channels["sms"], path, stop)
    assert answer.status_code == 200 and b"<Response></Response>" in answer.data
    with app.app_context():
        assert db.session.get(SmsOptOut, NUMBER_A) is not None
    replies = g["fac"].get(f"/api/cohorts/{g['cohort']['id']}/sms-replies").json
    assert [r["action"] for r in replies] == ["stop"]  # staff see it
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    run_clock(app)
    assert channels["sms"].received == []
    assert rows(app, kind="session_24h")[0].channel_notes == "push:none sms:opted_out"
    start = {**stop, "MessageSid": "SM" + "b" * 32, "Body": "START"}
    assert signed_post(web, channels["sms"], path, start).status_code == 200
    with app.app_context():
        assert db.session.get(SmsOptOut, NUMBER_A) is None


def test_a_reply_1_records_i_cant_come_and_shows_in_the_register(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime, channels: dict[str, Any]
) -> None:
    g = sms_group(app, as_role, users)
    web = ApiClient(app.test_client())
    path = "/api/sms/twilio/incoming"
    reply = {"MessageSid": "SM" + "c" * 32, "From": NUMBER_A, "Body": " 1 ", "AccountSid": SID}
    assert signed_post(web, channels["sms"], path, reply).status_code == 200
    assert signed_post(web, channels["sms"], path, reply).status_code == 200  # a retried webhook
    first = g["sessions"][0]
    with app.app_context():
        apologies = db.session.scalars(select(Apology)).all()
        assert [(a.session_id, a.enrolment_id) for a in apologies] == [
            (first["id"], g["members"][0]["enrolment"]["id"])
        ]
    register = g["fac"].get(f"/api/sessions/{first['id']}/attendance").json
    assert [(e["display_name"], e["cannot_come_reason"]) for e in register["entries"]
            if e["cannot_come"]] == [("Member A", "SMS")]  # fmt: skip
    other = {
        "MessageSid": "SM" + "d" * 32,
        "From": NUMBER_A,
        "Body": "running late",
        "AccountSid": SID,
    }
    signed_post(web, channels["sms"], path, other)
    replies = g["fac"].get(f"/api/cohorts/{g['cohort']['id']}/sms-replies").json
    assert [(r["action"], r["text"]) for r in replies] == [
        ("message", "running late"), ("cannot_come", " 1 "),
    ]  # fmt: skip


def test_a_reply_from_an_unknown_number_is_kept_only_as_a_hash(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime, channels: dict[str, Any]
) -> None:
    sms_group(app, as_role, users)
    web = ApiClient(app.test_client())
    params = {"MessageSid": "SM" + "e" * 32, "From": NUMBER_B, "Body": "hello", "AccountSid": SID}
    assert signed_post(web, channels["sms"], "/api/sms/twilio/incoming", params).status_code == 200
    with app.app_context():
        actions = [e.action for e in db.session.scalars(select(AuditEvent))]
        unknown = [a for a in actions if a.startswith("sms.unknown_sender.")]
        assert len(unknown) == 1 and NUMBER_B.lstrip("+") not in unknown[0]
        assert db.session.scalars(select(SmsReply)).all() == []


def test_africas_talking_sends_and_its_callbacks_need_the_key(
    app: Flask,
    as_role: Any,
    users: dict[str, int],
    frozen: datetime,
    channels: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(
        app.config, "CHANNELS", settings(channels["sms"], channels["smtp"], "africastalking")
    )
    sms_group(app, as_role, users)
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    run_clock(app)
    (got,) = channels["sms"].received
    assert got.provider == "africastalking" and got.to == NUMBER_A
    web = app.test_client()
    report = {"id": got.provider_id, "status": "Success", "phoneNumber": NUMBER_A}
    wrong = web.post(f"/api/sms/africastalking/{'x' * 40}/delivery", data=report)
    assert wrong.status_code == 403 and wrong.json["error"]["code"] == "bad_signature"
    assert rows(app, kind="session_24h")[0].delivery_state == "queued"
    assert web.post(f"/api/sms/africastalking/{AT_KEY}/delivery", data=report).status_code == 204
    assert rows(app, kind="session_24h")[0].delivery_state == "delivered"


# -- cost and numbers ---------------------------------------------------------------


def test_the_cap_stops_reminders_but_never_risk_alerts(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime, channels: dict[str, Any]
) -> None:
    admin = as_role("admin")
    with app.app_context():
        db.session.get(User, users["supervisor"]).phone = NUMBER_B
        db.session.commit()
    capped = admin.put("/api/clinic/sms-usage", json={"sms_cap": 1})
    assert capped.json == {
        "month": "2026-03", "sms_segments": 0, "sms_cap": 1, "reminders_stopped": False,
    }  # fmt: skip
    g = sms_group(app, as_role, users, numbers=(NUMBER_A, "+447400123459"))
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    run_clock(app)
    assert len(channels["sms"].received) == 1  # one part allowed, one reminder
    notes = sorted(r.channel_notes for r in rows(app, kind="session_24h"))
    assert notes == ["push:none", "push:none sms:cap"]
    admin = as_role("admin")  # a week later: a new login
    assert admin.get("/api/clinic/sms-usage").json["reminders_stopped"] is True
    # A risk alert still goes out by SMS (the supervisor put SMS before email).
    with app.app_context():
        from ipt_groups.services import channels as reach

        reach.set_order(users["supervisor"], ["push", "sms", "email"])
        db.session.commit()
    fac = as_role("facilitator")
    assert enter(fac, g["members"][0]["enrolment"]["id"], ITEM_9).status_code == 201
    run_clock(app)
    assert [r.to for r in channels["sms"].received][-1] == NUMBER_B


def test_a_number_that_cannot_be_parsed_is_a_422_naming_the_field(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    fac = as_role("facilitator")
    cohort = create_cohort(fac)
    bad = fac.post(
        f"/api/cohorts/{cohort['id']}/enrolments",
        json={
            "display_name": "Member A",
            "problem_areas": ["life_changes"],
            "screening": {"suicide_plan_or_attempt": False, "needs_specialist_care": False},
            "consent": {"version": "2026-01", "given": True},
            "contact_phone": "12345",
        },
    )
    assert bad.status_code == 422 and "contact_phone" in bad.json["error"]["fields"]
    good = enrol(fac, cohort["id"], "Member B", contact_phone="07400 123456")  # London cohort
    detail = fac.get(f"/api/enrolments/{good['enrolment']['id']}").json
    assert detail["contact_phone"] == "+447400123456"
    assert detail["sms_consent"] is False


def test_a_member_sets_their_own_channels_number_and_consent(
    app: Flask, as_role: Any, frozen: datetime, channels: dict[str, Any]
) -> None:
    fac = as_role("facilitator")
    cohort = create_cohort(fac)
    made = enrol(fac, cohort["id"], "Member A")
    me = phone(app, made["invite"]["code"])
    first = me.get("/api/me/channels").json
    assert (first["channels"], first["phone"], first["sms_consent"]) == (
        ["push", "sms"],
        None,
        False,
    )
    assert first["available"] == {"push": True, "sms": True, "email": True}
    refused = me.put("/api/me/channels", json={"sms_consent": True})
    assert refused.status_code == 422 and "sms_consent" in refused.json["error"]["fields"]
    bad = me.put("/api/me/channels", json={"phone": "not a number"})
    assert bad.status_code == 422 and "phone" in bad.json["error"]["fields"]
    saved = me.put(
        "/api/me/channels",
        json={"phone": "07400 123456", "sms_consent": True, "channels": ["sms", "push"]},
    ).json
    assert (saved["phone"], saved["sms_consent"], saved["channels"]) == (
        "+447400123456", True, ["sms", "push"],
    )  # fmt: skip
    # The facilitator sees the same number and consent on the member's record.
    detail = fac.get(f"/api/enrolments/{made['enrolment']['id']}").json
    assert (detail["contact_phone"], detail["sms_consent"]) == ("+447400123456", True)
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    assert set(run_clock(app).by_channel) == {"sms"}  # SMS first, as the member chose
    assert {r.to for r in channels["sms"].received} == {"+447400123456"}


def test_sms_replies_cost_the_same_queries_for_one_or_many(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime, channels: dict[str, Any]
) -> None:
    g = sms_group(app, as_role, users, numbers=(NUMBER_A, NUMBER_B))
    web = ApiClient(app.test_client())
    path = "/api/sms/twilio/incoming"

    def text(n: int, number: str) -> None:
        params = {
            "MessageSid": f"SM{n:032d}",
            "From": number,
            "Body": f"note {n}",
            "AccountSid": SID,
        }
        assert signed_post(web, channels["sms"], path, params).status_code == 200

    def cost() -> int:
        with app.app_context(), count_queries(db.engine) as q:
            got = g["fac"].get(f"/api/cohorts/{g['cohort']['id']}/sms-replies")
        assert got.status_code == 200
        return q.count, len(got.json)

    text(1, NUMBER_A)
    one = cost()
    for n in range(2, 8):
        text(n, NUMBER_A if n % 2 else NUMBER_B)
    many = cost()
    assert (one[1], many[1]) == (1, 7)
    assert one[0] == many[0]
