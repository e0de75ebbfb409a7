"""Light on a member's data plan (issue 27), in a real browser.

A participant's service worker precaches the participant app only, compressed;
a staff login tops up the staff screens; a release that changes one view makes
the worker fetch that view (and the page), nothing else; a reminder the phone
showed is reported back and the facilitator sees "shown".
"""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from ipt_groups import STATIC_DIR
from ipt_groups.extensions import db
from ipt_groups.frontend import Shell
from ipt_groups.models import (
    Enrolment,
    EnrolmentStatus,
    GroupSession,
    Notification,
    NotificationKind,
    NotificationStatus,
    User,
)
from ipt_groups.push import dispatcher
from ipt_groups.services import demo
from ipt_groups.timesource import utcnow
from tests import browser
from tests.browser import PHONE, TABLET, chromium_context, log_in
from tests.factories import wait_until

pytest.importorskip("playwright.sync_api")

INDEX = """async () => {
  const name = (await caches.keys()).find((k) => k.startsWith('shell-'));
  if (!name) return null;
  const cache = await caches.open(name);
  const hit = await cache.match('/__precache-index__');
  if (!hit) return null;
  const keys = (await cache.keys()).map((r) => new URL(r.url).pathname);
  return { name, keys, index: await hit.json() };
}"""

ENCODING = """async (url) => {
  const name = (await caches.keys()).find((k) => k.startsWith('shell-'));
  const hit = await (await caches.open(name)).match(url);
  return hit ? hit.headers.get('content-encoding') : 'missing';
}"""


def cached(page: Any) -> dict[str, Any]:
    found = page.evaluate(INDEX)
    assert found is not None, "the worker has not written its precache index"
    return found


def staff_paths(shell: Shell) -> set[str]:
    return {url for url, _ in shell.precache()["staff"]}


class _Requests:
    """Records what the server is asked for (page and service worker alike)."""

    def __init__(self, app: Flask) -> None:
        self.inner = app.wsgi_app
        self.seen: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self._lock:
            self.seen.append(environ.get("PATH_INFO", ""))
        return self.inner(environ, start_response)


def test_a_participant_worker_holds_no_staff_files_and_gets_them_compressed(
    app: Flask,
    live: browser.LiveServer,
    pw: Any,
    seeded: demo.DemoResult,
    tmp_path: Path,
) -> None:
    shell: Shell = app.extensions["ipt_shell"]
    prefix = shell.prefix
    with chromium_context(pw, tmp_path / "profile", PHONE) as context:
        page = context.new_page()
        log_in(page, live, "demo-participant", demo.DEMO_PIN)
        browser.service_worker_ready(page)
        browser.wait_until(page, f"({INDEX})().then((f) => f !== null)")
        found = cached(page)
        keys = set(found["keys"])
        participant = {url for url, _ in shell.precache()["participant"]}
        assert participant <= keys
        assert not keys & staff_paths(shell), sorted(keys & staff_paths(shell))
        assert f"{prefix}/js/views/runner.js" not in keys
        assert found["index"]["staff"] is False
        # The worker's fetches got the gzip copies (the cache keeps the header).
        for rel in ("js/app.js", "js/views/home.js", "i18n/participant.json"):
            assert page.evaluate(ENCODING, f"{prefix}/{rel}") == "gzip", rel


def test_a_staff_login_tops_up_the_staff_views(
    app: Flask,
    live: browser.LiveServer,
    pw: Any,
    seeded: demo.DemoResult,
    tmp_path: Path,
) -> None:
    shell: Shell = app.extensions["ipt_shell"]
    with chromium_context(pw, tmp_path / "profile", TABLET) as context:
        page = context.new_page()
        page.goto(live.url)
        browser.app_ready(page)
        browser.service_worker_ready(page)
        browser.wait_until(page, f"({INDEX})().then((f) => f !== null)")
        assert not set(cached(page)["keys"]) & staff_paths(shell)
        log_in(page, live, "facilitator@example.org", demo.DEMO_PASSWORD)
        browser.wait_until(page, f"({INDEX})().then((f) => f && f.index.staff)")
        keys = set(cached(page)["keys"])
        assert staff_paths(shell) <= keys
        assert f"{shell.prefix}/js/views/runner.js" in keys


