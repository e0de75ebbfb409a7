"""Every error is the same JSON envelope; bad input never gives a 500."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.conftest import ApiClient, make_app


def envelope(response: Any) -> dict[str, Any]:
    assert response.mimetype == "application/json"
    body = response.json
    assert set(body) == {"error"}
    assert {"status", "code", "message"} <= set(body["error"])
    assert body["error"]["status"] == response.status_code
    return body["error"]


def test_404_envelope(client: ApiClient) -> None:
    for path in ("/api/no-such-thing", "/no-such-page"):
        error = envelope(client.get(path))
        assert error["code"] == "not_found"


def test_405_envelope_keeps_allow(as_role: Any) -> None:
    admin: ApiClient = as_role("admin")
    response = admin.delete("/api/me")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "PATCH"}
    assert envelope(response)["code"] == "method_not_allowed"


def test_422_names_each_field(as_role: Any) -> None:
    admin: ApiClient = as_role("admin")
    response = admin.post(
        "/api/users",
        json={
            "email": "not-an-email",
            "display_name": 12,
            "role": "facilitator",
            "password": "x" * 20,
            "colour": "red",
        },
    )
    error = envelope(response)
    assert response.status_code == 422
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == {"email", "display_name", "colour"}
    assert error["fields"]["colour"] == ["Unknown field."]
    query = admin.get("/api/users?page=zero")
    assert query.status_code == 422 and "query.page" in envelope(query)["fields"]


def test_malformed_json_is_400(client: ApiClient, users: dict[str, int]) -> None:
    response = client.client.post(
        "/api/auth/login", data="{not json", content_type="application/json"
    )
    error = envelope(response)
    assert response.status_code == 400
    assert "JSON" in error["message"]


def test_oversized_body_is_413(client: ApiClient, users: dict[str, int]) -> None:
    huge = "x" * (1024 * 1024 + 10)
    response = client.client.post(
        "/api/auth/login", json={"email": "a@test.example", "password": huge}
    )
    assert response.status_code == 413
    assert envelope(response)["code"] == "payload_too_large"


def test_unexpected_exception_is_a_json_500_without_traceback(tmp_path: Any) -> None:
    app: Flask = make_app(tmp_path)

    @app.get("/api/explode")
    def explode() -> None:
        raise RuntimeError("secret internals")

    # Mark it public so the login gate lets an anonymous client reach it.
    explode._ipt_public = True  # type: ignore[attr-defined]
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as outside the test suite
    response = app.test_client().get("/api/explode")
    error = envelope(response)
    assert response.status_code == 500
    assert error["code"] == "internal_error"
    assert "secret internals" not in response.get_data(as_text=True)


def assert_414(response: Any) -> None:
    assert response.status_code == 414
    message = "The address (URL) is too long."
    assert response.json == {"error": {"status": 414, "code": "uri_too_long", "message": message}}
    # The same headers as every other answer.
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_a_too_long_url_is_a_json_414_with_the_security_headers(client: ApiClient) -> None:
    long_query = client.get("/api/me?q=" + "x" * 5000)
    assert_414(long_query)
    assert long_query.headers["Cache-Control"] == "no-store"
    assert_414(client.get("/api/" + "a" * 5000))  # a long path: 414, not 404
    assert_414(client.get("/" + "a" * 5000))  # outside the API too
    assert_414(client.post("/api/auth/login?" + "y" * 4200, json={}))  # before the gate
    # Up to 4096 bytes of path and query is served as usual.
    just_fits = "/api/me?q=" + "x" * (4096 - len("/api/me?q="))
    assert client.get(just_fits).status_code == 401
