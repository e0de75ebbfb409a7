"""The Programme page in a real browser, at tablet size, in English and Spanish:
a supervisor sees their own cohorts and not another supervisor's, the filters
travel in the URL, the tables sort, and the charts carry a table alternative."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from ipt_groups.extensions import db
from ipt_groups.models import User
from ipt_groups.services import cohorts, demo
from ipt_groups.services.audit import Actor
from tests import browser
from tests.browser import TABLET, chromium_context, log_in, screenshot
from tests.conftest import create_user

playwright_api = pytest.importorskip("playwright.sync_api")

OTHER_GROUP = "Thursday group of another supervisor"
OTHER_SUPERVISOR = "other.supervisor@example.org"


def _other_supervisors_cohort(app: Flask) -> None:
    with app.app_context():
        other = create_user(
            "supervisor", OTHER_SUPERVISOR, password=demo.DEMO_PASSWORD, display_name="Other Sup"
        )
        lead = db.session.scalar(select(User).where(User.email == "facilitator@example.org"))
        cohorts.create_cohort(
            Actor(lead.id),
            lead,
            {
                "name": OTHER_GROUP, "programme_key": "who-8", "language": "en",
                "time_zone": "Europe/London", "weekday": 3, "local_time": time(10, 0),
                "start_date": demo.utcnow().date(), "location": "Room 4",
                "supervisor_ids": [other.id],
            },
        )  # fmt: skip
        db.session.commit()


def _cohort_names(page: Any) -> list[str]:
    page.wait_for_selector("table[data-table=cohorts] tbody tr")
    return page.locator("table[data-table=cohorts] tbody th").all_inner_texts()


def test_a_supervisor_sees_their_programme_and_not_anothers(
    app: Flask,
    live: browser.LiveServer,
    pw: Any,
    seeded: demo.DemoResult,
    tmp_path: Path,
) -> None:
    _other_supervisors_cohort(app)
    with chromium_context(pw, tmp_path / "sup-en", TABLET) as context:
        page = context.new_page()
        log_in(page, live, "supervisor@example.org", demo.DEMO_PASSWORD)
        page.click("#nav a[href='#/programme']")
        page.wait_for_selector("[data-programme] h1:has-text('Programme')")
        names = _cohort_names(page)
        assert sorted(names) == sorted([demo.DEMO_COHORT_NAME, demo.RUNNING_COHORT_NAME])
        assert OTHER_GROUP not in page.inner_text("main")
        # Each row links to the cohort's outcomes page.
        link = page.locator(f"table[data-table=cohorts] a:has-text('{demo.DEMO_COHORT_NAME}')")
        assert "/outcomes" in link.get_attribute("href")
        # The charts are inline SVG with a title, and a table alternative.
        assert page.locator("svg[role=img] title").count() >= 1
        assert page.locator("table[data-funnel-table] tbody tr").count() == 4
        for key in ("alerts", "follow_ups", "below_minimum", "unreachable"):
            assert page.locator(f"[data-action={key}]").count() == 1
        # The demo members never installed the app: the page says who cannot be reached.
        assert page.locator("[data-action=unreachable] li").count() >= 1
        # Sorting by name, then the other way.
        page.click("table[data-table=cohorts] button[data-sort=cohort]")
        first = page.locator("table[data-table=cohorts] thead th").first
        assert first.get_attribute("aria-sort") == "descending"
        assert _cohort_names(page) == sorted(names, key=str.casefold, reverse=True)
        # The order lands in the URL too (in place: no new history entry).
        page.wait_for_function("location.hash.includes('sort=cohort&order=desc')")
        # A filter lands in the URL (keeping the order); opening that URL gives the same page.
        page.select_option("select[name=programme_key]", "who-8")
        page.click("form[data-filters] button[type=submit]")
        page.wait_for_function("location.hash.includes('programme_key=who-8')")
        page.wait_for_selector("a:has-text('Clear filters')")
        shared = page.url
        page.goto(f"{live.url}/#/")
        page.goto(shared)
        page.wait_for_selector("a:has-text('Clear filters')")
        assert page.locator("select[name=programme_key]").input_value() == "who-8"
        assert "sort=cohort&order=desc" in shared
        # Reopened from the link, the table is sorted as it was.
        assert _cohort_names(page) == sorted(names, key=str.casefold, reverse=True)
        first = page.locator("table[data-table=cohorts] thead th").first
        assert first.get_attribute("aria-sort") == "descending"
        screenshot(page, "tablet-programme-en")

    # The other supervisor, given the same link, sees only their own group.
    with chromium_context(pw, tmp_path / "other", TABLET) as context:
        page = context.new_page()
        log_in(page, live, OTHER_SUPERVISOR, demo.DEMO_PASSWORD)
        page.goto(f"{live.url}/#/programme")
        assert _cohort_names(page) == [OTHER_GROUP]

    with app.app_context():
        sup = db.session.scalar(select(User).where(User.email == "supervisor@example.org"))
        sup.language = "es"
        db.session.commit()
    with chromium_context(pw, tmp_path / "sup-es", TABLET) as context:
        page = context.new_page()
        log_in(page, live, "supervisor@example.org", demo.DEMO_PASSWORD)
        page.click("#nav a[href='#/programme']")
        page.wait_for_selector("[data-programme] h1:has-text('Programa')")
        assert sorted(_cohort_names(page)) == sorted(names)
        text = page.inner_text("main")
        assert OTHER_GROUP not in text
        for words in ("Requiere acción ahora", "Por grupo", "Permanencia", "Descargar CSV"):
            assert words in text
        screenshot(page, "tablet-programme-es")


def _one_per_page(asked: list[str], name: str) -> Any:
    """A route handler adding ``name=1`` to the page's /api/programme calls (the real
    server answers) and keeping every URL asked in ``asked``."""

    def rewrite(route: Any) -> None:
        url = route.request.url
        if f"{name}=" not in url:
            url += ("&" if "?" in url else "?") + f"{name}=1"
        asked.append(url)
        route.continue_(url=url)

    return rewrite


def test_a_table_longer_than_a_page_comes_from_the_server_a_page_at_a_time(
    app: Flask,
    live: browser.LiveServer,
    pw: Any,
    seeded: demo.DemoResult,
    tmp_path: Path,
) -> None:
    """The supervisor's two demo cohorts, one per page: the page's own call is
    rewritten to ``per_page=1`` (the real server answers; a clinic needs more
    than 50 cohorts for the default page to be short). "Show more" appends the
    next page; a column header then asks the server for that order."""
    asked: list[str] = []
    one_per_page = _one_per_page(asked, "per_page")

    with chromium_context(pw, tmp_path / "sup-paged", TABLET) as context:
        page = context.new_page()
        page.route("**/api/programme?*", one_per_page)
        page.route("**/api/programme", one_per_page)
        log_in(page, live, "supervisor@example.org", demo.DEMO_PASSWORD)
        page.goto(f"{live.url}/#/programme")
        assert len(_cohort_names(page)) == 1
        status = page.locator("[data-cohort-paging] [data-shown]")
        assert status.inner_text() == "Showing 1 of 2 cohorts. The CSV export has them all."
        page.click("[data-cohort-paging] button[data-more]")
        page.wait_for_selector("[data-cohort-paging] [data-shown='2']")
        names = _cohort_names(page)
        assert sorted(names) == sorted([demo.DEMO_COHORT_NAME, demo.RUNNING_COHORT_NAME])
        assert page.locator("[data-cohort-paging] button[data-more]").count() == 0
        assert "page=2" in asked[-1] and "sort=start" in asked[-1]
        # Sorting by name asks the server for a new first page in that order.
        page.click("table[data-table=cohorts] button[data-sort=cohort]")
        page.wait_for_selector("[data-cohort-paging] [data-shown='1']")
        assert "sort=cohort" in asked[-1] and "order=asc" in asked[-1] and "page=1" in asked[-1]
        assert _cohort_names(page) == sorted(names, key=str.casefold)[:1]
        first = page.locator("table[data-table=cohorts] thead th").first
        assert first.get_attribute("aria-sort") == "ascending"
        page.wait_for_function("location.hash.includes('sort=cohort&order=asc')")
        # A bookmark of that page asks the server for that order from the start.
        bookmark = page.url
        page.goto(f"{live.url}/#/")
        page.goto(bookmark)
        page.wait_for_selector("[data-cohort-paging] [data-shown='1']")
        assert "sort=cohort" in asked[-1] and "order=asc" in asked[-1]
        assert _cohort_names(page) == sorted(names, key=str.casefold)[:1]
        first = page.locator("table[data-table=cohorts] thead th").first
        assert first.get_attribute("aria-sort") == "ascending"


def test_the_facilitator_table_comes_from_the_server_a_page_at_a_time(
    app: Flask,
    live: browser.LiveServer,
    pw: Any,
    seeded: demo.DemoResult,
    tmp_path: Path,
) -> None:
    """A co-facilitator joins the demo cohort, so the supervisor's page has two
    facilitators; the page's calls are rewritten to ``facilitator_per_page=1``
    (an admin's clinic has 500). "Show more" appends the next; the name header
    then asks the server for the other order."""
    from ipt_groups.models import Cohort, CohortStaff, StaffRole

    with app.app_context():
        extra = create_user("facilitator", "co.fac@example.org", display_name="Aa Co-facilitator")
        cohort = db.session.scalar(select(Cohort).where(Cohort.name == demo.DEMO_COHORT_NAME))
        db.session.add(
            CohortStaff(cohort_id=cohort.id, user_id=extra.id, role=StaffRole.CO_FACILITATOR)
        )
        db.session.commit()
    asked: list[str] = []
    one_per_page = _one_per_page(asked, "facilitator_per_page")

    def names(page: Any) -> list[str]:
        page.wait_for_selector("table[data-table=facilitators] tbody tr")
        return page.locator("table[data-table=facilitators] tbody th").all_inner_texts()

    with chromium_context(pw, tmp_path / "sup-fac-paged", TABLET) as context:
        page = context.new_page()
        page.route("**/api/programme?*", one_per_page)
        page.route("**/api/programme", one_per_page)
        log_in(page, live, "supervisor@example.org", demo.DEMO_PASSWORD)
        page.goto(f"{live.url}/#/programme")
        assert names(page) == ["Aa Co-facilitator"]
        status = page.locator("[data-facilitator-paging] [data-shown]")
        assert status.inner_text() == "Showing 1 of 2 facilitators."
        page.click("[data-facilitator-paging] button[data-more]")
        page.wait_for_selector("[data-facilitator-paging] [data-shown='2']")
        assert names(page) == ["Aa Co-facilitator", "Demo Facilitator"]
        assert page.locator("[data-facilitator-paging] button[data-more]").count() == 0
        assert "facilitator_page=2" in asked[-1] and "facilitator_sort=facilitator" in asked[-1]
        # The name column was the server's order: a click asks for it the other way.
        page.click("table[data-table=facilitators] button[data-sort=facilitator]")
        page.wait_for_selector("[data-facilitator-paging] [data-shown='1']")
        assert "facilitator_order=desc" in asked[-1] and "facilitator_page=1" in asked[-1]
        assert names(page) == ["Demo Facilitator"]
        first = page.locator("table[data-table=facilitators] thead th").first
        assert first.get_attribute("aria-sort") == "descending"
        # The cohort table (both cohorts on one page) is not cut by the facilitators' paging.
        assert len(_cohort_names(page)) == 2
        # The facilitator table's order lands in the URL too, beside the cohort table's.
        page.wait_for_function(
            "location.hash.includes('facilitator_sort=facilitator&facilitator_order=desc')"
        )
        page.click("table[data-table=cohorts] button[data-sort=cohort]")
        page.wait_for_function("location.hash.includes('sort=cohort&order=desc')")
        shared = page.evaluate("location.href")
        assert "facilitator_order=desc" in shared
        # Reopened from the link, the server is asked for that order from the start.
        asked.clear()
        page.goto("about:blank")
        page.goto(shared)
        assert names(page) == ["Demo Facilitator"]
        assert "facilitator_order=desc" in asked[0] and "facilitator_sort=facilitator" in asked[0]
        first = page.locator("table[data-table=facilitators] thead th").first
        assert first.get_attribute("aria-sort") == "descending"
