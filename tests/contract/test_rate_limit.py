"""Over-polling one job faster than the configured minimum interval -> 429 with Retry-After."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from tests.contract.client import assert_problem, retry_after, submit
from tests.contract.conftest import Service, _service


@pytest.fixture(scope="module")
def throttled_service(
    tmp_path_factory: pytest.TempPathFactory, contract_sqlite_url: str
) -> Iterator[Service]:
    """web only (jobs stay queued) with MIN_POLL_INTERVAL_SECONDS=1 (per the README)."""
    yield from _service(
        tmp_path_factory.mktemp("throttled"),
        contract_sqlite_url,
        False,
        {"MIN_POLL_INTERVAL_SECONDS": "1"},
    )


def test_polling_too_fast_is_429_with_retry_after(throttled_service: Service) -> None:
    url = throttled_service.base + submit(throttled_service.base).headers["Location"]
    statuses = []
    refused = None
    for _ in range(5):
        resp = requests.get(url, timeout=10)
        statuses.append(resp.status_code)
        if resp.status_code == 429:
            refused = resp
            break
    assert refused is not None, statuses
    assert_problem(refused, 429)
    wait = retry_after(refused)
    assert wait >= 1
    # Then after waiting what it said, the poll is answered
    time.sleep(wait)
    assert requests.get(url, timeout=10).status_code == 200


def test_a_client_honouring_retry_after_is_never_refused(throttled_service: Service) -> None:
    resp = submit(throttled_service.base)
    url = throttled_service.base + resp.headers["Location"]
    first = requests.get(url, timeout=10)
    assert first.status_code == 200, first.text
    time.sleep(retry_after(first))
    again = requests.get(url, timeout=10)
    assert again.status_code == 200, again.text
    assert retry_after(again) >= 1


def test_other_jobs_are_not_throttled_by_one_busy_job(throttled_service: Service) -> None:
    a = throttled_service.base + submit(throttled_service.base).headers["Location"]
    b = throttled_service.base + submit(throttled_service.base).headers["Location"]
    assert requests.get(a, timeout=10).status_code == 200
    assert requests.get(b, timeout=10).status_code == 200
