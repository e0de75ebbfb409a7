"""Per-session trends (GET /api/cohorts/{id}/trends): each member's scores placed
on the programme's timeline and the cohort's mean at each place; who may read
them, the audit rows a read writes, and a fixed number of queries.

The data set (names invented), a WHO 8-session cohort, sessions on Tuesdays
10, 17, 24 and 31 March 2026 (the clock then stops after session 4):

    member      pre-group  s1       s2       s3       s4    mid (after s4)  loose
    Ana Reyes   PHQ 18     mood 3   mood 5   -        mood 7  PHQ 9
                           PHQ 16                    PHQ 11
    Ben Osei    PHQ 12     mood 4   -        mood 6   -
                           GAD 8
    Cy Lund     -          mood 2   mood 2   (withdrew after s2)
                           PHQ 20   PHQ 14 then a correction: 13
    Dee Marr    nothing at all
    Eli Faro    referred at screening: not a member, his score counts nowhere

Ana misses s3: a gap, never a zero. Ben has a PHQ-9 entered on no session or
meeting on 20 March, after s2 started: it sits at 2.5 ("after session 2").
Cy's second s2 PHQ-9 replaces the first at the same place.

Means (instrument, position: mean, n):
    phq9  0: (18 + 12) / 2 = 15, n 2      mood 1: (3 + 4 + 2) / 3 = 3, n 3
    phq9  1: (16 + 20) / 2 = 18, n 2      mood 2: (5 + 2) / 2 = 3.5, n 2
    phq9  2: 13, n 1                      mood 3: 6, n 1
    phq9  2.5: 12, n 1                    mood 4: 7, n 1
    phq9  4: 11, n 1
    phq9  4.5: 9, n 1                     gad7 1: 8, n 1
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from ipt_groups import timesource
from ipt_groups.extensions import db
from ipt_groups.models import AuditEvent, Enrolment, MemberMeeting
from ipt_groups.protocol.instruments import GAD7, MOOD
from tests.browser import log_in
from tests.conftest import ApiClient, create_user
from tests.factories import (
    A_SECRETS,
    add_score,
    create_cohort,
    enrol,
    erase,
    withdraw_and_acknowledge,
)
from tests.querycount import count_queries

AFTER_S4 = datetime(2026, 3, 31, 18, 0, tzinfo=UTC)
LOOSE_AT = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # after s2 (17 March), before s3


def world(app: Flask, as_role: Any, users: dict[str, int]) -> dict[str, Any]:
    fac: ApiClient = as_role("facilitator")
    cohort = create_cohort(fac, supervisor_ids=[users["supervisor"]])["id"]
    ids = {
        key: enrol(fac, cohort, name)["enrolment"]["id"]
        for key, name in [("ana", "Ana Reyes"), ("ben", "Ben Osei"), ("cy", "Cy Lund"),
                          ("dee", "Dee Marr")]
    }  # fmt: skip
    eli = fac.post(
        f"/api/cohorts/{cohort}/enrolments",
        json={"display_name": "Eli Faro", "problem_areas": ["grief"],
              "screening": {"suicide_plan_or_attempt": True, "needs_specialist_care": False},
              "consent": {"version": "2026-01", "given": True}},
    )  # fmt: skip
    assert eli.status_code == 201 and eli.json["enrolment"]["status"] == "referred"
    ids["eli"] = eli.json["enrolment"]["id"]
    sessions = fac.get(f"/api/cohorts/{cohort}/sessions").json
    s = {x["number"]: x for x in sessions}
    at = {n: datetime.fromisoformat(s[n]["starts_at"]) + timedelta(minutes=30) for n in s}

    timesource.advance(AFTER_S4 - timesource.utcnow())
    fac = as_role("facilitator")  # the old login timed out while the clock moved
    out = fac.post(f"/api/enrolments/{ids['cy']}/withdraw", json={"reason": "Moved away"})
    assert out.status_code == 200 and out.json["status"] == "withdrawn"
    # One score the way the runner sends it, so the real path is covered too.
    posted = fac.post(
        f"/api/enrolments/{ids['ana']}/assessments",
        json={"instrument": "mood", "answers": {"mood": 7}, "session_id": s[4]["id"]},
    )
    assert posted.status_code == 201, posted.json

    with app.app_context():
        pre = {
            m.enrolment_id: m.id
            for m in db.session.scalars(
                select(MemberMeeting).where(MemberMeeting.kind == "pre_group")
            )
        }
        mid = MemberMeeting(
            enrolment_id=ids["ana"], kind="mid_programme", label="Mid-group meeting",
            after_session=4, starts_at=AFTER_S4,
        )  # fmt: skip
        db.session.add(mid)
        db.session.flush()
        before = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
        a, sid = ids, {n: s[n]["id"] for n in s}
        add_score(a["ana"], cohort, 18, before, meeting_id=pre[a["ana"]])
        add_score(a["ana"], cohort, 3, at[1], MOOD, session_id=sid[1])
        add_score(a["ana"], cohort, 16, at[1], session_id=sid[1])
        add_score(a["ana"], cohort, 5, at[2], MOOD, session_id=sid[2])
        add_score(a["ana"], cohort, 11, at[4], session_id=sid[4])
        add_score(a["ana"], cohort, 9, AFTER_S4 + timedelta(minutes=5), meeting_id=mid.id)
        add_score(a["ben"], cohort, 12, before, meeting_id=pre[a["ben"]])
        add_score(a["ben"], cohort, 4, at[1], MOOD, session_id=sid[1])
        add_score(a["ben"], cohort, 8, at[1], GAD7, session_id=sid[1])
        add_score(a["ben"], cohort, 12, LOOSE_AT)  # no session, no meeting: placed by date
        add_score(a["ben"], cohort, 6, at[3], MOOD, session_id=sid[3])
        add_score(a["cy"], cohort, 2, at[1], MOOD, session_id=sid[1])
        add_score(a["cy"], cohort, 20, at[1], session_id=sid[1])
        add_score(a["cy"], cohort, 2, at[2], MOOD, session_id=sid[2])
        add_score(a["cy"], cohort, 14, at[2], session_id=sid[2])
        add_score(a["cy"], cohort, 13, at[2] + timedelta(minutes=5), session_id=sid[2])
        add_score(a["eli"], cohort, 22, before)
        db.session.commit()
    return {"cohort": cohort, "ids": ids, "fac": fac}


def series(member: dict[str, Any], instrument: str) -> list[tuple[float, int]]:
    return [(p["position"], p["total"]) for p in member["points"] if p["instrument"] == instrument]


def test_series_and_means_match_the_hand_count(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    w = world(app, as_role, users)
    response = w["fac"].get(f"/api/cohorts/{w['cohort']}/trends")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["cohort_id"] == w["cohort"] and body["group_sessions"] == 8
    assert body["instruments"] == ["phq9", "mood", "gad7"]

    members = {m["display_name"]: m for m in body["members"]}
    # Eli (referred) is not a member; Cy (withdrawn) stays in; Dee has no points.
    assert list(members) == ["Ana Reyes", "Ben Osei", "Cy Lund", "Dee Marr"]
    assert members["Cy Lund"]["status"] == "withdrawn"
    assert members["Dee Marr"]["points"] == []
    assert {m["enrolment_id"] for m in body["members"]} == {
        w["ids"][k] for k in ("ana", "ben", "cy", "dee")
    }

    ana, ben, cy = members["Ana Reyes"], members["Ben Osei"], members["Cy Lund"]
    assert series(ana, "phq9") == [(0, 18), (1, 16), (4, 11), (4.5, 9)]
    assert series(ana, "mood") == [(1, 3), (2, 5), (4, 7)]  # s3 missed: a gap, no zero
    assert series(ben, "phq9") == [(0, 12), (2.5, 12)]
    assert series(ben, "mood") == [(1, 4), (3, 6)]
    assert series(ben, "gad7") == [(1, 8)]
    assert series(cy, "phq9") == [(1, 20), (2, 13)]  # the later s2 score stands
    assert series(cy, "mood") == [(1, 2), (2, 2)]

    # Where each point was taken, as the charts label it.
    places = {(p["instrument"], p["position"]): p for p in ana["points"]}
    assert places[("phq9", 0)]["place"] == "meeting"
    assert places[("phq9", 0)]["meeting_kind"] == "pre_group"
    assert places[("phq9", 4.5)]["meeting_kind"] == "mid_programme"
    assert places[("phq9", 4)]["place"] == "session"
    assert places[("phq9", 4)]["session_number"] == 4
    loose = next(p for p in ben["points"] if p["position"] == 2.5)
    assert (loose["place"], loose["session_number"], loose["meeting_kind"]) == ("other", None, None)
    assert loose["completed_at"] == "2026-03-20T12:00:00+00:00"

    means = [(m["instrument"], m["position"], m["mean"], m["n"]) for m in body["means"]]
    assert means == [
        ("phq9", 0, 15.0, 2), ("phq9", 1, 18.0, 2), ("phq9", 2, 13.0, 1),
        ("phq9", 2.5, 12.0, 1), ("phq9", 4, 11.0, 1), ("phq9", 4.5, 9.0, 1),
        ("mood", 1, 3.0, 3), ("mood", 2, 3.5, 2), ("mood", 3, 6.0, 1), ("mood", 4, 7.0, 1),
        ("gad7", 1, 8.0, 1),
    ]  # fmt: skip


def test_a_cohort_with_no_scores_has_members_and_no_means(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    fac = as_role("facilitator")
    cohort = create_cohort(fac)["id"]
    enrol(fac, cohort, "Ana Reyes")
    body = fac.get(f"/api/cohorts/{cohort}/trends").json
    assert body["instruments"] == [] and body["means"] == []
    assert [(m["display_name"], m["points"]) for m in body["members"]] == [("Ana Reyes", [])]


def test_the_follow_up_score_has_its_own_place_after_the_post_group_one(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    # The follow-up is booked "after session 8" like the post-group meeting; it
    # used to share 8.5 with it, and its later score hid the post-group one.
    fac = as_role("facilitator")
    cohort = create_cohort(fac)["id"]
    eid = enrol(fac, cohort, "Ana Reyes")["enrolment"]["id"]
    with app.app_context():
        post = db.session.scalars(
            select(MemberMeeting).where(
                MemberMeeting.enrolment_id == eid, MemberMeeting.kind == "post_group"
            )
        ).one()
        follow_up = MemberMeeting(
            enrolment_id=eid, kind="follow_up", label="Follow-up meeting", after_session=8,
            starts_at=datetime(2026, 8, 4, 17, 0, tzinfo=UTC),
        )  # fmt: skip
        db.session.add(follow_up)
        db.session.flush()
        add_score(eid, cohort, 8, datetime(2026, 5, 5, 17, 0, tzinfo=UTC), meeting_id=post.id)
        add_score(
            eid, cohort, 15, datetime(2026, 8, 4, 17, 30, tzinfo=UTC), meeting_id=follow_up.id
        )
        db.session.commit()
    body = fac.get(f"/api/cohorts/{cohort}/trends").json
    assert body["group_sessions"] == 8
    (ana,) = body["members"]
    assert [(p["position"], p["place"], p["meeting_kind"], p["total"]) for p in ana["points"]] == [
        (8.5, "meeting", "post_group", 8), (9.0, "meeting", "follow_up", 15)
    ]  # fmt: skip
    assert [(m["position"], m["mean"], m["n"]) for m in body["means"]] == [
        (8.5, 8, 1),
        (9.0, 15, 1),
    ]


def test_staff_of_the_cohort_only(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime, client: ApiClient
) -> None:
    w = world(app, as_role, users)
    url = f"/api/cohorts/{w['cohort']}/trends"
    for role in ("facilitator", "supervisor", "admin"):
        response = as_role(role).get(url)
        assert response.status_code == 200, role
        assert len(response.json["members"]) == 4
    assert as_role("participant").get(url).status_code == 403
    with app.app_context():
        create_user("facilitator", "other.facilitator@test.example")
    other = ApiClient(app.test_client())
    assert other.login("other.facilitator@test.example").status_code == 200
    outsider = other.get(url)
    assert outsider.status_code == 404 and "members" not in outsider.json
    assert client.get(url).status_code == 401
    assert as_role("admin").get("/api/cohorts/999999/trends").status_code == 404


def test_every_read_is_audited_per_member_shown(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    w = world(app, as_role, users)
    sup = as_role("supervisor")
    assert sup.get(f"/api/cohorts/{w['cohort']}/trends").status_code == 200
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "trends.read")
        ).all()
        assert {(r.actor_id, r.target_type, r.target_id) for r in rows} == {
            (users["supervisor"], "cohort", w["cohort"])
        }
        assert sorted(r.subject_id for r in rows) == sorted(
            w["ids"][k] for k in ("ana", "ben", "cy", "dee")
        )
    # A refused read shows nothing and records no read.
    assert as_role("participant").get(f"/api/cohorts/{w['cohort']}/trends").status_code == 403
    with app.app_context():
        count = len(
            db.session.scalars(select(AuditEvent).where(AuditEvent.action == "trends.read")).all()
        )
        assert count == 4


def _cohort_with(fac: ApiClient, app: Flask, members: int, sessions: int) -> int:
    cohort = create_cohort(fac, capacity=10)["id"]
    ids = [enrol(fac, cohort, f"Member {n}")["enrolment"]["id"] for n in range(members)]
    held = fac.get(f"/api/cohorts/{cohort}/sessions").json[:sessions]
    with app.app_context():
        for enrolment_id in ids:
            for x in held:
                when = datetime.fromisoformat(x["starts_at"])
                add_score(enrolment_id, cohort, 5, when, MOOD, session_id=x["id"])
                add_score(enrolment_id, cohort, 10, when, session_id=x["id"])
            add_score(enrolment_id, cohort, 14, datetime(2026, 3, 5, tzinfo=UTC))
        db.session.commit()
    return cohort


def test_the_same_number_of_queries_for_a_small_and_a_large_group(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    fac = as_role("facilitator")
    small = _cohort_with(fac, app, members=2, sessions=1)
    large = _cohort_with(fac, app, members=7, sessions=4)
    timesource.advance(AFTER_S4 - timesource.utcnow())
    fac = as_role("facilitator")
    with app.app_context():
        engine = db.engine
    counts = {}
    for cohort in (small, large):
        fac.get(f"/api/cohorts/{cohort}/trends")  # the first call may fill caches
        with count_queries(engine) as counted:
            body = fac.get(f"/api/cohorts/{cohort}/trends").json
        counts[cohort] = (counted.count, sum(len(m["points"]) for m in body["members"]))
    assert counts[small][1] == 2 * 3 and counts[large][1] == 7 * 9  # the body did grow
    assert counts[small][0] == counts[large][0], counts
    # The trends themselves are one statement: the rest is the login, the access
    # check and the audit insert, as for any read.
    trend_queries = [
        s for s in counted.statements if "FROM enrolments LEFT OUTER JOIN assessments" in s
    ]
    assert len(trend_queries) == 1


# -- in the browser: the chart builder, the runner's sparklines, the outcomes ------


def _seed_running_scores(app: Flask) -> dict[str, Any]:
    """On the demo's running cohort: Ana has a pre-group PHQ-9 (16) and a PHQ-9
    (14) and mood (6) at session 1; Ben only a mood (4) at session 1; the others
    nothing."""
    from ipt_groups.models import Cohort, GroupSession
    from ipt_groups.services import demo

    with app.app_context():
        cohort = db.session.scalar(select(Cohort).where(Cohort.name == demo.RUNNING_COHORT_NAME))
        s1 = db.session.scalar(
            select(GroupSession).where(
                GroupSession.cohort_id == cohort.id, GroupSession.number == 1
            )
        )
        members = {
            e.display_name: e
            for e in db.session.scalars(select(Enrolment).where(Enrolment.cohort_id == cohort.id))
        }
        ana, ben = members["Ana Demo"], next(e for n, e in members.items() if n != "Ana Demo")
        pre = db.session.scalar(
            select(MemberMeeting.id).where(
                MemberMeeting.enrolment_id == ana.id, MemberMeeting.kind == "pre_group"
            )
        )
        during = s1.starts_at + timedelta(minutes=5)
        add_score(ana.id, cohort.id, 16, s1.starts_at - timedelta(days=7), meeting_id=pre)
        add_score(ana.id, cohort.id, 14, during, session_id=s1.id)
        add_score(ana.id, cohort.id, 6, during, MOOD, session_id=s1.id)
        add_score(ben.id, cohort.id, 4, during, MOOD, session_id=s1.id)
        db.session.commit()
        others = [e.id for e in members.values() if e.id not in (ana.id, ben.id)]
        return {"cohort_id": cohort.id, "session_id": s1.id, "ana": ana.id, "ben": ben.id,
                "others": others}  # fmt: skip


def _set_language(app: Flask, email: str, language: str) -> None:
    from ipt_groups.models import User

    with app.app_context():
        db.session.scalar(select(User).where(User.email == email)).language = language
        db.session.commit()


def test_the_chart_builder_breaks_lines_at_gaps_and_labels_every_chart(
    app: Flask, live: Any, pw: Any, seeded: Any, tmp_path: Any
) -> None:
    from ipt_groups.services import demo
    from tests.browser import TABLET, chromium_context

    with chromium_context(pw, tmp_path / "profile", TABLET) as context:
        page = context.new_page()
        log_in(page, live, "facilitator@example.org", demo.DEMO_PASSWORD)
        built = page.evaluate(
            """async () => {
              const c = await import('/static/js/core/chart.js');
              const pts = [{x: 0, y: 18}, {x: 1, y: 16}, {x: 2, y: 12}, {x: 4, y: 9}];
              const runs = c.runs(pts, [0, 1, 2, 3, 4]).map(r => r.map(p => p.x));
              const loose = c.runs(pts, [0, 4]).map(r => r.map(p => p.x));
              const svg = c.lineChart({width: 200, height: 100, x: [0, 8], y: [0, 27],
                bands: c.PHQ9_BANDS, series: [{points: pts, expected: [0, 1, 2, 3, 4]}],
                title: 'T', desc: 'D', axes: true});
              const spark = c.sparkline({points: pts, x: [0, 8], y: [0, 27], label: 'L'});
              // The follow-up's place (N + 1) is named, not taken for a session.
              const tr = await import('/static/js/views/trends.js');
              await tr.prepare();
              const eight = {group_sessions: 8};
              const places = [tr.placeLabel(8.5, false, eight), tr.placeLabel(9, false, eight),
                              tr.placeLabel(9, true, eight), tr.placeLabel(8, true, eight)];
              return {runs, loose, places,
                paths: svg.querySelectorAll('path.chart-line').length,
                points: svg.querySelectorAll('.chart-point').length,
                bands: [...svg.querySelectorAll('[data-band]')]
                  .map(l => [l.dataset.band, l.getAttribute('class')]),
                labelled: [svg.getAttribute('role'), svg.querySelector('title').textContent,
                           svg.querySelector('desc').textContent,
                           !!svg.getAttribute('aria-labelledby')],
                zeroDrawn: [...svg.querySelectorAll('.chart-point')].some(p => p.dataset.y === '0'),
                spark: [spark.getAttribute('role'), spark.getAttribute('aria-label'),
                        spark.querySelectorAll('.chart-point').length,
                        spark.querySelectorAll('.chart-axis').length]};
            }"""
        )
    assert built["runs"] == [[0, 1, 2], [4]]  # session 3 expected and missed: a gap
    assert built["loose"] == [[0, 1, 2, 4]]  # nothing expected between: one line
    assert built["paths"] == 1 and built["points"] == 4 and not built["zeroDrawn"]
    assert built["bands"] == [
        ["5", "chart-band"], ["10", "chart-band chart-band-main"], ["15", "chart-band"],
        ["20", "chart-band"],
    ]  # fmt: skip
    assert built["labelled"] == ["img", "T", "D", True]
    assert built["spark"] == ["img", "L", 4, 0]
    assert built["places"] == ["After session 8", "Follow-up", "F/U", "8"]


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_runner_shows_sparklines_and_the_outcomes_the_cohort_mean(
    app: Flask, live: Any, pw: Any, seeded: Any, tmp_path: Any, language: str
) -> None:
    from ipt_groups.services import demo
    from tests.browser import TABLET, chromium_context, screenshot

    w = _seed_running_scores(app)
    _set_language(app, "facilitator@example.org", language)
    words = {
        "en": ("Cohort mean by session", "Before session 1", "PHQ-9: 16 (Before session 1) to "
               "14 (Session 1), 2 scores", "Scores over the sessions so far"),
        "es": ("Media del grupo por sesión", "Antes de la sesión 1", "PHQ-9: de 16 (Antes de la "
               "sesión 1) a 14 (Sesión 1), 2 puntuaciones",
               "Puntuaciones en las sesiones hasta ahora"),
    }[language]  # fmt: skip
    with chromium_context(pw, tmp_path / "profile", TABLET) as context:
        page = context.new_page()
        log_in(page, live, "facilitator@example.org", demo.DEMO_PASSWORD)
        page.goto(f"{live.url}/#/sessions/{w['session_id']}")
        ana = page.locator(f"[data-member='{w['ana']}']")
        ana.locator("[data-trend=phq9] svg").wait_for()
        assert ana.locator("[data-trend=phq9] .chart-point").count() == 2
        assert ana.locator("[data-trend=mood] .chart-point").count() == 1
        label = ana.locator("[data-trend=phq9] svg").get_attribute("aria-label")
        assert label == words[2]
        # The tooltip in words, not its key (the runner now loads the strings).
        assert ana.locator(".trend-sparks").get_attribute("title") == words[3]
        ben = page.locator(f"[data-member='{w['ben']}']")
        assert ben.locator("[data-trend=mood] .chart-point").count() == 1
        assert ben.locator("[data-trend=phq9]").count() == 0
        for other in w["others"]:  # no scores: nothing drawn, nothing broken
            assert page.locator(f"[data-member='{other}'] .trend-sparks > *").count() == 0
        screenshot(page, f"trends-runner-{language}")

        page.goto(f"{live.url}/#/cohorts/{w['cohort_id']}/outcomes")
        mean = page.locator("[data-trend-mean=phq9]")
        mean.wait_for()
        assert words[0] in page.inner_text("#oc-trend-mean")
        # Cohort mean of PHQ-9: 16 before session 1 (n 1), 14 at session 1 (n 1);
        # mood: (6 + 4) / 2 = 5 at session 1 (n 2).
        assert mean.locator(".chart-point").count() == 2
        mood = page.locator("[data-trend-mean=mood] .chart-point")
        assert mood.count() == 1 and mood.first.get_attribute("data-y") == "5"
        card = page.locator("section[aria-labelledby=oc-trend-mean]")
        card.locator("summary").first.click()
        rows = card.locator("tbody tr")
        assert rows.count() == 2
        first_row = [c.strip() for c in rows.nth(0).inner_text().split("\t")]
        assert first_row == [words[1], "16 (n=1)", "—"]
        assert rows.nth(1).locator("td").all_inner_texts() == ["14 (n=1)", "5 (n=2)"]
        member = page.locator(f".trend-member[data-member='{w['ana']}']")
        assert member.locator("[data-trend-instrument=phq9] .chart-point").count() == 2
        screenshot(page, f"trends-outcomes-{language}")

        # A score entered in the runner shows in the member's sparkline at once.
        page.goto(f"{live.url}/#/sessions/{w['session_id']}")
        ana.locator("[data-trend=phq9] svg").wait_for()
        cara = page.locator(f"[data-member='{w['others'][0]}']")
        cara.locator("details > summary").first.click()
        form = cara.locator("form[data-measure=mood]")
        form.locator("button[data-value='7']").click()
        form.locator("button[type=submit]").click()
        spark = cara.locator("[data-trend=mood] .chart-point")
        spark.wait_for()
        assert spark.count() == 1 and spark.get_attribute("data-y") == "7"
    _set_language(app, "facilitator@example.org", "en")


# -- erasure: the trends keep de-identified totals, as the outcomes do -----------


def test_an_erased_members_trend_keeps_its_totals_and_loses_the_name(
    app: Flask, story: dict[str, Any], as_role: Any
) -> None:
    """The story's member A (tests/py): a PHQ-9 of 16 entered before
    the group (on no session: placed before session 1 by its date), her own mood
    check-in of 6 for session 1, a PHQ-9 of 9 at session 2."""
    url = f"/api/cohorts/{story['cohort_id']}/trends"
    before = as_role("facilitator").get(url).json
    a = next(m for m in before["members"] if m["enrolment_id"] == story["a"])
    assert series(a, "phq9") == [(0, 16), (2, 9)]
    assert series(a, "mood") == [(1, 6)]
    assert [p["place"] for p in a["points"]] == ["other", "session", "session"]

    withdraw_and_acknowledge(story, as_role)
    assert erase(as_role("admin"), story["user_id"]).status_code == 200
    response = as_role("facilitator").get(url)
    after = response.json
    assert A_SECRETS["name"] not in response.get_data(as_text=True)
    erased = next(m for m in after["members"] if m["enrolment_id"] == story["a"])
    assert erased["display_name"] == "Erased member" and erased["status"] == "withdrawn"
    assert erased["points"] == a["points"]
    assert after["means"] == before["means"]
