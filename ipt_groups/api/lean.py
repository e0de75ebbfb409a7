"""Hot reads dumped by a compiled function instead of marshmallow (issue 24).

``lean_response(blp, 200, Schema)`` documents the view with ``Schema`` exactly
as ``@blp.response`` does (the OpenAPI document does not change), but dumps the
view's result with a plain function compiled from that schema once, at import:
per field one lookup and one conversion (``str``, ``int``, ``isoformat``...),
where ``Schema.dump`` goes through several layers of calls per field and
re-resolves nested schemas on every object. On the runner that walk was ~8% of
the request's time and on the member's schedule ~10% (bench/scale/profile_reads.py).

The compiled dump must answer what marshmallow would, key for key. Field types
it does not know (or a subclass with its own ``_serialize``) are handed to the
field's own ``_serialize``, so they stay right, only not faster. Under the test
configuration (``TESTING``) every answer is also dumped by marshmallow and the
two compared, so each test of an endpoint that uses this checks it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import marshmallow as ma
from flask import Response, current_app, jsonify
from marshmallow import fields
from marshmallow.constants import missing
from marshmallow.utils import get_value

Dump = Callable[[Any], Any]


def _value(field: fields.Field) -> Dump:
    """A function from the attribute's value to what ``field`` dumps."""
    kind = type(field)
    own = kind._serialize

    def same(base: type) -> bool:
        return isinstance(field, base) and own is base._serialize

    if same(fields.Nested) and not isinstance(field, fields.Pluck):
        inner = _schema_dump(field.schema)
        many = field.schema.many or field.many
        if many:
            return lambda v: None if v is None else [inner(x) for x in v]
        return lambda v: None if v is None else inner(v)
    if same(fields.List):
        each = _value(field.inner)
        return lambda v: None if v is None else [each(x) for x in v]
    if same(fields.String) or (isinstance(field, fields.Email) and own is fields.String._serialize):
        return lambda v: None if v is None else (v if type(v) is str else str(v))
    if same(fields.Integer) and not field.as_string:
        return lambda v: None if v is None else (v if type(v) is int else int(v))
    if same(fields.Float) and not field.as_string:
        return lambda v: None if v is None else float(v)
    if same(fields.Boolean):
        slow = field._serialize
        return lambda v: v if v is None or type(v) is bool else slow(v, None, None)
    temporal = fields._TemporalField  # DateTime, AwareDateTime, NaiveDateTime, Date, Time
    if same(temporal) and (field.format or field.DEFAULT_FORMAT) in ("iso", "iso8601"):
        return lambda v: None if v is None else v.isoformat()
    if same(fields.Dict) and field.key_field is None and field.value_field is None:
        return lambda v: None if v is None else dict(v)
    if kind is fields.Raw or kind is fields.Field:
        return lambda v: v
    slow = field._serialize
    return lambda v: slow(v, None, None)


def _getter(key: str) -> Callable[[Any], Any]:
    """marshmallow's get_value for one plain key, without its general path."""
    if "." in key:
        return lambda obj: get_value(obj, key)

    def get(obj: Any) -> Any:
        if type(obj) is dict and key in obj:
            return obj[key]
        return get_value(obj, key)

    return get


def _whole(obj: Any) -> Any:
    return obj


def _from_object(field: fields.Field, name: str) -> Dump:
    """What a field computed from the whole object dumps (marshmallow passes it no value)."""
    serialize = field._serialize
    return lambda obj: serialize(None, name, obj)


_compiled: dict[int, tuple[ma.Schema, Dump]] = {}


def _schema_dump(schema: ma.Schema) -> Dump:
    """A function doing ``schema.dump(obj)`` (one object; ``many`` is the caller's)."""
    hit = _compiled.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    hooks = any(schema._hooks.get(k) for k in ("pre_dump", "post_dump"))
    if hooks or type(schema).get_attribute is not ma.Schema.get_attribute:

        def slow(obj: Any) -> Any:
            return schema.dump(obj, many=False)

        _compiled[id(schema)] = (schema, slow)
        return slow
    plan = []
    for name, field in schema.dump_fields.items():
        key = field.data_key if field.data_key is not None else name
        default = field.dump_default
        if not field._CHECK_ATTRIBUTE:
            # fields.Method / Function and api/derived.py: the value is worked out
            # from the whole object, so hand the object to the field itself.
            plan.append((key, _whole, _from_object(field, name), missing))
            continue
        plan.append((key, _getter(field.attribute or name), _value(field), default))

    def dump(obj: Any) -> dict[str, Any]:
        out = {}
        for key, get, conv, default in plan:
            v = get(obj)
            if v is missing:
                if default is missing:
                    continue
                v = default() if callable(default) else default
            out[key] = conv(v)
        return out

    _compiled[id(schema)] = (schema, dump)
    return dump


def compile_dump(schema: type[ma.Schema] | ma.Schema) -> Dump:
    """A function doing ``schema.dump(result)``, ``many`` included."""
    instance = schema() if isinstance(schema, type) else schema
    one = _schema_dump(instance)
    if instance.many:
        return lambda result: [one(x) for x in result]
    return one


def checked_dump(schema: type[ma.Schema] | ma.Schema) -> Dump:
    """``compile_dump(schema)``; under TESTING also held equal to marshmallow's dump."""
    dump = compile_dump(schema)
    instance = schema() if isinstance(schema, type) else schema

    def run(result: Any) -> Any:
        body = dump(result)
        if current_app.testing:
            expected = instance.dump(result)
            if body != expected:
                name = type(instance).__name__
                raise AssertionError(f"lean dump differs from {name}: {body!r} != {expected!r}")
        return body

    return run


def lean_response(blp: Any, status: int, schema: type[ma.Schema] | ma.Schema, **kwargs: Any) -> Any:
    """``@blp.response(status, schema)``, dumped by the compiled function."""
    documented = blp.response(status, schema, **kwargs)
    dump = checked_dump(schema)

    def decorator(fn: Callable[..., Any]) -> Any:
        @wraps(fn)
        def lean(*args: Any, **kw: Any) -> Any:
            result = fn(*args, **kw)
            if isinstance(result, (Response, tuple)):
                return result  # flask-smorest handles these as before
            response = jsonify(dump(result))
            response.status_code = status
            return response

        return documented(lean)

    return decorator


__all__ = ["checked_dump", "compile_dump", "lean_response"]
