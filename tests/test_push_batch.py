"""One batch with every kind of answer, settled and recorded in one go.

The dispatcher writes a batch's attempts, its subscriptions and its rows with a
few set-wise statements (on PostgreSQL: arrays instead of one bound parameter
per id, one INSERT for all attempts). This checks every column those statements
write, on whichever backend the suite runs against.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from ipt_groups import timesource
from ipt_groups.extensions import db
from ipt_groups.messaging.endpoints import policy
from ipt_groups.models import DeliveryAttempt, Notification, NotificationKind, PushSubscription
from ipt_groups.push.dispatcher import Dispatcher
from ipt_groups.push.transport import Transport
from tests.conftest import create_user


def test_a_mixed_batch_is_recorded_and_settled_row_by_row(
    app: Flask, fake_push: Any, frozen: datetime
) -> None:
    # person -> what the push service answers for their (first) device
    plan: dict[str, tuple[int, ...]] = {
        "ok": (),
        "throttled": (429,),
        "broken": (500,),
        "gone": (410,),
        "rejected": (400,),
        "two_devices": (),  # and a second device that is gone
    }
    with app.app_context():
        people: dict[str, int] = {}
        devices: dict[str, int] = {}
        for name, answers in plan.items():
            user = create_user("participant", username=f"batch-{name}")
            people[name] = user.id
            endpoints = [fake_push.new_subscription()]
            if name == "two_devices":
                endpoints.append(fake_push.new_subscription())
                fake_push.gone(endpoints[1]["endpoint"])
            if answers:
                retry_after = "120" if answers == (429,) else None
                fake_push.script(endpoints[0]["endpoint"], *answers, retry_after=retry_after)
            for i, sub in enumerate(endpoints):
                row = PushSubscription(
                    user_id=user.id,
                    endpoint=sub["endpoint"],
                    endpoint_hash=f"{name}-{i}".ljust(64, "0"),
                    p256dh=sub["keys"]["p256dh"],
                    auth=sub["keys"]["auth"],
                )
                db.session.add(row)
                db.session.flush()
                devices[name if i == 0 else "two_devices_gone"] = row.id
            db.session.add(
                Notification(
                    user_id=user.id,
                    kind=NotificationKind.TEST,
                    dedupe_key=f"batch:{name}",
                    ref_type="test",
                    due_at=timesource.utcnow(),
                )
            )
        db.session.commit()

        transport = Transport(
            app.config["VAPID_KEYS"], policy(app.config["PUSH_ALLOWED_HOSTS"]), concurrency=4
        )
        try:
            report = Dispatcher(transport, b"k" * 32).run_once()
        finally:
            transport.close()
        db.session.remove()

        assert (report.claimed, report.sent, report.retrying, report.no_channel) == (6, 2, 2, 1)
        assert (report.failed, report.attempts) == (1, 7)

        # One row per person.
        notes = {n.user_id: n for n in db.session.scalars(select(Notification)).all()}
        status = {
            name: (
                notes[uid].status,
                notes[uid].last_error,
                notes[uid].attempts,
                notes[uid].claim_token,
                notes[uid].lease_until,
            )
            for name, uid in people.items()
        }
        assert status == {
            "ok": ("sent", None, 1, None, None),
            "throttled": ("pending", "throttled", 1, None, None),
            "broken": ("pending", "retry", 1, None, None),
            "gone": ("no_channel", "gone", 1, None, None),
            "rejected": ("failed", "rejected", 1, None, None),
            "two_devices": ("sent", None, 1, None, None),
        }
        assert notes[people["ok"]].sent_at == frozen
        assert notes[people["throttled"]].due_at == frozen + timedelta(seconds=120)
        assert notes[people["broken"]].due_at > frozen

        attempts = {
            (a.notification_id, a.subscription_id): (
                a.push_host,
                a.status_code,
                a.outcome,
                a.error,
                a.at,
            )
            for a in db.session.scalars(select(DeliveryAttempt)).all()
        }
        gone_device_ids = {devices["gone"], devices["two_devices_gone"]}
        expected = {
            "ok": (201, "sent", None),
            "throttled": (429, "throttled", "Too Many Requests"),
            "broken": (500, "retry", "Internal Server Error"),
            "gone": (410, "gone", "Gone"),
            "rejected": (400, "rejected", "Bad Request"),
            "two_devices": (201, "sent", None),
        }
        want = {
            (notes[people[name]].id, None if devices[name] in gone_device_ids else devices[name]): (
                "127.0.0.1",
                *answer,
                frozen,
            )
            for name, answer in expected.items()
        }
        want[(notes[people["two_devices"]].id, None)] = ("127.0.0.1", 410, "gone", "Gone", frozen)
        assert attempts == want  # the gone devices' attempts outlive them (subscription NULL)

        subs = {s.id: s for s in db.session.scalars(select(PushSubscription)).all()}
        assert gone_device_ids.isdisjoint(subs)  # deleted
        assert subs[devices["ok"]].last_success_at == frozen
        assert subs[devices["two_devices"]].last_success_at == frozen
        assert (subs[devices["throttled"]].last_failure, subs[devices["broken"]].last_failure) == (
            "throttled",
            "retry",
        )
        assert subs[devices["rejected"]].last_failure_at == frozen
        db.session.remove()
