"""The PWA in a real browser (Debian's Chromium, headless, via Playwright).

These run on the wall clock (no frozen time): the demo data puts a session in
progress now, as `make run` does. Screenshots at phone and tablet sizes are
saved under test-artifacts/screenshots.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from ipt_groups import STATIC_DIR
from ipt_groups.extensions import db
from ipt_groups.frontend import Shell
from ipt_groups.models import (
    AgendaEntry,
    Assessment,
    Attendance,
    Cohort,
    Enrolment,
    GroupSession,
    PushSubscription,
    SessionNote,
    User,
)
from ipt_groups.services import demo
from tests import browser
from tests.browser import (
    NARROWEST,
    OVERFLOW,
    PHONE,
    TABLET,
    app_ready,
    chromium_context,
    collect_csp_violations,
    log_in,
    running_session_id,
    screenshot,
)

playwright_api = pytest.importorskip("playwright.sync_api")


# ``live`` (the app on a local port) and ``pw`` (Playwright) are in conftest.py:
# session-wide, so every browser test shares one server and one Playwright.


def test_the_app_is_installable(live: browser.LiveServer, pw: Any, tmp_path: Path) -> None:
    with chromium_context(pw, tmp_path / "profile", PHONE) as context:
        page = context.new_page()
        manifests: list[str] = []
        page.on(
            "response",
            lambda r: manifests.append(r.url) if r.url.endswith(".webmanifest") else None,
        )
        page.goto(live.url)
        app_ready(page)
        browser.service_worker_ready(page)
        cdp = context.new_cdp_session(page)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["url"] == f"{live.url}/manifest.webmanifest" and not manifest["errors"]
        assert manifests, "the browser fetched the manifest"
        assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
        # The shell is precached: the worker answers for the app's files.
        cached = page.evaluate(
            "caches.keys().then(ks => caches.open(ks[0])).then(c => c.keys())"
            ".then(rs => rs.map(r => new URL(r.url).pathname))"
        )
        # Versioned URLs (one prefix per release; see ipt_groups/frontend.py).
        static = f"/static/{Shell(STATIC_DIR).version}"
        assert {"/", f"{static}/js/app.js", f"{static}/js/views/home.js"} <= set(cached)
        assert f"{static}/i18n/participant.json" in cached
        # Nobody has logged in: the staff screens stay on the server (issue 27).
        assert f"{static}/js/views/runner.js" not in cached
        screenshot(page, "phone-login")


def test_a_participant_joins_turns_on_reminders_and_gets_one(
    app: Flask,
    live: browser.LiveServer,
    pw: Any,
    seeded: demo.DemoResult,
    fake_push: Any,
    tmp_path: Path,
) -> None:
    subscription = fake_push.new_subscription()
    with chromium_context(pw, tmp_path / "profile", PHONE) as context:
        context.add_init_script(browser.fake_push_manager(subscription))
        page = context.new_page()
        page.goto(f"{live.url}/#/join/{seeded.invite_code}")
        page.wait_for_selector("input[name=pin]")
        username = page.get_attribute("[data-username]", "data-username")
        assert username and page.locator("h1").inner_text() == "Welcome, Demo Member Three"
        page.fill("input[name=pin]", "135792")
        page.fill("input[name=pin_again]", "135792")
        page.click("button[type=submit]")
        page.wait_for_selector("[data-next-session]")
        assert "You have joined your group" in page.inner_text("main")
        screenshot(page, "phone-participant-home")

        browser.service_worker_ready(page)
        # The person taps the button and accepts the browser's prompt.
        context.grant_permissions(["notifications"], origin=live.url)
        page.get_by_role("button", name="Turn on reminders").click()
        page.wait_for_selector("text=Reminders are on for this phone.")
        with app.app_context():
            user_id = db.session.scalar(select(User.id).where(User.username == username))
            endpoints = db.session.scalars(
                select(PushSubscription.endpoint).where(PushSubscription.user_id == user_id)
            ).all()
        assert endpoints == [subscription["endpoint"]]

        # A test message through the real dispatcher to the fake push service,
        # which decrypts it; the decrypted payload is then delivered to the
        # service worker through the DevTools protocol.
        sent = page.evaluate(
            """async () => {
              const csrf = (await (await fetch('/api/auth/csrf')).json()).csrf_token;
              const r = await fetch('/api/push/test', {method: 'POST',
                headers: {'X-CSRF-Token': csrf, 'Content-Type': 'application/json'}, body: '{}'});
              return r.json();
            }"""
        )
        assert sent["delivered"] == 1, sent
        (message,) = fake_push.received
        payload = message.json
        cdp = context.new_cdp_session(page)
        registrations: list[dict[str, Any]] = []
        cdp.on(
            "ServiceWorker.workerRegistrationUpdated",
            lambda e: registrations.extend(e["registrations"]),
        )
        cdp.send("ServiceWorker.enable")
        # Wait for the event (CDP reports the registration), not for a time.
        deadline = time.monotonic() + 90
        while not [r for r in registrations if not r["isDeleted"]] and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        (registration,) = [r for r in registrations if not r["isDeleted"]]
        browser.deliver_push(
            cdp, page, live.url, registration["registrationId"], message.payload.decode(), shown=1
        )
        shown = page.evaluate(
            "navigator.serviceWorker.ready.then(r => r.getNotifications())"
            ".then(ns => ns.map(n => ({title: n.title, body: n.body, tag: n.tag, data: n.data})))"
        )
        assert shown == [
            {
                "title": payload["title"],
                "body": payload["body"],
                "tag": payload["tag"],
                "data": {"url": payload["url"]},
            }
        ]

        # A push the worker cannot read still shows something, in neutral words.
        browser.deliver_push(
            cdp, page, live.url, registration["registrationId"], "not json", shown=2
        )
        titles = page.evaluate(
            "navigator.serviceWorker.ready.then(r => r.getNotifications())"
            ".then(ns => ns.map(n => n.body))"
        )
        assert "You have a new message." in titles


def _count(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_facilitator_runs_a_session_offline_and_nothing_is_lost(
    app: Flask, live: browser.LiveServer, pw: Any, seeded: demo.DemoResult, tmp_path: Path
) -> None:
    session_id = running_session_id(app)
    with chromium_context(pw, tmp_path / "profile", TABLET) as context:
        page = context.new_page()
        log_in(page, live, "facilitator@example.org", demo.DEMO_PASSWORD)
        browser.service_worker_ready(page)
        page.goto(f"{live.url}/#/sessions/{session_id}")
        page.wait_for_selector("[data-all-present]")
        members = page.locator("[data-member]")
        assert members.count() == 6
        # The tablet scores as the server does, so band and risk show at once,
        # offline too: PHQ-9 item 9 above 0 is a risk answer.
        scored = page.evaluate(
            """async () => {
              const {score} = await import('/static/js/core/measures.js');
              const phq9 = (await (await fetch('/api/instruments')).json())
                .find(i => i.key === 'phq9');
              const answers = Object.fromEntries(phq9.items.map(i => [i.key, 1]));
              const calm = {...answers, phq9_9: 0};
              return [score(phq9, answers), score(phq9, calm), score(phq9, {phq9_1: 3})];
            }"""
        )
        assert scored == [
            {"total": 9, "band": "mild", "risk": True},
            {"total": 8, "band": "mild", "risk": False},
            None,
        ]

        context.set_offline(True)
        page.click("[data-all-present]")
        first = members.nth(0)
        first.locator("button[data-mark=absent]").click()
        page.locator("[data-agenda]").first.check()
        second = members.nth(1)
        second.locator("summary").first.click()
        form = second.locator("form[data-measure=mood]")
        form.locator("button[data-value='7']").click()
        assert "Total 7" in form.inner_text()
        form.locator("button[type=submit]").click()
        page.wait_for_selector("text=Saved on this tablet")
        page.fill("textarea[name=body] >> nth=-1", "Rules agreed; everyone spoke.")
        page.get_by_role("button", name="Save the note").last.click()
        browser.wait_until(page, "document.getElementById('status').dataset.waiting === '5'")
        status = page.inner_text("#status")
        assert "Offline" in status and "5 changes waiting to be sent" in status
        screenshot(page, "tablet-runner-offline")

        # Closed and opened again with no signal: the shell comes from the
        # service worker, the runner from the device, the queue from IndexedDB.
        page.reload()
        page.wait_for_selector("[data-all-present]")
        browser.wait_until(page, "document.getElementById('status').dataset.waiting === '5'")
        marks = page.eval_on_selector_all(
            "[data-member] .seg[role=group]",
            "gs => gs.map(g => g.querySelector('[aria-pressed=true]')?.dataset.mark)",
        )
        assert marks == ["absent"] + ["present"] * 5
        assert page.locator("[data-agenda]").first.is_checked()
        assert _count(app, Attendance) == 0  # nothing has reached the server yet

        context.set_offline(False)
        browser.wait_until(page, "document.getElementById('status').dataset.waiting === '0'")
        screenshot(page, "tablet-runner-synced")

        # A shared tablet: logging out leaves none of the group's answers on it.
        cached = (
            "new Promise(r => { const q = indexedDB.open('ipt-groups'); q.onsuccess = () => {"
            " const c = q.result.transaction('cache').objectStore('cache').count();"
            " c.onsuccess = () => r(c.result); }; })"
        )
        assert page.evaluate(cached) > 0  # the runner was kept for offline use
        page.goto(f"{live.url}/#/settings")
        page.click("#logout button")
        page.wait_for_selector("input[name=login]")
        assert page.evaluate(cached) == 0

    with app.app_context():
        rows = db.session.execute(
            select(Attendance.status).where(Attendance.session_id == session_id)
        ).all()
        assert sorted(r.status for r in rows) == ["absent"] + ["present"] * 5
        assert _count(app, Assessment, Assessment.session_id == session_id) == 1
        score = db.session.scalar(select(Assessment).where(Assessment.session_id == session_id))
        assert score.instrument == "mood" and score.total == 7
        notes = db.session.scalars(
            select(SessionNote.body).where(SessionNote.session_id == session_id)
        ).all()
        assert notes == ["Rules agreed; everyone spoke."]
        done = db.session.scalars(
            select(AgendaEntry.done_at).where(AgendaEntry.session_id == session_id)
        ).all()
        assert sum(1 for d in done if d is not None) == 1


class _WriteCounter:
    """Counts the writes the server receives (page and service worker alike)."""

    def __init__(self, app: Flask) -> None:
        self.inner = app.wsgi_app
        self.writes: list[tuple[str, str, int]] = []
        self.in_flight = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        counted = method not in ("GET", "HEAD", "OPTIONS") and path.startswith("/api/")
        counted = counted and not path.startswith("/api/auth")
        if not counted:
            return self.inner(environ, start_response)
        with self._lock:
            self.in_flight += 1
        status: list[int] = []

        def recording(code: str, headers: Any, *exc: Any) -> Any:
            status.append(int(code.split()[0]))
            return start_response(code, headers, *exc)

        try:
            return list(self.inner(environ, recording))
        finally:
            with self._lock:
                self.in_flight -= 1
                self.writes.append((method, path, status[0] if status else 0))


SW_FLUSHES = """
navigator.serviceWorker.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'outbox-flushed') {
    window.__swFlushes = (window.__swFlushes || 0) + 1;
  }
});
"""


def test_reconnecting_sends_each_offline_change_once(
    app: Flask,
    live: browser.LiveServer,
    pw: Any,
    seeded: demo.DemoResult,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The page and the service worker both flush on reconnect; a lock they
    share lets only one send, so the server gets one write per change."""
    session_id = running_session_id(app)
    counter = _WriteCounter(app)
    monkeypatch.setattr(app, "wsgi_app", counter)
    with chromium_context(pw, tmp_path / "profile", TABLET) as context:
        context.add_init_script(SW_FLUSHES)
        page = context.new_page()
        log_in(page, live, "facilitator@example.org", demo.DEMO_PASSWORD)
        browser.service_worker_ready(page)
        page.goto(f"{live.url}/#/sessions/{session_id}")
        page.wait_for_selector("[data-all-present]")
        browser.wait_until(page, "navigator.serviceWorker.controller !== null")
        members = page.locator("[data-member]")

        context.set_offline(True)
        members.nth(0).locator("button[data-mark=present]").click()
        members.nth(1).locator("button[data-mark=late]").click()
        page.locator("[data-agenda]").first.check()
        browser.wait_until(page, "document.getElementById('status').dataset.waiting === '3'")
        assert "3 changes waiting to be sent" in page.inner_text("#status")
        before = len(counter.writes)

        context.set_offline(False)
        browser.wait_until(
            page, "document.getElementById('status').dataset.waiting === '0'", timeout=60
        )
        # Both flushers have finished: the service worker's background sync
        # has reported back, and no write is still being answered.
        browser.wait_until(page, "(window.__swFlushes || 0) >= 1", timeout=60)
        browser.wait_until(page, "IptOutbox.outbox.list().then(l => l.length === 0)", timeout=60)
        assert counter.in_flight == 0
        writes = counter.writes[before:]
        # One write per change (two attendance marks, one tick), none refused
        # as "still being processed".
        assert sorted(m for m, _p, _s in writes) == ["POST", "PUT", "PUT"], writes
        assert all(status == 200 for _m, _p, status in writes), writes


