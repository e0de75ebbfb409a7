"""'Shown' receipts (issue 27): the service worker posts the payload's token
back when it displays a notification, and the facilitator's reminder list says
"shown on the phone", not only "accepted for delivery".

Same frozen clock and cohort as tests/test_push.py: session 1 is Tuesday
10 March 2026, 17:00 UTC; its day-before reminder is due Monday 9 March 17:00.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from ipt_groups import timesource
from ipt_groups.extensions import db
from ipt_groups.messaging import messages
from ipt_groups.models import Notification, User
from ipt_groups.services import receipts
from tests.conftest import ApiClient
from tests.factories import DAY_BEFORE_S1, phone_login, rows, run_clock

SHOWN = "/api/push/shown"


def post_receipt(app: Flask, token: Any, **kwargs: Any) -> Any:
    """As the service worker sends it: no cookie, JSON, same origin."""
    return app.test_client(use_cookies=False).post(SHOWN, json={"token": token}, **kwargs)


def facilitator(app: Flask) -> ApiClient:
    fac = ApiClient(app.test_client())
    assert fac.login("facilitator@test.example").status_code == 200
    return fac


def delivered(app: Flask, member: dict[str, Any], fake_push: Any) -> dict[str, Any]:
    """The day-before reminder reaches member A's phone; its decrypted payload."""
    timesource.advance(DAY_BEFORE_S1 - timesource.utcnow())
    run_clock(app)
    (message,) = fake_push.received
    return message.json


def reminder_rows(app: Flask, member: dict[str, Any]) -> list[dict[str, Any]]:
    seen = facilitator(app).get(f"/api/sessions/{member['sessions'][0]['id']}/reminders")
    assert seen.status_code == 200, seen.json
    return seen.json


def test_the_payload_carries_an_opaque_receipt_and_posting_it_says_shown(
    app: Flask,
    member: dict[str, Any],
    fake_push: Any,
) -> None:
    payload = delivered(app, member, fake_push)
    token = payload["receipt"]
    (row,) = rows(app, kind="session_24h", status="sent")
    assert token.startswith(f"{row.id}.") and len(token.split(".")[1]) == 22
    # Nothing in it names the person, the session or anything clinical.
    assert messages.clinical_words_in(token) == []
    assert str(row.user_id) not in token.split(".")[1]

    before = {m["display_name"]: m for m in reminder_rows(app, member)}
    assert before["Member A"]["status"] == "delivered"
    assert before["Member A"]["shown_at"] is None

    response = post_receipt(app, token)
    assert response.status_code == 204, response.json
    (row,) = rows(app, kind="session_24h", status="sent")
    assert row.shown_at == timesource.utcnow()
    after = {m["display_name"]: m for m in reminder_rows(app, member)}
    assert after["Member A"]["status"] == "shown"
    assert datetime.fromisoformat(after["Member A"]["shown_at"]) == timesource.utcnow()
    assert after["Member B"]["status"] == before["Member B"]["status"]  # untouched

    # A second receipt (another device, a retry) keeps the first moment.
    timesource.advance(timedelta(minutes=5))
    assert post_receipt(app, token).status_code == 204
    (row,) = rows(app, kind="session_24h", status="sent")
    assert row.shown_at == timesource.utcnow() - timedelta(minutes=5)


def test_bad_tokens_get_the_error_envelope_and_mark_nothing(
    app: Flask,
    member: dict[str, Any],
    fake_push: Any,
) -> None:
    payload = delivered(app, member, fake_push)
    row_id, mac = payload["receipt"].split(".")
    with app.app_context():
        others = db.session.scalars(
            select(Notification.id).where(Notification.id != int(row_id))
        ).all()
    assert others, "member B has rows too"
    forged = [
        f"{row_id}.{'A' * 22}",  # a guessed MAC
        f"{others[0]}.{mac}",  # my MAC on someone else's row
        f"99999.{mac}",  # no such row
    ]
    for token in forged:
        response = post_receipt(app, token)
        assert response.status_code == 404, token
        error = response.json["error"]
        assert error["code"] == "receipt_unknown" and error["status"] == 404
    malformed = post_receipt(app, "x")
    assert malformed.status_code == 422
    assert "token" in malformed.json["error"]["fields"]
    assert all(r.shown_at is None for r in rows(app))


def test_a_logged_in_phone_may_send_it_but_not_cross_site(
    app: Flask,
    member: dict[str, Any],
    fake_push: Any,
) -> None:
    payload = delivered(app, member, fake_push)
    other_site = post_receipt(app, payload["receipt"], headers={"Origin": "https://evil.example"})
    assert other_site.status_code == 403
    assert other_site.json["error"]["code"] == "csrf_failed"
    assert all(r.shown_at is None for r in rows(app))
    me = phone_login(app, member["username"])
    assert me.post(SHOWN, json={"token": payload["receipt"]}).status_code == 204
    assert [r.shown_at is not None for r in rows(app, kind="session_24h", status="sent")] == [True]


def test_a_run_of_bad_tokens_from_one_address_is_refused_for_a_while(
    app: Flask,
    member: dict[str, Any],
    fake_push: Any,
) -> None:
    payload = delivered(app, member, fake_push)
    row_id = payload["receipt"].split(".")[0]
    for _ in range(receipts.BAD_TOKENS.hits):
        assert post_receipt(app, f"{row_id}.{'B' * 22}").status_code == 404
    # Even the right token waits now: guessing is not worth it.
    refused = post_receipt(app, payload["receipt"])
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert all(r.shown_at is None for r in rows(app))
    timesource.advance(receipts.BAD_TOKENS.window + timedelta(seconds=1))
    assert post_receipt(app, payload["receipt"]).status_code == 204


def test_the_export_shows_when_a_notification_was_shown_and_erasure_removes_it(
    app: Flask,
    member: dict[str, Any],
    fake_push: Any,
    as_role: Any,
) -> None:
    payload = delivered(app, member, fake_push)
    assert post_receipt(app, payload["receipt"]).status_code == 204
    me = phone_login(app, member["username"])
    export = me.get("/api/me/export")
    assert export.status_code == 200, export.json
    shown = [n for n in export.json["notifications"] if n["shown_at"]]
    assert len(shown) == 1 and shown[0]["kind"] == "session_24h"
    assert datetime.fromisoformat(shown[0]["shown_at"]) == timesource.utcnow()

    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == member["username"]))
    withdrawn = facilitator(app).post(
        f"/api/enrolments/{member['members'][0]['enrolment']['id']}/withdraw",
        json={"reason": "Moving away"},
    )
    assert withdrawn.status_code == 200, withdrawn.json
    erased = as_role("admin").post(
        f"/api/users/{user_id}/erase", json={"confirm": "erase", "reason": "member_request"}
    )
    assert erased.status_code == 200, erased.json
    assert rows(app, user_id=user_id) == []
    # The token of an erased row is just unknown now.
    assert post_receipt(app, payload["receipt"]).status_code == 404
