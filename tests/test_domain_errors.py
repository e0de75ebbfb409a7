"""Services' domain errors answer with the same envelope ApiError gave.

errors.py alone maps each kind to its status; a kind's default code and
message are the ones that status had, so a bare ``raise NotFound()`` answers
exactly as ``raise ApiError(404)`` did.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from ipt_groups.domain import Conflict, DomainError, Invalid, NotFound, Throttled, Unavailable
from ipt_groups.errors import DEFAULT_MESSAGES, DOMAIN_STATUS, STATUS_CODES, ApiError


@pytest.mark.parametrize("kind", sorted(DOMAIN_STATUS, key=DOMAIN_STATUS.get), ids=str)
def test_each_kind_defaults_to_what_its_status_said(kind: type[DomainError]) -> None:
    status = DOMAIN_STATUS[kind]
    old = ApiError(status)
    new = kind()
    assert (new.code, new.message) == (old.code, old.message)
    assert new.code == STATUS_CODES.get(status, "error")
    assert new.message == DEFAULT_MESSAGES.get(status, "Error.")


def _answer(app: Flask, error: Exception) -> tuple[int, bytes, str | None]:
    """What the app's registered handler answers for ``error``."""
    with app.test_request_context("/api/anything"):
        response = app.make_response(app.handle_user_exception(error))
    return response.status_code, response.get_data(), response.headers.get("Retry-After")


def test_the_envelope_is_byte_identical(tmp_path: Path) -> None:
    from tests.conftest import make_app

    app = make_app(tmp_path)
    pairs = [
        (NotFound(), ApiError(404)),
        (NotFound("No such programme.", code="x"), ApiError(404, "No such programme.", code="x")),
        (Throttled(retry_after=7), ApiError(429, headers={"Retry-After": "7"})),
        (Unavailable(retry_after=30), ApiError(503, headers={"Retry-After": "30"})),
        (
            Invalid("Bad.", fields={"email": ["No."]}),
            ApiError(422, "Bad.", fields={"email": ["No."]}),
        ),
        (Conflict("Taken.", code="key_taken"), ApiError(409, "Taken.", code="key_taken")),
    ]
    assert _answer(app, NotFound())[0] == 404
    for new, old in pairs:
        assert _answer(app, new) == _answer(app, old)
