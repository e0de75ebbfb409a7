"""The errors services raise: what the domain refused, never an HTTP status.

A service says *what* went wrong (``raise Conflict("This session is cancelled.",
code="session_cancelled")``); ``ipt_groups/errors.py`` alone decides how that
is answered over HTTP (the kind's status and the usual JSON envelope), and the
CLI prints the message. ``code`` is the stable machine word the front end looks
up as ``error.<code>`` in its strings; ``message`` is the English text people
read; ``fields`` maps a field to what is wrong with it.

The kinds are named like werkzeug's HTTP exceptions on purpose (they read as
a verdict at the raise site), hence no ``Error`` suffix.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A rule of the domain said no."""

    default_code: ClassVar[str] = "error"
    default_message: ClassVar[str] = "Error."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.code = code or self.default_code
        self.fields = fields
        # Seconds until trying again makes sense (a limit, a store that is away).
        self.retry_after = retry_after


class Invalid(DomainError):  # noqa: N818
    """The input breaks a rule (usually with ``fields``)."""

    default_code = "validation_error"
    default_message = "The request has invalid fields."


class Forbidden(DomainError):  # noqa: N818
    """This actor may not do this."""

    default_code = "forbidden"
    default_message = "You are not allowed to do this."


class NotFound(DomainError):  # noqa: N818
    """No such record (or not one this actor may see)."""

    default_code = "not_found"
    default_message = "Not found."


class Conflict(DomainError):  # noqa: N818
    """The record's current state does not allow it."""

    default_code = "conflict"
    default_message = "The request conflicts with the current state."


class Gone(DomainError):  # noqa: N818
    """It existed and is over (an expired invite, a used link)."""

    default_code = "error"
    default_message = "Error."


class Throttled(DomainError):  # noqa: N818
    """Too many attempts; ``retry_after`` says when to try again."""

    default_code = "too_many_requests"
    default_message = "Too many requests. Try again later."


class Unavailable(DomainError):  # noqa: N818
    """A store the rule needs is away (the rate-limit counters)."""

    default_code = "unavailable"
    default_message = "The service is temporarily unavailable."
