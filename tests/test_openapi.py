"""The OpenAPI spec and the docs page, served without internet."""

from __future__ import annotations

import re

from tests.conftest import ApiClient


def test_spec_documents_the_api(client: ApiClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path, methods in {
        "/api/auth/login": {"post"},
        "/api/auth/logout": {"post"},
        "/api/auth/csrf": {"get"},
        "/api/me": {"get", "patch"},
        "/api/users": {"get", "post"},
        "/api/users/{user_id}": {"get", "patch"},
        "/api/users/{user_id}/disable": {"post"},
    }.items():
        assert methods <= set(paths[path]), path
    schemes = spec["components"]["securitySchemes"]
    assert schemes["csrf"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-Token",
        "description": schemes["csrf"]["description"],
    }
    error = spec["components"]["schemas"]["Error"]
    assert "error" in error["properties"]


def test_every_signed_in_write_documents_the_idempotency_key(client: ApiClient) -> None:
    spec = client.get("/api/openapi.json").json
    header = spec["components"]["parameters"]["Idempotency-Key"]
    assert header["in"] == "header" and header["name"] == "Idempotency-Key"
    assert header["schema"]["pattern"] == "^[A-Za-z0-9_-]{8,64}$"
    ref = {"$ref": "#/components/parameters/Idempotency-Key"}
    with_key, without = set(), set()
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            if method == "parameters":  # the path's own (ids), not an operation
                continue
            (with_key if ref in op.get("parameters", []) else without).add((method, path))
    # Writes that need a session carry it; reads and public writes (where the
    # server ignores it) do not.
    assert {("put", "/api/sessions/{session_id}/attendance"), ("patch", "/api/me")} <= with_key
    assert {("get", "/api/me"), ("post", "/api/auth/login")} <= without
    assert all(method != "get" for method, _ in with_key)
    # A malformed key is refused with 422, documented even where there is no body.
    disable = spec["paths"]["/api/users/{user_id}/disable"]["post"]
    assert disable["responses"]["422"] == {"$ref": "#/components/responses/UNPROCESSABLE_ENTITY"}


def test_docs_page_loads_only_local_assets(client: ApiClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs, html
    assert all(ref.startswith("/api/docs/") for ref in refs), refs
    assert "<script>" not in html  # no inline script (CSP-ready)
    for ref in refs:
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.get_data()) > 100
    bundle = client.get("/api/docs/assets/swagger-ui-bundle.js").get_data(as_text=True)
    assert "SwaggerUIBundle" in bundle


def test_every_list_of_objects_in_the_spec_says_what_the_objects_hold(client: ApiClient) -> None:
    # A bare List(Dict()) documents "an array of anything": clients generated
    # from the spec get no fields (the fidelity and supervision answers had four).
    schemas = client.get("/api/openapi.json").json["components"]["schemas"]
    untyped = [
        (name, prop)
        for name, schema in schemas.items()
        for prop, field in schema.get("properties", {}).items()
        if field.get("type") == "array"
        and field.get("items", {}).get("type") == "object"
        and "properties" not in field["items"]
    ]
    assert untyped == []
    log = schemas["SupervisionLog"]["properties"]["facilitators"]["items"]
    assert log == {"$ref": "#/components/schemas/SupervisionFacilitator"}
    answer = schemas["FidelityRecordedAnswer"]["properties"]
    assert set(answer) == {"key", "enrolment_id", "answer", "comment"}
