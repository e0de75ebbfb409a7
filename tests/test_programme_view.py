"""The programme page's API: headline figures, per facilitator and cohort, what
needs action now, the filters, who may see it, the CSV (guard, pseudonyms,
audit) and a fixed number of statements.

The data set is tests/factories.py's ``clinic`` (its figures are worked out
by hand there), plus, with the clock at 31 March 18:00 UTC:

- risk alerts: two open in A (opened 1 March 18:00 and 30 March 18:00, the older
  escalated), one open in B (31 March 06:00), one in B already acknowledged;
- member session reminders (all for B's session 1): sent by push, sent by SMS
  and delivered, no channel, failed, plus a cancelled one and one due tomorrow
  (neither counts): due 4, sent 2;
- devices and accounts: Ivy (B) has a push device; Hal (B) has an account but no
  device and no consent; nobody else has an account. So unreachable: A's four
  enrolled members (Eve, Ada, Ben, Cleo; Dev withdrew), B's Hal and Jon;
- first-absence follow-ups the attendance service opened and nobody closed:
  A: Ada and Ben (absent at s2, due before s3); Cleo's (absent at s4) has no
  next session so no due time yet. B: Jon (s1) and Ivy (s2). Dev withdrew.
- group sizes: A (short-4, minimum 2) has 4 enrolled; B (WHO 8, minimum 6) has
  3: below the minimum.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from ipt_groups.extensions import db
from ipt_groups.models import (
    AuditEvent,
    Cohort,
    Enrolment,
    Notification,
    PushSubscription,
    RiskAlert,
)
from ipt_groups.services import programme_csv
from tests.conftest import TEST_SECRET, ApiClient, create_user
from tests.factories import NAMES, clinic, grow_cohorts
from tests.querycount import count_queries

NOW = datetime(2026, 3, 31, 18, 0, tzinfo=UTC)


def _extras(app: Flask, c: dict[str, Any]) -> dict[str, int]:
    a, b, ids = c["a"], c["b"], c["ids"]
    with app.app_context():
        hal = create_user("participant", None, username="hal-m", display_name="H").id
        ivy = create_user("participant", None, username="ivy-s", display_name="I").id
        db.session.get(Enrolment, ids["hal"]).user_id = hal
        db.session.get(Enrolment, ids["ivy"]).user_id = ivy
        db.session.add(
            PushSubscription(
                user_id=ivy, endpoint="https://push.test/1", endpoint_hash="h1",
                p256dh="k", auth="a",
            )
        )  # fmt: skip
        old = RiskAlert(
            cohort_id=a, enrolment_id=ids["ben"], source="worried",
            opened_at=datetime(2026, 3, 1, 18, 0, tzinfo=UTC),
            escalated_at=datetime(2026, 3, 2, 18, 0, tzinfo=UTC),
        )  # fmt: skip
        newer = RiskAlert(
            cohort_id=a, enrolment_id=ids["ada"], source="worried",
            opened_at=datetime(2026, 3, 30, 18, 0, tzinfo=UTC),
        )  # fmt: skip
        in_b = RiskAlert(
            cohort_id=b, enrolment_id=ids["jon"], source="worried",
            opened_at=datetime(2026, 3, 31, 6, 0, tzinfo=UTC),
        )  # fmt: skip
        done = RiskAlert(
            cohort_id=b, enrolment_id=ids["ivy"], source="worried",
            opened_at=datetime(2026, 3, 3, 6, 0, tzinfo=UTC),
            acknowledged_at=datetime(2026, 3, 3, 8, 0, tzinfo=UTC), action="contacted",
        )  # fmt: skip
        db.session.add_all([old, newer, in_b, done])
        s1 = c["sb"][0]
        due = datetime(2026, 3, 9, 17, 0, tzinfo=UTC)
        rows = [
            ("sent", "push", None, due),
            ("sent", "sms", "delivered", due),
            ("no_channel", None, None, due),
            ("failed", None, None, due),
            ("cancelled", None, None, due),
            ("sent", "push", None, NOW + timedelta(days=1)),  # not yet due: not counted
        ]
        for n, (status, channel, state, at) in enumerate(rows):
            db.session.add(
                Notification(
                    user_id=ivy, kind="session_24h", dedupe_key=f"t:{n}", ref_type="session",
                    ref_id=s1, due_at=at, status=status, channel=channel, delivery_state=state,
                )
            )  # fmt: skip
        db.session.commit()
        return {"old": old.id, "newer": newer.id, "in_b": in_b.id}


def test_figures_and_what_needs_action_match_the_hand_count(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    c = clinic(app, as_role, users)
    alerts = _extras(app, c)
    a, b = c["a"], c["b"]
    body = as_role("admin").get("/api/programme").json

    totals = body["totals"]
    # Pooled as in test_outcomes: -37 over n = 5 -> -7.4; 4 of 5 latest below 10.
    assert totals["funnel"] == {"enrolled": 8, "started": 6, "reached_midpoint": 3, "completed": 2}
    assert totals["summary"]["mean_change"] == -7.4
    assert totals["summary"]["share_latest_below_10"] == 0.8
    # Completers (came to A's last session, s4): Eve 20 -> 8 and Ada 14 -> 4, both
    # below 10: mean (-12 - 10) / 2 = -11.0; nobody has reached B's session 8 yet.
    assert totals["completers"] == {
        "with_change": 2, "mean_change": -11.0, "share_latest_below_10": 1.0,
    }  # fmt: skip
    assert (totals["cohorts"], totals["planned"], totals["running"], totals["completed"]) == (
        2, 2, 0, 0,
    )  # fmt: skip
    assert totals["reminders"] == {
        "due": 4, "sent": 2, "share_sent": 0.5, "delivered": 1, "no_channel": 1, "failed": 1,
        "by_channel": {"push": 1, "sms": 1, "email": 0},
    }  # fmt: skip
    assert (totals["open_alerts"], totals["overdue_follow_ups"]) == (3, 4)

    rows = {r["cohort_id"]: r for r in body["cohorts"]}
    assert rows[a]["summary"]["mean_change"] == -6.33 and rows[b]["summary"]["mean_change"] == -9.0
    assert rows[a]["reminders"]["due"] == 0 and rows[b]["reminders"]["sent"] == 2
    assert rows[b]["completers"] == {
        "with_change": 0, "mean_change": None, "share_latest_below_10": None,
    }  # fmt: skip
    assert (rows[a]["current_members"], rows[a]["group_size_min"]) == (4, 2)
    assert (rows[b]["current_members"], rows[b]["group_size_min"]) == (3, 6)
    assert [f["display_name"] for f in body["facilitators"]] == [
        "Second Facilitator", "Test facilitator",
    ]  # fmt: skip
    assert [m["month"] for m in body["months"]] == ["2026-03"]

    action = body["action"]
    assert [x["alert_id"] for x in action["open_alerts"]] == [
        alerts["old"], alerts["newer"], alerts["in_b"],
    ]  # fmt: skip
    assert [x["age_hours"] for x in action["open_alerts"]] == [720.0, 24.0, 12.0]
    assert action["open_alerts"][0]["escalated_at"] is not None
    assert (action["open_alert_count"], action["escalated_count"]) == (3, 1)
    assert [(o["cohort_id"], o["count"]) for o in action["overdue_follow_ups"]] == [(b, 2), (a, 2)]
    assert [(x["cohort_id"], x["current_members"]) for x in action["below_minimum"]] == [(b, 3)]
    assert [(u["cohort_id"], u["count"]) for u in action["unreachable"]] == [(a, 4), (b, 2)]

    # Aggregates only: no member's name appears.
    raw = as_role("admin").get("/api/programme").get_data(as_text=True)
    for key in ("ada", "ben", "hal", "ivy", "jon"):
        assert NAMES[key] not in raw


def test_filters_narrow_the_cohorts(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    c = clinic(app, as_role, users)
    a, b = c["a"], c["b"]
    admin = as_role("admin")

    def ids(query: str) -> list[int]:
        response = admin.get(f"/api/programme?{query}")
        assert response.status_code == 200, response.json
        return [r["cohort_id"] for r in response.json["cohorts"]]

    # A met 10-31 March; B meets weekly from 10 March to 28 April.
    assert ids("") == [a, b]
    assert ids("start=2026-04-01") == [b]
    assert ids("start=2026-03-01&end=2026-03-09") == []
    assert ids("start=2026-03-31&end=2026-03-31") == [a, b]
    assert ids("programme_key=short-4") == [a]
    assert ids(f"facilitator_id={c['fac2_id']}") == [b]
    only = admin.get(f"/api/programme?facilitator_id={c['fac2_id']}").json
    assert only["totals"]["summary"]["mean_change"] == -9.0
    assert only["filters"]["facilitator_id"] == c["fac2_id"]
    bad = admin.get("/api/programme?start=2026-04-02&end=2026-04-01")
    assert bad.status_code == 422 and "query.end" in bad.json["error"]["fields"]
    assert admin.get("/api/programme?start=yesterday").status_code == 422


def test_access_mirrors_the_clinic_outcomes(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    c = clinic(app, as_role, users)
    a, b = c["a"], c["b"]
    sup = as_role("supervisor").get("/api/programme").json
    assert [r["cohort_id"] for r in sup["cohorts"]] == [b]  # supervises B only
    assert sup["totals"]["cohorts"] == 1
    fac = c["fac"].get("/api/programme").json
    assert [r["cohort_id"] for r in fac["cohorts"]] == [a]
    # Another facilitator's cohorts are not reachable through the filter.
    none = c["fac"].get(f"/api/programme?facilitator_id={c['fac2_id']}").json
    assert none["cohorts"] == [] and none["totals"]["funnel"]["enrolled"] == 0
    assert as_role("participant").get("/api/programme").status_code == 403
    assert as_role("participant").get("/api/programme.csv").status_code == 403
    assert ApiClient(app.test_client()).get("/api/programme").status_code == 401


def _rows(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_csv_is_pseudonymous_by_default_guarded_and_audited(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    c = clinic(app, as_role, users)
    a, b = c["a"], c["b"]
    with app.app_context():
        db.session.get(Cohort, a).name = '=HYPERLINK("https://evil.example","A")'
        db.session.commit()
    admin = as_role("admin")
    response = admin.get("/api/programme.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="programme.csv"'
    text = response.get_data(as_text=True)
    for needle in ("HYPERLINK", "Group B", "Second Facilitator", "Test facilitator"):
        assert needle not in text
    header, row_a, row_b = _rows(text)
    assert header[:4] == ["cohort", "facilitators", "status", "programme"]
    assert row_a[0] == programme_csv.pseudonym("cohort", a, TEST_SECRET)
    assert row_b[1] == programme_csv.pseudonym("facilitator", c["fac2_id"], TEST_SECRET)
    figures = dict(zip(header, row_b, strict=True))
    assert (figures["members"], figures["mean_phq9_change"], figures["completed"]) == (
        "3", "-9.0", "0",
    )  # fmt: skip
    assert figures["completers_share_latest_below_10"] == ""  # nobody completed B yet
    # The same ids in every export.
    assert _rows(admin.get("/api/programme.csv").get_data(as_text=True))[1][0] == row_a[0]

    named = _rows(admin.get("/api/programme.csv?pseudonymous=false").get_data(as_text=True))
    assert named[0][:3] == ["cohort_id", "cohort", "facilitators"]
    guarded = "'" + '=HYPERLINK("https://evil.example","A")'  # a text, never a formula
    assert named[1][:3] == [str(a), guarded, "Test facilitator"]
    assert named[2][:3] == [str(b), "Group B", "Second Facilitator"]
    row_a_named = dict(zip(named[0], named[1], strict=True))
    assert row_a_named["mean_phq9_change"] == "-6.33"
    assert row_a_named["completers_with_change"] == "2"
    assert row_a_named["completers_share_latest_below_10"] == "1.0"

    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.actor_id == users["admin"])
            .where(AuditEvent.action.like("programme_view.%"))
            .order_by(AuditEvent.id)
        ).all()
    assert actions == [
        "programme_view.export_pseudonymous",
        "programme_view.export_pseudonymous",
        "programme_view.export",
    ]
    as_role("admin").get("/api/programme")
    with app.app_context():
        assert (
            db.session.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(1))
            == "programme_view.read"
        )


def test_the_page_needs_the_same_statements_for_one_cohort_or_many(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    sup = as_role("supervisor")
    with app.app_context():
        engine = db.engine

    def reading(path: str) -> tuple[int, Any]:
        sup.get(path)  # the first call may fill the outcome cache
        with count_queries(engine) as counted:
            response = sup.get(path)
        assert response.status_code == 200
        return counted.count, response

    grow_cohorts(app, fac, users["supervisor"], 1)
    small = {p: reading(p) for p in ("/api/programme", "/api/programme.csv")}
    grow_cohorts(app, fac, users["supervisor"], 4, first_k=1)
    large = {p: reading(p) for p in ("/api/programme", "/api/programme.csv")}
    assert len(small["/api/programme"][1].json["cohorts"]) == 1
    assert len(large["/api/programme"][1].json["cohorts"]) == 5
    assert large["/api/programme"][1].json["action"]["open_alert_count"] == 5
    assert large["/api/programme"][1].json["totals"]["reminders"]["sent"] == 5
    assert {p: n for p, (n, _) in small.items()} == {p: n for p, (n, _) in large.items()}


def test_a_member_with_a_consented_channel_is_reachable_only_if_it_works(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    """Hal (B, no device) gives an address and consents to email, and puts email
    in his order (a member's default is push then SMS): reachable while email is
    switched on; not when it is off or he takes email out of his order again."""
    from ipt_groups.channels_config import ChannelSettings
    from ipt_groups.models import User
    from ipt_groups.services import channels, programme

    c = clinic(app, as_role, users)
    _extras(app, c)
    b = c["b"]
    with app.app_context():
        hal = db.session.get(Enrolment, c["ids"]["hal"])
        hal.contact_email = "hal@example.org"
        channels.set_consent(hal.user_id, email=True)
        channels.set_order(hal.user_id, ["push", "email"])
        db.session.commit()
        admin = db.session.get(User, users["admin"])

        def unreachable_in_b(settings: ChannelSettings) -> int:
            found = programme.programme_view(admin, programme.Filters(), settings, NOW)
            return {u.cohort_id: u.count for u in found.unreachable}[b]

        email_on = ChannelSettings(smtp_url="smtp://mail.test:25", mail_from="a@example.org")
        assert unreachable_in_b(email_on) == 1  # Jon only (no account)
        assert unreachable_in_b(ChannelSettings()) == 2  # email off: Hal too
        channels.set_order(hal.user_id, ["push", "sms"])
        db.session.commit()
        assert unreachable_in_b(email_on) == 2  # email is not in his order
        db.session.rollback()


def test_reminders_are_counted_in_the_period_they_were_due(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    c = clinic(app, as_role, users)
    _extras(app, c)
    admin = as_role("admin")
    # The reminders were due on 9 March, for B's session on the 10th (both met then);
    # both met again in the week of 23 March, when no reminder was due.
    first = admin.get("/api/programme?start=2026-03-09&end=2026-03-10").json
    assert first["totals"]["reminders"]["due"] == 4
    week = admin.get("/api/programme?start=2026-03-23&end=2026-03-29").json
    assert [r["cohort_id"] for r in week["cohorts"]] == [c["a"], c["b"]]
    assert week["totals"]["reminders"] == {
        "due": 0, "sent": 0, "share_sent": None, "delivered": 0, "no_channel": 0, "failed": 0,
        "by_channel": {"push": 0, "sms": 0, "email": 0},
    }  # fmt: skip