ZOOMED_PHONE = {"width": 180, "height": 320}  # a 360 px phone at 200% zoom


@pytest.mark.parametrize("login", ["demo-ana", "demo-cara"])
def test_participant_pages_reflow_at_320_css_pixels(
    login: str, live: browser.LiveServer, pw: Any, seeded: demo.DemoResult, tmp_path: Path
) -> None:
    """WCAG 1.4.10: no sideways scrolling at 320 CSS px, in English and Spanish;
    nor on a 360 px phone zoomed to 200% (180 CSS px), where the "Group
    meeting" label of the "Later sessions" rows used to stick out by 12 px."""
    with chromium_context(pw, tmp_path / "profile", NARROWEST) as context:
        page = context.new_page()
        log_in(page, live, login, demo.DEMO_PIN)
        page.wait_for_selector("[data-next-session]")
        session = page.eval_on_selector_all(
            "a[href^='#/sessions/']", "as => as.map(a => a.getAttribute('href'))"
        )

        def open_page(hash_: str) -> None:
            page.goto(f"{live.url}/{hash_}")
            page.reload()  # app_ready then means this page has been drawn
            app_ready(page)
            page.wait_for_selector("main h1, main h2")

        open_page("#/readings")
        reading = page.eval_on_selector_all(
            "main a[href^='#/readings/']", "as => as.map(a => a.getAttribute('href'))"
        )
        hashes = ["#/", "#/readings", "#/check-in", "#/settings", "#/outbox"]
        hashes += session[:1] + reading[:1]
        assert len(hashes) == 7, hashes  # a session and a reading were there to open
        for hash_ in hashes:
            open_page(hash_)
            if hash_ == "#/":
                page.wait_for_selector("#cal-h")  # the "Later sessions" rows
            for size in (NARROWEST, ZOOMED_PHONE):
                page.set_viewport_size(size)
                sizes = page.evaluate(OVERFLOW)
                assert sizes["scroll"] <= sizes["client"], (login, hash_, size, sizes)
            page.set_viewport_size(NARROWEST)
        page.goto(f"{live.url}/#/")
        page.wait_for_selector("#cal-h")
        screenshot(page, f"phone-320-home-{login}")


