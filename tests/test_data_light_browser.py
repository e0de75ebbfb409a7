"""Light on a member's data plan (issue 27), in a real browser.

A participant's service worker precaches the participant app only, compressed;
a staff login tops up the staff screens; a release that changes one view makes
the worker fetch that view (and the page), nothing else.
"""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from ipt_groups import STATIC_DIR
from ipt_groups.frontend import Shell
from ipt_groups.services import demo
from tests import browser
from tests.browser import PHONE, TABLET, chromium_context
from tests.test_pwa import log_in, seeded  # noqa: F401  (the fixture)

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
    seeded: demo.DemoResult,  # noqa: F811
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
    seeded: demo.DemoResult,  # noqa: F811
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
    seeded: demo.DemoResult,  # noqa: F811
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
