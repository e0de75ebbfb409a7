"""The PWA's service worker, stamped with the release it belongs to.

``static/sw.js`` holds two placeholders: ``__VERSION__`` (a hash of every file
the app shell is made of) and ``__PRECACHE__`` (their URLs). Filling them in at
start-up means any change to a static file installs a new service worker on
every device, with no version number for anyone to remember to bump.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path

# Files the app needs before it can show anything offline. Views, catalogs and
# icons are cached too (the whole static tree is small); documents are not.
PRECACHE_SUFFIXES = (".html", ".js", ".css", ".json", ".svg", ".png", ".webmanifest")
SKIP = ("sw.js",)


class Shell:
    def __init__(self, static_dir: Path) -> None:
        self.static_dir = static_dir

    def files(self) -> list[Path]:
        return sorted(
            p
            for p in self.static_dir.rglob("*")
            if p.is_file() and p.suffix in PRECACHE_SUFFIXES and p.name not in SKIP
        )

    def urls(self) -> list[str]:
        urls = ["/", "/manifest.webmanifest"]
        for path in self.files():
            rel = path.relative_to(self.static_dir).as_posix()
            if rel not in ("index.html", "manifest.webmanifest"):
                urls.append(f"/static/{rel}")
        return urls

    @cached_property
    def version(self) -> str:
        digest = hashlib.sha256()
        for path in [*self.files(), self.static_dir / "sw.js"]:
            digest.update(path.relative_to(self.static_dir).as_posix().encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()[:16]

    @cached_property
    def script(self) -> str:
        """Read once per process: a release restarts the processes anyway."""
        source = (self.static_dir / "sw.js").read_text()
        return source.replace("__VERSION__", self.version).replace(
            "__PRECACHE__", json.dumps(self.urls())
        )
