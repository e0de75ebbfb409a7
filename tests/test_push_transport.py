"""The transport's queue: batches share one concurrency limit, keep their order,
hand back what a stop finds unstarted, and a bug fails only its own batch.

Against the real (fake) push service over HTTP; no database.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from flask import Flask

from ipt_groups.messaging.endpoints import policy
from ipt_groups.push import transport as transport_module
from ipt_groups.push.transport import Outcome, Outgoing, Transport


def _messages(fake: Any, first_id: int, count: int) -> list[Outgoing]:
    out = []
    for i in range(first_id, first_id + count):
        sub = fake.new_subscription()
        out.append(
            Outgoing(
                notification_id=i,
                subscription_id=i,
                endpoint=sub["endpoint"],
                p256dh=sub["keys"]["p256dh"],
                auth=sub["keys"]["auth"],
                data=b'{"id":%d}' % i,
                ttl=60,
                urgency="low",
                topic="t" * 32,
            )
        )
    return out


@pytest.fixture
def transport(app: Flask, fake_push: Any) -> Any:
    made = Transport(
        app.config["VAPID_KEYS"], policy(app.config["PUSH_ALLOWED_HOSTS"]), concurrency=3
    )
    yield made
    made.close()


def test_batches_in_flight_together_share_the_limit_and_keep_their_order(
    transport: Transport, fake_push: Any
) -> None:
    fake_push.latency = 0.05
    first, second = _messages(fake_push, 1, 8), _messages(fake_push, 100, 7)
    pending = [transport.submit(first), transport.submit(second)]
    got = [f.result(timeout=30) for f in pending]
    for results, sent in zip(got, (first, second), strict=True):
        assert [r.notification_id for r in results] == [m.notification_id for m in sent]
        assert {r.outcome for r in results} == {Outcome.SENT}
        assert {r.status_code for r in results} == {201}
    assert 2 <= fake_push.peak_in_flight <= 3
    assert sorted(r.json["id"] for r in fake_push.received) == [*range(1, 9), *range(100, 107)]
    # Later batches still find workers.
    assert [r.outcome for r in transport.send_all(_messages(fake_push, 200, 4))] == [
        Outcome.SENT
    ] * 4


def test_a_stop_lets_sends_on_the_wire_finish_and_skips_the_rest(
    transport: Transport, fake_push: Any
) -> None:
    fake_push.latency = 0.5
    stop = threading.Event()
    future = transport.submit(_messages(fake_push, 1, 7), stop)
    deadline = time.monotonic() + 10
    while fake_push.in_flight < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    results = future.result(timeout=30)
    assert [r.outcome for r in results] == [Outcome.SENT] * 3 + [Outcome.SKIPPED] * 4
    assert len(fake_push.attempts) == 3


def test_a_bug_fails_its_own_batch_and_the_transport_carries_on(
    transport: Transport, fake_push: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = transport_module.encrypt

    def broken(data: bytes, p256dh: str, auth: str) -> bytes:
        if data == b'{"id":3}':
            raise RuntimeError("a bug")
        return real(data, p256dh, auth)

    monkeypatch.setattr(transport_module, "encrypt", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        transport.send_all(_messages(fake_push, 1, 6))
    monkeypatch.undo()
    results = transport.send_all(_messages(fake_push, 10, 5))
    assert [r.outcome for r in results] == [Outcome.SENT] * 5


def test_a_closed_transport_sends_again_on_a_fresh_loop(
    transport: Transport, fake_push: Any
) -> None:
    assert [r.outcome for r in transport.send_all(_messages(fake_push, 1, 5))] == [Outcome.SENT] * 5
    transport.close()
    assert [r.outcome for r in transport.send_all(_messages(fake_push, 10, 5))] == [
        Outcome.SENT
    ] * 5
