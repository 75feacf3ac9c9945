"""Every error is RFC 9457 problem details, never a stack trace (API.md, first section)."""

from __future__ import annotations

import pytest
import requests

from tests.contract.client import assert_problem
from tests.contract.conftest import Service

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no/such/path", 404),
        ("GET", "/api/nothing-here", 404),
        ("PUT", "/api/report-types", 405),
        ("PATCH", "/api/reports", 405),
        ("GET", "/api/reports/..%2F..%2Fetc%2Fpasswd/status", 404),
    ],
)
def test_routing_errors_are_problems(service: Service, method: str, path: str, status: int) -> None:
    resp = requests.request(method, service.base + path, timeout=10)
    assert_problem(resp, status)


@pytest.mark.parametrize(
    ("body", "allowed"),
    [
        (b'{"reportType":"yearly-sales","parameters":{"year":NaN}}', {400, 422}),
        (b'{"reportType":"yearly-sales","parameters":{"year":1e309}}', {400, 422}),
        (b'{"reportType":"yearly-sales","parameters":{"year":true}}', {422}),
        (b'{"reportType":123,"parameters":{"year":2023}}', {422}),
        (b'{"reportType":"yearly-sales","parameters":{"year":' + b"9" * 400 + b"}}", {422}),
        (b"null", {422}),
        (b'"yearly-sales"', {422}),
        (b'\xff\xfe{"reportType":1}', {400}),
        (b'{"reportType":"yearly-sales","parameters":null}', {422}),
    ],
    ids=[
        "nan",
        "inf",
        "bool",
        "type-number",
        "huge-int",
        "null",
        "string",
        "bad-utf8",
        "params-null",
    ],
)
def test_odd_bodies_are_client_errors_with_problems(
    service: Service, body: bytes, allowed: set[int]
) -> None:
    resp = requests.post(f"{service.base}/api/reports", data=body, headers=JSON, timeout=10)
    assert resp.status_code in allowed, f"{resp.status_code} {resp.text}"
    assert_problem(resp, resp.status_code)


def test_empty_json_body_is_malformed_json_400(service: Service) -> None:
    # API.md: "malformed JSON -> `400`"; an empty body is not a JSON text (RFC 8259).
    resp = requests.post(f"{service.base}/api/reports", data=b"", headers=JSON, timeout=10)
    assert_problem(resp, 400)


def test_deeply_nested_json_is_a_client_error_not_a_500(service: Service) -> None:
    # 10 000 bytes, well under the size limit: a bad request, to be rejected as such.
    body = b"[" * 5000 + b"]" * 5000
    resp = requests.post(f"{service.base}/api/reports", data=body, headers=JSON, timeout=10)
    assert resp.status_code in {400, 422}, f"{resp.status_code} {resp.text}"
    assert_problem(resp, resp.status_code)


def test_bad_download_format_is_a_problem(service: Service) -> None:
    resp = requests.post(
        f"{service.base}/api/reports",
        json={"reportType": "yearly-sales", "parameters": {"year": "2023"}},
        timeout=10,
    )
    url = service.base + resp.headers["Location"].replace("/status", "/download")
    got = requests.get(url, params={"format": "xml"}, timeout=10)
    assert 400 <= got.status_code < 500
    assert_problem(got, got.status_code)
