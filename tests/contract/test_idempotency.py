"""Idempotency-Key on POST /api/reports (API.md, "Submitting a job")."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from tests import brokers
from tests.contract.client import SEED_BODY, assert_problem, job_id, submit
from tests.contract.conftest import Service
from tests.contract.redis_snapshot import backlog_entries, queued_messages

ROUNDS = 5


def waiting(service: Service) -> int:
    """Jobs waiting: messages in the service's broker (Redis lists, or its RabbitMQ
    queue), plus those in the clients' backlogs (fair sharing hands a few at a time)."""
    url = service.extra.get("CELERY_BROKER_URL")
    broker = brokers.waiting(url) if url else queued_messages(service.redis_url)
    return broker + backlog_entries(service.redis_url)


def test_repeat_with_same_key_and_body_returns_the_same_job(idle_service: Service) -> None:
    key = {"Idempotency-Key": f"contract-{uuid.uuid4()}"}
    first = submit(idle_service.base, headers=key)
    assert first.status_code == 202, first.text
    queued = waiting(idle_service)
    again = submit(idle_service.base, headers=key)
    assert again.status_code in {200, 202}, again.text
    assert again.headers["Location"] == first.headers["Location"]
    assert again.json()["id"] == job_id(first)
    # no second job was queued
    assert waiting(idle_service) == queued


def test_same_key_with_a_different_body_is_422(idle_service: Service) -> None:
    key = {"Idempotency-Key": f"contract-{uuid.uuid4()}"}
    assert submit(idle_service.base, headers=key).status_code == 202
    other = {"reportType": "yearly-sales", "parameters": {"year": "2022"}}
    queued = waiting(idle_service)
    assert_problem(submit(idle_service.base, other, headers=key), 422)
    assert waiting(idle_service) == queued


def test_different_keys_make_different_jobs(idle_service: Service) -> None:
    a = submit(idle_service.base, headers={"Idempotency-Key": f"contract-{uuid.uuid4()}"})
    b = submit(idle_service.base, headers={"Idempotency-Key": f"contract-{uuid.uuid4()}"})
    assert a.status_code == b.status_code == 202
    assert job_id(a) != job_id(b)


def test_a_key_keeps_naming_its_job_on_every_repeat(idle_service: Service) -> None:
    key = {"Idempotency-Key": f"contract-{uuid.uuid4()}"}
    first = submit(idle_service.base, SEED_BODY, headers=key)
    for _ in range(3):
        assert (
            submit(idle_service.base, SEED_BODY, headers=key).headers["Location"]
            == (first.headers["Location"])
        )


def test_racing_repeats_with_one_key_make_one_job(idle_service: Service) -> None:
    for _ in range(ROUNDS):
        # Given ten clients sending the same key and body at the same moment (no-cache:
        # each round is a computation of its own, not one following the round before)
        key = {"Idempotency-Key": f"contract-{uuid.uuid4()}", "Cache-Control": "no-cache"}
        queued = waiting(idle_service)
        barrier = threading.Barrier(10)

        def post(
            key: dict[str, str] = key, barrier: threading.Barrier = barrier
        ) -> requests.Response:
            barrier.wait(10)
            return submit(idle_service.base, headers=key)

        with ThreadPoolExecutor(max_workers=10) as pool:
            answers = list(pool.map(lambda _: post(), range(10)))
        # Then they all name one job, and one message was queued
        assert {a.status_code for a in answers} <= {200, 202}, [
            a.text for a in answers if a.status_code not in {200, 202}
        ]
        assert len({a.headers["Location"] for a in answers}) == 1
        assert waiting(idle_service) == queued + 1
