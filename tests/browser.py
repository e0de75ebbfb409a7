"""Helpers for the browser tests: the app served over real HTTP, and Debian's
Chromium driven by Playwright (``playwright install`` cannot download here).

Screenshots go to ``test-artifacts/screenshots`` (kept by CI, ignored by git).
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from ipt_groups.extensions import db
from ipt_groups.models import Cohort, GroupSession
from ipt_groups.services import demo

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
PHONE = {"width": 360, "height": 640}
TABLET = {"width": 1024, "height": 768}
TABLET_PORTRAIT = {"width": 768, "height": 1024}
NARROWEST = {"width": 320, "height": 640}  # WCAG 1.4.10's width (1280 px at 400%)

OVERFLOW = """() => {
  const root = document.documentElement;
  const all = [...document.querySelectorAll('body *')];
  const wide = all.filter(el => el.getBoundingClientRect().right > root.clientWidth + 0.5)
    .concat(all.filter(el => el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0
      && getComputedStyle(el).overflowX === 'visible'))
    .map(el => `${el.tagName.toLowerCase()}.${el.className}: `
      + el.textContent.trim().slice(0, 40));
  return {scroll: root.scrollWidth, client: root.clientWidth, wide: wide.slice(0, 5)};
}"""


class LiveServer:
    """The test app on a free port of 127.0.0.1, in a thread (same database)."""

    def __init__(self, app: Flask) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@contextmanager
def chromium_context(
    playwright: Any, profile: Path, viewport: dict[str, int], **kw: Any
) -> Iterator[Any]:
    """A persistent (not incognito) profile: installability and service workers
    behave as on a phone only outside incognito."""
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        headless=True,
        viewport=viewport,
        **kw,
    )
    try:
        yield context
    finally:
        context.close()


def wait_until(page: Any, expression: str, timeout: float = 90.0) -> Any:
    """Poll ``expression`` (may return a promise) until it is truthy.

    The limit is generous on purpose: it only bounds a hung test. A 15 s limit
    failed on a busy 2-core machine while the notification was still on its way.

    Not ``page.wait_for_function``: that evaluates its predicate with eval(),
    which the app's Content Security Policy rightly forbids.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        page.wait_for_timeout(100)


def app_ready(page: Any) -> None:
    """Wait until the app has drawn its first screen (app.js sets data-ready)."""
    wait_until(page, "document.documentElement.dataset.ready !== undefined")


def service_worker_ready(page: Any) -> None:
    wait_until(
        page,
        "navigator.serviceWorker.ready"
        ".then(r => !!r.active && !!navigator.serviceWorker.controller)",
    )


def fake_push_manager(subscription: dict[str, Any]) -> str:
    """An init script standing in for the browser's push service only.

    Headless Chromium has no push service to register with (Google's servers
    are out of reach here), so ``PushManager.subscribe`` would hang. This gives
    it the subscription of our fake push service instead; everything of ours
    (permission prompt from a tap, the VAPID key, posting to the server, the
    service worker's push handler) runs for real.
    """
    import json

    script = """
(() => {
  const sub = SUBSCRIPTION;
  let current = null;
  const make = (key) => ({
    endpoint: sub.endpoint,
    expirationTime: null,
    options: { applicationServerKey: key, userVisibleOnly: true },
    toJSON: () => sub,
    unsubscribe: async () => { current = null; return true; },
  });
  PushManager.prototype.subscribe = async function (options) {
    window.__subscribeCalls = (window.__subscribeCalls || 0) + 1;
    current = make(options.applicationServerKey.buffer || options.applicationServerKey);
    return current;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
})();
"""
    return script.replace("SUBSCRIPTION", json.dumps(subscription))


def log_in(page: Any, live: LiveServer, name: str, password: str) -> None:
    """Log in through the app's own form and wait for its navigation."""
    page.goto(f"{live.url}/#/login")
    page.fill("input[name=login]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("#nav a")


def deliver_push(
    cdp: Any, page: Any, origin: str, registration_id: str, data: str, *, shown: int
) -> None:
    """Hand ``data`` to the service worker as a push (DevTools protocol) and wait
    until the page sees ``shown`` notifications.

    On a loaded machine a push delivered while Chromium is still waking the
    worker was once dropped (no notification after 90 s). A dropped delivery is
    not the behaviour under test, so it is delivered again after 30 s, up to
    three times; a tagged payload replaces itself, so the count stays honest.
    """
    expression = (
        "navigator.serviceWorker.ready.then(r => r.getNotifications())"
        f".then(ns => ns.length >= {shown})"
    )
    for attempt in range(3):
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": origin, "registrationId": registration_id, "data": data},
        )
        try:
            wait_until(page, expression, timeout=30.0)
            return
        except AssertionError:
            if attempt == 2:
                raise


def collect_csp_violations(page: Any, into: list[str]) -> None:
    """Chromium reports every blocked script, style or connection on the console."""

    def check(message: Any) -> None:
        if "Content Security Policy" in message.text:
            into.append(f"{page.url} {message.location}: {message.text[:90]}")

    page.on("console", check)
    page.on("pageerror", lambda error: into.append(f"{page.url}: {error}"))


def running_session_id(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(
            select(GroupSession.id)
            .join(Cohort)
            .where(Cohort.name == demo.RUNNING_COHORT_NAME, GroupSession.number == 1)
        )


def seed_running(app: Flask, live: LiveServer) -> tuple[int, int]:
    """Seed the demo data (its links point at the live server) and return the
    running cohort's id and the id of its session 1."""
    with app.app_context():
        demo.seed_demo(base_url=live.url)
        db.session.commit()
        cohort_id, session_id = db.session.execute(
            select(Cohort.id, GroupSession.id)
            .join(GroupSession, GroupSession.cohort_id == Cohort.id)
            .where(Cohort.name == demo.RUNNING_COHORT_NAME, GroupSession.number == 1)
        ).one()
    return cohort_id, session_id
