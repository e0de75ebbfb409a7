"""One JSON error envelope for every error the app returns.

    {"error": {"status": 422, "code": "validation_error",
               "message": "The request has invalid fields.",
               "fields": {"email": ["Not a valid email address."]}}}

``code`` is a stable machine-readable word; ``message`` is for people; ``fields``
appears only on validation errors. Handlers cover werkzeug's HTTP errors (404,
405 keeps its ``Allow`` header, 413 ...), webargs/marshmallow validation, our own
``ApiError`` (views), the services' ``DomainError`` kinds (``DOMAIN_STATUS``)
and anything unexpected (a 500 that never leaks a traceback).
"""

from __future__ import annotations

import logging
from typing import Any

import marshmallow as ma
from flask import Flask, Response, jsonify
from flask_smorest import Api
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError

from ipt_groups.domain import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    Throttled,
    Unavailable,
)

log = logging.getLogger(__name__)

# Stable codes for the HTTP statuses we answer with.
STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}

DEFAULT_MESSAGES = {
    400: "The request could not be understood.",
    401: "Please log in.",
    403: "You are not allowed to do this.",
    404: "Not found.",
    405: "This method is not allowed here.",
    409: "The request conflicts with the current state.",
    413: "The request body is too large.",
    414: "The address (URL) is too long.",
    415: "Send the request body as JSON.",
    422: "The request has invalid fields.",
    429: "Too many requests. Try again later.",
    500: "Something went wrong on our side. Nothing was saved.",
    503: "The service is temporarily unavailable.",
}


class ApiError(Exception):
    """An error a service or view raises on purpose; rendered as the envelope."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or DEFAULT_MESSAGES.get(status, ""))
        self.status = status
        self.message = message or DEFAULT_MESSAGES.get(status, "Error.")
        self.code = code or STATUS_CODES.get(status, "error")
        self.fields = fields
        self.headers = headers or {}


def error_response(
    status: int,
    message: str | None = None,
    *,
    code: str | None = None,
    fields: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "status": status,
        "code": code or STATUS_CODES.get(status, "error"),
        "message": message or DEFAULT_MESSAGES.get(status, "Error."),
    }
    if fields:
        body["fields"] = fields
    response = jsonify({"error": body})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _flatten_webargs(messages: dict[str, Any]) -> dict[str, Any]:
    """webargs groups errors by location ({"json": {...}, "query": {...}}).

    Clients care about the field, so merge the locations; a query-string field
    keeps a ``query.`` prefix so it cannot be confused with a body field.
    """
    flat: dict[str, Any] = {}
    for location, errors in messages.items():
        if not isinstance(errors, dict):
            flat[location] = errors
            continue
        for name, value in errors.items():
            key = name if location in ("json", "form") else f"{location}.{name}"
            flat[key] = value
    return flat


class ErrorBodySchema(ma.Schema):
    status = ma.fields.Integer(required=True, metadata={"description": "HTTP status"})
    code = ma.fields.String(required=True, metadata={"description": "Stable error code"})
    message = ma.fields.String(required=True, metadata={"description": "For people"})
    fields = ma.fields.Dict(metadata={"description": "Field errors (validation only)"})


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBodySchema, required=True)


class EnvelopeApi(Api):
    """flask-smorest's Api, answering errors with our envelope."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException) -> Response:  # type: ignore[override]
        status = error.code or 500
        if isinstance(error, InternalServerError):
            original = getattr(error, "original_exception", None)
            if original is not None:
                log.exception("Unhandled error", exc_info=original)
            return error_response(500)
        headers = dict(error.get_headers())  # keeps Allow on 405, Retry-After on 429
        headers.pop("Content-Type", None)
        data = getattr(error, "data", None) or {}
        headers.update(data.get("headers") or {})
        messages = data.get("errors") or data.get("messages")
        fields = _flatten_webargs(messages) if isinstance(messages, dict) else None
        if status == 400 and fields and "json" in fields:
            # webargs reports an unparsable body as a 400 under "json".
            return error_response(400, "The request body is not valid JSON.", headers=headers)
        message = data.get("message")
        if message is None and status not in DEFAULT_MESSAGES:
            message = error.description
        return error_response(status, message, fields=fields, headers=headers)


# Seconds a client waits before trying again when the database is away: long
# enough not to hammer it while it restarts, short enough that people do not give up.
DATABASE_RETRY_AFTER = 5


def database_unavailable(error: Exception) -> Response:
    """The database cannot be reached (restarting, network cut, SQLite file gone,
    locked for too long, pool exhausted): a 503 the client retries, not a 500 that
    looks like a bug. The request's transaction is rolled back when the request
    ends, so nothing of it was saved; the pool's pre-ping replaces the dead
    connections once the database is back."""
    original = getattr(error, "orig", None) or error
    # The driver's message (connection refused, database is locked), never the
    # statement: hide_parameters keeps values out, this keeps SQL out too.
    log.warning("database unavailable: %s: %s", type(original).__name__, original)
    return error_response(
        503,
        "The service cannot reach its database. Nothing was saved; try again in a moment.",
        code="unavailable",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


# What each domain error is over HTTP. Services never name a status; this does.
DOMAIN_STATUS: dict[type[DomainError], int] = {
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    Invalid: 422,
    Throttled: 429,
    Unavailable: 503,
}


def domain_error_response(error: DomainError) -> Response:
    """The envelope for a service's DomainError: the same bytes ApiError gave."""
    status = next((code for kind, code in DOMAIN_STATUS.items() if isinstance(error, kind)), 500)
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    return error_response(
        status, error.message, code=error.code, fields=error.fields, headers=headers
    )


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, domain_error_response)

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return error_response(
            error.status,
            error.message,
            code=error.code,
            fields=error.fields,
            headers=error.headers,
        )

    # OperationalError and InterfaceError are how drivers report a connection
    # that failed or went away (psycopg, sqlite3); TimeoutError is the pool's.
    for unavailable in (
        sa_exc.OperationalError,
        sa_exc.InterfaceError,
        sa_exc.TimeoutError,
    ):
        app.register_error_handler(unavailable, database_unavailable)
