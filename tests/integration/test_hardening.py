"""Inputs from an outside probe that once gave a 500 or passed when they should not:
each is now the contract's 4xx as problem+json, and leaves no job behind."""

from __future__ import annotations

import base64

import pytest
import redis
import requests

from devstack.stack import Stack
from tests.integration.hardening import assert_problem, job_keys
from tests.integration.raw_http import raw_exchange

pytestmark = pytest.mark.integration

HUGE = "9" * 5000


def submit_one(stack: Stack) -> str:
    resp = requests.post(
        f"{stack.base_url}/api/reports",
        json={"reportType": "noop", "parameters": {"steps": 1}},
        timeout=10,
    )
    assert resp.status_code == 202, resp.text
    return str(resp.headers["Location"])


def test_a_huge_prefer_wait_on_submit_is_ignored_not_a_500(
    stack: Stack, redis_client: redis.Redis
) -> None:
    # Given a Prefer: wait with five thousand digits
    resp = requests.post(
        f"{stack.base_url}/api/reports",
        json={"reportType": "noop", "parameters": {"steps": 1}},
        headers={"Prefer": f"wait={HUGE}"[:1000]},
        timeout=90,
    )
    # Then it is a wait capped at the maximum, never a 500, and the job has a Location
    assert resp.status_code in (200, 202), resp.text
    assert resp.headers["Location"].startswith("/api/reports/")


def test_a_prefer_over_the_documented_length_is_rejected_before_any_job(
    stack: Stack, redis_client: redis.Redis
) -> None:
    before = job_keys(redis_client)
    resp = requests.post(
        f"{stack.base_url}/api/reports",
        json={"reportType": "noop", "parameters": {"steps": 1}},
        headers={"Prefer": f"wait={HUGE}"},
        timeout=10,
    )
    problem = assert_problem(resp, 400)
    assert "Prefer" in problem["errors"]
    assert job_keys(redis_client) == before


def test_a_huge_prefer_wait_on_the_status_get_is_not_a_500(stack: Stack) -> None:
    location = submit_one(stack)
    resp = requests.get(
        f"{stack.base_url}{location}", headers={"Prefer": "wait=" + "9" * 900}, timeout=90
    )
    assert resp.status_code == 200, resp.text


def test_a_prefer_of_thousands_of_digits_on_the_status_get_is_a_400_problem(
    stack: Stack,
) -> None:
    # The probe's own case (the test above stays under the digit limit of int(), so it
    # passed before the fix too): five thousand digits were a 500 from int()
    location = submit_one(stack)
    resp = requests.get(
        f"{stack.base_url}{location}", headers={"Prefer": f"wait={HUGE}"}, timeout=30
    )
    assert "Prefer" in assert_problem(resp, 400)["errors"]


@pytest.mark.parametrize(
    "body",
    [
        '{"reportType": "yearly-sales", "parameters": {"year": ' + HUGE + "}}",
        '{"reportType": "yearly-sales", "parameters": {"year": 2023}, "x": ' + HUGE + "}",
        '{"reportType": "yearly-sales", "parameters": {"year": 1e999}}',
        '{"reportType": "yearly-sales", "parameters": {"year": "\\ud800"}}',
        '{"reportType": "top-products", "parameters": {"from": "2023-01-01", '
        '"to": "2023-02-01", "region": "\\udfff"}}',
        '{"reportType": "yearly-sales", "parameters": {"\\ud800": 1, "year": 2023}}',
    ],
)
@pytest.mark.parametrize("idempotency_key", [None, "k-unusable"])
def test_unusable_json_values_are_422_by_field_and_leave_nothing(
    stack: Stack, redis_client: redis.Redis, body: str, idempotency_key: str | None
) -> None:
    # Given a body with a number too long to convert or text that is not valid Unicode
    before = job_keys(redis_client)
    headers = {"Content-Type": "application/json"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    resp = requests.post(
        f"{stack.base_url}/api/reports", data=body.encode(), headers=headers, timeout=10
    )
    # Then it is a 422 naming the field, and no job exists
    problem = assert_problem(resp, 422)
    assert any(field.startswith(("parameters", "x")) for field in problem["errors"]), problem
    assert job_keys(redis_client) == before


def test_a_cursor_decoding_to_a_huge_integer_is_422(stack: Stack) -> None:
    text = "[" + "9" * 400 + ',"3f0c2f52-1d3b-4a7e-9b1c-2f0c2f521d3b"]'
    cursor = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    resp = requests.get(f"{stack.base_url}/api/reports", params={"cursor": cursor}, timeout=10)
    assert_problem(resp, 422)


def test_a_chunked_body_with_an_invalid_chunk_size_is_a_400_problem(
    stack: Stack, redis_client: redis.Redis
) -> None:
    before = job_keys(redis_client)
    answer = raw_exchange(
        stack,
        b"POST /api/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    )
    status_line, _, _ = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"400", answer
    assert b"application/problem+json" in answer
    assert job_keys(redis_client) == before


@pytest.mark.parametrize(
    "year",
    ["\u0662\u0660\u0662\u0663", "\uff12\uff10\uff12\uff13", " 2023 ", "2023 ", "+2023", "2_023"],
)
def test_years_other_than_ascii_digits_are_422(
    stack: Stack, redis_client: redis.Redis, year: str
) -> None:
    before = job_keys(redis_client)
    resp = requests.post(
        f"{stack.base_url}/api/reports",
        json={"reportType": "yearly-sales", "parameters": {"year": year}},
        timeout=10,
    )
    problem = assert_problem(resp, 422)
    assert "parameters.year" in problem["errors"]
    assert job_keys(redis_client) == before


@pytest.mark.parametrize(
    ("given", "echoed"),
    [
        ({"year": "02023"}, {"year": "2023"}),
        ({"year": 2023}, {"year": 2023}),
        ({"year": "2023", "quarter": "02"}, {"year": "2023", "quarter": "2"}),
    ],
)
def test_parameters_are_echoed_in_their_normalised_form(
    stack: Stack, given: dict, echoed: dict
) -> None:
    resp = requests.post(
        f"{stack.base_url}/api/reports",
        json={"reportType": "region-breakdown", "parameters": given},
        timeout=10,
    )
    assert resp.status_code == 202, resp.text
    assert resp.json()["parameters"] == echoed
    status = requests.get(f"{stack.base_url}{resp.headers['Location']}", timeout=10).json()
    assert status["parameters"] == echoed
