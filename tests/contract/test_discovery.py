"""Discovery: GET /api/report-types and the OpenAPI document (API.md)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from openapi_spec_validator import validate

from tests.contract.client import submit
from tests.contract.conftest import Service


@pytest.fixture(scope="module")
def openapi(service: Service) -> dict[str, Any]:
    resp = requests.get(f"{service.base}/api/openapi.json", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    doc: dict[str, Any] = resp.json()
    return doc


def _catalogue(service: Service) -> list[dict[str, Any]]:
    resp = requests.get(f"{service.base}/api/report-types", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    items = body["items"] if isinstance(body, dict) else body
    assert isinstance(items, list)
    return items


def test_report_types_list_name_description_parameter_schema_and_columns(service: Service) -> None:
    items = _catalogue(service)
    names = [t["name"] for t in items]
    assert "yearly-sales" in names
    assert len(names) == len(set(names))
    for t in items:
        assert isinstance(t["description"], str) and t["description"]
        assert isinstance(t["parameters"], dict)
        assert t["parameters"].get("type") == "object"
        assert isinstance(t["columns"], list) and t["columns"]
        assert all(isinstance(c, str) for c in t["columns"])
    yearly = next(t for t in items if t["name"] == "yearly-sales")
    assert "year" in yearly["parameters"]["properties"]
    assert "year" in yearly["parameters"].get("required", [])


def test_every_listed_report_type_is_accepted(service: Service) -> None:
    # A client may trust the catalogue: each listed type is one POST /api/reports accepts.
    examples = {
        "yearly-sales": {"year": "2023"},
        "monthly-sales": {"year": "2023", "month": 8},
        "top-products": {"from": "2023-01-01", "to": "2023-12-31"},
        "region-breakdown": {"year": "2023"},
    }
    for t in _catalogue(service):
        params = examples.get(t["name"])
        if params is None:
            continue
        resp = submit(service.base, {"reportType": t["name"], "parameters": params})
        assert resp.status_code == 202, (t["name"], resp.text)


def test_openapi_document_is_valid(openapi: dict[str, Any]) -> None:
    assert str(openapi["openapi"]).startswith("3.")
    validate(openapi)


def _operations(openapi: dict[str, Any]) -> set[tuple[str, str]]:
    ops = set()
    for path, item in openapi["paths"].items():
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                ops.add((method.upper(), path.replace("{job_id}", "{id}")))
    return ops


def _normalise(openapi: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m, re.sub(r"\{[^}]+\}", "{id}", p)) for m, p in _operations(openapi)}


def test_openapi_lists_the_submit_poll_download_and_catalogue_endpoints(
    openapi: dict[str, Any],
) -> None:
    # (GET /api/reports and DELETE are checked with their features: test_listing, test_cancel)
    listed = _normalise(openapi)
    wanted = {
        ("POST", "/api/reports"),
        ("GET", "/api/reports/{id}/status"),
        ("GET", "/api/reports/{id}/download"),
        ("GET", "/api/report-types"),
    }
    assert wanted <= listed, f"missing from OpenAPI: {sorted(wanted - listed)}"


def test_openapi_lists_the_operations_endpoints(openapi: dict[str, Any]) -> None:
    listed = _normalise(openapi)
    wanted = {("GET", "/healthz"), ("GET", "/readyz")}
    assert wanted <= listed, f"missing from OpenAPI: {sorted(wanted - listed)}"


def test_docs_page_is_served(service: Service) -> None:
    resp = requests.get(f"{service.base}/api/docs", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "/api/openapi.json" in resp.text
