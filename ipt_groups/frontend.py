"""The PWA's files: versioned URLs, long cache lifetimes, gzip, a stamped service worker.

Every release serves the static tree under ``/static/<version>/`` where the
version is a hash of every file the app shell is made of. Those URLs never
change content, so browsers and CDNs may keep them for a year
(``immutable``); a changed file means a new version, hence new URLs. The tree
is one prefix rather than a hash in each file name so that the ES modules'
relative imports (``./views/home.js``) stay inside the same release without
rewriting any JavaScript.

Four kinds of URL are not versioned and are always revalidated (``no-cache``):

* ``/`` (index.html), filled in with this release's prefix, so a new release
  reaches the page on its next load;
* ``/sw.js``, whose placeholders ``__VERSION__``, ``__PRECACHE__`` and
  ``__STATIC__`` are filled in here, so any change to a static file installs a
  new service worker on every device;
* ``/manifest.webmanifest``, which browsers re-read to update an installed app;
* the old ``/static/<path>`` (and another release's ``/static/<old>/<path>``):
  an installed app's previous page or service worker may still ask for them.

The files are copied once per release into a build folder with a ``.gz`` copy
of each text file beside it, which WhiteNoise serves to browsers that accept
gzip (with ``Vary: Accept-Encoding``).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from whitenoise import WhiteNoise

from ipt_groups import precache

log = logging.getLogger(__name__)

# Files the service worker precaches (split by role in precache.py); documents
# are not.
PRECACHE_SUFFIXES = (".html", ".js", ".css", ".json", ".svg", ".png", ".webmanifest")
SKIP = ("sw.js",)
# Served from the root by Flask (filled in or with their own headers), never
# from the static tree.
ROOT_FILES = ("index.html", "sw.js", "manifest.webmanifest")
# Worth compressing: text. PNGs are compressed already.
COMPRESS_SUFFIXES = (".js", ".css", ".json", ".svg", ".html", ".webmanifest", ".txt")
# Keep a .gz only when it saves at least this share (tiny files barely shrink).
MIN_SAVING = 0.05
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Another release's prefix in an old URL: /static/<16 hex>/...
VERSION_SEGMENT = re.compile(r"[0-9a-f]{16}")
# An old build folder is removed once nothing could still be serving from it.
STALE_BUILD_SECONDS = 24 * 60 * 60


class Shell:
    def __init__(self, static_dir: Path) -> None:
        self.static_dir = static_dir

    def files(self) -> list[Path]:
        return sorted(
            p
            for p in self.static_dir.rglob("*")
            if p.is_file() and p.suffix in PRECACHE_SUFFIXES and p.name not in SKIP
        )

    @cached_property
    def version(self) -> str:
        digest = hashlib.sha256()
        for path in [*self.files(), self.static_dir / "sw.js"]:
            digest.update(path.relative_to(self.static_dir).as_posix().encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()[:16]

    @property
    def prefix(self) -> str:
        """This release's static URL prefix, without a trailing slash."""
        return f"/static/{self.version}"

    def urls(self) -> list[str]:
        """Every precached URL, both roles."""
        return [url for entries in self.precache().values() for url, _ in entries]

    def precache(self) -> dict[str, list[list[str]]]:
        """The worker's two lists, [url, hash] each: the participant app, then staff."""
        documents = {
            "/": self.index_html.encode(),
            "/manifest.webmanifest": (self.static_dir / "manifest.webmanifest").read_bytes(),
        }
        return precache.lists(
            self.static_dir,
            self.files(),
            self.prefix,
            documents,
            keep=lambda rel: rel not in ROOT_FILES,
        )

    def _fill(self, name: str) -> str:
        return (self.static_dir / name).read_text().replace("__STATIC__", self.prefix)

    @cached_property
    def script(self) -> str:
        """The service worker. Read once per process: a release restarts the processes anyway."""
        return (
            self._fill("sw.js")
            .replace("__VERSION__", self.version)
            .replace("__PRECACHE__", json.dumps(self.precache(), separators=(",", ":")))
        )

    @cached_property
    def script_gzip(self) -> bytes:
        """The service worker, gzipped once: with its precache lists it is the
        largest file a phone fetches at install, and it comes from Flask, not
        from WhiteNoise's compressed copies."""
        return gzip.compress(self.script.encode(), compresslevel=9, mtime=0)

    @cached_property
    def index_html(self) -> str:
        """The app shell page with this release's prefix in its links (no inline script)."""
        return self._fill("index.html")

    def build(self, cache_root: Path) -> Path:
        """The static tree for this version, with .gz copies, under ``cache_root``.

        Built once per version: a second process (another gunicorn worker, the
        clock) finds the folder complete and reuses it. The tree is built in a
        private temporary folder and renamed into place, so nobody ever serves
        a half-written one.
        """
        final = cache_root / self.version
        if final.is_dir():
            return final
        cache_root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".build-", dir=cache_root))
        try:
            self._copy_tree(staging)
            os.chmod(staging, 0o755)  # noqa: S103  (public files; mkdtemp makes it 0700)
            try:
                staging.rename(final)
            except OSError:
                if not final.is_dir():
                    raise
                # Another process won the race with identical content.
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        _prune(cache_root, keep=final.name)
        return final

    def _copy_tree(self, target: Path) -> None:
        for source in sorted(self.static_dir.rglob("*")):
            rel = source.relative_to(self.static_dir)
            if not source.is_file() or rel.as_posix() in ROOT_FILES:
                continue
            copy = target / rel
            copy.parent.mkdir(parents=True, exist_ok=True)
            # copy2 keeps the mtime, so WhiteNoise's Last-Modified/ETag are the
            # same on every process and every host serving this release.
            shutil.copy2(source, copy)
            if source.suffix in COMPRESS_SUFFIXES:
                _write_gzip(copy)


