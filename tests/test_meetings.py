"""Individual meetings as the WHO manual has them (pre-group, mid-group,
post-group), their guides and measures, and the follow-up after the end: when
it is booked, its neutral reminder, the sustained-change figures, old cohort
snapshots and custom programmes' interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from ipt_groups import clock, timesource
from ipt_groups.extensions import db
from ipt_groups.messaging import messages
from ipt_groups.models import (
    Assessment,
    AuditEvent,
    Cohort,
    Enrolment,
    MemberMeeting,
    Notification,
    NotificationKind,
    NotificationStatus,
    User,
)
from ipt_groups.protocol.meetings import GUIDES, guide_for
from ipt_groups.protocol.programmes import (
    TEMPLATES,
    TEMPLATES_BY_KEY,
    MeetingKind,
    template_from_dict,
    template_to_dict,
)
from ipt_groups.services import follow_up, reminders
from tests.conftest import ApiClient
from tests.factories import CUSTOM, create_cohort, enrol, erase

# An autumn WHO-8 cohort, Tuesdays 17:00 in London: session 8 is on 13 October
# 2026 (BST, 16:00 UTC); 13 weeks later is 12 January 2027, in GMT.
AUTUMN = {"start_date": "2026-08-25", "weekday": 1}
LAST_SESSION = datetime(2026, 10, 13, 16, 0, tzinfo=UTC)


def kinds(enrolment: dict[str, Any]) -> list[tuple[str, int]]:
    return [(m["kind"], m["after_session"]) for m in enrolment["meetings"]]


def answers(total: int) -> dict[str, int]:
    """PHQ-9 answers adding up to ``total`` (0-24), item 9 always 0 (no risk)."""
    left, out = total, {}
    for n in range(1, 10):
        out[f"phq9_{n}"] = 0 if n == 9 else min(3, left)
        left -= out[f"phq9_{n}"]
    assert left == 0
    return out


def enter(fac: ApiClient, enrolment_id: int, total: int, **where: Any) -> dict[str, Any]:
    body = {"instrument": "phq9", "answers": answers(total), **where}
    response = fac.post(f"/api/enrolments/{enrolment_id}/assessments", json=body)
    assert response.status_code == 201, response.json
    return response.json["assessment"]


def meetings_of(enrolment_id: int) -> dict[str, MemberMeeting]:
    return {
        m.kind: m
        for m in db.session.scalars(
            select(MemberMeeting).where(MemberMeeting.enrolment_id == enrolment_id)
        )
    }


def after_the_last_session(app: Flask) -> None:
    """Past session 8's end; the clock's planner books the follow-ups."""
    timesource.advance(LAST_SESSION + timedelta(hours=2) - timesource.utcnow())
    with app.app_context():
        clock.plan_reminders()
        db.session.commit()


# -- the templates -------------------------------------------------------------


def test_each_shipped_template_has_the_meetings_its_source_describes() -> None:
    got = {t.key: [(m.kind.value, m.after_session) for m in t.meetings] for t in TEMPLATES}
    assert got == {
        "who-8": [("pre_group", 0), ("mid_programme", 4), ("post_group", 8)],
        "community-12": [("pre_group", 0), ("post_group", 12)],
        "uganda-16": [("pre_group", 0), ("post_group", 16)],
        "adolescent-10": [
            ("pre_group", 0), ("pre_group", 0), ("mid_programme", 5), ("post_group", 10),
        ],
        "extended-20": [("pre_group", 0), ("mid_programme", 10), ("post_group", 20)],
    }  # fmt: skip
    for t in TEMPLATES:
        assert t.follow_up_weeks == 13
        assert t.meeting_kinds[-1] == MeetingKind.FOLLOW_UP
        # The full PHQ-9 at every individual meeting, the midpoint and the end;
        # with a mid-group meeting the midpoint score is taken there, once.
        for kind in t.meeting_kinds:
            assert t.measures_due_at_meeting(kind) == ["phq9"], (t.key, kind)
        at_midpoint = "phq9" in t.measures_due_at_session((t.group_sessions + 1) // 2)
        assert at_midpoint == (MeetingKind.MID_PROGRAMME not in t.meeting_kinds), t.key
        assert "phq9" in t.measures_due_at_session(t.group_sessions)


def test_every_meeting_has_a_complete_guide_in_english_and_spanish() -> None:
    assert set(GUIDES) == set(MeetingKind)
    for kind, items in GUIDES.items():
        assert len(items) >= 3, kind
        for item in items:
            for lang in ("en", "es"):
                assert item.title[lang].strip() and item.guidance[lang].strip(), (kind, lang)
            assert item.title["en"] != item.title["es"]
            assert item.guidance["en"] != item.guidance["es"]
            assert item.minutes > 0
    titles = {k: [i.title for i in guide_for(k, "en")] for k in MeetingKind}
    assert titles[MeetingKind.PRE_GROUP] == [
        "Symptoms review", "Link symptoms to relationships", "Interpersonal inventory",
        "Choose the problem area", "Goals", "Group rules", "Safety check",
    ]  # fmt: skip
    assert titles[MeetingKind.MID_PROGRAMME] == [
        "Progress on the goal",
        "Re-score",
        "Adjust the plan",
    ]
    assert titles[MeetingKind.POST_GROUP] == [
        "Outcome measure", "Gains", "Relapse warning signs", "Referral", "Follow-up plan",
    ]  # fmt: skip
    assert titles[MeetingKind.FOLLOW_UP] == [
        "Re-score",
        "How things have been",
        "Referral if needed",
    ]
    assert guide_for(MeetingKind.FOLLOW_UP, "es")[0].title == "Volver a puntuar"
    assert guide_for(MeetingKind.FOLLOW_UP, "fr")[0].title == "Re-score"  # English fallback


# -- booking and the guide -----------------------------------------------------


def test_a_who_member_gets_pre_mid_and_post_meetings_each_bookable_with_its_guide(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    cohort = create_cohort(fac, supervisor_ids=[users["supervisor"]])
    made = enrol(fac, cohort["id"])["enrolment"]
    assert kinds(made) == [("pre_group", 0), ("mid_programme", 4), ("post_group", 8)]
    mid = next(m for m in made["meetings"] if m["kind"] == "mid_programme")
    assert mid["starts_at"] is None and mid["label"] == "Mid-group individual meeting"

    # Booked like the pre-group meeting: a local time in the cohort's zone.
    booked = fac.patch(
        f"/api/meetings/{mid['id']}",
        json={"starts_at_local": "2026-04-01T10:00", "location": "Room 3"},
    )
    assert booked.status_code == 200, booked.json
    assert booked.json["starts_at"] == "2026-04-01T09:00:00+00:00"  # BST by then
    assert booked.json["local_starts_at"] == "2026-04-01T10:00:00+01:00"

    guide = fac.get(f"/api/meetings/{mid['id']}/guide").json
    assert guide["meeting"]["kind"] == "mid_programme" and guide["due"] == ["phq9"]
    assert [i["title"] for i in guide["agenda"]] == [
        "Progress on the goal",
        "Re-score",
        "Adjust the plan",
    ]
    assert guide["recorded"] == []
    entered = enter(fac, made["id"], 9, meeting_id=mid["id"])
    assert entered["meeting_id"] == mid["id"]
    guide = fac.get(f"/api/meetings/{mid['id']}/guide").json
    assert guide["recorded"] == ["phq9"] and guide["last_score"]["total"] == 9

    post = next(m for m in made["meetings"] if m["kind"] == "post_group")
    assert fac.get(f"/api/meetings/{post['id']}/guide").json["due"] == ["phq9"]
    # In the reader's own language.
    assert fac.patch("/api/me", json={"language": "es"}).status_code == 200
    spanish = fac.get(f"/api/meetings/{post['id']}/guide").json
    assert spanish["agenda"][0]["title"] == "Medida de resultado"

    with app.app_context():
        reads = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "meeting_guide.read", AuditEvent.target_id == post["id"]
            )
        ).all()
        assert len(reads) == 2 and {r.subject_id for r in reads} == {made["id"]}
    assert as_role("participant").get(f"/api/meetings/{mid['id']}/guide").status_code == 403


# -- the follow-up ---------------------------------------------------------------


def autumn_group(fac: ApiClient, users: dict[str, int]) -> dict[str, Any]:
    cohort = create_cohort(fac, supervisor_ids=[users["supervisor"]], **AUTUMN)
    made = [enrol(fac, cohort["id"], f"Member {n}")["enrolment"] for n in "ABC"]
    return {"cohort": cohort, "a": made[0]["id"], "b": made[1]["id"], "c": made[2]["id"]}


def test_the_follow_up_is_booked_13_weeks_after_the_last_session_in_the_cohorts_zone(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = autumn_group(fac, users)
    sessions = fac.get(f"/api/cohorts/{g['cohort']['id']}/sessions").json
    assert sessions[-1]["starts_at"] == LAST_SESSION.isoformat()
    withdrawn = fac.post(f"/api/enrolments/{g['c']}/withdraw", json={"reason": "Moved away"})
    assert withdrawn.status_code == 200
    with app.app_context():
        # Member B lives in Kampala (no daylight saving): her own zone changes how
        # times are shown to her, not when the clinic books the meeting.
        b_user = db.session.get(Enrolment, g["b"]).user
        b_user.time_zone = "Africa/Kampala"
        db.session.commit()

    # Before the last session is over: nothing yet.
    timesource.advance(LAST_SESSION + timedelta(minutes=30) - timesource.utcnow())
    with app.app_context():
        assert follow_up.ensure_follow_ups() == []
        db.session.commit()

    after_the_last_session(app)
    with app.app_context():
        a, b, c = (meetings_of(g[k]) for k in ("a", "b", "c"))
        # London: 17:00 wall time kept across the change back to GMT.
        assert a["follow_up"].starts_at == datetime(2027, 1, 12, 17, 0, tzinfo=UTC)
        # The cohort's zone for everyone, as for every other meeting: 17:00 London.
        assert b["follow_up"].starts_at == datetime(2027, 1, 12, 17, 0, tzinfo=UTC)
        assert a["follow_up"].after_session == 8 and a["follow_up"].status == "scheduled"
        assert "follow_up" not in c  # only members who completed
        audited = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "meeting.follow_up")
        ).all()
        assert {e.subject_id for e in audited} == {g["a"], g["b"]}
        # A reconciliation: running it again books nothing twice.
        assert follow_up.ensure_follow_ups() == []
        clock.plan_reminders()
        n = db.session.scalars(select(MemberMeeting).where(MemberMeeting.kind == "follow_up")).all()
        assert len(n) == 2
        follow_up_id = a["follow_up"].id

    fac = as_role("facilitator")
    listed = fac.get(f"/api/enrolments/{g['a']}").json["meetings"]
    assert [m["kind"] for m in listed][-1] == "follow_up"
    guide = fac.get(f"/api/meetings/{follow_up_id}/guide").json
    assert guide["due"] == ["phq9"] and guide["agenda"][0]["title"] == "Re-score"
    # It can be moved like any meeting.
    moved = fac.patch(f"/api/meetings/{follow_up_id}", json={"starts_at_local": "2027-01-21T10:00"})
    assert moved.status_code == 200 and moved.json["starts_at"] == "2027-01-21T10:00:00+00:00"


def test_a_run_racing_another_books_no_second_follow_up_nor_reminder(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime, monkeypatch: Any
) -> None:
    fac = as_role("facilitator")
    g = autumn_group(fac, users)
    url = f"/api/cohorts/{g['cohort']['id']}/status"
    assert fac.post(url, json={"status": "active"}).status_code == 200
    after_the_last_session(app)
    # A second run that read "nobody has one yet" before the first one's
    # commit (two clock processes, or the completion hook): it inserts anyway.
    monkeypatch.setattr(follow_up, "_booked", lambda last: set())
    with app.app_context():
        assert follow_up.ensure_follow_ups() == []
        db.session.commit()
    done = as_role("facilitator").post(url, json={"status": "completed"})
    assert done.status_code == 200, done.json
    timesource.advance(datetime(2027, 1, 11, 9, 0, tzinfo=UTC) - timesource.utcnow())
    with app.app_context():
        reminders.plan()
        db.session.commit()
        booked = db.session.scalars(
            select(MemberMeeting.enrolment_id).where(MemberMeeting.kind == "follow_up")
        ).all()
        assert sorted(booked) == sorted([g["a"], g["b"], g["c"]])
        user_ids = [db.session.get(Enrolment, g[k]).user_id for k in ("a", "b", "c")]
        sent_to = db.session.scalars(
            select(Notification.user_id).where(Notification.kind == NotificationKind.MEETING_24H)
        ).all()
        assert sorted(sent_to) == sorted(u for u in user_ids if u is not None)
        audited = db.session.scalars(
            select(AuditEvent.subject_id).where(AuditEvent.action == "meeting.follow_up")
        ).all()
        assert sorted(audited) == sorted([g["a"], g["b"], g["c"]])


def test_the_clock_looks_back_a_month_and_completing_the_cohort_books_the_rest(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = autumn_group(fac, users)
    url = f"/api/cohorts/{g['cohort']['id']}/status"
    assert fac.post(url, json={"status": "active"}).status_code == 200
    # The clock was stopped for six weeks over the end of the programme.
    timesource.advance(LAST_SESSION + timedelta(days=42) - timesource.utcnow())
    with app.app_context():
        clock.plan_reminders()
        db.session.commit()
        assert "follow_up" not in meetings_of(g["a"])
    done = as_role("facilitator").post(url, json={"status": "completed"})
    assert done.status_code == 200, done.json
    with app.app_context():
        booked = [meetings_of(g[k])["follow_up"].starts_at for k in ("a", "b", "c")]
        assert booked == [datetime(2027, 1, 12, 17, 0, tzinfo=UTC)] * 3


def test_the_follow_up_reminder_is_neutral_and_goes_when_the_meeting_is_cancelled(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = autumn_group(fac, users)
    after_the_last_session(app)
    timesource.advance(datetime(2027, 1, 11, 9, 0, tzinfo=UTC) - timesource.utcnow())
    with app.app_context():
        reminders.plan()
        db.session.commit()
        meeting = meetings_of(g["a"])["follow_up"]
        user_id = db.session.get(Enrolment, g["a"]).user_id
        rows = db.session.scalars(
            select(Notification).where(Notification.kind == NotificationKind.MEETING_24H)
        ).all()
        assert {r.user_id for r in rows} == {
            db.session.get(Enrolment, g[k]).user_id for k in ("a", "b", "c")
        } - {None}
        row = next(r for r in rows if r.user_id == user_id)
        assert row.ref_type == "member_meeting" and row.ref_id == meeting.id
        assert row.due_at == meeting.starts_at - timedelta(hours=24)
        assert row.expires_at == meeting.starts_at
        for language in ("en", "es"):
            words = messages.render(row, language, "Europe/London", messages.merged(None))
            assert messages.clinical_words_in(f"{words.title} {words.body}") == []
            assert "17:00" in words.body
        en = messages.render(row, "en", "Europe/London", messages.merged(None))
        assert en.body == "See you Tuesday at 17:00."
        assert reminders.stale([row], timesource.utcnow()) == {}
        meeting_id = meeting.id

    cancelled = as_role("facilitator").patch(
        f"/api/meetings/{meeting_id}", json={"status": "cancelled"}
    )
    assert cancelled.status_code == 200
    with app.app_context():
        row = db.session.scalar(
            select(Notification).where(
                Notification.kind == NotificationKind.MEETING_24H, Notification.user_id == user_id
            )
        )
        assert reminders.stale([row], timesource.utcnow()) == {row.id: "meeting_cancelled"}
        reminders.plan()
        db.session.commit()
        assert db.session.get(Notification, row.id).status == NotificationStatus.CANCELLED


# -- sustained change --------------------------------------------------------------


def test_outcomes_show_the_change_kept_at_follow_up_per_member_and_pooled(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = autumn_group(fac, users)
    sessions = fac.get(f"/api/cohorts/{g['cohort']['id']}/sessions").json
    # Baselines at the pre-group meeting (today), ends at session 8.
    with app.app_context():
        pre = {k: meetings_of(g[k])["pre_group"].id for k in ("a", "b", "c")}
    for key, total in (("a", 18), ("b", 15), ("c", 12)):
        enter(fac, g[key], total, meeting_id=pre[key])
    timesource.advance(LAST_SESSION + timedelta(minutes=80) - timesource.utcnow())
    fac = as_role("facilitator")
    for key, total in (("a", 6), ("b", 8), ("c", 12)):
        enter(fac, g[key], total, session_id=sessions[-1]["id"])
    after_the_last_session(app)
    with app.app_context():
        ups = {k: meetings_of(g[k])["follow_up"].id for k in ("a", "b")}
    timesource.advance(datetime(2027, 1, 12, 18, 0, tzinfo=UTC) - timesource.utcnow())
    fac = as_role("facilitator")
    enter(fac, g["a"], 7, meeting_id=ups["a"])  # still below 10, still 11 better
    enter(fac, g["b"], 14, meeting_id=ups["b"])  # back above 10, only 1 better
    # Member C was not followed up.

    body = fac.get(f"/api/cohorts/{g['cohort']['id']}/outcomes").json
    rows = {r["enrolment_id"]: r for r in body["follow_up"]}
    assert [r["enrolment_id"] for r in body["follow_up"]] == [
        m["enrolment_id"] for m in body["members"]
    ]
    a, b, c = rows[g["a"]], rows[g["b"]], rows[g["c"]]
    assert (a["end_phq9"]["total"], a["follow_up_phq9"]["total"]) == (6, 7)
    assert a["change_since_end"] == 1 and a["kept_below_10"] is True and a["kept_improved"] is True
    assert (b["end_phq9"]["total"], b["follow_up_phq9"]["total"]) == (8, 14)
    assert b["kept_below_10"] is False and b["kept_improved"] is False
    assert c["follow_up_phq9"] is None and c["kept_below_10"] is None
    assert c["end_phq9"]["total"] == 12 and c["change_since_end"] is None
    assert body["sustained"] == {
        "with_follow_up": 2,
        "below_10_at_end": 2,
        "kept_below_10": 1,
        "improved_at_end": 2,
        "kept_improved": 1,
        "mean_change": 3.5,
    }
    # The existing figures still use first and latest (the follow-up is the latest).
    members = {m["enrolment_id"]: m for m in body["members"]}
    assert members[g["a"]]["change"] == 7 - 18

    # Pooled for the clinic, the facilitator and the cohort, with no member shown.
    clinic = as_role("supervisor").get("/api/outcomes").json
    assert clinic["clinic"]["sustained"] == body["sustained"]
    (row,) = [c for c in clinic["cohorts"] if c["cohort_id"] == g["cohort"]["id"]]
    assert row["sustained"] == body["sustained"]
    (lead,) = [f for f in clinic["facilitators"] if f["user_id"] == users["facilitator"]]
    assert lead["sustained"] == body["sustained"]


# -- old snapshots and custom programmes -------------------------------------------


def old_snapshot(key: str = "who-8") -> dict[str, Any]:
    """A cohort snapshot as stored before follow-ups: no interval, no follow_up
    in any measure rule, and (for WHO-8) only the pre-group meeting."""
    data = template_to_dict(TEMPLATES_BY_KEY[key])
    del data["follow_up_weeks"]
    data["meetings"] = [m for m in data["meetings"] if m["kind"] == "pre_group"]
    for rule in data["measures"]:
        rule["meetings"] = [k for k in rule["meetings"] if k == "pre_group"]
    return data


def test_an_old_snapshot_loads_with_the_default_follow_up_and_its_phq9() -> None:
    template = template_from_dict(old_snapshot())
    assert template.follow_up_weeks == 13
    assert [m.kind for m in template.meetings] == [MeetingKind.PRE_GROUP]
    assert template.measures_due_at_meeting(MeetingKind.FOLLOW_UP) == ["phq9"]
    assert template.measures_due_at_meeting(MeetingKind.PRE_GROUP) == ["phq9"]
    # Stored again, the key is written and kept.
    again = template_from_dict(template_to_dict(template))
    assert again.follow_up_weeks == 13 and again.measures == template.measures


def test_a_cohort_made_before_the_change_keeps_working_and_gets_its_follow_up(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    cohort = create_cohort(fac, supervisor_ids=[users["supervisor"]], **AUTUMN)
    with app.app_context():
        row = db.session.get(Cohort, cohort["id"])
        row.programme = old_snapshot()
        db.session.commit()
    made = enrol(fac, cohort["id"])["enrolment"]
    assert kinds(made) == [("pre_group", 0)]
    assert fac.get(f"/api/cohorts/{cohort['id']}/outcomes").status_code == 200
    after_the_last_session(app)
    with app.app_context():
        up = meetings_of(made["id"])["follow_up"]
        assert up.starts_at == datetime(2027, 1, 12, 17, 0, tzinfo=UTC)
        up_id = up.id
    assert as_role("facilitator").get(f"/api/meetings/{up_id}/guide").json["due"] == ["phq9"]


@pytest.mark.parametrize("weeks", [0, 105, "soon"])
def test_a_custom_programme_validates_its_follow_up_interval(as_role: Any, weeks: Any) -> None:
    admin: ApiClient = as_role("admin")
    response = admin.post("/api/programmes", json={**CUSTOM, "follow_up_weeks": weeks})
    assert response.status_code == 422
    assert "follow_up_weeks" in response.json["error"]["fields"]


def test_a_custom_programme_sets_or_drops_its_follow_up(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    admin: ApiClient = as_role("admin")
    made = admin.post("/api/programmes", json={**CUSTOM, "follow_up_weeks": 26})
    assert made.status_code == 201, made.json
    assert made.json["follow_up_weeks"] == 26
    phq9 = next(m for m in made.json["measures"] if m["instrument"] == "phq9")
    assert phq9["meetings"] == ["pre_group", "follow_up"]
    # The follow-up is set by the interval, never listed as a meeting.
    listed = {
        **CUSTOM, "key": "clinic-listed",
        "meetings": [*CUSTOM["meetings"], {"kind": "follow_up", "after_session": 6, "label": "x"}],
    }  # fmt: skip
    refused = admin.post("/api/programmes", json=listed)
    assert refused.status_code == 422 and "meetings" in refused.json["error"]["fields"]
    # None: no follow-up, and no follow-up PHQ-9 in the default schedule.
    dropped = admin.patch(f"/api/programmes/{CUSTOM['key']}", json={"follow_up_weeks": None})
    assert dropped.status_code == 200 and dropped.json["follow_up_weeks"] is None
    phq9 = next(m for m in dropped.json["measures"] if m["instrument"] == "phq9")
    assert phq9["meetings"] == ["pre_group"]
    with app.app_context():
        assert template_from_dict({**dropped.json}).follow_up_weeks is None


# -- privacy ------------------------------------------------------------------------


def test_the_follow_up_is_in_the_members_export_and_blanked_by_erasure(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = autumn_group(fac, users)
    after_the_last_session(app)
    with app.app_context():
        up = meetings_of(g["a"])["follow_up"]
        up.location = "Health centre, room 4"
        user_id = db.session.get(Enrolment, g["a"]).user_id
        db.session.commit()
        up_id = up.id
    fac = as_role("facilitator")
    enter(fac, g["a"], 5, meeting_id=up_id)
    admin = as_role("admin")
    exported = admin.get(f"/api/users/{user_id}/export")
    assert exported.status_code == 200, exported.json
    (member,) = exported.json["enrolments"]
    (listed,) = [m for m in member["meetings"] if m["kind"] == "follow_up"]
    assert listed["location"] == "Health centre, room 4"
    assert listed["starts_at"] == "2027-01-12T17:00:00+00:00"

    withdrawn = fac.post(f"/api/enrolments/{g['a']}/withdraw", json={"reason": "Asked to leave"})
    assert withdrawn.status_code == 200
    assert erase(admin, user_id).status_code == 200
    with app.app_context():
        up = db.session.get(MemberMeeting, up_id)
        assert up.location == "" and up.status == "cancelled"
        # The score stays in the figures, nameless (like every erased member's).
        kept = select(Assessment.total).where(Assessment.meeting_id == up_id)
        assert db.session.scalar(kept) == 5
        assert db.session.get(User, user_id).erased_at is not None
