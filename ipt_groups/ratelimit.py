"""Request-level rate limits: writes in general, and per-view limits.

Every unsafe ``/api`` request (POST, PUT, PATCH, DELETE) is counted per user
when logged in, per client address when not. The budget is generous on
purpose: a facilitator who ran a session offline sends the whole outbox (a
hundred writes or so) in one go when the tablet is back online, and that must
get through. Views that cost more (a test push to every device) add their own
smaller limit with ``@limited``.

The app config keys (tests change them; the defaults are below):

- ``RATELIMIT_WRITES_PER_USER``: writes per logged-in user per window (600)
- ``RATELIMIT_WRITES_PER_ADDRESS``: anonymous writes per address per window (120)
- ``RATELIMIT_WRITES_WINDOW_SECONDS``: the window (300)

The hook runs after the security gate (so the user is known, and refused
requests are not counted) and before the Idempotency-Key is taken (so a 429
leaves no key behind and a later retry with the same key is applied).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import Flask, current_app, request
from flask_login import current_user

from ipt_groups import security
from ipt_groups.config import ConfigError
from ipt_groups.services import throttle

F = TypeVar("F", bound=Callable[..., Any])

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULTS = {
    "RATELIMIT_WRITES_PER_USER": 600,
    "RATELIMIT_WRITES_PER_ADDRESS": 120,
    "RATELIMIT_WRITES_WINDOW_SECONDS": 300,
}


def limited(limit: throttle.Limit) -> Callable[[F], F]:
    """Count every call of this view against ``limit``, per user (per address
    when anonymous), before it runs. Put it above the other decorators."""

    def decorator(fn: F) -> F:
        fn._ipt_rate_limit = limit  # type: ignore[attr-defined]
        return fn

    return decorator


def _view_limit() -> throttle.Limit | None:
    return getattr(security.request_handler(), "_ipt_rate_limit", None)


def _subject() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"addr:{request.remote_addr or 'unknown'}"


def _writes_limit() -> throttle.Limit:
    config = current_app.config
    window = timedelta(seconds=config["RATELIMIT_WRITES_WINDOW_SECONDS"])
    if current_user.is_authenticated:
        return throttle.Limit("writes:user", config["RATELIMIT_WRITES_PER_USER"], window)
    return throttle.Limit("writes:addr", config["RATELIMIT_WRITES_PER_ADDRESS"], window)


def _before() -> None:
    if request.method not in UNSAFE or not request.path.startswith("/api/"):
        return
    if request.routing_exception is not None:
        return  # routing answers 404/405; nothing runs, nothing to count
    subject = _subject()
    throttle.hit(_writes_limit(), subject)
    view_limit = _view_limit()
    if view_limit is not None:
        throttle.hit(view_limit, subject)


def init_app(app: Flask) -> None:
    for key, default in DEFAULTS.items():
        value = app.config.setdefault(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{key} must be a positive integer, got {value!r}")
    if app.config["RATELIMIT_WRITES_WINDOW_SECONDS"] > 24 * 3600:
        raise ConfigError("RATELIMIT_WRITES_WINDOW_SECONDS must be at most 86400 (a day)")
    throttle.init_app(app)
    # Register after security.init_app and before idempotency.init_app (see above).
    app.before_request(_before)
