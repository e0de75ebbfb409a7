"""Each operation's ``security`` in the OpenAPI spec says what the gate asks for.

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
        view_class = getattr(view, "view_class", None)
        for method, operation in operations.items():
            handler = getattr(view_class, method, None) if view_class is not None else view
            # The flag ipt_groups.security.public sets on a view.
            public = getattr(handler, "_ipt_public", False)
            if method in SAFE:
                operation["security"] = [] if public else [SESSION]
            elif public:
                # Anyone; a logged-in caller still sends the token on a write.
                operation["security"] = [{}, SESSION_AND_CSRF]
            else:
                operation["security"] = [SESSION_AND_CSRF]
