"""Schemas, fields and view plumbing shared by several API modules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import marshmallow as ma
from flask import Response, current_app, request
from flask_login import current_user
from marshmallow import validate

from ipt_groups.errors import ErrorSchema
from ipt_groups.extensions import db
from ipt_groups.i18n import SUPPORTED_LANGUAGES, is_valid_time_zone
from ipt_groups.models import Enrolment
from ipt_groups.security import current_actor

T = TypeVar("T")


class TimeZone(ma.fields.String):
    """An IANA time zone name such as ``Europe/London``."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("metadata", {"description": "IANA time zone, e.g. Europe/London"})
        super().__init__(validate=self._check, **kwargs)  # type: ignore[arg-type]

    @staticmethod
    def _check(value: str) -> None:
        if not is_valid_time_zone(value):
            raise ma.ValidationError("Not a known IANA time zone (for example Europe/London).")


def Language(**kwargs: object) -> ma.fields.String:  # noqa: N802 - reads as a field class
    return ma.fields.String(validate=validate.OneOf(SUPPORTED_LANGUAGES), **kwargs)  # type: ignore[arg-type]


class PageArgsSchema(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PageMetaSchema(ma.Schema):
    total = ma.fields.Integer(required=True)
    page = ma.fields.Integer(required=True)
    per_page = ma.fields.Integer(required=True)


class UserSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    email = ma.fields.Email(allow_none=True)
    username = ma.fields.String(allow_none=True)
    display_name = ma.fields.String()
    role = ma.fields.String()
    language = ma.fields.String()
    time_zone = ma.fields.String()
    active = ma.fields.Boolean(attribute="is_active")
    disabled_at = ma.fields.AwareDateTime(allow_none=True)
    last_login_at = ma.fields.AwareDateTime(allow_none=True)
    created_at = ma.fields.AwareDateTime()


# Route converter for database ids: out-of-range numbers are a 404, not a DB error.
ID = "int(min=1, max=2147483647)"


def public_base_url() -> str:
    """Where people reach the app: PUBLIC_URL, else the address of this request."""
    return current_app.config.get("PUBLIC_URL") or request.url_root.rstrip("/")


# Dates the calendar accepts: far enough for any programme, and clear of the
# year-9999 edge where adding a session's length would overflow.
EARLIEST = datetime(2000, 1, 1)
LATEST = datetime(2099, 12, 31, 23, 59)


class LocalDateTime(ma.fields.NaiveDateTime):
    """A wall-clock date and time in the cohort's zone, such as 2026-03-12T17:00."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault(
            "metadata",
            {"description": "Local wall-clock time in the cohort's time zone, no offset"},
        )
        kwargs.setdefault("validate", validate.Range(min=EARLIEST, max=LATEST))
        super().__init__(**kwargs)  # type: ignore[arg-type]


def UserId(**kwargs: object) -> ma.fields.Integer:  # noqa: N802 - reads as a field class
    return ma.fields.Integer(validate=validate.Range(min=1, max=2147483647), **kwargs)  # type: ignore[arg-type]


def conflict(*codes: str) -> dict[str, Any]:
    """``@blp.alt_response(409, **conflict("cohort_closed"))``: a 409 documented
    with the error envelope's schema and the ``error.code`` values it can carry,
    so a client knows which state conflicts to expect (and the fuzzer checks it)."""
    return {
        "schema": ErrorSchema,
        "description": f"Conflicts with the current state (error.code: {', '.join(codes)})",
    }


def save_version(
    save: Callable[..., T], member: Enrolment, data: Mapping[str, Any], content: str
) -> T:
    """A PUT of a versioned record (services/versioning.py): ``save`` the body's
    ``content`` on top of its ``base_version`` as the signed-in user, and commit."""
    saved = save(current_actor(), current_user, member, data["base_version"], data[content])
    db.session.commit()
    return saved


def csv_file(description: str, example: str, filename: str) -> dict[str, Any]:
    """``@blp.response(200, **csv_file(...))``: a CSV download documented as a
    string (the view returns a ``Response``) with its ``Content-Disposition``."""
    return {
        "schema": {"type": "string"},
        "content_type": "text/csv",
        "description": description,
        "example": example,
        "headers": {
            "Content-Disposition": {
                "description": f'attachment; filename="{filename}"',
                "schema": {"type": "string"},
            }
        },
    }


def csv_response(
    pseudonymous: bool,
    render: Callable[[str | bytes | None], str],
    action: str,
    record: Callable[[str], None],
    filename: str,
) -> Response:
    """A CSV export: ``render`` it with the pseudonym key (the app's secret) or
    none, ``record`` the audit ``action`` (``<action>_pseudonymous`` when
    pseudonymous), commit, and send it as an attachment. The rendering guards
    formulas (services/outcomes/export.py)."""
    key = current_app.config["SECRET_KEY"] if pseudonymous else None
    # The BOM makes spreadsheet programs read the file as UTF-8 (names with accents).
    body = "\ufeff" + render(key)
    record(f"{action}_pseudonymous" if key else action)
    db.session.commit()
    return Response(
        body,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
