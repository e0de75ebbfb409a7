"""The one-to-one meetings screen in a real browser: a facilitator opens a
member's meetings from the cohort, books the mid-group meeting with the time
picker, reads its guide and records the PHQ-9 due there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from ipt_groups.extensions import db
from ipt_groups.models import Assessment, Cohort, Enrolment, MemberMeeting, Programme
from ipt_groups.services import demo
from tests import browser
from tests.browser import TABLET, chromium_context, log_in, screenshot


def test_a_facilitator_books_the_mid_group_meeting_and_records_its_phq9(
    app: Flask,
    live: browser.LiveServer,
    pw: Any,
    seeded: demo.DemoResult,
    tmp_path: Path,
) -> None:
    with app.app_context():
        cohort_id = db.session.scalar(select(Cohort.id).where(Cohort.name == demo.DEMO_COHORT_NAME))
        member = db.session.scalars(
            select(Enrolment)
            .where(Enrolment.cohort_id == cohort_id, Enrolment.status == "enrolled")
            .order_by(Enrolment.id)
        ).first()
        member_id, name = member.id, member.display_name
        mid_id = db.session.scalar(
            select(MemberMeeting.id).where(
                MemberMeeting.enrolment_id == member_id, MemberMeeting.kind == "mid_programme"
            )
        )
    with chromium_context(pw, tmp_path / "profile", TABLET) as context:
        page = context.new_page()
        log_in(page, live, "facilitator@example.org", demo.DEMO_PASSWORD)
        page.goto(f"{live.url}/#/cohorts/{cohort_id}")
        page.click(f"button[aria-label='One-to-one meetings with {name}']")
        page.wait_for_selector(f"li[data-meeting-id='{mid_id}']")
        kinds = page.eval_on_selector_all(
            ".staff-meetings li[data-kind]", "els => els.map(e => e.dataset.kind)"
        )
        assert kinds == ["pre_group", "mid_programme", "post_group"]

        row = page.locator(f"li[data-meeting-id='{mid_id}']")
        row.locator("input[type=datetime-local]").fill("2027-03-02T10:30")
        row.locator("button", has_text="Book").click()
        page.wait_for_selector("text=Meeting time saved.")
        row = page.locator(f"li[data-meeting-id='{mid_id}']")
        row.locator("button", has_text="Guide and measures").click()
        page.wait_for_selector("[data-guide=mid_programme]")
        guide = row.locator("[data-guide=mid_programme]")
        assert "Progress on the goal" in guide.inner_text()
        assert guide.locator("[data-due]").get_attribute("data-due") == "phq9"
        form = guide.locator("form[data-measure=phq9]")
        for item in form.locator("fieldset").all():
            item.locator("button[data-value='1']").click()
        # Item 9 back to 0: no risk answer in this test.
        form.locator("fieldset").last.locator("button[data-value='0']").click()
        form.locator("button[type=submit]").click()
        page.wait_for_selector("text=Saved: total 8.")
        screenshot(page, "tablet-member-meetings")
        # The outcomes page has its follow-up section (no follow-up scores yet).
        page.goto(f"{live.url}/#/cohorts/{cohort_id}/outcomes")
        page.wait_for_selector("[data-sustained]")
        assert "No follow-up scores yet." in page.locator("[data-sustained]").inner_text()

    with app.app_context():
        meeting = db.session.get(MemberMeeting, mid_id)
        assert meeting.starts_at is not None and meeting.starts_at.isoformat() == (
            "2027-03-02T10:30:00+00:00"
        )
        (score,) = db.session.scalars(select(Assessment).where(Assessment.meeting_id == mid_id))
        assert score.instrument == "phq9" and score.total == 8 and score.enrolment_id == member_id


def test_an_admin_sets_a_custom_programmes_follow_up_in_the_app(
    app: Flask,
    live: browser.LiveServer,
    pw: Any,
    seeded: demo.DemoResult,
    tmp_path: Path,
) -> None:
    with chromium_context(pw, tmp_path / "profile", TABLET) as context:
        page = context.new_page()
        log_in(page, live, "admin@example.org", demo.DEMO_PASSWORD)
        page.goto(f"{live.url}/#/admin/programmes")
        page.select_option("select[name=start_from]", "who-8")
        assert page.input_value("input[name=follow_up_weeks]") == "13"
        page.fill("input[name=key]", "who-8-long-follow-up")
        page.fill("input[name=name]", "WHO 8 with a 6-month follow-up")
        page.fill("input[name=follow_up_weeks]", "26")
        page.click("button[type=submit]")
        page.wait_for_selector("text=WHO 8 with a 6-month follow-up was created.")
        assert page.locator("text=Follow-up contact 26 weeks after the last session.").count() == 1
    with app.app_context():
        row = db.session.scalar(select(Programme).where(Programme.key == "who-8-long-follow-up"))
        assert row.definition["follow_up_weeks"] == 26
        assert [m["kind"] for m in row.definition["meetings"]] == [
            "pre_group", "mid_programme", "post_group",
        ]  # fmt: skip