def test_a_member_in_another_zone_sees_their_times_labelled_with_their_zone(
    live: browser.LiveServer, pw: Any, seeded: demo.DemoResult, tmp_path: Path
) -> None:
    """After PATCH /api/me moves Ana to Lima, her times are Lima times and say
    so; the group's own zone labels only the group's clock."""
    group_zone, own_zone = demo.DEMO_ZONE, "America/Lima"
    with chromium_context(pw, tmp_path / "profile", PHONE) as context:
        page = context.new_page()
        log_in(page, live, "demo-ana", demo.DEMO_PIN)
        page.wait_for_selector("[data-next-session]")
        status = page.evaluate(
            """async (zone) => {
              const csrf = (await (await fetch('/api/auth/csrf')).json()).csrf_token;
              const res = await fetch('/api/me', {method: 'PATCH', headers: {
                'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
                body: JSON.stringify({time_zone: zone})});
              return res.status;
            }""",
            own_zone,
        )
        assert status == 200
        page.reload()
        app_ready(page)
        page.wait_for_selector("#cal-h")
        starts = page.evaluate(
            "fetch('/api/me/schedule').then(r => r.json()).then(s => s.next.starts_at)"
        )
        expected = page.evaluate(
            """([v, zone]) => new Intl.DateTimeFormat('en', {timeZone: zone, weekday: 'long',
                 day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit'})
               .format(new Date(v))""",
            [starts, own_zone],
        )
        next_time = page.inner_text("[data-next-session]")
        assert expected in next_time  # shown in her own zone...
        assert own_zone in next_time and group_zone not in next_time  # ...and labelled so
        group = page.inner_text("[data-group-time]")
        assert group_zone in group and own_zone not in group
        later = page.inner_text("section[aria-labelledby=cal-h]")
        assert own_zone in later and group_zone not in later
        session_link = page.get_attribute("a[href^='#/sessions/']", "href")
        page.goto(f"{live.url}/{session_link}")
        page.wait_for_selector("[data-session-time]")
        assert own_zone in page.inner_text("[data-session-time]")
        screenshot(page, "phone-participant-session-own-zone")


