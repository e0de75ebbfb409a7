"""The real ``clock`` process against the fake push service, on the wall clock.

These start ``flask --app wsgi clock`` as its own process on the test database
and watch what reaches the push service: the whole path a reminder takes in
production, with nothing in between replaced.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from ipt_groups.extensions import db
from ipt_groups.messaging import messages
from ipt_groups.models import DeliveryAttempt, Notification, NotificationKind, PushSubscription
from ipt_groups.push import dispatcher
from tests.conftest import ApiClient
from tests.factories import create_cohort, due_test_pushes, enrol, start_clock


def stop_clock(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


@pytest.fixture
def clock_process() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:  # never leave a clock running after a failed test
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_the_clock_process_delivers_a_reminder_due_now(
    app: Flask, as_role: Any, fake_push: Any, clock_process: list[Any]
) -> None:
    fac = as_role("facilitator")
    # Session 1 starts in just under 24 hours, so its day-before reminder is due now.
    start = (datetime.now(UTC) + timedelta(hours=23, minutes=50)).replace(second=0, microsecond=0)
    cohort = create_cohort(
        fac,
        time_zone="UTC",
        weekday=start.weekday(),
        local_time=start.strftime("%H:%M"),
        start_date=start.date().isoformat(),
    )
    member = enrol(fac, cohort["id"], "Member A")
    phone = ApiClient(app.test_client())
    redeemed = phone.post(
        "/api/invites/redeem", json={"code": member["invite"]["code"], "pin": "482915"}
    )
    assert redeemed.status_code == 200
    phone.csrf = redeemed.json["csrf_token"]
    sub = fake_push.new_subscription()
    assert phone.post("/api/push/subscriptions", json=sub).status_code == 201
    prefs = {"quiet_hours": None, "checkin_due": False}  # whatever the hour the test runs at
    assert phone.put("/api/me/notification-preferences", json=prefs).status_code == 200

    proc = start_clock(app, fake_push)
    clock_process.append(proc)
    assert fake_push.wait_for(1, timeout=60), "no reminder reached the push service"
    code, log = stop_clock(proc)
    assert code == 0, log
    assert "clock: stopped" in log

    (got,) = fake_push.received
    assert got.endpoint == sub["endpoint"]
    day = messages.DAY_NAMES["en"][start.weekday()]
    assert got.json["body"] == f"See you {day} at {start:%H:%M}."
    text = got.payload.decode()
    assert messages.clinical_words_in(text) == []
    assert cohort["name"].lower() not in text.lower() and "Member A" not in text
    with app.app_context():
        row = db.session.scalars(
            select(Notification).where(Notification.kind == NotificationKind.SESSION_24H)
        ).one()
        assert row.status == "sent" and row.sent_at is not None
        attempt = db.session.scalars(select(DeliveryAttempt)).one()
        assert (attempt.status_code, attempt.outcome) == (201, "sent")


def test_sigterm_finishes_sends_in_flight_and_hands_back_the_rest(
    app: Flask, as_role: Any, fake_push: Any, clock_process: list[Any], users: dict[str, int]
) -> None:
    sub, ids = due_test_pushes(app, as_role, fake_push, users["participant"], "drain")
    fake_push.latency = 1.0  # a slow push service: sends are on the wire when SIGTERM comes
    proc = start_clock(app, fake_push, PUSH_CONCURRENCY="2")
    clock_process.append(proc)
    deadline = time.monotonic() + 60
    while fake_push.peak_in_flight < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake_push.peak_in_flight >= 2
    code, log = stop_clock(proc)
    assert code == 0, log

    sent_by_clock = sorted(r.json["id"] for r in fake_push.received)
    assert 2 <= len(sent_by_clock) < len(ids)  # the two in flight finished; not the rest
    with app.app_context():
        states = {
            n.id: (n.status, n.claim_token)
            for n in db.session.scalars(select(Notification).where(Notification.id.in_(ids)))
        }
        assert {states[i] for i in sent_by_clock} == {("sent", None)}
        rest = [i for i in ids if i not in sent_by_clock]
        assert {states[i] for i in rest} == {("pending", None)}  # handed back, not leased
        # The next clock (here: the same code in-process) sends the rest, once each.
        fake_push.latency = 0.0
        while dispatcher.for_app(app).run_once().claimed:
            pass
        assert db.session.scalar(
            select(PushSubscription.id).where(PushSubscription.endpoint == sub["endpoint"])
        )
    assert sorted(r.json["id"] for r in fake_push.received) == ids
