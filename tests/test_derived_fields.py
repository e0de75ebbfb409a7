"""Schemas that dump models through ``derived`` fields (api/derived.py, issue 25):
the value is worked out from the whole object, converted as the base field
converts, and documented in the OpenAPI spec as the base field."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import marshmallow as ma

from ipt_groups.api.derived import Derived, derived
from tests.conftest import ApiClient


class _Slot(ma.Schema):
    starts_at = ma.fields.AwareDateTime()
    ends_at = derived(
        ma.fields.AwareDateTime,
        lambda s: None if s.starts_at is None else s.starts_at.replace(hour=s.starts_at.hour + 1),
        allow_none=True,
    )
    hours = derived(ma.fields.List, lambda s: [s.starts_at.hour, "x"], ma.fields.String())


def test_a_derived_field_dumps_what_its_function_gives_as_its_base_field_would() -> None:
    slot = SimpleNamespace(starts_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    assert _Slot().dump(slot) == {
        "starts_at": "2026-03-02T09:00:00+00:00",
        "ends_at": "2026-03-02T10:00:00+00:00",
        "hours": ["9", "x"],  # through the inner String field
    }
    empty = SimpleNamespace(starts_at=None)
    assert _Slot(only=("starts_at", "ends_at")).dump(empty) == {"starts_at": None, "ends_at": None}
    assert isinstance(_Slot._declared_fields["ends_at"], ma.fields.AwareDateTime)
    assert isinstance(_Slot._declared_fields["ends_at"], Derived)


def test_the_spec_types_derived_fields_as_their_base_fields(client: ApiClient) -> None:
    schemas = client.get("/api/openapi.json").json["components"]["schemas"]
    # Not read-only unless asked, unlike fields.Method / fields.Function.
    assert schemas["Invite"]["properties"]["state"] == {
        "type": "string",
        "description": "pending, used, revoked or expired",
    }
    assert schemas["Meeting"]["properties"]["local_starts_at"] == {
        "type": "string",
        "format": "date-time",
        "nullable": True,
        "readOnly": True,
    }
    assert schemas["Instrument"]["properties"]["shipped"] == {"type": "boolean", "readOnly": True}
    item = schemas["LibraryItem"]["properties"]
    assert item["languages"] == {"type": "array", "items": {"type": "string"}}
    assert item["translations"]["items"] == {"$ref": "#/components/schemas/ContentVersion"}