def test_spanish_renders_for_a_spanish_speaking_member(
    live: browser.LiveServer, pw: Any, seeded: demo.DemoResult, tmp_path: Path
) -> None:
    with chromium_context(pw, tmp_path / "profile", PHONE) as context:
        page = context.new_page()
        log_in(page, live, "demo-cara", demo.DEMO_PIN)
        page.wait_for_selector("[data-next-session]")
        assert page.evaluate("document.documentElement.lang") == "es"
        text = page.inner_text("main")
        assert "Hola, Cara Demo" in text and "Su próxima sesión" in text
        assert "No puedo ir" in text
        nav = page.inner_text("#nav")
        assert "Lecturas" in nav and "Ajustes" in nav
        # Dates in Spanish, in the member's zone.
        when = page.inner_text("[data-next-session]")
        assert any(
            day in when
            for day in ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
        )
        screenshot(page, "phone-participant-home-es")
        page.set_viewport_size(browser.TABLET_PORTRAIT)
        screenshot(page, "tablet-portrait-participant-home-es")


def test_a_member_answers_the_check_in_from_the_phone(
    app: Flask, live: browser.LiveServer, pw: Any, seeded: demo.DemoResult, tmp_path: Path
) -> None:
    with chromium_context(pw, tmp_path / "profile", PHONE) as context:
        page = context.new_page()
        log_in(page, live, "demo-ana", demo.DEMO_PIN)
        page.goto(f"{live.url}/#/check-in")
        page.wait_for_selector("form[data-instrument=mood]")
        page.locator("form[data-instrument=mood] input[value='3']").check()
        page.click("form[data-instrument=mood] button[type=submit]")
        page.wait_for_selector("text=That's all for now")
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "demo-ana"))
        answers = db.session.scalars(
            select(Assessment.answers)
            .join(Enrolment, Enrolment.id == Assessment.enrolment_id)
            .where(Enrolment.user_id == user_id, Assessment.instrument == "mood")
        ).all()
    assert answers == [{"mood": 3}]