def _write_gzip(path: Path) -> None:
    data = path.read_bytes()
    # mtime=0: the same bytes on every build, so every host sends the same file.
    packed = gzip.compress(data, compresslevel=9, mtime=0)
    if len(packed) <= len(data) * (1 - MIN_SAVING):
        gz = path.with_name(path.name + ".gz")
        gz.write_bytes(packed)
        shutil.copystat(path, gz)


def _prune(cache_root: Path, keep: str) -> None:
    cutoff = time.time() - STALE_BUILD_SECONDS
    for old in cache_root.iterdir():
        with contextlib.suppress(OSError):
            if old.name != keep and old.is_dir() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old)


def build_dir(shell: Shell, instance_path: Path) -> Path:
    """Build under the instance folder; a private temporary folder if it is read-only."""
    try:
        return shell.build(instance_path / "static-build")
    except OSError as error:
        fallback = Path(tempfile.mkdtemp(prefix="ipt-static-"))
        log.warning("instance folder not writable (%s); static files built in %s", error, fallback)
        return shell.build(fallback)


class LazyTree:
    """This release's static tree, built (or found built) on first use.

    Not when the app is made: ``create_app`` writes nothing, so ``flask db
    upgrade`` and the other commands leave the instance folder alone, and a web
    worker builds on its first request (about 180 ms once per release and host;
    every later process finds the folder and reuses it). ``flask --app wsgi
    static-build`` builds it ahead, for an image or a warm-up step.
    """

    def __init__(self, shell: Shell, instance_path: Path) -> None:
        self.shell = shell
        self.instance_path = instance_path
        self._path: Path | None = None
        self._lock = threading.Lock()

    def path(self) -> Path:
        if self._path is None:
            with self._lock:
                if self._path is None:
                    self._path = build_dir(self.shell, self.instance_path)
        return self._path


def lazy_static_files(wsgi_app: Callable[..., Any], shell: Shell, tree: LazyTree) -> Any:
    """``static_files`` over ``tree``, set up on the first request."""
    ready: list[WhiteNoise] = []
    lock = threading.Lock()

    def app(environ: Any, start_response: Any) -> Any:
        if not ready:
            with lock:
                if not ready:
                    ready.append(static_files(wsgi_app, shell, tree.path()))
        return ready[0](environ, start_response)

    return app


def static_files(wsgi_app: Callable[..., Any], shell: Shell, tree: Path) -> WhiteNoise:
    """WSGI middleware answering ``/static/<version>/...`` and ``/static/...`` from ``tree``.

    Anything else, including another release's prefix, falls through to Flask.
    """
    versioned = f"{shell.prefix}/"

    def headers(headers: Any, _path: str, url: str) -> None:
        headers["Cache-Control"] = IMMUTABLE if url.startswith(versioned) else REVALIDATE
        # These bypass Flask's after_request, so they carry their own basics.
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"

    middleware = WhiteNoise(
        wsgi_app,
        max_age=None,  # set above, per URL
        allow_all_origins=False,  # nothing else needs our files
        add_headers_function=headers,
    )
    middleware.add_files(str(tree), prefix=versioned)
    middleware.add_files(str(tree), prefix="/static/")
    return middleware


def unversioned(filename: str) -> str:
    """``<old version>/js/app.js`` -> ``js/app.js``: what an old page or worker asks for."""
    first, sep, rest = filename.partition("/")
    return rest if sep and VERSION_SEGMENT.fullmatch(first) else filename
