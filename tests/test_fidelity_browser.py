"""The fidelity checklist in a real browser: the facilitator fills it at the end
of the runner with no signal, it arrives when the tablet is back online, the
supervisor sees it in the supervision pages, reviews it, and the facilitator
finds the feedback marked new in the runner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from ipt_groups.extensions import db
from ipt_groups.models import FidelityChecklist
from ipt_groups.services import demo
from tests import browser
from tests.browser import TABLET, chromium_context, screenshot

playwright_api = pytest.importorskip("playwright.sync_api")


# live and pw come from tests/conftest.py: one Playwright per test run.


def log_in(page: Any, live: browser.LiveServer, name: str) -> None:
    browser.log_in(page, live, name, demo.DEMO_PASSWORD)


def test_checklist_filled_offline_arrives_and_the_supervisor_reviews_it(
    app: Flask, live: browser.LiveServer, pw: Any, tmp_path: Path
) -> None:
    cohort_id, session_id = browser.seed_running(app, live)

    with chromium_context(pw, tmp_path / "fac", TABLET) as context:
        page = context.new_page()
        log_in(page, live, "facilitator@example.org")
        browser.service_worker_ready(page)
        page.goto(f"{live.url}/#/sessions/{session_id}")
        page.wait_for_selector("[data-all-present]")
        page.wait_for_selector("[data-fidelity-step][data-loaded]", state="attached")

        context.set_offline(True)
        page.click("[data-all-present]")
        page.locator("[data-fidelity-step] summary").click()
        form = page.locator("form[data-fidelity]")
        form.wait_for()
        # Initial phase: five group items, then one per member marked present.
        rows = form.locator("li[data-item]")
        assert rows.count() == 5 + 6
        assert form.locator("li[data-item=attendance] [data-prefilled]").count() == 1
        assert (
            form.locator("li[data-item=attendance] button[data-answer=yes]").get_attribute(
                "aria-pressed"
            )
            == "true"
        )  # prefilled from the register just taken
        for n in range(rows.count()):
            rows.nth(n).locator("button[data-answer=yes]").click()
        form.locator("li[data-item=group_rules] button[data-answer=partly]").click()
        form.locator("li[data-item=group_rules] input[name=comment]").fill("Short on time")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("text=Saved on this tablet")
        with app.app_context():
            assert db.session.scalars(select(FidelityChecklist)).all() == []
        screenshot(page, "tablet-fidelity-offline")

        context.set_offline(False)
        browser.wait_until(page, "document.getElementById('status').dataset.waiting === '0'")

    with app.app_context():
        record = db.session.scalars(select(FidelityChecklist)).one()
        assert record.session_id == session_id and record.phase == "initial"
        assert len(record.answers) == 11
        assert sum(1 for a in record.answers if a["enrolment_id"]) == 6
        assert record.score == round(10.5 / 11, 4)
        assert {a["key"]: a["comment"] for a in record.answers}["group_rules"] == "Short on time"

    with chromium_context(pw, tmp_path / "sup", TABLET) as context:
        page = context.new_page()
        log_in(page, live, "supervisor@example.org")
        page.click("#nav a[href='#/supervision']")
        page.wait_for_selector("table[data-overview]")
        row = page.locator("table[data-overview] tbody tr", has_text="Demo Facilitator")
        assert row.locator("[data-mean]").inner_text() == "95%"
        row.locator(f"a[href='#/supervision/{cohort_id}']").click()
        item = page.locator(f"li[data-session='{session_id}']")
        item.wait_for()
        assert "95%" in item.inner_text()
        item.locator("summary").click()
        answers = item.locator("[data-answers]")
        answers.wait_for()
        assert "Short on time" in answers.inner_text()
        review = item.locator("form[data-review-form]")
        review.locator("select[name=rating]").select_option("4")
        review.locator("textarea[name=feedback]").fill("Good start; give rules more time.")
        review.locator("button[type=submit]").click()
        page.wait_for_selector("text=Review saved")
        screenshot(page, "tablet-supervision-log")

    with app.app_context():
        record = db.session.scalars(select(FidelityChecklist)).one()
        assert (record.rating, record.feedback) == (4, "Good start; give rules more time.")

    with chromium_context(pw, tmp_path / "fac2", TABLET) as context:
        page = context.new_page()
        log_in(page, live, "facilitator@example.org")
        page.goto(f"{live.url}/#/cohorts/{cohort_id}")
        marker = page.locator("[data-unread-feedback]:not([hidden])")
        marker.wait_for()
        assert marker.inner_text() == "1 new"
        page.goto(f"{live.url}/#/sessions/{session_id}")
        page.wait_for_selector("[data-unread-marker]")
        page.locator("[data-fidelity-step] summary").click()
        feedback = page.locator("[data-fidelity-step] [data-feedback]")
        feedback.wait_for()
        assert "Good start; give rules more time." in feedback.inner_text()
        assert "4 of 5" in feedback.inner_text()
        assert page.locator("form[data-fidelity]").count() == 0  # reviewed: read-only
        # Opening it marked it read: the cohort's log no longer shows it as new.
        browser.wait_until(
            page,
            f"fetch('/api/cohorts/{cohort_id}/supervision').then(r => r.json())"
            ".then(d => d.sessions[0].unread === false)",
        )


def test_offline_the_problem_area_item_is_prefilled_from_the_work_saved_here(
    live: browser.LiveServer, pw: Any, tmp_path: Path
) -> None:
    # The runner's member.work: what the server sent, or what this tablet saved
    # since (even queued). The same rule as services/fidelity.py.
    with chromium_context(pw, tmp_path / "fac", TABLET) as context:
        page = context.new_page()
        page.goto(f"{live.url}/#/login")
        got = page.evaluate(
            """async () => {
              const f = await import('/static/js/views/fidelity.js');
              const here = [
                {enrolment_id: 1, work: {techniques: ['role_play'], steps: []}},
                {enrolment_id: 2, work: {techniques: [], steps: ['grief.story']}},
                {enrolment_id: 3, work: {techniques: [], steps: []}},
                {enrolment_id: 4, work: null},
              ];
              return [...here.map((m) => f.localPrefill('problem_work', here, m)),
                      f.localPrefill('problem_work', here, null)];
            }"""
        )
    assert got == ["yes", "yes", "no", "no", None]
