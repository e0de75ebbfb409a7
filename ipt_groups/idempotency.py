"""``Idempotency-Key``: a write sent twice is applied once.

The facilitator's tablet queues writes made offline and sends them when the
connection returns; a request whose answer was lost on the way back is sent
again. Every unsafe ``/api`` request from a logged-in user may carry an
``Idempotency-Key`` header (8-64 characters of ``A-Za-z0-9_-``):

- The key is inserted in the same transaction as the write it guards, so either
  both are committed or neither is: there is no window in which the write landed
  but the key did not.
- After a successful answer the status and body are stored with the key; the
  same key again gets that stored answer (``Idempotent-Replayed: true``) and the
  write is not repeated.
- A failed request (4xx) rolls its key back with everything else, so the client
  may correct and retry with the same key.
- The same key with a different request (method, path or body) is refused with
  422 ``idempotency_key_reused``; a key whose first request is still running
  answers 409 ``idempotency_in_progress``.
"""

from __future__ import annotations

import hashlib
import re

from flask import Flask, Response, g, request
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from ipt_groups.errors import ApiError
from ipt_groups.extensions import db
from ipt_groups.models import IdempotencyKey

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Answers larger than this are not kept (none of ours are near it); a replay
# then gets 409 "already applied" instead of the body.
MAX_STORED = 256 * 1024


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _scoped(key: str) -> str:
    # Header keys live beside body ``client_key`` rows; the prefix keeps them apart.
    return f"{current_user.id}:h:{key}"


def _replay(row: IdempotencyKey) -> Response:
    if row.status_code is None or row.response is None:
        raise ApiError(409, "This request was applied already.", code="idempotency_already_applied")
    response = Response(row.response, status=row.status_code, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _before() -> Response | None:
    key = request.headers.get(HEADER)
    if key is None or request.method not in UNSAFE or not request.path.startswith("/api/"):
        return None
    if not current_user.is_authenticated:
        return None  # public writes (login, invites) have their own limits
    if not KEY_PATTERN.match(key):
        raise ApiError(
            422,
            fields={HEADER: ["8 to 64 characters: letters, digits, '-' and '_'."]},
        )
    scoped = _scoped(key)
    fingerprint = _fingerprint()
    row = db.session.get(IdempotencyKey, scoped)
    if row is None:
        # Flushed in the request's own transaction: the key commits with the
        # write it guards or not at all. Nothing else is pending this early.
        db.session.add(IdempotencyKey(key=scoped, user_id=current_user.id, fingerprint=fingerprint))
        try:
            db.session.flush()
        except IntegrityError:
            # The same key is being used by a request still running elsewhere.
            db.session.rollback()
            raise ApiError(
                409, "The same request is still being processed.", code="idempotency_in_progress"
            ) from None
        g.idempotency_key = scoped
        return None
    if row.fingerprint != fingerprint:
        raise ApiError(
            422,
            "This Idempotency-Key was used for a different request.",
            code="idempotency_key_reused",
        )
    return _replay(row)


def _after(response: Response) -> Response:
    scoped = g.pop("idempotency_key", None)
    if scoped is None:
        return response
    if not 200 <= response.status_code < 300:
        # Roll the key back with whatever the view left uncommitted; if the view
        # committed before failing, the key went with it and keeps this answer.
        db.session.rollback()
        if response.status_code >= 500:
            # Our failure (the database may be gone: touching it again would turn
            # a 503 into a 500). The key was rolled back; the client retries with it.
            return response
    row = db.session.get(IdempotencyKey, scoped)
    if row is None:
        return response
    body = response.get_data()
    if (len(body) <= MAX_STORED and response.mimetype == "application/json") or not body:
        row.status_code = response.status_code
        row.response = body.decode() if body else ""
    db.session.commit()
    return response


def init_app(app: Flask) -> None:
    # Registered after the security gate, so only authenticated, CSRF-checked
    # requests reach it.
    app.before_request(_before)
    app.after_request(_after)
