"""Store/broker unreachable -> 503 with Retry-After within a couple of seconds, never a hang,
and no half-created job (API.md, "Submitting a job")."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from tests.contract.client import SEED_BODY, assert_problem, retry_after, submit
from tests.contract.conftest import Service, _service

# "within a couple of seconds": generous, and the client gives up (a hang) well after it.
PROMPT = 5.0
CLIENT_TIMEOUT = 10.0


@dataclass
class Outage:
    post: requests.Response | None
    post_took: float
    get: requests.Response | None
    get_took: float
    listed_before: set[str]
    listed_after: set[str]


@pytest.fixture(scope="module")
def fragile_service(
    tmp_path_factory: pytest.TempPathFactory, contract_sqlite_url: str
) -> Iterator[Service]:
    """web only, on a Redis of its own that these tests freeze and thaw."""
    yield from _service(tmp_path_factory.mktemp("fragile"), contract_sqlite_url, False)


def _listed(svc: Service) -> set[str]:
    resp = requests.get(f"{svc.base}/api/reports", params={"limit": 100}, timeout=10)
    assert resp.status_code == 200, resp.text
    return {d["id"] for d in resp.json()["items"]}


def _timed(method: str, url: str, **kwargs: object) -> tuple[requests.Response | None, float]:
    started = time.monotonic()
    try:
        resp = requests.request(method, url, timeout=CLIENT_TIMEOUT, **kwargs)  # type: ignore[arg-type]
    except requests.Timeout:
        return None, time.monotonic() - started
    return resp, time.monotonic() - started


@pytest.fixture(scope="module")
def frozen(fragile_service: Service) -> Outage:
    """A submission and a poll while the Redis is frozen (connections open, no replies)."""
    base = fragile_service.base
    existing = submit(base)
    assert existing.status_code == 202
    before = _listed(fragile_service)
    os.kill(fragile_service.redis_pid, signal.SIGSTOP)
    try:
        post, post_took = _timed("POST", f"{base}/api/reports", json=SEED_BODY)
        get, get_took = _timed("GET", base + existing.headers["Location"])
    finally:
        os.kill(fragile_service.redis_pid, signal.SIGCONT)
    time.sleep(0.5)
    return Outage(post, post_took, get, get_took, before, _listed(fragile_service))


def test_submission_is_refused_with_503_and_retry_after(frozen: Outage) -> None:
    assert frozen.post is not None, f"POST hung for {frozen.post_took:.1f}s"
    assert_problem(frozen.post, 503)
    assert retry_after(frozen.post) >= 1


def test_submission_is_refused_within_a_couple_of_seconds(frozen: Outage) -> None:
    assert frozen.post is not None, f"POST hung for {frozen.post_took:.1f}s"
    assert frozen.post_took < PROMPT, f"503 after {frozen.post_took:.1f}s"


def test_refused_submission_leaves_no_job_behind(frozen: Outage) -> None:
    assert frozen.post is not None and frozen.post.status_code == 503
    assert frozen.listed_after == frozen.listed_before, frozen.listed_after - frozen.listed_before


def test_poll_of_a_known_job_is_a_prompt_error_not_a_404(frozen: Outage) -> None:
    assert frozen.get is not None, f"GET status hung for {frozen.get_took:.1f}s"
    assert frozen.get.status_code not in {200, 404, 410}, frozen.get.text
    assert_problem(frozen.get, frozen.get.status_code)
    assert frozen.get_took < PROMPT, f"answer after {frozen.get_took:.1f}s"


def test_the_service_recovers_after_the_freeze(fragile_service: Service, frozen: Outage) -> None:
    resp = submit(fragile_service.base)
    assert resp.status_code == 202, resp.text


def test_dead_store_gets_a_prompt_503_with_retry_after(
    fragile_service: Service, frozen: Outage
) -> None:
    # Given the Redis is gone (connections refused); this module's last test
    os.kill(fragile_service.redis_pid, signal.SIGTERM)
    time.sleep(0.5)
    resp, took = _timed("POST", f"{fragile_service.base}/api/reports", json=SEED_BODY)
    assert resp is not None, f"POST hung for {took:.1f}s"
    assert_problem(resp, 503)
    assert retry_after(resp) >= 1
    assert took < PROMPT, f"503 after {took:.1f}s"
