"""Hot reads answered from plain dicts instead of marshmallow dumps (issue 24).

A view decorated with ``@blp.response(200, Schema)`` keeps the schema for the
OpenAPI document and returns ``answer(body)``: flask-smorest passes a Response
through without dumping it. Each presenter here builds exactly what the schema
would dump (tests/test_lean_reads.py holds the two equal), at a fraction of
the cost: marshmallow walks every field of every object through several layers
of calls, a dict literal does not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, jsonify

from ipt_groups.models import User


def answer(body: Any) -> Response:
    return jsonify(body)


def iso(value: datetime | None) -> str | None:
    """What marshmallow's AwareDateTime dumps."""
    return None if value is None else value.isoformat()


def user(u: User) -> dict[str, Any]:
    """api.common.UserSchema's dump of ``u``."""
    return {
        "id": u.id,
        "email": u.email,
        "username": u.username,
        "display_name": u.display_name,
        "role": str(u.role),
        "language": u.language,
        "time_zone": u.time_zone,
        "active": u.is_active,
        "disabled_at": iso(u.disabled_at),
        "last_login_at": iso(u.last_login_at),
        "created_at": iso(u.created_at),
    }
