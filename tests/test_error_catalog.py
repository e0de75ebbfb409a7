"""Every error code the API can answer has words in every language of the app.

The front end shows ``t('error.<code>')`` instead of the API's English
``message``; a code added to the API without a translation fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ipt_groups import STATIC_DIR
from ipt_groups.errors import STATUS_CODES
from ipt_groups.services.invites import _GONE

PACKAGE = Path(__file__).resolve().parent.parent / "ipt_groups"
CATALOG = Path(STATIC_DIR) / "i18n" / "common.json"
LITERAL = re.compile(r"\bcode\s*=\s*\"([A-Za-z0-9_]+)\"")
FORMATTED = re.compile(r"\bcode\s*=\s*f\"")
DOCUMENTED = re.compile(r"\bconflict\(([^)]*)\)")


def api_error_codes() -> set[str]:
    codes = set(STATUS_CODES.values()) | {"error"}  # "error": a status with no code
    formatted = 0
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        codes.update(LITERAL.findall(text))
        for args in DOCUMENTED.findall(text):
            codes.update(re.findall(r"\"([a-z0-9_]+)\"", args))
        formatted += len(FORMATTED.findall(text))
    # The one code built at run time: invites.py's code=f"invite_{state}".
    assert formatted == 1, "a new code=f'...' error code: list what it can be here"
    codes.update(f"invite_{state}" for state in _GONE)
    return codes


def test_the_scan_finds_the_codes_it_should() -> None:
    codes = api_error_codes()
    for code in ("login_failed", "session_not_upcoming", "validation_error", "invite_expired"):
        assert code in codes


def test_every_api_error_code_is_translated_in_every_language() -> None:
    catalog = json.loads(CATALOG.read_text(encoding="utf-8"))
    missing = {
        lang: sorted(c for c in api_error_codes() if not strings.get(f"error.{c}", "").strip())
        for lang, strings in catalog.items()
    }
    assert set(catalog) == {"en", "es"}
    assert missing == {"en": [], "es": []}


def test_the_front_end_falls_back_per_status_as_the_api_names_them() -> None:
    ui = (Path(STATIC_DIR) / "js" / "core" / "ui.js").read_text(encoding="utf-8")
    table = re.search(r"const STATUS_CODES = \{([^}]*)\}", ui)
    assert table, "ui.js keeps a status -> code table for answers without a code"
    pairs = dict(re.findall(r"(\d+): '([a-z_]+)'", table.group(1)))
    assert {int(k): v for k, v in pairs.items()} == STATUS_CODES