def test_no_screen_needs_more_than_the_content_security_policy_allows(
    app: Flask, live: browser.LiveServer, pw: Any, seeded: demo.DemoResult, tmp_path: Path
) -> None:
    """The CSP allows scripts and styles from our origin only (no inline script,
    no inline style attribute): every screen, the charts and the API docs draw
    under it without one violation."""
    session_id = running_session_id(app)
    with app.app_context():
        cohort_id = db.session.get(GroupSession, session_id).cohort_id
    staff_screens = [
        "/", "/cohorts/new", f"/cohorts/{cohort_id}", f"/cohorts/{cohort_id}/outcomes",
        f"/sessions/{session_id}", "/alerts", "/admin/users", "/admin/programmes",
        "/admin/settings", "/settings", "/outbox", "/programme",
    ]  # fmt: skip
    violations: list[str] = []
    with chromium_context(pw, tmp_path / "staff", TABLET) as context:
        page = context.new_page()
        collect_csp_violations(page, violations)
        log_in(page, live, "admin@example.org", demo.DEMO_PASSWORD)
        for screen in staff_screens:
            page.goto(f"{live.url}/#{screen}")
            page.wait_for_selector("#main h1")
            page.wait_for_load_state("networkidle")
        page.goto(f"{live.url}/api/docs")
        page.wait_for_selector(".swagger-ui .opblock")
        assert "/api/cohorts" in page.inner_text(".swagger-ui")
    with chromium_context(pw, tmp_path / "member", PHONE) as context:
        page = context.new_page()
        collect_csp_violations(page, violations)
        log_in(page, live, "demo-ana", demo.DEMO_PIN)
        for screen in ["/", "/readings", "/check-in", "/settings"]:
            page.goto(f"{live.url}/#{screen}")
            page.wait_for_selector("#main h1")
            page.wait_for_load_state("networkidle")
    assert violations == [], "\n".join(violations)
    policy = live_csp(live)
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy


