"""Outcomes: attendance per held session, the retention funnel, PHQ-9 change and
dropouts for a cohort (JSON and CSV), pooled per facilitator and for the clinic;
who may see them, the audit trail and a fixed number of queries.

Every expected figure below is worked out by hand from the data set that
``clinic`` builds (names are invented).

Cohort A: a 4-session programme (midpoint session (4 + 1) // 2 = 2, final 4),
capacity 5, sessions on Tuesdays 17:00 London: 10, 17, 24 March 17:00 UTC and
31 March 16:00 UTC (summer time). Marks ("-" = none recorded):

    member            s1       s2       s3       s4
    =HYPERLINK(..)    present  present  present  present
    Ada Rivers        present  absent   excused  present   came back: no dropout
    Ben Okafor        present  absent   absent   absent    dropout
    Cleo Marsh        late     -        present  absent    one absence at the end
    Dev Lanning       absent   -        excused  (withdrew after s3)  dropout

Not members of A: Hal (moved to cohort B before it started), Fay (only ever
waitlisted), Gus (referred at screening).

PHQ-9 (earliest -> latest): the formula-named member 20 -> 15 -> 8 (change -12),
Ada 14 -> 4 (-10, the latest one self-reported), Ben 12 -> 15 (+3), Cleo only
11 (no latest), Dev none; Hal's 22 belongs to his old enrolment in A and counts
nowhere. The formula-named member also has a later GAD-7, which is not a PHQ-9.

Cohort B: WHO 8 sessions (midpoint 4, final 8) led by a second facilitator and
supervised by the supervisor; sessions 1-4 have been held, marks only for 1-2:

    member       s1       s2       PHQ-9
    Hal Moreno   present  present  18 -> 6 (-12)
    Ivy Stone    present  absent    9 -> 3 (-6)
    Jon Pike     absent   absent   none          dropout
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from ipt_groups.extensions import db
from ipt_groups.models import AuditEvent
from tests.conftest import TEST_SECRET, ApiClient, create_user
from tests.factories import (
    ADA_EMAIL,
    ADA_PHONE,
    FORMULA_NAME,
    NAMES,
    START,
    add_score,
    clinic,
    counting,
    create_cohort,
    enrol,
    mark,
    move_clock_to,
)


def test_cohort_outcomes_match_the_hand_count(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    c = clinic(app, as_role, users)
    i = c["ids"]
    body = c["fac"].get(f"/api/cohorts/{c['a']}/outcomes").json
    assert body["cohort_id"] == c["a"]

    # s2: Cleo and Dev have no mark and were members then. s3: Dev has a mark.
    # s4: Dev withdrew on 24 March, so his missing mark is not "not recorded".
    counts = [
        (s["session_id"], s["label"], s["number"], s["kind"], s["present"], s["late"],
         s["excused"], s["absent"], s["not_recorded"], s["attended"])
        for s in body["sessions"]
    ]  # fmt: skip
    assert counts == [
        (c["sa"][0], "s1", 1, "group", 3, 1, 0, 1, 0, 4),
        (c["sa"][1], "s2", 2, "group", 1, 0, 0, 2, 2, 1),
        (c["sa"][2], "s3", 3, "group", 2, 0, 2, 1, 0, 2),
        (c["sa"][3], "s4", 4, "group", 2, 0, 0, 2, 0, 2),
    ]
    assert body["sessions"][3]["starts_at"] == "2026-03-31T16:00:00+00:00"

    # Enrolled: the five who joined. Started: all but Dev. Midpoint (a session >= 2):
    # Eve, Ada (s4), Cleo (s3); not Ben (s1 only). Completed (s4): Eve, Ada.
    assert body["funnel"] == {
        "enrolled": 5, "started": 4, "reached_midpoint": 3, "completed": 2,
        "midpoint_session": 2, "final_session": 4,
    }  # fmt: skip

    members = {m["display_name"]: m for m in body["members"]}
    assert [m["display_name"] for m in body["members"]] == [
        FORMULA_NAME, "Ada Rivers", "Ben Okafor", "Cleo Marsh", "Dev Lanning",
    ]  # fmt: skip
    assert {m["enrolment_id"] for m in body["members"]} == {
        i["eve"], i["ada"], i["ben"], i["cleo"], i["dev"],
    }  # fmt: skip
    summary_rows = {
        name: (m["status"], m["sessions_attended"],
               m["first_phq9"] and m["first_phq9"]["total"],
               m["latest_phq9"] and m["latest_phq9"]["total"], m["change"], m["dropout"])
        for name, m in members.items()
    }  # fmt: skip
    assert summary_rows == {
        FORMULA_NAME: ("enrolled", 4, 20, 8, -12, False),
        "Ada Rivers": ("enrolled", 2, 14, 4, -10, False),  # two absences, then came back
        "Ben Okafor": ("enrolled", 1, 12, 15, 3, True),  # absent s2-s4
        "Cleo Marsh": ("enrolled", 2, 11, None, None, False),  # one PHQ-9: no latest
        "Dev Lanning": ("withdrawn", 0, None, None, None, True),  # absent, (skip), excused
    }
    assert members["Ada Rivers"]["first_phq9"]["completed_at"] == "2026-03-03T09:00:00+00:00"
    assert members["Ada Rivers"]["latest_phq9"]["completed_at"] == "2026-03-30T09:00:00+00:00"
    assert members["Dev Lanning"]["marks"] == ["absent", None, "excused", None]
    assert members["Cleo Marsh"]["marks"] == ["late", None, "present", "absent"]

    # n = 3 (Eve, Ada, Ben): changes -12, -10, +3 -> mean -19 / 3 = -6.33.
    # Latest below 10: Eve 8, Ada 4 -> 2/3; below 5: Ada -> 1/3.
    # Marks: 5 + 3 + 5 + 4 = 17 recorded, 4 + 1 + 2 + 2 = 9 attended -> 0.529.
    assert body["summary"] == {
        "members": 5, "with_change": 3, "mean_change": -6.33,
        "share_latest_below_10": 0.667, "share_latest_below_5": 0.333, "dropouts": 2,
        "attended_marks": 9, "recorded_marks": 17, "attendance_rate": 0.529,
    }  # fmt: skip


def csv_rows(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_csv_export_by_name_guards_against_formulas(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    c = clinic(app, as_role, users)
    response = c["fac"].get(f"/api/cohorts/{c['a']}/outcomes.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="cohort-{c["a"]}-outcomes.csv"'
    )
    assert csv_rows(response) == [
        ["member", "status", "sessions_attended", "first_phq9", "latest_phq9", "change",
         "dropout", "s1", "s2", "s3", "s4"],
        # The name would be run as a formula: it gets a leading apostrophe. Our own
        # numbers (a change of -12) stay numbers.
        ["'" + FORMULA_NAME, "enrolled", "4", "20", "8", "-12", "no",
         "present", "present", "present", "present"],
        ["Ada Rivers", "enrolled", "2", "14", "4", "-10", "no",
         "present", "absent", "excused", "present"],
        ["Ben Okafor", "enrolled", "1", "12", "15", "3", "yes",
         "present", "absent", "absent", "absent"],
        ["Cleo Marsh", "enrolled", "2", "11", "", "", "no", "late", "", "present", "absent"],
        ["Dev Lanning", "withdrawn", "0", "", "", "", "yes", "absent", "", "excused", ""],
    ]  # fmt: skip


def pseudonym(enrolment_id: int) -> str:
    digest = hmac.new(TEST_SECRET.encode(), f"enrolment:{enrolment_id}".encode(), hashlib.sha256)
    return "M-" + digest.hexdigest()[:8]


def test_pseudonymous_csv_names_nobody_and_ids_are_stable(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    c = clinic(app, as_role, users)
    i = c["ids"]
    url = f"/api/cohorts/{c['a']}/outcomes.csv?pseudonymous=true"
    first = c["fac"].get(url)
    second = c["fac"].get(url)
    assert first.status_code == 200 and first.data == second.data
    text = first.data.decode("utf-8-sig")
    for needle in [*NAMES.values(), "Rivers", "HYPERLINK", ADA_EMAIL, ADA_PHONE, "Group A"]:
        assert needle not in text
    rows = csv_rows(first)
    assert [r[0] for r in rows[1:]] == [
        pseudonym(i[k]) for k in ("eve", "ada", "ben", "cleo", "dev")
    ]
    assert len({r[0] for r in rows[1:]}) == 5
    assert rows[2][1:7] == ["enrolled", "2", "14", "4", "-10", "no"]  # Ada's figures stay
    named = c["fac"].get(f"/api/cohorts/{c['a']}/outcomes.csv?pseudonymous=false")
    assert csv_rows(named)[2][0] == "Ada Rivers"
    bad = c["fac"].get(f"/api/cohorts/{c['a']}/outcomes.csv?pseudonymous=maybe")
    assert bad.status_code == 422
    assert list(bad.json["error"]["fields"]) == ["query.pseudonymous"]


def test_clinic_and_facilitator_figures_pool_members(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    c = clinic(app, as_role, users)
    a, b = c["a"], c["b"]
    fac1, fac2 = users["facilitator"], c["fac2_id"]
    admin: ApiClient = as_role("admin")
    body = admin.get("/api/outcomes").json

    # B: n = 2 (Hal -12, Ivy -6) -> mean -9.0; latest 6 and 3 are below 10 (1.0),
    # 3 below 5 (0.5); Jon absent twice: 1 dropout; 3 attended of 6 marks. Held
    # sessions 1-4 of 8 (session 5 is on 7 April). Nobody has reached session 4.
    b_summary = {
        "members": 3, "with_change": 2, "mean_change": -9.0, "share_latest_below_10": 1.0,
        "share_latest_below_5": 0.5, "dropouts": 1, "attended_marks": 3,
        "recorded_marks": 6, "attendance_rate": 0.5,
    }  # fmt: skip
    a_summary = {
        "members": 5, "with_change": 3, "mean_change": -6.33, "share_latest_below_10": 0.667,
        "share_latest_below_5": 0.333, "dropouts": 2, "attended_marks": 9,
        "recorded_marks": 17, "attendance_rate": 0.529,
    }  # fmt: skip
    a_funnel = {"enrolled": 5, "started": 4, "reached_midpoint": 3, "completed": 2}
    b_funnel = {"enrolled": 3, "started": 2, "reached_midpoint": 0, "completed": 0}
    rows = {r["cohort_id"]: r for r in body["cohorts"]}
    assert set(rows) == {a, b}
    assert (rows[a]["summary"], rows[a]["funnel"], rows[a]["held_sessions"]) == (
        a_summary, a_funnel, 4,
    )  # fmt: skip
    assert (rows[b]["summary"], rows[b]["funnel"], rows[b]["held_sessions"]) == (
        b_summary, b_funnel, 4,
    )  # fmt: skip
    assert rows[a]["facilitator_ids"] == [fac1] and rows[b]["facilitator_ids"] == [fac2]

    # Pooled over all 8 members, not a mean of the two cohorts' means:
    # changes -12, -10, +3, -12, -6 = -37 over n = 5 -> -7.4 (mean of means: -7.67);
    # latest below 10: Eve, Ada, Hal, Ivy = 4/5; below 5: Ada, Ivy = 2/5;
    # attended 9 + 3 = 12 of 17 + 6 = 23 marks -> 0.522.
    pooled = {
        "members": 8, "with_change": 5, "mean_change": -7.4, "share_latest_below_10": 0.8,
        "share_latest_below_5": 0.4, "dropouts": 3, "attended_marks": 12,
        "recorded_marks": 23, "attendance_rate": 0.522,
    }  # fmt: skip
    assert body["clinic"] == {
        "cohorts": 2,
        "funnel": {"enrolled": 8, "started": 6, "reached_midpoint": 3, "completed": 2},
        "summary": pooled,
        # Nobody has been followed up yet (tests/test_meetings.py covers the figures).
        "sustained": {
            "with_follow_up": 0, "below_10_at_end": 0, "kept_below_10": 0,
            "improved_at_end": 0, "kept_improved": 0, "mean_change": None,
        },
    }  # fmt: skip
    assert [
        (f["user_id"], f["display_name"], f["cohort_ids"], f["summary"])
        for f in body["facilitators"]
    ] == [
        (fac2, "Second Facilitator", [b], b_summary),
        (fac1, "Test facilitator", [a], a_summary),
    ]
    # Aggregates only: no member's name anywhere in the clinic view.
    raw = admin.get("/api/outcomes").get_data(as_text=True)
    for needle in ("Ada", "Rivers", "Hal Moreno", "HYPERLINK", "enrolment_id", "phq9"):
        assert needle not in raw

    # A facilitator sees only their own cohort; a supervisor only what they supervise.
    mine = c["fac"].get("/api/outcomes").json
    assert [r["cohort_id"] for r in mine["cohorts"]] == [a]
    assert mine["clinic"]["summary"] == a_summary
    assert [f["user_id"] for f in mine["facilitators"]] == [fac1]
    sup = as_role("supervisor").get("/api/outcomes").json
    assert [r["cohort_id"] for r in sup["cohorts"]] == [b]
    assert sup["clinic"]["summary"] == b_summary

    # Narrowed to one facilitator: their cohorts, their row only.
    only = admin.get(f"/api/outcomes?facilitator_id={fac2}").json
    assert [r["cohort_id"] for r in only["cohorts"]] == [b]
    assert [f["user_id"] for f in only["facilitators"]] == [fac2]
    assert only["clinic"]["summary"] == b_summary
    # Another facilitator's figures are not reachable through the filter.
    none = c["fac"].get(f"/api/outcomes?facilitator_id={fac2}").json
    assert none["cohorts"] == [] and none["facilitators"] == []
    assert none["clinic"]["summary"]["members"] == 0
    assert none["clinic"]["summary"]["mean_change"] is None
    bad = admin.get("/api/outcomes?facilitator_id=0")
    assert bad.status_code == 422 and "query.facilitator_id" in bad.json["error"]["fields"]


def test_who_may_see_outcomes(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    c = clinic(app, as_role, users)
    a = c["a"]
    urls = [f"/api/cohorts/{a}/outcomes", f"/api/cohorts/{a}/outcomes.csv"]
    with app.app_context():
        create_user("facilitator", "outsider.facilitator@test.example")
    outsider = ApiClient(app.test_client())
    outsider.login("outsider.facilitator@test.example")
    sup = as_role("supervisor")  # supervises B, not A
    for url in urls:
        for client in (outsider, sup):
            response = client.get(url)
            assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    assert sup.get(f"/api/cohorts/{c['b']}/outcomes").json["summary"]["members"] == 3
    outsider_view = outsider.get("/api/outcomes").json
    assert outsider_view["cohorts"] == [] and outsider_view["clinic"]["cohorts"] == 0
    participant = as_role("participant")
    anonymous = ApiClient(app.test_client())
    for url in [*urls, "/api/outcomes"]:
        assert participant.get(url).status_code == 403
        response = anonymous.get(url)
        assert response.status_code == 401 and response.json["error"]["code"] == "unauthenticated"


def audit_rows(app: Flask, action: str) -> list[tuple[Any, ...]]:
    with app.app_context():
        rows = db.session.execute(
            select(
                AuditEvent.actor_id, AuditEvent.target_type, AuditEvent.target_id,
                AuditEvent.subject_id,
            ).where(AuditEvent.action == action)
        )  # fmt: skip
        return sorted(tuple(r) for r in rows)


def test_reads_are_audited_per_member(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    c = clinic(app, as_role, users)
    i, a, fac = c["ids"], c["a"], users["facilitator"]
    shown = sorted(i[k] for k in ("eve", "ada", "ben", "cleo", "dev"))
    assert audit_rows(app, "outcomes.read") == []
    c["fac"].get(f"/api/cohorts/{a}/outcomes")
    assert audit_rows(app, "outcomes.read") == [(fac, "cohort", a, s) for s in shown]
    c["fac"].get(f"/api/cohorts/{a}/outcomes.csv")
    assert audit_rows(app, "outcomes.export") == [(fac, "cohort", a, s) for s in shown]
    c["fac"].get(f"/api/cohorts/{a}/outcomes.csv?pseudonymous=1")
    assert audit_rows(app, "outcomes.export_pseudonymous") == [(fac, "cohort", a, s) for s in shown]
    c["fac"].get("/api/outcomes")
    assert audit_rows(app, "outcomes.clinic_read") == [(fac, None, None, None)]


def test_clinic_outcomes_use_the_same_queries_for_one_cohort_or_three(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    leads = []
    with app.app_context():
        for n in range(2):
            leads.append(create_user("facilitator", f"lead{n}@test.example").id)
    fac: ApiClient = as_role("facilitator")
    made = []
    for n, lead in enumerate([users["facilitator"], *leads]):
        extra = {"supervisor_ids": [users["supervisor"]]} if n == 0 else {"lead_id": lead}
        cohort = create_cohort(fac, name=f"Group {n}", **extra)
        members = [enrol(fac, cohort["id"], f"Member {n}{k}")["enrolment"]["id"] for k in "AB"]
        made.append((cohort["id"], members))
    move_clock_to(datetime(2026, 3, 17, 18, 0, tzinfo=UTC))  # sessions 1 and 2 held
    fac = as_role("facilitator")
    with app.app_context():
        for cohort_id, members in made:
            for k, member in enumerate(members):
                add_score(member, cohort_id, 12 + k, START)
                add_score(member, cohort_id, 6 + k, START + timedelta(days=14))
            db.session.commit()
    for cohort_id, members in made:
        sessions = fac.get(f"/api/cohorts/{cohort_id}/sessions").json
        for s in sessions[:2]:
            mark(fac, s["id"], {members[0]: "present", members[1]: "absent"})

    sup: ApiClient = as_role("supervisor")
    with counting(app) as one:
        body = sup.get("/api/outcomes").json
    # Per cohort: two members, changes -6 and -6; B absent twice (a dropout).
    assert body["clinic"]["cohorts"] == 1 and body["clinic"]["summary"]["members"] == 2
    assert body["clinic"]["summary"]["dropouts"] == 1

    for cohort_id, _ in made[1:]:
        patched = fac.patch(
            f"/api/cohorts/{cohort_id}", json={"supervisor_ids": [users["supervisor"]]}
        )
        assert patched.status_code == 200, patched.json
    with counting(app) as three:
        body = sup.get("/api/outcomes").json
    assert body["clinic"]["cohorts"] == 3 and body["clinic"]["summary"]["members"] == 6
    assert body["clinic"]["summary"]["dropouts"] == 3
    assert body["clinic"]["summary"]["mean_change"] == -6.0
    assert len(body["facilitators"]) == 3
    assert len(three) == len(one), (one, three)


@pytest.mark.usefixtures("frozen")
def test_before_the_first_session_there_is_nothing_to_count(
    app: Flask, as_role: Any, users: dict[str, int]
) -> None:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac)
    member = enrol(fac, cohort["id"], "Nia Holt")["enrolment"]["id"]
    body = fac.get(f"/api/cohorts/{cohort['id']}/outcomes").json
    assert body["sessions"] == []
    assert body["funnel"] == {
        "enrolled": 1, "started": 0, "reached_midpoint": 0, "completed": 0,
        "midpoint_session": 4, "final_session": 8,
    }  # fmt: skip
    assert [(m["enrolment_id"], m["marks"], m["dropout"]) for m in body["members"]] == [
        (member, [], False)
    ]
    assert body["summary"]["mean_change"] is None
    assert body["summary"]["attendance_rate"] is None
    assert body["summary"]["share_latest_below_10"] is None
    # A cohort that has not met has no outcomes to pool yet.
    clinic_view = fac.get("/api/outcomes").json
    assert clinic_view["cohorts"] == [] and clinic_view["clinic"]["summary"]["members"] == 0
