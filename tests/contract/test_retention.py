"""Retention: a job whose record expired -> 410 if the service still knows it existed (API.md)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from tests.contract.client import assert_problem, run_seed_job
from tests.contract.conftest import Service, _service

RETENTION = 2


@pytest.fixture(scope="module")
def short_memory_service(
    tmp_path_factory: pytest.TempPathFactory, contract_sqlite_url: str
) -> Iterator[Service]:
    """web + worker keeping finished jobs for JOB_RETENTION_SECONDS=2 (per the README)."""
    yield from _service(
        tmp_path_factory.mktemp("retention"),
        contract_sqlite_url,
        True,
        {"JOB_RETENTION_SECONDS": str(RETENTION)},
    )


def test_expired_job_is_410_and_never_queued(short_memory_service: Service) -> None:
    base = short_memory_service.base
    jid, doc = run_seed_job(base)
    assert doc["status"] == "Complete"
    deadline = time.monotonic() + RETENTION + 15
    while True:
        resp = requests.get(f"{base}/api/reports/{jid}/status", timeout=10)
        if resp.status_code != 200:
            break
        assert time.monotonic() < deadline, "the job never expired"
        time.sleep(0.5)
    assert_problem(resp, 410)
    assert_problem(requests.get(f"{base}/api/reports/{jid}/download", timeout=10), 410)
    # an id that never existed is still 404
    assert_problem(requests.get(f"{base}/api/reports/{uuid.uuid4()}/status", timeout=10), 404)
