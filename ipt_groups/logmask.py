"""Secrets that travel in URL paths never reach a log.

A calendar feed's secret is in its path (``/api/calendar/<token>.ics``: calendar
apps cannot send a header), and both gunicorn's access log and some error lines
(Flask's "Exception on <path>", werkzeug's request lines, gunicorn's "Invalid
request" lines) write the path. Whoever reads the logs (the platform, a log
drain, support) could otherwise subscribe to a member's sessions. The token is
masked to its last four characters, enough to match a support request
(``/api/calendar/…a1b2.ics``), too few to use.

Two places, so every log line is covered:

- ``MaskingLogger``, gunicorn's logger class (``logger_class`` in
  gunicorn.conf.py): masks every access-log atom (request line, path, query,
  referer, headers) and gunicorn's own error log;
- ``install()``: a log-record factory for the app's process, so any record, from
  any logger and to any handler, has its message masked before it is written.

Invite codes never appear in a path: their URL carries the code in the
fragment, which browsers do not send (services/invites.py).
"""

from __future__ import annotations

import logging
import re
from typing import Any

# The segment after /api/calendar/ up to ".ics" or the end of the path.
_CALENDAR = re.compile(r"(/api/calendar/)([^/?#\s\"'.]+)")
_MARK = "/api/calendar/"
KEEP = 4  # characters kept for support


def _masked(match: re.Match[str]) -> str:
    token = match.group(2)
    tail = token[-KEEP:] if len(token) > 2 * KEEP else ""
    return f"{match.group(1)}…{tail}"


def mask(text: str) -> str:
    """``text`` with every calendar-feed token masked."""
    if _MARK not in text:  # the usual case: no regex
        return text
    return _CALENDAR.sub(_masked, text)


def mask_value(value: Any) -> Any:
    return mask(value) if isinstance(value, str) else value


def _mask_record(record: logging.LogRecord) -> logging.LogRecord:
    # Only records that mention the path are formatted early; others are left
    # lazy, as logging intends.
    args = record.args if isinstance(record.args, tuple) else (record.args,)
    if _MARK in str(record.msg) or any(isinstance(a, str) and _MARK in a for a in args):
        record.msg = mask(record.getMessage())
        record.args = None
    return record


_installed = False


def install() -> None:
    """Mask calendar tokens in every log record of this process (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return _mask_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True


try:  # gunicorn is the web server in deployment; the clock and tests may lack it
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = object  # type: ignore[assignment,misc]


class MaskingLogger(_GunicornLogger):  # type: ignore[misc,valid-type]
    """gunicorn's logger, with calendar tokens masked in the access log."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        install()  # gunicorn's error log ("Invalid request ...") too

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        found = super().atoms(resp, req, environ, request_time)
        return {key: mask_value(value) for key, value in found.items()}
