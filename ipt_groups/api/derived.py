"""Response fields worked out from the whole object a schema dumps (issue 25).

``derived(ma.fields.AwareDateTime, lambda s: utc_to_local(...), allow_none=True)``
is what ``fields.Function`` is, but typed: the value ``fn(obj)`` goes through the
base field's own conversion, and the OpenAPI document describes the field as the
base field (``fields.Function`` and ``fields.Method`` document no type, and are
read-only). So a schema can dump a model or a dataclass itself, and the view
returns the object, instead of a ``present_*`` builder listing the fields again.

api/lean.py's compiled dump hands these fields the whole object, as marshmallow
does, so schemas served through it may use them too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

import marshmallow as ma

F = TypeVar("F", bound=ma.fields.Field)


class Derived:
    """Mixed in before a field class: the value is ``fn(obj)``, not an attribute."""

    _CHECK_ATTRIBUTE = False  # marshmallow then passes the object, not a value

    def __init__(self, fn: Callable[[Any], Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fn = fn

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return super()._serialize(self.fn(obj), attr, obj, **kwargs)  # type: ignore[misc]


@cache
def _kind(base: type[ma.fields.Field]) -> type[ma.fields.Field]:
    return type(f"Derived{base.__name__}", (Derived, base), {})


def derived(base: type[F], fn: Callable[[Any], Any], *args: Any, **kwargs: Any) -> F:
    """A ``base`` field (``*args``/``**kwargs`` are its own) whose value is ``fn(obj)``."""
    return _kind(base)(fn, *args, **kwargs)  # type: ignore[return-value]


__all__ = ["Derived", "derived"]
