"""API keys through the Flask test client (nothing here reaches Redis)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from app import create_app
from app.config import parse_keys
from app.http.auth import require_admin


def make_app(api_keys: str, admin_keys: str = "") -> Flask:
    app = create_app({"API_KEYS": parse_keys(api_keys), "ADMIN_KEYS": parse_keys(admin_keys)})

    @app.get("/ops/example")
    @require_admin
    def example() -> dict[str, Any]:
        return {"ok": True}

    return app


@pytest.fixture
def app() -> Flask:
    return make_app("alice:k-alice,bob:k-bob", "ops:k-ops")


@pytest.mark.parametrize(
    ("header", "invalid"),
    [(None, False), ("Bearer nope", True), ("Basic k-alice", True), ("Bearer k-ops", True)],
)
def test_requests_without_a_client_key_are_401(
    app: Flask, header: str | None, invalid: bool
) -> None:
    headers = {"Authorization": header} if header else {}
    resp = app.test_client().post("/api/reports", data="x", headers=headers)
    # 401 comes before any other check (here: the 415 of a non-JSON body)
    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"
    challenge = resp.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="async-reports"')
    assert ('error="invalid_token"' in challenge) is invalid


def test_a_client_key_opens_the_api(app: Flask) -> None:
    resp = app.test_client().get("/api/report-types", headers={"Authorization": "Bearer k-bob"})
    assert resp.status_code == 200 and resp.get_json()["items"]


def test_documentation_needs_a_key_like_every_api_request(app: Flask) -> None:
    # API.md: with keys configured, every /api request needs one
    client = app.test_client()
    assert client.get("/api/openapi.json").status_code == 401
    assert client.get("/api/docs").status_code == 401
    spec = client.get("/api/openapi.json", headers={"Authorization": "Bearer k-bob"})
    assert spec.status_code == 200 and spec.get_json()["security"] == [{"apiKey": []}]


def test_public_api_docs_opens_only_the_documentation() -> None:
    app = create_app({"API_KEYS": parse_keys("bob:k-bob"), "PUBLIC_API_DOCS": True})
    client = app.test_client()
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200 and spec.get_json()["security"] == [{"apiKey": []}]
    assert client.get("/api/docs").status_code == 200
    with client.get("/api/docs/assets/swagger-ui.css") as asset:  # closes the file
        assert asset.status_code == 200 and asset.mimetype == "text/css"
    assert client.get("/api/report-types").status_code == 401


def test_monitoring_needs_an_admin_key(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/ops/example").status_code == 401
    assert (
        client.get("/ops/example", headers={"Authorization": "Bearer k-alice"}).status_code == 401
    )
    ok = client.get("/ops/example", headers={"Authorization": "Bearer k-ops"})
    assert ok.status_code == 200 and ok.get_json() == {"ok": True}


def test_without_keys_everything_is_open_and_the_log_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app("")
    assert "API is OPEN" in caplog.text
    assert "security" not in app.test_client().get("/api/openapi.json").get_json()
    assert app.test_client().get("/ops/example").status_code == 200
    assert app.test_client().get("/api/report-types").status_code == 200


def test_monitoring_stays_closed_when_client_keys_are_set_but_no_admin_keys() -> None:
    # Given client keys and no admin keys (monitoring would see every client's jobs)
    app = make_app("alice:k-alice")
    client = app.test_client()
    # Then no key opens monitoring, not even a valid client key
    assert client.get("/ops/example").status_code == 401
    resp = client.get("/ops/example", headers={"Authorization": "Bearer k-alice"})
    assert resp.status_code == 401
    assert "ADMIN_API_KEYS" in resp.get_json()["detail"]
    assert client.get("/metrics", headers={"Authorization": "Bearer k-alice"}).status_code == 401
    assert client.get("/api/ops/workers").status_code == 401