def live_csp(live: browser.LiveServer) -> str:
    from urllib.request import urlopen

    with urlopen(f"{live.url}/") as response:  # the server under test, on 127.0.0.1
        return response.headers["Content-Security-Policy"]


def test_texts_from_members_show_on_the_cohort_and_a_member_sets_how_they_are_reached(
    app: Flask, live: browser.LiveServer, pw: Any, seeded: demo.DemoResult, tmp_path: Path
) -> None:
    """A member's SMS reply is on their cohort's Texts tab for the facilitator;
    the member's settings offer the channels the clinic has (push only here)."""
    from ipt_groups.models import Enrolment, SmsReply

    with app.app_context():
        member = db.session.scalars(
            select(Enrolment).join(Cohort).where(Cohort.name == demo.RUNNING_COHORT_NAME)
        ).first()
        cohort_id = member.cohort_id
        db.session.add(
            SmsReply(
                enrolment_id=member.id, action="message", text="Running ten minutes late",
                provider="twilio", provider_id="SM" + "7" * 32,
            )
        )  # fmt: skip
        db.session.commit()
        name = member.display_name
    with chromium_context(pw, tmp_path / "staff", TABLET) as context:
        page = context.new_page()
        log_in(page, live, "facilitator@example.org", demo.DEMO_PASSWORD)
        page.goto(f"{live.url}/#/cohorts/{cohort_id}?tab=texts")
        card = page.locator(".staff-texts li").first
        card.wait_for()
        assert "Running ten minutes late" in card.inner_text() and name in card.inner_text()
        card.get_by_role("button", name="Mark as read").click()
        card.locator("text=Read").wait_for()
    with app.app_context():
        assert db.session.scalars(select(SmsReply)).one().read_at is not None
    with chromium_context(pw, tmp_path / "member", PHONE) as context:
        page = context.new_page()
        log_in(page, live, "demo-cara", demo.DEMO_PIN)  # Spanish
        page.goto(f"{live.url}/#/settings")
        box = page.locator("section[aria-labelledby=channels-title]")
        box.wait_for()
        assert "Cómo le avisamos" in box.inner_text()
        # No SMS provider or mail server here: only the app's notifications are offered.
        options = box.locator("select[name=channel_0] option").all_inner_texts()
        assert options == ["Notificaciones de esta aplicación"]


