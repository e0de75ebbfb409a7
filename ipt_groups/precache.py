"""What the service worker precaches, per role, with a hash per file.

A participant's phone may pay for every megabyte, so its worker precaches the
participant app only: the views a participant can reach, what those import,
the catalogs they ``use()``, the stylesheets they load, and the files the page
and the worker name. Everything else (the facilitator's and the admin's
screens, their catalogs and styles) is the *staff* list, which the page asks
the worker to top up after a staff login.

The participant list is derived from the code, not kept by hand, so a new
participant view is precached the day it is routed: the routes in ``app.js``
say who may see each view, and the static imports, ``use('area')`` and
``stylesheet('name')`` calls are followed from there. A file nothing reaches is
staff by default (the cheaper mistake: a participant fetches it online once).

Each entry carries a hash of the file's bytes. The release prefix changes
every URL at each release, but the worker copies an entry from its previous
cache when the hash is the same, so a release that changes one view makes the
phone fetch that view (and the page), nothing else.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from pathlib import Path

# Who may see a route (app.js ROUTES): these roles are on a participant's phone.
PARTICIPANT_AUDIENCES = ("public", "participant", "any")
ROUTE = re.compile(r"\[\s*'[^']*',\s*'([\w-]+)',\s*'(\w+)'\s*\]")
STATIC_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}/[^'"]+)['"]""")
USE = re.compile(r"\buse\(([^)]*)\)")
QUOTED = re.compile(r"'([\w-]+)'")
STYLESHEET = re.compile(r"\bstylesheet\(\s*'([\w-]+)'\s*\)")
# __STATIC__/css/app.css in index.html, ${STATIC}/icons/icon-192.png in sw.js.
NAMED = re.compile(r"(?:__STATIC__|\$\{STATIC\})/([\w./-]+\.\w+)")
# Always on the phone: the shell, the 404 view (any role can hit it).
ROOTS = ("js/app.js", "js/outbox-core.js", "js/views/not-found.js")


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def participant_files(static_dir: Path) -> set[str]:
    """Static paths (relative, posix) a participant's app can load."""
    app_js = (static_dir / "js" / "app.js").read_text()
    views = {
        f"js/views/{module}.js"
        for module, who in ROUTE.findall(app_js)
        if who in PARTICIPANT_AUDIENCES
    }
    named: set[str] = set()
    for page in ("index.html", "sw.js"):
        named |= _named(static_dir, (static_dir / page).read_text())
    found: set[str] = set()
    pending = [p for p in (*ROOTS, *sorted(views), *sorted(named)) if (static_dir / p).is_file()]
    while pending:
        rel = pending.pop()
        if rel in found:
            continue
        found.add(rel)
        if not rel.endswith(".js"):
            continue
        source = (static_dir / rel).read_text()
        base = (static_dir / rel).parent
        for target in STATIC_IMPORT.findall(source):
            path = (base / target).resolve()
            if path.is_file():
                pending.append(path.relative_to(static_dir.resolve()).as_posix())
        for args in USE.findall(source):
            pending += [f"i18n/{a}.json" for a in QUOTED.findall(args)]
        pending += [f"css/{name}.css" for name in STYLESHEET.findall(source)]
    return {p for p in found if (static_dir / p).is_file()}


def _named(static_dir: Path, text: str) -> set[str]:
    return {rel for rel in NAMED.findall(text) if (static_dir / rel).is_file()}


def lists(
    static_dir: Path,
    files: Iterable[Path],
    prefix: str,
    documents: dict[str, bytes],
    keep: Callable[[str], bool],
) -> dict[str, list[list[str]]]:
    """``{"participant": [[url, hash], ...], "staff": [...]}`` for sw.js.

    ``documents`` are the unversioned root URLs (``/``, the manifest) with the
    bytes they are served with; ``keep`` says whether a static path is served
    from the versioned tree (the root files are not).
    """
    participant = participant_files(static_dir)
    out: dict[str, list[list[str]]] = {
        "participant": [[url, file_hash(body)] for url, body in documents.items()],
        "staff": [],
    }
    for path in files:
        rel = path.relative_to(static_dir).as_posix()
        if not keep(rel):
            continue
        role = "participant" if rel in participant else "staff"
        out[role].append([f"{prefix}/{rel}", file_hash(path.read_bytes())])
    return out
