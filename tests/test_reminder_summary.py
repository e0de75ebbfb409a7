"""The reminder summary (services/reminder_summary.py): the Programme page's
reminder figures from the day summary plus the outbox's last days equal a count
over the outbox alone, for any period; erasure, a late SMS delivery report and
pruning change them exactly; the mark advances from the clock job and on a read,
and never past a reminder still waiting to go out.

Data: two cohorts; member session reminders due every day from 1 to 40 days
before the clock (31 March 18:00 UTC), in both cohorts, with every counted status,
push / SMS / none, some SMS delivered; plus rows that never count (cancelled,
pending in the future, a staff kind, a row about a meeting rather than a session).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import case, func, select, update

from ipt_groups import timesource
from ipt_groups.channels_config import ChannelSettings
from ipt_groups.extensions import db
from ipt_groups.messaging.sms import StatusReport
from ipt_groups.models import (
    Cohort,
    GroupSession,
    Notification,
    ReminderDayCount,
    User,
)
from ipt_groups.services import privacy, programme, reminder_summary, sms
from ipt_groups.services.audit import SYSTEM
from tests.conftest import create_user
from tests.factories import create_cohort
from tests.querycount import count_queries

NOW = datetime(2026, 3, 31, 18, 0, tzinfo=UTC)
MARK = date(2026, 3, 28)  # NOW's day minus CLOSED_AFTER
STATUSES = ("sent", "sent", "no_channel", "failed", "expired", "sent", "cancelled")


@pytest.fixture
def world(app: Flask, as_role: Any, users: dict[str, int]) -> dict[str, Any]:
    fac = as_role("facilitator")
    with timesource.freeze(datetime(2026, 2, 1, 9, 0, tzinfo=UTC)):  # the cohorts start after it
        cohorts = [
            create_cohort(fac, name=f"Summary {k}", supervisor_ids=[users["supervisor"]])["id"]
            for k in range(2)
        ]
    with app.app_context():
        sessions = [db.session.get(Cohort, c).sessions[0].id for c in cohorts]
        members = [
            create_user("participant", None, username=f"sum-{k}", display_name=f"S{k}").id
            for k in range(3)
        ]
        n = 0
        for days_ago in range(1, 41):
            for k, status in enumerate(STATUSES):
                n += 1
                channel = ("push", "sms", None)[n % 3] if status == "sent" else None
                db.session.add(
                    Notification(
                        user_id=members[n % 3],
                        kind=("session_24h", "session_1h")[n % 2],
                        dedupe_key=f"s:{n}",
                        ref_type="session",
                        ref_id=sessions[(n // 2) % 2],
                        due_at=NOW - timedelta(days=days_ago, hours=k * 3),
                        status=status,
                        channel=channel,
                        provider_id=f"prov-{n}" if channel == "sms" else None,
                        delivery_state="delivered" if channel == "sms" and n % 4 else None,
                    )
                )
        extras = [
            ("session_24h", "session", "pending", NOW + timedelta(days=1)),
            ("staff_digest", "session", "sent", NOW - timedelta(days=10)),
            ("session_24h", "member_meeting", "sent", NOW - timedelta(days=10)),
        ]
        for m, (kind, ref_type, status, at) in enumerate(extras):
            db.session.add(
                Notification(
                    user_id=members[0], kind=kind, dedupe_key=f"x:{m}", ref_type=ref_type,
                    ref_id=sessions[0], due_at=at, status=status, channel="push",
                )
            )  # fmt: skip
        db.session.commit()
    return {"cohorts": cohorts, "members": members, "sessions": sessions}


def _raw(start: date | None, end: date | None) -> dict[int, tuple[int, int, int, int, int]]:
    """The reference: per cohort (due, sent, delivered, no channel, failed), counted
    from the outbox alone as the page did before the summary."""
    delivered = func.sum(case((Notification.delivery_state == "delivered", 1), else_=0))
    stmt = (
        select(GroupSession.cohort_id, Notification.status, func.count(), delivered)
        .join(GroupSession, GroupSession.id == Notification.ref_id)
        .where(
            Notification.ref_type == "session",
            Notification.kind.in_(["session_24h", "session_1h"]),
            Notification.status.in_(["sent", "failed", "expired", "no_channel"]),
            Notification.due_at <= NOW,
        )
        .group_by(GroupSession.cohort_id, Notification.status)
    )
    if start:
        stmt = stmt.where(Notification.due_at >= datetime(*start.timetuple()[:3], tzinfo=UTC))
    if end:
        after = end + timedelta(days=1)
        stmt = stmt.where(Notification.due_at < datetime(*after.timetuple()[:3], tzinfo=UTC))
    found: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for cohort_id, status, count, confirmed in db.session.execute(stmt):
        f = found[cohort_id]
        f[0] += count
        if status == "sent":
            f[1] += count
            f[2] += confirmed
        elif status == "no_channel":
            f[3] += count
        else:
            f[4] += count
    return {k: tuple(v) for k, v in found.items()}  # type: ignore[misc]


def _page(start: date | None, end: date | None) -> dict[int, tuple[int, int, int, int, int]]:
    """What the Programme page counts per cohort (programme._reach, over every
    cohort: the page's own period scope would drop a cohort with no session in a
    one-day period, which is not what is tested here)."""
    ids = select(Cohort.id).scalar_subquery()
    found = programme._reach(ids, programme.Filters(start=start, end=end), NOW)
    db.session.commit()
    return {
        cohort_id: (r.due, r.sent, r.delivered, r.no_channel, r.failed)
        for cohort_id, r in found.items()
        if r.due
    }


PERIODS = [
    (None, None),
    (date(2026, 2, 25), date(2026, 3, 10)),  # ends before the mark
    (date(2026, 3, 20), date(2026, 3, 29)),  # straddles it
    (date(2026, 3, 28), date(2026, 3, 28)),  # the mark's own day
    (date(2026, 3, 29), date(2026, 3, 31)),  # after it only
    (date(2026, 3, 15), None),
    (None, date(2026, 3, 5)),
]


def test_summary_and_outbox_together_equal_the_outbox_alone(
    app: Flask, world: dict[str, Any]
) -> None:
    with app.app_context():
        assert reminder_summary.mark() is None
        first = _page(None, None)  # the first read summarises the closed days
        assert reminder_summary.mark() == MARK
        assert db.session.scalar(select(func.count()).select_from(ReminderDayCount)) > 0
        assert first == _raw(None, None)
        assert sum(v[0] for v in first.values()) == 40 * 6  # the cancelled rows do not count
        for start, end in PERIODS:
            assert _page(start, end) == _raw(start, end), (start, end)
        admin = db.session.scalar(select(User).where(User.role == "admin"))
        assert admin is not None
        view = programme.programme_view(admin, programme.Filters(), ChannelSettings(), NOW)
        assert view.total.reach.due == 40 * 6
        assert view.total.reach.sent == sum(v[1] for v in first.values())


def test_erasure_and_a_late_delivery_report_change_the_figures_exactly(
    app: Flask, world: dict[str, Any]
) -> None:
    with app.app_context():
        _page(None, None)
        before = _raw(None, None)
        # A report for an SMS due 20 days ago, summarised as not delivered.
        prov = db.session.scalar(
            select(Notification.provider_id).where(
                Notification.channel == "sms",
                Notification.delivery_state.is_(None),
                Notification.due_at < NOW - timedelta(days=20),
            )
        )
        assert sms.handle_status(StatusReport(provider_id=prov, state="delivered"), NOW)
        db.session.commit()
        after_receipt = _raw(None, None)
        assert sum(v[2] for v in after_receipt.values()) == sum(v[2] for v in before.values()) + 1
        for start, end in PERIODS:
            assert _page(start, end) == _raw(start, end), (start, end)

        member = db.session.get(User, world["members"][1])
        assert member is not None
        privacy.erase(SYSTEM, member, "member_request")
        db.session.commit()
        erased = _raw(None, None)
        theirs = db.session.scalar(
            select(func.count()).where(Notification.user_id == world["members"][1])
        )
        assert theirs == 0
        assert 0 < sum(v[0] for v in erased.values()) < sum(v[0] for v in after_receipt.values())
        for start, end in PERIODS:
            assert _page(start, end) == _raw(start, end), (start, end)


def test_pruning_old_rows_takes_their_counts_along(app: Flask, world: dict[str, Any]) -> None:
    from ipt_groups import clock

    with app.app_context():
        _page(None, None)
        # Keep rows for 30 days, as if they had been written when they were due.
        db.session.execute(update(Notification).values(created_at=Notification.due_at))
        db.session.commit()
        app.config["NOTIFICATION_RETENTION"], kept = (
            timedelta(days=30),
            app.config["NOTIFICATION_RETENTION"],
        )
        try:
            with timesource.freeze(NOW):
                clock.prune()
            db.session.commit()
        finally:
            app.config["NOTIFICATION_RETENTION"] = kept
        assert sum(v[0] for v in _raw(None, None).values()) < 40 * 6
        for start, end in PERIODS:
            assert _page(start, end) == _raw(start, end), (start, end)


def test_the_mark_advances_from_the_job_and_waits_for_open_reminders(
    app: Flask, world: dict[str, Any]
) -> None:
    from ipt_groups import clock

    with app.app_context():
        # A reminder due 10 days ago is still waiting to go out (the dispatcher
        # was down): its day and later are not closed yet.
        late = Notification(
            user_id=world["members"][0], kind="session_1h", dedupe_key="late",
            ref_type="session", ref_id=world["sessions"][0],
            due_at=NOW - timedelta(days=10), status="pending",
        )  # fmt: skip
        db.session.add(late)
        db.session.commit()
        with timesource.freeze(NOW):
            clock.summarise_reminders()
        db.session.commit()
        assert reminder_summary.mark() == (NOW - timedelta(days=11)).date()
        assert _page(None, None) == _raw(None, None)
        late.status, late.channel = "sent", "push"  # the dispatcher caught up
        db.session.commit()
        with timesource.freeze(NOW):
            clock.summarise_reminders()
        db.session.commit()
        assert reminder_summary.mark() == MARK
        assert _page(None, None) == _raw(None, None)
        # A day later the read moves it on by itself (no clock job ran).
        tomorrow = NOW + timedelta(days=1)
        assert reminder_summary.advance(tomorrow) == MARK + timedelta(days=1)
        db.session.commit()
        assert _page(None, None) == _raw(None, None)


def test_the_summary_costs_the_same_statements_for_one_cohort_or_two(
    app: Flask, world: dict[str, Any]
) -> None:
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.role == "admin"))
        engine = db.engine
        _page(None, None)  # summarised first

        def statements(ids: list[int]) -> int:
            with count_queries(engine) as counted:
                reach = programme._reach(ids, programme.Filters(), NOW)
            assert set(reach) == set(ids)
            return counted.count

        assert admin is not None
        assert statements(world["cohorts"][:1]) == statements(world["cohorts"]) == 2
