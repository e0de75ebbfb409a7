"""gunicorn settings, read from the environment (gunicorn loads this file itself)."""

import os
import sys


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    if not raw.isdigit() or int(raw) < 1:
        sys.exit(f"gunicorn: {name} must be a positive integer, got {raw!r}")
    return int(raw)


# Platforms give the port in PORT and need 0.0.0.0; `make run` sets HOST=127.0.0.1.
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"  # noqa: S104
workers = _int("WEB_CONCURRENCY", 2)
threads = _int("GUNICORN_THREADS", 4)
# Heroku-style routers give up after 30 s; stop sooner and let the request fail cleanly.
timeout = 25
# Platforms send SIGTERM and wait 30 s before SIGKILL.
graceful_timeout = 20
# gunicorn's most (its default is 4094): the app itself answers URLs over 4096
# bytes with a JSON 414 and its security headers (ipt_groups/security.py), so
# only lines over this get gunicorn's bare HTML 414.
limit_request_line = 8190
accesslog = "-"
# No query strings in the access log, and calendar-feed tokens (in the path)
# masked to their last 4 characters by the logger class (ipt_groups/logmask.py).
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
logger_class = "ipt_groups.logmask.MaskingLogger"


def post_worker_init(worker: object) -> None:
    """Freeze what the app's import left in memory, once it is loaded in this worker.

    The app is imported after the fork (no preload), so this runs in each worker
    after ``wsgi:app`` is built: the ~200k start-up objects (modules, the OpenAPI
    spec, SQLAlchemy's mappers) move to the permanent generation, and the full
    collections that requests trigger stop walking them. GC_FREEZE=0 turns it off
    (to measure it: docs/benchmarks.md, issue 24).
    """
    if os.environ.get("GC_FREEZE", "1") == "0":
        return
    import gc

    gc.collect()
    gc.freeze()
