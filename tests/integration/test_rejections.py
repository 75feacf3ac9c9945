"""Bad input gets a clear problem+json error and leaves no job behind."""

from __future__ import annotations

import pytest
import redis
import requests

from devstack.stack import Stack
from jobs.celery_config import DEFAULT_QUEUE
from tests import brokers
from tests.integration.hardening import job_keys

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"


def queue_length(client: redis.Redis, stack: Stack) -> int:
    """Messages waiting in the stack's broker (its Redis, or RabbitMQ with TEST_BROKER)."""
    url = stack.env.get("CELERY_BROKER_URL")
    return brokers.waiting(url) if url else int(client.llen(DEFAULT_QUEUE))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reportType": "nope", "parameters": {}}, "reportType"),
        ({"parameters": {"year": 2023}}, "reportType"),
        ({"reportType": "yearly-sales", "parameters": {}}, "parameters.year"),
        ({"reportType": "yearly-sales", "parameters": {"year": "twenty"}}, "parameters.year"),
        ({"reportType": "yearly-sales", "parameters": {"year": 99999}}, "parameters.year"),
        ({"reportType": "yearly-sales", "parameters": {"year": 2023.5}}, "parameters.year"),
        ({"reportType": "yearly-sales", "parameters": {"year": True}}, "parameters.year"),
        ({"reportType": "yearly-sales", "parameters": {"year": 2023, "x": 1}}, "parameters.x"),
        ({"reportType": "yearly-sales", "parameters": "2023"}, "parameters"),
        (
            {"reportType": "monthly-sales", "parameters": {"year": 2023, "month": 13}},
            "parameters.month",
        ),
        (
            {
                "reportType": "top-products",
                "parameters": {"from": "2023-05-01", "to": "2023-01-01"},
            },
            "parameters.to",
        ),
        (
            {
                "reportType": "top-products",
                "parameters": {"from": "2023-01-01", "to": "2023-02-01", "limit": 10**9},
            },
            "parameters.limit",
        ),
        (
            {"reportType": "region-breakdown", "parameters": {"year": 2023, "quarter": 5}},
            "parameters.quarter",
        ),
    ],
)
def test_invalid_bodies_are_422_by_field_and_nothing_is_queued(
    stack: Stack, redis_client: redis.Redis, body: dict, field: str
) -> None:
    before, queued = job_keys(redis_client), queue_length(redis_client, stack)
    resp = requests.post(f"{stack.base_url}/api/reports", json=body, timeout=10)
    assert resp.status_code == 422, resp.text
    assert resp.headers["Content-Type"] == PROBLEM
    problem = resp.json()
    assert problem["status"] == 422 and problem["instance"] == "/api/reports"
    assert field in problem["errors"], problem
    assert all(isinstance(m, str) and m for m in problem["errors"][field])
    assert job_keys(redis_client) == before and queue_length(redis_client, stack) == queued


def test_malformed_json_is_400(stack: Stack, redis_client: redis.Redis) -> None:
    before = job_keys(redis_client)
    resp = requests.post(
        f"{stack.base_url}/api/reports",
        data='{"reportType": ',
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert resp.status_code == 400
    assert resp.headers["Content-Type"] == PROBLEM
    assert "JSON" in resp.json()["detail"]
    assert job_keys(redis_client) == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_json_is_415(
    stack: Stack, redis_client: redis.Redis, content_type: str | None
) -> None:
    before = job_keys(redis_client)
    headers = {"Content-Type": content_type} if content_type else {}
    resp = requests.post(
        f"{stack.base_url}/api/reports", data="reportType=yearly-sales", headers=headers, timeout=10
    )
    assert resp.status_code == 415
    assert resp.headers["Content-Type"] == PROBLEM
    assert "application/json" in resp.json()["detail"]
    assert job_keys(redis_client) == before


def test_oversized_body_is_413(stack: Stack, redis_client: redis.Redis) -> None:
    before = job_keys(redis_client)
    body = '{"reportType": "yearly-sales", "parameters": {"year": "' + "9" * 100_000 + '"}}'
    resp = requests.post(
        f"{stack.base_url}/api/reports",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert resp.status_code == 413
    assert resp.headers["Content-Type"] == PROBLEM
    assert job_keys(redis_client) == before


def test_no_error_leaks_a_traceback(stack: Stack) -> None:
    for method, path in [
        ("GET", "/api/nowhere"),
        ("DELETE", "/api/report-types"),
        ("PUT", "/api/reports"),
    ]:
        resp = requests.request(method, stack.base_url + path, timeout=10)
        assert resp.status_code in {404, 405}
        assert resp.headers["Content-Type"] == PROBLEM
        assert "Traceback" not in resp.text
