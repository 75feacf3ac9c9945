"""What the hardening tests share (tests/integration/test_hardening*.py): the problem+json
check, and the job traces a rejected probe must not leave behind."""

from __future__ import annotations

import redis
import requests

from jobs.celery_config import DEFAULT_QUEUE
from jobs.store.keys import Keys

PROBLEM = "application/problem+json"


def job_keys(client: redis.Redis) -> set[bytes]:
    """Every job record and every queued message."""
    return (
        set(client.keys(Keys().job("*")))
        | set(client.keys("celery-task-meta-*"))
        | {bytes(m) for m in client.lrange(DEFAULT_QUEUE, 0, -1)}
    )


def assert_problem(resp: requests.Response, status: int) -> dict:
    """`resp` is a problem+json answer of `status`; its document."""
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == PROBLEM
    problem = resp.json()
    assert problem["status"] == status
    return problem
