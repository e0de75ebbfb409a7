"""The clinic dashboard keeps each cohort's tally between reads
(services/outcome_cache.py). These tests hold it to the one thing that matters:
after any write, and as sessions start, every cohort row on the dashboard equals
the same cohort's figures computed afresh (``GET /api/cohorts/{id}/outcomes``
never uses the cache). They also show the cache is used (a repeated read does
not touch the attendance table) and that a tally computed from data that
changed meanwhile is never kept.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from ipt_groups.extensions import db
from ipt_groups.models import Attendance, CohortOutcomeCache
from ipt_groups.protocol.instruments import PHQ9
from ipt_groups.services import outcome_cache
from ipt_groups.timesource import utcnow
from tests.conftest import ApiClient
from tests.factories import answers_for, counting, create_cohort, enrol, mark, move_clock_to

# Sessions: Tuesdays 17:00 London (UTC in March) from 10 March 2026.
S1, S2, S3 = (datetime(2026, 3, d, 17, 0, tzinfo=UTC) for d in (10, 17, 24))
HOUR = timedelta(hours=1)


def dashboard(sup: ApiClient) -> dict[int, dict[str, Any]]:
    response = sup.get("/api/outcomes")
    assert response.status_code == 200, response.json
    return {row["cohort_id"]: row for row in response.json["cohorts"]}


def assert_fresh(sup: ApiClient, fac: ApiClient, cohort_ids: list[int]) -> dict[int, Any]:
    """Every cohort row on the (cached) dashboard equals a fresh count."""
    rows = dashboard(sup)
    for cohort_id in cohort_ids:
        fresh = fac.get(f"/api/cohorts/{cohort_id}/outcomes").json
        if not fresh["sessions"]:
            assert cohort_id not in rows  # nothing held yet: not on the dashboard
            continue
        row = rows[cohort_id]
        funnel = {
            k: v
            for k, v in fresh["funnel"].items()
            if k not in ("midpoint_session", "final_session")
        }
        assert (row["held_sessions"], row["funnel"], row["summary"]) == (
            len(fresh["sessions"]),
            funnel,
            fresh["summary"],
        ), cohort_id
    return rows


def phq9(client: ApiClient, enrolment_id: int, total: int) -> None:
    response = client.post(
        f"/api/enrolments/{enrolment_id}/assessments",
        json={"instrument": "phq9", "answers": answers_for(PHQ9, total)},
    )
    assert response.status_code == 201, response.json


@pytest.fixture
def groups(app: Flask, as_role: Any, users: dict[str, int], frozen: datetime) -> dict[str, Any]:
    fac: ApiClient = as_role("facilitator")
    ids = []
    members: dict[int, list[int]] = {}
    for name in ("Group A", "Group B"):
        cohort = create_cohort(fac, name=name, supervisor_ids=[users["supervisor"]])["id"]
        ids.append(cohort)
        members[cohort] = [
            enrol(fac, cohort, f"{name} member {k}")["enrolment"]["id"] for k in range(3)
        ]
    return {"ids": ids, "members": members}


def sessions_of(fac: ApiClient, cohort_id: int) -> list[int]:
    return [s["id"] for s in fac.get(f"/api/cohorts/{cohort_id}/sessions").json]


@pytest.fixture
def first_session(as_role: Any, groups: dict[str, Any]) -> dict[str, Any]:
    """Session 1 of group A has started; its first member was marked present."""
    a = groups["ids"][0]
    move_clock_to(S1 + HOUR)
    fac, sup = as_role("facilitator"), as_role("supervisor")  # logins outlived by the clock
    s1 = sessions_of(fac, a)[0]
    member = groups["members"][a][0]
    mark(fac, s1, {member: "present"})
    return {"a": a, "s1": s1, "member": member, "fac": fac, "sup": sup}


def test_every_write_and_every_session_start_is_seen(
    app: Flask, as_role: Any, groups: dict[str, Any]
) -> None:
    a, b = groups["ids"]
    ma, mb = groups["members"][a], groups["members"][b]
    fac, sup = as_role("facilitator"), as_role("supervisor")

    assert assert_fresh(sup, fac, [a, b]) == {}  # nothing held yet
    move_clock_to(S1 + HOUR)  # session 1 has started: both cohorts appear
    fac, sup = as_role("facilitator"), as_role("supervisor")
    rows = assert_fresh(sup, fac, [a, b])
    assert rows[a]["held_sessions"] == 1 and rows[a]["summary"]["recorded_marks"] == 0

    sa, sb = sessions_of(fac, a), sessions_of(fac, b)
    mark(fac, sa[0], {ma[0]: "present", ma[1]: "absent", ma[2]: "late"})
    rows = assert_fresh(sup, fac, [a, b])
    assert rows[a]["summary"]["recorded_marks"] == 3 and rows[a]["funnel"]["started"] == 2
    mark(fac, sa[0], {ma[1]: "present"})  # a mark corrected
    assert assert_fresh(sup, fac, [a, b])[a]["funnel"]["started"] == 3

    phq9(fac, ma[0], 16)
    phq9(fac, ma[0], 9)  # two scores: a change of -7
    rows = assert_fresh(sup, fac, [a, b])
    assert rows[a]["summary"]["with_change"] == 1 and rows[a]["summary"]["mean_change"] == -7.0

    admin = as_role("admin")
    moved = admin.post(f"/api/enrolments/{ma[2]}/move", json={"cohort_id": b})
    assert moved.status_code == 200, moved.json
    rows = assert_fresh(sup, fac, [a, b])
    assert rows[a]["summary"]["members"] == 2 and rows[b]["summary"]["members"] == 4

    move_clock_to(S2 + HOUR)
    fac, sup = as_role("facilitator"), as_role("supervisor")
    assert assert_fresh(sup, fac, [a, b])[a]["held_sessions"] == 2
    mark(fac, sa[1], {ma[0]: "absent", ma[1]: "absent"})
    mark(fac, sb[0], {mb[0]: "absent"})
    mark(fac, sb[1], {mb[0]: "excused", mb[1]: "present"})
    rows = assert_fresh(sup, fac, [a, b])
    assert rows[b]["summary"]["dropouts"] == 1

    out = fac.post(f"/api/enrolments/{mb[1]}/withdraw", json={"reason": "Moved away"})
    assert out.status_code == 200
    assert_fresh(sup, fac, [a, b])

    cancelled = fac.post(f"/api/sessions/{sa[2]}/cancel", json={"reason": "Holiday"})
    assert cancelled.status_code == 200, cancelled.json
    moved_s3 = fac.post(
        f"/api/sessions/{sb[2]}/reschedule", json={"starts_at_local": "2026-03-23T17:00"}
    )
    assert moved_s3.status_code == 200, moved_s3.json
    assert_fresh(sup, fac, [a, b])
    move_clock_to(S3 - HOUR)  # B's moved session 3 (23 March) has started, A's is cancelled
    fac, sup = as_role("facilitator"), as_role("supervisor")
    rows = assert_fresh(sup, fac, [a, b])
    assert (rows[a]["held_sessions"], rows[b]["held_sessions"]) == (2, 3)


def test_a_repeated_read_is_served_from_the_cache(
    app: Flask, first_session: dict[str, Any]
) -> None:
    sup = first_session["sup"]
    with counting(app) as first:
        body = sup.get("/api/outcomes").json
    with counting(app) as second:
        again = sup.get("/api/outcomes").json
    assert again == body
    reads_marks = [s for s in first if "FROM attendance" in s]
    assert reads_marks, "the first read computes from the marks"
    assert not [s for s in second if "FROM attendance" in s], second
    assert len(second) < len(first)


def test_a_tally_computed_from_changed_data_is_not_kept(
    app: Flask, as_role: Any, groups: dict[str, Any]
) -> None:
    a, b = groups["ids"]
    members = groups["members"][a]
    move_clock_to(S1 + HOUR)
    fac, sup = as_role("facilitator"), as_role("supervisor")
    s1 = sessions_of(fac, a)[0]
    dashboard(sup)  # both cohorts cached
    mark(fac, s1, {members[0]: "present"})  # a's tally cleared
    with app.app_context():
        now = utcnow()
        seen = outcome_cache.read([a, b], now)  # a reader starts: a must be computed
        assert set(seen.fresh) == {b} and a in seen.versions
    mark(fac, s1, {members[1]: "present"})  # ... and a write lands before it stores
    with app.app_context():
        stale = outcome_cache.Computed(a, {"members": 99}, 1, None, None)
        outcome_cache.store([stale], seen.versions, now)
        db.session.commit()
        row = db.session.get(CohortOutcomeCache, a)
        assert row is not None and row.tally is None  # the stale result was dropped
        assert row.data_version == seen.versions[a] + 1
        assert db.session.get(CohortOutcomeCache, b).tally is not None  # b untouched
    assert dashboard(sup)[a]["summary"]["recorded_marks"] == 2


def test_versions_guard_a_cohort_never_read_before(app: Flask, groups: dict[str, Any]) -> None:
    a, _ = groups["ids"]
    with app.app_context():
        db.session.execute(CohortOutcomeCache.__table__.delete())
        db.session.commit()
        seen = outcome_cache.read([a], utcnow())
        assert seen.versions == {a: 0}
        # A write lands between the read and the store: the new row's version is 1.
        outcome_cache.invalidate(db.session.connection(), [a])
        db.session.commit()
        outcome_cache.store(
            [outcome_cache.Computed(a, {"members": 99}, 1, None, None)], seen.versions, utcnow()
        )
        db.session.commit()
        row = db.session.get(CohortOutcomeCache, a)
        assert (row.data_version, row.tally) == (1, None)


def test_a_rolled_back_write_leaves_the_cache_as_it_was(
    app: Flask, first_session: dict[str, Any]
) -> None:
    a, sup = first_session["a"], first_session["sup"]
    dashboard(sup)
    with app.app_context():
        before = db.session.get(CohortOutcomeCache, a)
        version, tally = before.data_version, dict(before.tally)
        db.session.execute(update(Attendance).values(status="absent"))  # bulk, then undone
        db.session.rollback()
        row = db.session.get(CohortOutcomeCache, a, populate_existing=True)
        assert (row.data_version, row.tally) == (version, tally)
        assert db.session.scalars(select(Attendance.status)).all() == ["present"]

        db.session.execute(update(Attendance).values(status="absent"))  # bulk, committed
        db.session.commit()
        row = db.session.get(CohortOutcomeCache, a, populate_existing=True)
        assert (row.data_version, row.tally) == (version + 1, None)  # every row cleared
    assert dashboard(sup)[a]["summary"]["attended_marks"] == 0


def test_a_write_inside_a_savepoint_invalidates_when_the_transaction_commits(
    app: Flask, first_session: dict[str, Any], groups: dict[str, Any]
) -> None:
    a, s1, sup = first_session["a"], first_session["s1"], first_session["sup"]
    member = groups["members"][a][1]  # not marked yet
    dashboard(sup)
    with app.app_context():
        version = db.session.get(CohortOutcomeCache, a).data_version
        with db.session.begin_nested():
            db.session.add(Attendance(session_id=s1, enrolment_id=member, status="present"))
        # Released, not committed: nothing is invalidated (or locked) yet...
        assert db.session.get(CohortOutcomeCache, a, populate_existing=True).tally is not None
        db.session.commit()
        row = db.session.get(CohortOutcomeCache, a, populate_existing=True)
        assert (row.data_version, row.tally) == (version + 1, None)  # ...until the commit
    assert dashboard(sup)[a]["summary"]["attended_marks"] == 2
