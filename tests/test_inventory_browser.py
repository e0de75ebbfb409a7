"""The interpersonal inventory in a real browser: the runner shows it beside
the member, and the cohort's member list edits it (tests/test_pwa.py's set-up:
demo data on the wall clock, Debian's Chromium via Playwright)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from ipt_groups.extensions import db
from ipt_groups.models import Enrolment, InventoryVersion
from ipt_groups.services import demo
from tests import browser
from tests.browser import TABLET, chromium_context, screenshot
from tests.conftest import ApiClient

playwright_api = pytest.importorskip("playwright.sync_api")


# live and pw come from tests/conftest.py: one Playwright per test run.


log_in = browser.log_in  # one copy, in tests/browser.py


def test_the_runner_shows_the_inventory_beside_the_member_and_the_member_page_edits_it(
    app: Flask, live: browser.LiveServer, pw: Any, tmp_path: Path
) -> None:
    cohort_id, session_id = browser.seed_running(app, live)
    with app.app_context():
        ana = db.session.scalar(select(Enrolment.id).where(Enrolment.display_name == "Ana Demo"))
    # Ana's problem area is grief: her mother, whom she grieves; her sister.
    fac = ApiClient(app.test_client())
    assert fac.login("facilitator@example.org", demo.DEMO_PASSWORD).status_code == 200
    people = [
        {"name": "M", "relationship": "parent", "closeness": "inner", "concerns": "grief",
         "recent_change": "Died in the spring"},
        {"name": "Sol", "relationship": "sibling", "closeness": "middle",
         "difficult": "We have not talked since"},
    ]  # fmt: skip
    saved = fac.put(f"/api/enrolments/{ana}/inventory", json={"base_version": 0, "people": people})
    assert saved.status_code == 200, saved.json

    with chromium_context(pw, tmp_path / "profile", TABLET) as context:
        page = context.new_page()
        log_in(page, live, "facilitator@example.org", demo.DEMO_PASSWORD)
        page.goto(f"{live.url}/#/sessions/{session_id}")
        page.wait_for_selector("[data-all-present]")
        member = page.locator(f"[data-member='{ana}']")
        summary = member.locator(f"details[data-inventory='{ana}']")
        line = summary.locator("summary").inner_text()
        assert "M (parent)" in line and "Sol (sibling)" in line
        assert not summary.evaluate("d => d.open")  # compact until opened
        summary.locator("summary").click()
        shown = summary.inner_text()
        assert "Grief: M" in shown
        assert "Inner circle: M (parent)" in shown and "Middle circle: Sol (sibling)" in shown
        assert "We have not talked since" not in shown  # the full record is elsewhere
        # A member with no inventory says so, rather than showing nothing.
        assert page.locator("[data-member] [data-inventory='none']").count() == 5
        screenshot(page, "tablet-runner-inventory")

        # The member's entry in the cohort: the editor, as at the pre-group meeting.
        page.goto(f"{live.url}/#/cohorts/{cohort_id}")
        page.reload()  # straight to the cohort: the runner loaded no strings for it
        panel = page.locator(f"details[data-inventory-for='{ana}']")
        panel.locator("summary").first.wait_for()
        assert panel.locator("summary").first.inner_text() == "Interpersonal inventory"
        panel.locator("summary").first.click()
        editor = panel.locator(f"form[data-inventory-editor='{ana}']")
        editor.wait_for()
        assert editor.locator("input[name='people.0.name']").input_value() == "M"
        editor.get_by_role("button", name="Add a person").click()
        editor.locator("input[name='people.2.name']").fill("Jo")
        editor.locator("select[name='people.2.relationship']").select_option("friend")
        editor.locator("select[name='people.2.closeness']").select_option("outer")
        editor.locator("textarea[name='people.1.difficult']").fill("We talk on Sundays now")
        # A phone number is not a name: refused next to the field, nothing saved.
        editor.locator("input[name='people.2.name']").fill("Jo 07700")
        editor.get_by_role("button", name="Save inventory").click()
        refusal = editor.locator(".field[data-field='people.2.name'] .error")
        refusal.wait_for()
        assert "first name or an initial only" in refusal.inner_text()
        editor.locator("input[name='people.2.name']").fill("Jo")
        editor.get_by_role("button", name="Save inventory").click()
        panel.get_by_text("Inventory saved as a new version.").wait_for()
        assert "Version 2" in panel.inner_text()
        screenshot(page, "tablet-inventory-editor")

    with app.app_context():
        latest = db.session.scalar(
            select(InventoryVersion)
            .where(InventoryVersion.enrolment_id == ana)
            .order_by(InventoryVersion.version.desc())
        )
        assert latest.version == 2
        assert latest.changes == {"added": [3], "removed": [], "edited": [2]}
        assert [(p.name, p.relation, p.closeness) for p in latest.people] == [
            ("M", "parent", "inner"),
            ("Sol", "sibling", "middle"),
            ("Jo", "friend", "outer"),
        ]
        assert latest.people[1].difficult == "We talk on Sundays now"
