"""Request parsing shared by every API blueprint.

One parser for all endpoints, so hostile input is refused in one place before
any schema sees it: NUL bytes (PostgreSQL cannot store them) and unpaired UTF-16
surrogates (they cannot be encoded) anywhere in a JSON body or query string,
and JSON nested so deep that decoding it would exhaust the stack.
"""

from __future__ import annotations

from typing import Any

import flask
from flask_smorest import Blueprint
from webargs import core
from webargs.flaskparser import FlaskParser

from ipt_groups.errors import ApiError

BAD_TEXT = "The request contains characters that are not allowed (NUL or unpaired surrogates)."


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ApiError(400, BAD_TEXT, code="bad_characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(400, BAD_TEXT, code="bad_characters") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


class SafeParser(FlaskParser):
    def _raw_load_json(self, req: flask.Request) -> Any:
        try:
            data = super()._raw_load_json(req)
        except RecursionError:
            raise ApiError(400, "The request body is nested too deeply.") from None
        if data is not core.missing:
            _check_text(data)
        return data

    def load_querystring(self, req: flask.Request, schema: Any) -> Any:
        for key, values in req.args.lists():
            _check_text(key)
            _check_text(values)
        return super().load_querystring(req, schema)


def _refuse_oversized_body() -> None:
    # Werkzeug checks MAX_CONTENT_LENGTH only when the body is read, so a view
    # that takes no body would accept a huge one; refuse it by its length.
    limit = flask.request.max_content_length
    length = flask.request.content_length
    if limit is not None and length is not None and length > limit:
        raise ApiError(413)


class ApiBlueprint(Blueprint):
    """flask-smorest's Blueprint with our parser and body size check; every API
    module uses this."""

    ARGUMENTS_PARSER = SafeParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(_refuse_oversized_body)
