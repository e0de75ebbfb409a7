"""The PWA's files as the server hands them out, and its string catalogs.

The browser tests (test_pwa.py) drive the app; these check what can be
checked without a browser: every string exists in English and Spanish, every
key the code uses is in a catalog, nothing is fetched from another origin, and
the service worker and manifest are served as browsers need them.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
from pathlib import Path

from flask import Flask

from ipt_groups import STATIC_DIR
from ipt_groups.frontend import Shell

CATALOGS = sorted((STATIC_DIR / "i18n").glob("*.json"))
SCRIPTS = sorted((STATIC_DIR / "js").rglob("*.js"))
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# t('key'), tn('key', n): literal keys; t(`prefix.${x}`): a family of keys.
LITERAL_KEY = re.compile(r"\btn?\(\s*'([a-z_]+(?:\.[a-z0-9_]+)+)'")
KEY_FAMILY = re.compile(r"\btn?\(\s*`([a-z_]+(?:\.[a-z0-9_]+)*\.)\$\{")


def _catalog(path: Path) -> dict[str, dict[str, str]]:
    return json.loads(path.read_text())


def all_keys(language: str) -> set[str]:
    keys: set[str] = set()
    for path in CATALOGS:
        keys |= set(_catalog(path)[language])
    return keys


def test_every_catalog_is_complete_in_english_and_spanish() -> None:
    assert {p.stem for p in CATALOGS} >= {"common", "participant", "runner"}
    seen: dict[str, str] = {}
    for path in CATALOGS:
        catalog = _catalog(path)
        assert set(catalog) == {"en", "es"}, path.name
        en, es = catalog["en"], catalog["es"]
        assert set(en) == set(es), f"{path.name}: {sorted(set(en) ^ set(es))}"
        for key, text in en.items():
            assert text.strip() and es[key].strip(), f"{path.name}: {key} is empty"
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(es[key])), (
                f"{path.name}: {key} placeholders differ"
            )
            # One key, one catalog: two files defining it would fight at load time.
            assert seen.setdefault(key, path.name) == path.name, f"{key} in two catalogs"


def test_every_key_the_code_uses_is_in_a_catalog() -> None:
    known = all_keys("en")
    plural_bases = {k.rsplit(".", 1)[0] for k in known if k.endswith((".one", ".other"))}
    missing = []
    for script in SCRIPTS:
        source = script.read_text()
        for key in LITERAL_KEY.findall(source):
            if key not in known and key not in plural_bases:
                missing.append(f"{script.relative_to(STATIC_DIR)}: {key}")
        for prefix in KEY_FAMILY.findall(source):
            if not any(k.startswith(prefix) for k in known):
                missing.append(f"{script.relative_to(STATIC_DIR)}: {prefix}*")
    assert missing == []


def test_nothing_is_loaded_from_another_origin() -> None:
    # No CDN: the app must work on a clinic's network with no internet.
    offenders = []
    for path in STATIC_DIR.rglob("*"):
        if path.suffix in (".js", ".css", ".html", ".webmanifest"):
            for url in re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", path.read_text()):
                if url != "http://www.w3.org":  # the SVG namespace, not a fetch
                    offenders.append(f"{path.name}: {url}")
    assert offenders == []


def test_the_service_worker_is_served_from_the_root_fresh_and_stamped(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.mimetype == "text/javascript"
    body = response.get_data(as_text=True)
    assert "__VERSION__" not in body and "__PRECACHE__" not in body and "__STATIC__" not in body
    version = re.search(r"const VERSION = '([0-9a-f]{16})'", body)
    assert version and version.group(1) == Shell(STATIC_DIR).version
    prefix = f"/static/{version.group(1)}"
    assert f"const STATIC = '{prefix}';" in body
    assert f"importScripts('{prefix}/js/outbox-core.js');" in body
    lists = json.loads(re.search(r"const PRECACHE = (\{.*?\});\n", body).group(1))
    assert set(lists) == {"participant", "staff"}
    participant = [url for url, _ in lists["participant"]]
    staff = [url for url, _ in lists["staff"]]
    precache = participant + staff
    assert len(set(precache)) == len(precache)  # each file in one list only
    for view in (STATIC_DIR / "js" / "views").glob("*.js"):
        assert f"{prefix}/js/views/{view.name}" in precache
    assert "/" in participant and f"{prefix}/js/outbox-core.js" in participant
    # A participant's phone never downloads the staff screens or their catalogs.
    for rel in ("js/views/runner.js", "js/views/cohort.js", "i18n/runner.json", "css/staff.css"):
        assert f"{prefix}/{rel}" in staff, rel
    for rel in ("js/views/home.js", "js/views/settings.js", "i18n/participant.json"):
        assert f"{prefix}/{rel}" in participant, rel
    # Only the root documents are unversioned: everything else is immutable.
    assert [u for u in precache if not u.startswith(f"{prefix}/")] == [
        "/",
        "/manifest.webmanifest",
    ]
    # Every precached URL exists, or the worker's install would fail, and its
    # hash is the hash of what is served (the worker reuses a file by hash).
    for url, digest in lists["participant"] + lists["staff"]:
        got = client.get(url)
        assert got.status_code == 200, url
        assert got.data, url
        assert digest == hashlib.sha256(got.data).hexdigest()[:16], url
    assert client.get(f"{prefix}/js/app.js").data == (STATIC_DIR / "js" / "app.js").read_bytes()


def _prefix() -> str:
    return f"/static/{Shell(STATIC_DIR).version}"


def test_versioned_static_files_are_kept_for_a_year(app: Flask) -> None:
    client = app.test_client()
    for rel in ("js/app.js", "css/app.css", "i18n/common.json", "icons/icon-192.png"):
        response = client.get(f"{_prefix()}/{rel}")
        assert response.status_code == 200, rel
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable", rel
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.data == (STATIC_DIR / rel).read_bytes(), rel
    assert client.get(f"{_prefix()}/js/app.js").mimetype == "text/javascript"
    assert client.get(f"{_prefix()}/nope.js").status_code == 404
    # The root documents are not in the static tree at all.
    for name in ("index.html", "sw.js", "manifest.webmanifest"):
        assert client.get(f"{_prefix()}/{name}").status_code == 404, name


def test_the_root_documents_and_old_urls_are_always_revalidated(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-cache"
    html = page.get_data(as_text=True)
    assert f'<script type="module" src="{_prefix()}/js/app.js"></script>' in html
    assert f'<link rel="stylesheet" href="{_prefix()}/css/app.css">' in html
    assert "__STATIC__" not in html and "<script>" not in html
    # An unchanged page costs a 304.
    again = client.get("/", headers={"If-None-Match": page.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    # An installed app's old page or worker asks for unversioned URLs, or for
    # another release's: the current file, revalidated, never kept for a year.
    for url in ("/static/js/app.js", "/static/0123456789abcdef/js/app.js"):
        old = client.get(url)
        assert old.status_code == 200, url
        assert old.headers["Cache-Control"] == "no-cache", url
        assert old.data == (STATIC_DIR / "js" / "app.js").read_bytes(), url
    assert client.get("/static/0123456789abcdef/nope.js").status_code == 404
    assert client.get("/static/sw.js").status_code == 404  # only the stamped one, at the root


def test_text_files_are_sent_gzipped_to_browsers_that_accept_it(app: Flask) -> None:
    client = app.test_client()
    url = f"{_prefix()}/js/views/runner.js"
    packed = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert packed.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    source = (STATIC_DIR / "js" / "views" / "runner.js").read_bytes()
    assert gzip.decompress(packed.data) == source
    assert len(packed.data) < len(source) / 2
    plain = client.get(url)
    assert "Content-Encoding" not in plain.headers and plain.data == source
    # PNGs are compressed already: sent as they are.
    png = client.get(f"{_prefix()}/icons/icon-192.png", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in png.headers


def test_a_second_app_reuses_the_built_tree(app: Flask) -> None:
    shell = Shell(STATIC_DIR)
    root = Path(app.instance_path) / "static-build"
    tree = shell.build(root)
    assert tree == root / shell.version and (tree / "js" / "app.js.gz").is_file()
    before = (tree / "js" / "app.js").stat().st_ino
    assert shell.build(root) == tree and (tree / "js" / "app.js").stat().st_ino == before
    assert [p.name for p in root.iterdir() if p.name.startswith(".build-")] == []


def test_a_changed_static_file_changes_the_version(tmp_path: Path) -> None:
    (tmp_path / "sw.js").write_text("const VERSION = '__VERSION__';")
    (tmp_path / "app.js").write_text("one")
    before = Shell(tmp_path).version
    (tmp_path / "app.js").write_text("two")
    assert Shell(tmp_path).version != before


def test_precache_hashes_change_only_for_changed_files(tmp_path: Path) -> None:
    """A release that changes one view changes that view's hash and nothing
    else of the static tree (the worker re-fetches by hash)."""
    static = tmp_path / "static"
    shutil.copytree(STATIC_DIR, static)
    before = Shell(static).precache()
    with (static / "js" / "views" / "home.js").open("a") as f:
        f.write("\n// a later release\n")
    after = Shell(static).precache()

    def by_path(lists: dict[str, list[list[str]]]) -> dict[str, str]:
        return {
            re.sub(r"^/static/[0-9a-f]{16}/", "", url): digest
            for entries in lists.values()
            for url, digest in entries
        }

    old, new = by_path(before), by_path(after)
    assert old.keys() == new.keys()
    changed = sorted(path for path in old if old[path] != new[path])
    # The page carries the release prefix, so it changes with every release.
    assert changed == ["/", "js/views/home.js"]


def test_the_service_worker_itself_is_sent_gzipped_to_browsers_that_accept_it(
    app: Flask,
) -> None:
    client = app.test_client()
    plain = client.get("/sw.js")
    packed = client.get("/sw.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert (
        "Accept-Encoding" in packed.headers["Vary"] and "Accept-Encoding" in plain.headers["Vary"]
    )
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data) / 2
    # Revalidation still works on the compressed copy.
    again = client.get(
        "/sw.js",
        headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]},
    )
    assert again.status_code == 304


def test_compressed_copies_are_served_to_a_service_worker_fetch(app: Flask) -> None:
    """Chromium's worker asks with Accept-Encoding like a page; WhiteNoise answers gzip."""
    client = app.test_client()
    prefix = _prefix()
    for rel in ("js/app.js", "js/views/home.js", "i18n/common.json", "css/app.css"):
        got = client.get(f"{prefix}/{rel}", headers={"Accept-Encoding": "gzip, deflate, br"})
        assert got.headers.get("Content-Encoding") == "gzip", rel
        assert "Accept-Encoding" in got.headers.get("Vary", ""), rel
        raw = (STATIC_DIR / rel).read_bytes()
        assert gzip.decompress(got.data) == raw and len(got.data) < len(raw), rel


def test_the_manifest_makes_the_app_installable(app: Flask) -> None:
    response = app.test_client().get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    assert response.headers["Cache-Control"] == "no-cache"
    manifest = response.get_json(force=True)
    assert manifest["display"] == "standalone"
    assert manifest["start_url"].startswith("/") and manifest["scope"] == "/"
    assert manifest["name"] and manifest["short_name"]
    assert manifest["theme_color"] and manifest["background_color"]
    icons = {(i["sizes"], i["purpose"]): i["src"] for i in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= set(icons)
    for src in icons.values():
        png = app.test_client().get(src)
        assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    # No clinical word in what a phone's home screen and app switcher show.
    shown = f"{manifest['name']} {manifest['short_name']} {manifest.get('description', '')}"
    assert not re.search(r"depress|therap|mental|psych|IPT", shown, re.I)