def test_a_release_with_one_changed_view_fetches_only_that_view(
    app: Flask,
    live: browser.LiveServer,
    pw: Any,
    seeded: demo.DemoResult,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shell: Shell = app.extensions["ipt_shell"]
    with chromium_context(pw, tmp_path / "profile", PHONE) as context:
        page = context.new_page()
        log_in(page, live, "demo-participant", demo.DEMO_PIN)
        browser.service_worker_ready(page)
        browser.wait_until(page, f"({INDEX})().then((f) => f !== null)")
        first = cached(page)

        # The next release: the same tree with one participant view changed.
        # Its sw.js is served from now on; its new /static/<version>/ URLs are
        # answered by the fallback route (this release's files), which is
        # enough to count what the worker asks for.
        static = tmp_path / "release-2"
        shutil.copytree(STATIC_DIR, static)
        with (static / "js" / "views" / "home.js").open("a") as f:
            f.write("\n// release 2\n")
        release = Shell(static)
        assert release.version != shell.version
        monkeypatch.setitem(shell.__dict__, "script", release.script)
        monkeypatch.setitem(shell.__dict__, "script_gzip", release.script_gzip)
        counter = _Requests(app)
        monkeypatch.setattr(app, "wsgi_app", counter)

        page.evaluate("navigator.serviceWorker.ready.then((r) => r.update())")
        browser.wait_until(
            page,
            "navigator.serviceWorker.getRegistration().then((r) => !!r.waiting)",
        )
        asked = list(counter.seen)
        static_asked = sorted(p for p in asked if p.startswith("/static/"))
        new = release.prefix
        # The worker script and the script it imports, then the precache:
        # the page (its prefix changed) and the one changed view. Nothing else.
        assert static_asked == [f"{new}/js/outbox-core.js", f"{new}/js/views/home.js"], asked
        assert sorted(set(asked) - set(static_asked)) == ["/", "/sw.js"], asked
        names = page.evaluate("caches.keys()")
        new_cache = f"shell-{release.version}"
        assert new_cache in names and first["name"] in names
        keys = page.evaluate(
            "(name) => caches.open(name).then((c) => c.keys())"
            ".then((rs) => rs.map((r) => new URL(r.url).pathname))",
            new_cache,
        )
        participant = {url for url, _ in release.precache()["participant"]}
        assert participant <= set(keys)
        assert not [
            k for k in keys if re.match(r"/static/[0-9a-f]{16}/", k) and not k.startswith(new)
        ]


def _next_session_reminder(app: Flask, username: str) -> tuple[int, int]:
    """The member's day-before reminder for their group's first session, due
    now: (notification id, session id). Reuses the planned row if there is one."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        enrolment = db.session.scalar(
            select(Enrolment).where(
                Enrolment.user_id == user.id, Enrolment.status == EnrolmentStatus.ENROLLED
            )
        )
        session = db.session.scalar(
            select(GroupSession)
            .where(GroupSession.cohort_id == enrolment.cohort_id, GroupSession.number == 1)
            .limit(1)
        )
        row = db.session.scalar(
            select(Notification).where(
                Notification.user_id == user.id,
                Notification.ref_type == "session",
                Notification.ref_id == session.id,
                Notification.kind == NotificationKind.SESSION_24H,
            )
        )
        if row is None:
            row = Notification(
                user_id=user.id,
                kind=NotificationKind.SESSION_24H,
                dedupe_key=f"session:{session.id}:24h:user:{user.id}",
                ref_type="session",
                ref_id=session.id,
                expires_at=session.starts_at,
            )
            db.session.add(row)
        row.due_at = utcnow()
        row.status = NotificationStatus.PENDING
        db.session.commit()
        return row.id, session.id


def test_a_reminder_the_phone_showed_says_shown_on_the_phone(
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
        log_in(page, live, "demo-participant", demo.DEMO_PIN)
        browser.service_worker_ready(page)
        context.grant_permissions(["notifications"], origin=live.url)
        page.get_by_role("button", name="Turn on reminders").click()
        page.wait_for_selector("text=Reminders are on for this phone.")

        # The clock's dispatcher sends the reminder to the fake push service,
        # which decrypts it; the payload is then delivered to this browser's
        # service worker through the DevTools protocol (as in test_pwa.py).
        row_id, session_id = _next_session_reminder(app, "demo-participant")
        with app.app_context():
            report = dispatcher.for_app(app).send_rows([row_id])
            db.session.remove()
        assert report.sent == 1, report
        (message,) = fake_push.received
        assert message.json["receipt"].startswith(f"{row_id}.")
        cdp = context.new_cdp_session(page)
        registrations: list[dict[str, Any]] = []
        cdp.on(
            "ServiceWorker.workerRegistrationUpdated",
            lambda e: registrations.extend(e["registrations"]),
        )
        cdp.send("ServiceWorker.enable")
        browser.wait_until(page, "true")
        assert wait_until(lambda: any(not r["isDeleted"] for r in registrations))
        (registration,) = [r for r in registrations if not r["isDeleted"]]

        fac = app.test_client()
        fac.post(
            "/api/auth/login",
            json={"email": "facilitator@example.org", "password": demo.DEMO_PASSWORD},
        )

        def status() -> str:
            rows = fac.get(f"/api/sessions/{session_id}/reminders").get_json()
            (mine,) = [r for r in rows if r["display_name"] == "Demo Participant"]
            return mine["status"]

        assert status() == "delivered"  # the push service took it; nothing more known
        browser.deliver_push(
            cdp, page, live.url, registration["registrationId"], message.payload.decode(), shown=1
        )
        # The worker posts the receipt right after showing it.
        assert wait_until(lambda: status() == "shown"), status()
        with app.app_context():
            row = db.session.get(Notification, row_id)
            assert row is not None and row.shown_at is not None
            # Its queue of receipts is empty again: the server has it.
        assert page.evaluate("IptOutbox.kv.get('shown-receipts')") == []

    # The facilitator's runner says so, in words.
    with chromium_context(pw, tmp_path / "tablet", TABLET) as context:
        page = context.new_page()
        log_in(page, live, "facilitator@example.org", demo.DEMO_PASSWORD)
        page.goto(f"{live.url}/#/sessions/{session_id}")
        page.get_by_text("Reminders for this session").click()
        badge = page.locator("[data-delivery=shown]")
        badge.wait_for()
        assert badge.count() == 1 and badge.inner_text() == "Shown on the phone"
        row = page.locator("tr", has=badge)
        assert "Demo Participant" in row.inner_text()
