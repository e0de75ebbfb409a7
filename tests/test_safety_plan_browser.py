"""The safety plan in a real browser: a supervisor makes one from a risk alert
and acknowledges the alert with it (tablet); the member reads it in Spanish on
their phone, and again with no connection after one visit online.

Runs on the wall clock like tests/test_pwa.py, on the demo data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from ipt_groups.extensions import db
from ipt_groups.models import Enrolment, RiskAlert, SafetyPlanVersion, User
from ipt_groups.services import demo
from tests import browser
from tests.browser import (
    NARROWEST,
    OVERFLOW,
    PHONE,
    TABLET,
    chromium_context,
    collect_csp_violations,
    log_in,
    screenshot,
)
from tests.conftest import ApiClient

pytest.importorskip("playwright.sync_api")


def cara(app: Flask) -> int:
    """The demo's Spanish-speaking member of the running group."""
    with app.app_context():
        return db.session.scalar(
            select(Enrolment.id)
            .join(User, User.id == Enrolment.user_id)
            .where(User.username == "demo-cara")
        )


def staff(app: Flask, email: str) -> ApiClient:
    client = ApiClient(app.test_client())
    assert client.login(email, demo.DEMO_PASSWORD).status_code == 200
    return client


def test_a_supervisor_makes_a_plan_from_an_alert_and_acknowledges_with_it(
    app: Flask,
    live: browser.LiveServer,
    pw: Any,
    seeded: demo.DemoResult,
    tmp_path: Path,
) -> None:
    member = cara(app)
    raised = staff(app, "facilitator@example.org").post(
        f"/api/enrolments/{member}/worried", json={"concern": "Quiet all session."}
    )
    assert raised.status_code == 201, raised.json
    alert_id = raised.json["alert"]["id"]
    violations: list[str] = []
    with chromium_context(pw, tmp_path / "profile", TABLET) as context:
        page = context.new_page()
        collect_csp_violations(page, violations)
        log_in(page, live, "supervisor@example.org", demo.DEMO_PASSWORD)
        page.goto(f"{live.url}/#/alerts")
        page.click(f"[data-safety-plan-for='{alert_id}']")
        page.wait_for_selector("[data-safety-plan-form]")
        # The page title (app switcher, history) names neither her nor the plan.
        name = page.text_content("[data-plan-member]")
        assert name and "Cara" in name
        title = page.evaluate("document.title")
        assert title and "cara" not in title.lower() and "safety" not in title.lower(), title
        assert "seguridad" not in title.lower(), title
        # A first plan: section 5 already holds the clinic's crisis text in Spanish.
        crisis = page.input_value("textarea[name='sections.professionals.0']")
        assert crisis.startswith("Si puede actuar")
        page.click("[data-add-item=warning_signs]")
        page.fill("input[name='sections.warning_signs.0']", "No duermo")
        page.click("[data-add-item=people]")
        page.fill("input[name='sections.people.0.name']", "Lucía")
        page.fill("input[name='sections.people.0.contact']", "0700 111 222")
        page.click("[data-add-item=coping]")  # left blank: not part of the plan
        screenshot(page, "tablet-safety-plan-edit")
        page.click("[data-save-plan]")
        page.wait_for_selector("[data-plan-version='1']")
        # A colleague saves a version meanwhile: this save is refused, what was
        # typed stays, and the newest version can be loaded.
        colleague = staff(app, "facilitator@example.org").put(
            f"/api/enrolments/{member}/safety-plan",
            json={"base_version": 1, "sections": {"coping": ["Llamar a Lucía"]}},
        )
        assert colleague.status_code == 200, colleague.json
        page.fill("input[name='sections.warning_signs.0']", "No como")
        page.click("[data-save-plan]")
        page.wait_for_selector("[data-load-newest]")
        assert page.input_value("input[name='sections.warning_signs.0']") == "No como"
        page.click("[data-load-newest]")
        page.wait_for_selector("[data-plan-version='2']")
        assert page.input_value("input[name='sections.coping.0']") == "Llamar a Lucía"
        page.click("[data-ack-with-plan]")
        page.wait_for_selector("text=linked to version 2")
        # Back in the alerts, the closed alert says a plan is linked.
        page.goto(f"{live.url}/#/alerts?show=closed")
        page.wait_for_selector(f"[data-safety-plan-for='{alert_id}']")
        card = page.locator(f".alert-item[data-id='{alert_id}']").inner_text()
        assert "Open the safety plan" in card and "Linked" in card
    assert violations == [], violations
    with app.app_context():
        first, newest = db.session.scalars(
            select(SafetyPlanVersion)
            .where(SafetyPlanVersion.enrolment_id == member)
            .order_by(SafetyPlanVersion.version)
        ).all()
        assert first.sections["warning_signs"] == ["No duermo"]
        assert first.sections["people"] == [{"name": "Lucía", "contact": "0700 111 222"}]
        assert first.sections["coping"] == []
        assert newest.sections["coping"] == ["Llamar a Lucía"]  # the refused save wrote nothing
        alert = db.session.get(RiskAlert, alert_id)
        assert (alert.action, alert.safety_plan_version_id) == ("safety_plan", newest.id)


def test_the_member_reads_their_plan_in_their_language_offline_too(
    app: Flask,
    live: browser.LiveServer,
    pw: Any,
    seeded: demo.DemoResult,
    tmp_path: Path,
) -> None:
    member = cara(app)
    sections = {
        "warning_signs": ["No duermo", "Me encierro en mi cuarto"],
        "people": [{"name": "Lucía", "contact": "0700 111 222"}],
        "professionals": ["Enfermera de la clínica: 0700 333 444"],
    }
    saved = staff(app, "supervisor@example.org").put(
        f"/api/enrolments/{member}/safety-plan", json={"base_version": 0, "sections": sections}
    )
    assert saved.status_code == 200, saved.json
    violations: list[str] = []
    with chromium_context(pw, tmp_path / "profile", PHONE) as context:
        page = context.new_page()
        collect_csp_violations(page, violations)
        log_in(page, live, "demo-cara", demo.DEMO_PIN)
        browser.service_worker_ready(page)
        page.click("[data-open-safety-plan]")
        page.wait_for_selector("[data-safety-plan]")
        browser.wait_until(page, "navigator.serviceWorker.controller !== null")
        online = page.inner_text("main")
        assert (
            "1. Señales de alerta" in online and "4. Personas a las que puedo pedir ayuda" in online
        )
        assert "Me encierro en mi cuarto" in online and "Lucía" in online
        screenshot(page, "phone-safety-plan")
        page.set_viewport_size(NARROWEST)  # WCAG 1.4.10: no sideways scrolling
        sizes = page.evaluate(OVERFLOW)
        assert sizes["scroll"] <= sizes["client"], sizes
        page.set_viewport_size(PHONE)

        context.set_offline(True)
        browser.wait_until(page, "!navigator.onLine")
        page.reload()
        page.wait_for_selector("[data-safety-plan]")
        offline = page.inner_text("main")
        assert "Me encierro en mi cuarto" in offline and "0700 333 444" in offline
        assert "6. Hacer mi entorno más seguro" in offline
        assert "Si puede actuar" in offline  # the crisis text, kept with the plan
        # Away and back again, still with no signal.
        page.goto(f"{live.url}/#/")
        page.wait_for_selector("[data-open-safety-plan]")
        page.click("[data-open-safety-plan]")
        page.wait_for_selector("[data-safety-plan]")
        assert "Lucía: 0700 111 222" in page.inner_text("main")
        screenshot(page, "phone-safety-plan-offline")
        context.set_offline(False)
    assert violations == [], violations