@pytest.mark.parametrize(
    ("login", "queued_text"),
    [
        ("demo-ana", "will be sent when you are back online"),
        ("demo-cara", "se enviará cuando vuelva a tener conexión"),
    ],
)
def test_i_cant_come_offline_is_queued_and_sent_once_back_online(
    app: Flask,
    live: browser.LiveServer,
    pw: Any,
    seeded: demo.DemoResult,
    tmp_path: Path,
    login: str,
    queued_text: str,
) -> None:
    from ipt_groups.models import Apology, AuditEvent
    from ipt_groups.timesource import utcnow

    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == login))
        enrolment = db.session.scalar(select(Enrolment).where(Enrolment.user_id == user_id))
        enrolment_id = enrolment.id
        # The first session still to come (the demo's session 1 is under way).
        session_id = db.session.scalar(
            select(GroupSession.id)
            .where(GroupSession.cohort_id == enrolment.cohort_id)
            .where(GroupSession.starts_at > utcnow())
            .order_by(GroupSession.starts_at)
            .limit(1)
        )
    with chromium_context(pw, tmp_path / "profile", PHONE) as context:
        page = context.new_page()
        log_in(page, live, login, demo.DEMO_PIN)
        page.wait_for_selector("[data-next-session]")
        page.goto(f"{live.url}/#/sessions/{session_id}")
        page.wait_for_selector("[data-cannot-come]")
        context.set_offline(True)
        browser.wait_until(page, "!navigator.onLine", timeout=60)
        page.click("[data-cannot-come]")
        page.fill("input[name=reason]", "Work shift")
        page.click("[data-send-cannot-come]")
        page.wait_for_selector("[data-cannot-come-queued]", timeout=60_000)
        main = page.inner_text("main")
        assert queued_text in main
        assert "Failed to fetch" not in main
        browser.wait_until(page, "document.getElementById('status').dataset.waiting === '1'", 60)
        assert _count(app, Apology, Apology.enrolment_id == enrolment_id) == 0

        context.set_offline(False)
        browser.wait_until(page, "document.getElementById('status').dataset.waiting === '0'", 60)
    with app.app_context():
        rows = db.session.scalars(
            select(Apology).where(
                Apology.enrolment_id == enrolment_id, Apology.session_id == session_id
            )
        ).all()
        assert [r.reason for r in rows] == ["Work shift"]
        sent = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "apology.send", AuditEvent.target_id == session_id)
            .where(AuditEvent.subject_id == enrolment_id)
        )
        assert sent == 1


def test_a_spanish_member_reads_the_servers_refusal_in_spanish(
    app: Flask, live: browser.LiveServer, pw: Any, seeded: demo.DemoResult, tmp_path: Path
) -> None:
    """The API answers in English; the app shows its own words for the code."""
    session_id = running_session_id(app)  # under way: too late for "I can't come"
    with chromium_context(pw, tmp_path / "profile", PHONE) as context:
        page = context.new_page()
        log_in(page, live, "demo-cara", demo.DEMO_PIN)
        page.goto(f"{live.url}/#/sessions/{session_id}")
        page.wait_for_selector("[data-cannot-come]")
        with page.expect_response(lambda r: r.url.endswith("/cannot-come")) as answer:
            page.click("[data-cannot-come]")
            page.click("[data-send-cannot-come]")
        assert answer.value.status == 409
        assert answer.value.json()["error"]["code"] == "session_not_upcoming"
        page.wait_for_selector(".notice.error", timeout=60_000)
        text = page.inner_text(".notice.error")
        assert text == "Esta sesión ya empezó o terminó, así que ya no puede avisar de que no va."
        assert "This session" not in page.inner_text("main")
