"""What the hardening tests share (tests/integration/test_hardening*.py): the problem+json
check, and the job traces a rejected probe must not leave behind."""

from __future__ import annotations

import json

import redis
import requests

from jobs.celery_config import DEFAULT_QUEUE
from jobs.store.keys import CELERY_META_PREFIX, Keys

PROBLEM = "application/problem+json"


def job_keys(client: redis.Redis) -> set[str]:
    """What a job leaves behind: its record, and a Celery result or a queued message of
    a job without a record (a leak). The results and messages of jobs that have records
    are left out: on the shared stack an earlier test's job may finish, or be handed to
    the broker, while a probe runs; a probe that leaves nothing leaves this set as it was."""
    prefix = Keys().job("")
    records = {text(key) for key in client.keys(prefix + "*")}
    ids = {key[len(prefix) :] for key in records}
    metas = {text(key) for key in client.keys(CELERY_META_PREFIX + "*")}
    messages = {json.loads(m)["headers"]["id"] for m in client.lrange(DEFAULT_QUEUE, 0, -1)}
    return (
        records
        | {meta for meta in metas if meta[len(CELERY_META_PREFIX) :] not in ids}
        | {f"message:{job_id}" for job_id in messages if job_id not in ids}
    )


def text(value: str | bytes) -> str:
    """A key as text, whether the client decodes replies or not."""
    return value.decode() if isinstance(value, bytes) else value


def assert_problem(resp: requests.Response, status: int) -> dict:
    """`resp` is a problem+json answer of `status`; its document."""
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == PROBLEM
    problem = resp.json()
    assert problem["status"] == status
    return problem
