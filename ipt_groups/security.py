"""The request gate: who is logged in, deny by default, CSRF, roles.

Every ``/api`` request passes ``_gate`` before its view runs:

1. **Authentication** is required unless the view is marked ``@public``.
2. **CSRF**: an unsafe method (POST, PUT, PATCH, DELETE) must come from our own
   origin (``Origin`` / ``Sec-Fetch-Site``), and when a session cookie is in play
   it must carry the session's token in ``X-CSRF-Token``. The token comes from
   ``GET /api/auth/csrf`` or the login response.

Sessions live in the database (``AuthSession``); the signed Flask cookie holds
only the user id and an opaque token, so logout or disabling an account ends a
session on the server and a copied cookie stops working.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, after_this_request, current_app, request, session
from flask_login import current_user, login_user, logout_user

from ipt_groups.errors import ApiError
from ipt_groups.extensions import login_manager
from ipt_groups.models import Role, User
from ipt_groups.services import auth as session_service
from ipt_groups.services import device_cookies
from ipt_groups.services.audit import Actor

F = TypeVar("F", bound=Callable[..., Any])

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Endpoints outside our own blueprints that need no login (the spec itself).
PUBLIC_ENDPOINTS = frozenset({"api-docs.openapi_json"})


def public(fn: F) -> F:
    """Mark a view (or a MethodView method) as reachable without logging in."""
    fn._ipt_public = True  # type: ignore[attr-defined]
    return fn


def form_body(fn: F) -> F:
    """The view reads a form body (providers' webhooks post forms, not JSON)."""
    fn._ipt_form_body = True  # type: ignore[attr-defined]
    return fn


def private_cache(fn: F) -> F:
    """Keep the view's own Cache-Control instead of ``no-store``: for shared
    reading material a member's app may keep offline and revalidate."""
    fn._ipt_private_cache = True  # type: ignore[attr-defined]
    return fn


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Allow only users with one of ``roles``; others get 403."""

    def decorator(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                raise ApiError(401)
            if current_user.role not in roles:
                raise ApiError(403)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def current_actor() -> Actor:
    user_id = current_user.id if current_user.is_authenticated else None
    return Actor(user_id=user_id, ip_address=request.remote_addr)


def csrf_token() -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def log_in(user: User, login_name: str | None = None) -> str:
    """Start a fresh session for ``user``; returns its CSRF token.

    With ``login_name`` (the name the user proved a secret for), this device is
    remembered for that name: see services/device_cookies."""
    # A new login ends the session this browser had (it may be a shared tablet),
    # and nothing from before login survives (no fixation).
    session_service.end_session(session.get("sid"), current_actor())
    session.clear()
    token = session_service.start_session(user, current_actor(), request.headers.get("User-Agent"))
    session.permanent = True
    session["sid"] = token
    login_user(user)
    if login_name:
        remember_device(login_name)
    return csrf_token()


def device_cookie() -> str | None:
    """The device cookie this request carries (checked by known_device)."""
    return request.cookies.get(device_cookies.COOKIE_NAME)


def known_device(login_name: str) -> str | None:
    """This device's nonce for ``login_name`` if the request carries a device
    cookie valid for that account (see services/device_cookies), else None."""
    secret = current_app.config["SECRET_KEY"]
    return device_cookies.trusted_nonce(device_cookie(), login_name, secret)


def remember_device(login_name: str) -> None:
    """Set a fresh device cookie for ``login_name`` on this response."""
    value = device_cookies.remember(device_cookie(), login_name, current_app.config["SECRET_KEY"])

    @after_this_request
    def _set(response: Response) -> Response:
        response.set_cookie(
            device_cookies.COOKIE_NAME,
            value,
            max_age=int(device_cookies.MAX_AGE.total_seconds()),
            path=device_cookies.COOKIE_PATH,
            httponly=True,
            secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
            samesite="Lax",
        )
        return response


def log_out() -> None:
    session_service.end_session(session.get("sid"), current_actor())
    logout_user()
    session.clear()


def session_token() -> str | None:
    return session.get("sid")


def _timeouts() -> session_service.Timeouts:
    return session_service.Timeouts(
        idle=current_app.config["SESSION_IDLE_TIMEOUT"],
        absolute=current_app.config["SESSION_ABSOLUTE_TIMEOUT"],
    )


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    try:
        uid = int(user_id)
    except ValueError:
        return None
    return session_service.resolve_session(session.get("sid"), uid, _timeouts())


@login_manager.unauthorized_handler
def _unauthorized() -> Any:
    raise ApiError(401)


def handler_for(view: Any, method: str) -> Any:
    """The function that serves ``method`` on ``view`` (a MethodView's method, or
    the view function itself): where decorators like ``@public`` leave their flags."""
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        return view
    handler = getattr(view_class, method.lower(), None)
    if handler is None and method.upper() == "HEAD":
        handler = getattr(view_class, "get", None)
    return handler


def request_handler() -> Any:
    """The function that serves this request, if any."""
    return handler_for(current_app.view_functions.get(request.endpoint or ""), request.method)


def is_public(handler: Any) -> bool:
    return bool(getattr(handler, "_ipt_public", False))


def _flagged(flag: str) -> bool:
    return bool(getattr(request_handler(), flag, False))


def _is_public() -> bool:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return True
    if current_app.view_functions.get(request.endpoint or "") is None:
        return True  # no such route: let routing answer 404/405
    return is_public(request_handler())


def _same_origin() -> bool:
    origin = request.headers.get("Origin")
    if origin is not None:
        # Browsers send Origin on every cross-site unsafe request. Scheme and host
        # must both match (behind a proxy, set PROXY_HOPS so the scheme is right).
        ours = urlsplit(request.host_url)
        theirs = urlsplit(origin)
        return (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    # Neither header: not a browser (curl, scripts); the token check still applies.
    return True


def _gate() -> None:
    if not request.path.startswith("/api/") or request.routing_exception is not None:
        return  # not the API, or routing will answer 404/405 itself
    public_view = _is_public()
    if not public_view and not current_user.is_authenticated:
        raise ApiError(401)
    if request.method in SAFE_METHODS:
        return
    if not _same_origin():
        raise ApiError(403, "Cross-site request refused.", code="csrf_failed")
    if request.content_length and not request.is_json and not _flagged("_ipt_form_body"):
        # A form or text body would be silently ignored by the JSON schemas.
        raise ApiError(415)
    if current_user.is_authenticated:
        sent = request.headers.get(CSRF_HEADER, "")
        expected = session.get("csrf", "")
        if not expected or not hmac.compare_digest(sent, expected):
            raise ApiError(
                403,
                f"Missing or wrong {CSRF_HEADER} header. Fetch one from GET /api/auth/csrf.",
                code="csrf_failed",
            )


# The longest path and query string we serve, in bytes as sent. gunicorn's own
# limit (limit_request_line, 8190 in gunicorn.conf.py) is set above this so a
# too-long URL reaches us and gets the JSON envelope and our headers instead of
# gunicorn's bare HTML page. Our longest real URLs are well under 1 KB.
MAX_URI_BYTES = 4096


def uri_length(environ: dict[str, Any]) -> int:
    """Bytes of the path and query string as the client sent them."""
    # gunicorn's RAW_URI holds both; werkzeug's test client and dev server give
    # the path only there, with the query in QUERY_STRING.
    raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", ""))
    size = len(raw.encode("latin-1", "replace"))
    query = str(environ.get("QUERY_STRING", ""))
    if query and "?" not in raw:
        size += len(query) + 1
    return size


def _uri_not_too_long() -> None:
    if uri_length(request.environ) > MAX_URI_BYTES:
        raise ApiError(414)


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; "
        "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'",
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    # Personal, clinical data: never kept by browsers or shared caches. A view
    # that allows more (a member's readings, "private, no-cache", so the app can
    # keep them for offline reading and revalidate) says so itself.
    keeps_own = "Cache-Control" in headers and _flagged("_ipt_private_cache")
    api = request.path.startswith("/api/") and not request.path.startswith("/api/docs")
    if api and not keeps_own:
        headers["Cache-Control"] = "no-store"
    if current_app.config["APP_ENV"] == "production":
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    # Our own server-side sessions replace Flask-Login's IP/agent heuristics,
    # which log out phones every time they change networks.
    login_manager.session_protection = None
    app.before_request(_uri_not_too_long)  # first: before anything reads the URL
    app.before_request(_gate)
    app.after_request(_security_headers)
