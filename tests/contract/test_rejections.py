"""Rejected submissions (API.md): 422 with `errors` by field, 400, 415, 413; nothing left behind."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.contract.client import assert_problem
from tests.contract.conftest import Service
from tests.contract.redis_snapshot import snapshot

INVALID: list[tuple[str, Any, str]] = [
    (
        "unknown report type",
        {"reportType": "no-such-report", "parameters": {"year": "2023"}},
        "reportType",
    ),
    ("missing report type", {"parameters": {"year": "2023"}}, "reportType"),
    ("missing parameters", {"reportType": "yearly-sales"}, "parameters"),
    ("missing year", {"reportType": "yearly-sales", "parameters": {}}, "year"),
    ("year not a number", {"reportType": "yearly-sales", "parameters": {"year": "abc"}}, "year"),
    ("year too small", {"reportType": "yearly-sales", "parameters": {"year": 1969}}, "year"),
    ("year too large", {"reportType": "yearly-sales", "parameters": {"year": "2101"}}, "year"),
    ("year not an integer", {"reportType": "yearly-sales", "parameters": {"year": 2023.5}}, "year"),
    (
        "parameters not an object",
        {"reportType": "yearly-sales", "parameters": "2023"},
        "parameters",
    ),
    (
        "unknown parameter",
        {"reportType": "yearly-sales", "parameters": {"year": 2023, "x": 1}},
        "x",
    ),
]


def _post_raw(base: str, data: bytes, content_type: str | None) -> requests.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    return requests.post(f"{base}/api/reports", data=data, headers=headers, timeout=10)


@pytest.mark.parametrize(("case", "body", "field"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_request_is_422_with_errors_by_field(
    idle_service: Service, case: str, body: Any, field: str
) -> None:
    resp = requests.post(f"{idle_service.base}/api/reports", json=body, timeout=10)
    problem = assert_problem(resp, 422)
    errors = problem.get("errors")
    assert isinstance(errors, dict) and errors, problem
    for name, messages in errors.items():
        assert isinstance(name, str)
        assert isinstance(messages, list) and messages, errors
        assert all(isinstance(m, str) and m for m in messages), errors
    # the offending field is named (possibly as a path such as parameters.year)
    assert any(field in name for name in errors), f"{field!r} not in {errors}"


def test_malformed_json_is_400(idle_service: Service) -> None:
    resp = _post_raw(
        idle_service.base, b'{"reportType": "yearly-sales", "parameters": ', "application/json"
    )
    assert_problem(resp, 400)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"reportType=yearly-sales&year=2023", "application/x-www-form-urlencoded"),
        (b"yearly-sales 2023", "text/plain"),
        (b"<report type='yearly-sales'/>", "application/xml"),
    ],
    ids=["form", "text", "xml"],
)
def test_body_that_is_not_json_is_415(
    idle_service: Service, data: bytes, content_type: str
) -> None:
    assert_problem(_post_raw(idle_service.base, data, content_type), 415)


def test_body_over_the_limit_is_413(idle_service: Service) -> None:
    body = {"reportType": "yearly-sales", "parameters": {"year": "2023", "note": "x" * 1_000_000}}
    resp = _post_raw(idle_service.base, json.dumps(body).encode(), "application/json")
    assert_problem(resp, 413)


def test_chunked_body_over_the_limit_is_413(idle_service: Service) -> None:
    # A client streaming its body (Transfer-Encoding: chunked) sends no Content-Length.
    body = json.dumps(
        {"reportType": "yearly-sales", "parameters": {"year": "2023", "n": "x" * 20_000}}
    )
    data = body.encode()
    resp = requests.post(
        f"{idle_service.base}/api/reports",
        data=iter([data[:10_000], data[10_000:]]),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert resp.request.headers.get("Transfer-Encoding") == "chunked"
    assert_problem(resp, 413)


def test_small_chunked_body_is_accepted(idle_service: Service) -> None:
    data = json.dumps({"reportType": "yearly-sales", "parameters": {"year": "2023"}}).encode()
    resp = requests.post(
        f"{idle_service.base}/api/reports",
        data=iter([data[:10], data[10:]]),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert resp.status_code == 202, resp.text


def test_rejected_requests_leave_no_job_behind(idle_service: Service) -> None:
    # Given the state of the service's Redis (broker and store) before
    before = snapshot(idle_service.redis_url)
    # When every kind of rejected request is sent
    base = idle_service.base
    for _, body, _ in INVALID:
        assert requests.post(f"{base}/api/reports", json=body, timeout=10).status_code == 422
    assert _post_raw(base, b"{not json", "application/json").status_code == 400
    assert _post_raw(base, b"hello", "text/plain").status_code == 415
    big = json.dumps({"reportType": "yearly-sales", "parameters": {"p": "x" * 1_000_000}})
    assert _post_raw(base, big.encode(), "application/json").status_code == 413
    # Then no key was added or changed: no record, no queued message
    assert snapshot(idle_service.redis_url) == before
