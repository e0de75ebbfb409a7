"""Each operation's ``security`` in the OpenAPI spec says what the gate asks for,
and each signed-in write lists the ``Idempotency-Key`` header it accepts.

The spec-wide default (session cookie and CSRF header) is right for writes only.
ipt_groups.security lets reads through with the session cookie alone and lets
anyone reach a ``@public`` view (sending the token only if they are logged in
and writing), so clients and generated tests would otherwise send a token where
none is needed, or log in where nobody has to.
"""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin
from flask import Flask

from ipt_groups.idempotency import HEADER
from ipt_groups.security import handler_for, is_public

SESSION = {"session": []}
SESSION_AND_CSRF = {"session": [], "csrf": []}
SAFE = frozenset({"get", "head", "options"})


class SecurityDoc(BasePlugin):
    """An apispec plugin: sets ``security`` on every operation as it is registered."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        view = self.app.view_functions[rule.endpoint]
        for method, operation in operations.items():
            public = is_public(handler_for(view, method))
            if method in SAFE:
                operation["security"] = [] if public else [SESSION]
            elif public:
                # Anyone; a logged-in caller still sends the token on a write.
                operation["security"] = [{}, SESSION_AND_CSRF]
            else:
                operation["security"] = [SESSION_AND_CSRF]
                # ipt_groups.idempotency honours the header on signed-in writes only.
                # (A component's name: apispec turns it into a $ref.) A malformed key
                # is refused with 422, so every such write documents that answer.
                operation.setdefault("parameters", []).append(HEADER)
                responses = operation.setdefault("responses", {})
                if 422 not in responses and "422" not in responses:
                    responses["422"] = "UNPROCESSABLE_ENTITY"
