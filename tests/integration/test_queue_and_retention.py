"""A queued job that is cancelled never runs; polling too fast is 429; expired jobs are 410."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
import requests

from devstack.stack import Stack
from jobs.store.connection import connect
from jobs.store.keys import Keys
from jobs.store.runs import RunLedger
from tests.integration.client import poll, submit
from tests.integration.stacks import extra_stack, redis_db

pytestmark = pytest.mark.integration

KEYS = Keys()

IDLE_DB, SHORT_DB = 2, 3


@pytest.fixture(scope="module")
def idle(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, sqlite_url: str
) -> Iterator[Stack]:
    """The web alone (jobs stay queued): one process, one long poll at a time, and a
    one-second minimum poll interval."""
    env = {
        "ENABLE_DIAGNOSTIC_REPORTS": "1",
        "MIN_POLL_INTERVAL_SECONDS": "1",
        "WEB_CONCURRENCY": "1",
        "MAX_WAITING_REQUESTS": "1",
    }
    tmp = tmp_path_factory.mktemp("idle")
    with extra_stack(tmp, redis_url, IDLE_DB, sqlite_url, env, workers=0) as s:
        yield s


@pytest.fixture(scope="module")
def short_lived(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, sqlite_url: str
) -> Iterator[Stack]:
    """web + worker keeping jobs for three seconds only."""
    env = {"ENABLE_DIAGNOSTIC_REPORTS": "1", "JOB_RETENTION_SECONDS": "3"}
    tmp = tmp_path_factory.mktemp("short")
    with extra_stack(tmp, redis_url, SHORT_DB, sqlite_url, env) as s:
        yield s


def test_a_cancelled_queued_job_never_starts(idle: Stack, redis_url: str) -> None:
    # Given a job that is queued (no worker is running)
    resp = submit(idle.base_url, "noop", {"steps": 1})
    job = resp.json()["id"]
    assert resp.json()["state"] == "queued"
    # When it is cancelled
    cancel = requests.delete(f"{idle.base_url}/api/reports/{job}", timeout=10)
    # Then it is Cancelled at once, with a finish time and no start
    assert cancel.status_code == 202, cancel.text
    doc = cancel.json()
    assert doc["status"] == "Cancelled" and doc["state"] == "cancelled"
    assert doc["startedAt"] is None and doc["finishedAt"]
    # When a worker comes up later (it never saw the revoke broadcast)
    idle.start("worker", "late-worker", {"WORKER_NAME": f"late-{uuid.uuid4().hex[:6]}"})
    try:
        store = redis.Redis.from_url(redis_db(redis_url, IDLE_DB), decode_responses=True)
        deadline = time.monotonic() + 60
        while '"REVOKED"' not in (store.get(KEYS.celery_meta(job)) or ""):
            assert time.monotonic() < deadline, idle.log("late-worker")[-2000:]
            time.sleep(0.2)
    finally:
        idle.stop("late-worker")  # later tests here need jobs to stay queued
    # Then the worker stored REVOKED without running it: it never started
    time.sleep(1.1)  # the minimum poll interval of this stack
    final = requests.get(f"{idle.base_url}/api/reports/{job}/status", timeout=10).json()
    assert final["status"] == "Cancelled" and final["startedAt"] is None
    assert final["progress"]["current"] == 0


def test_polling_faster_than_the_minimum_interval_is_429(idle: Stack) -> None:
    job = submit(idle.base_url, "noop", {"steps": 1}).json()["id"]
    url = f"{idle.base_url}/api/reports/{job}/status"
    first = requests.get(url, timeout=10)
    second = requests.get(url, timeout=10)
    assert first.status_code == 200
    assert second.status_code == 429, second.text
    assert second.headers["Content-Type"] == "application/problem+json"
    retry_after = int(second.headers["Retry-After"])
    assert 1 <= retry_after <= 1
    time.sleep(retry_after + 0.1)
    assert requests.get(url, timeout=10).status_code == 200


def test_an_expired_job_is_410_and_an_unknown_one_404(short_lived: Stack) -> None:
    # Given a complete job in a deployment that keeps jobs for 3 s
    resp = submit(short_lived.base_url, "noop", {"steps": 1})
    final, _ = poll(short_lived.base_url, resp.headers["Location"])
    assert final["status"] == "Complete"
    job = final["id"]
    # When the retention window has passed
    deadline = time.monotonic() + 30
    while True:
        status = requests.get(f"{short_lived.base_url}/api/reports/{job}/status", timeout=10)
        if status.status_code != 200:
            break
        assert time.monotonic() < deadline
        time.sleep(0.5)
    # Then status and download answer 410, and the record, result and list entry are gone
    assert status.status_code == 410, status.text
    assert status.headers["Content-Type"] == "application/problem+json"
    download = requests.get(f"{short_lived.base_url}/api/reports/{job}/download", timeout=10)
    assert download.status_code == 410
    listed = requests.get(f"{short_lived.base_url}/api/reports", timeout=10).json()
    assert job not in {d["id"] for d in listed["items"]}
    # And an id the service never issued is still 404
    unknown = requests.get(f"{short_lived.base_url}/api/reports/{uuid.uuid4()}/status", timeout=10)
    assert unknown.status_code == 404


def test_idempotency_keys_expire_with_their_job(short_lived: Stack, redis_url: str) -> None:
    store = redis.Redis.from_url(redis_db(redis_url, SHORT_DB), decode_responses=True)
    key = str(uuid.uuid4())
    resp = requests.post(
        f"{short_lived.base_url}/api/reports",
        json={"reportType": "noop", "parameters": {"steps": 1}},
        headers={"Idempotency-Key": key},
        timeout=10,
    )
    job = resp.json()["id"]
    ttls = [store.ttl(KEYS.idempotency("public", "report", key)), store.ttl(KEYS.job(job))]
    assert all(0 < t <= 3 for t in ttls), ttls


def test_waits_beyond_the_waiting_slots_are_answered_at_once(idle: Stack) -> None:
    # Given one client already waiting in the only waiting slot
    first = submit(idle.base_url, "noop", {"steps": 1}).json()["id"]
    second = submit(idle.base_url, "noop", {"steps": 1}).json()["id"]
    holder: list[requests.Response] = []
    waiting = threading.Thread(
        target=lambda: holder.append(
            requests.get(
                f"{idle.base_url}/api/reports/{first}/status",
                headers={"Prefer": "wait=6"},
                timeout=30,
            )
        )
    )
    waiting.start()
    time.sleep(1.0)  # let it reach the server
    # When another client asks to wait
    started = time.monotonic()
    other = requests.get(
        f"{idle.base_url}/api/reports/{second}/status", headers={"Prefer": "wait=6"}, timeout=30
    )
    # Then it gets the current document at once, without Preference-Applied
    assert other.status_code == 200 and other.json()["status"] == "In Progress"
    assert "Preference-Applied" not in other.headers
    assert time.monotonic() - started < 5
    waiting.join()
    assert holder[0].headers["Preference-Applied"] == "wait=6"


def test_queued_estimates_come_from_queue_position_and_recent_run_times(
    idle: Stack, redis_url: str
) -> None:
    # Given noop jobs recently took 4 s each
    ledger = RunLedger(connect(redis_db(redis_url, IDLE_DB)), KEYS, 86400)
    ledger.record_duration("report:noop", 4.0)
    # When three jobs wait in the queue
    jobs = [submit(idle.base_url, "noop", {"steps": 1}).json()["id"] for _ in range(3)]
    docs = [requests.get(f"{idle.base_url}/api/reports/{job}/status", timeout=10) for job in jobs]
    # Then each has an estimate, growing with its place in the queue, and a Retry-After
    estimates = [int(d.json()["estimatedTimeRemaining"].split()[0]) for d in docs]
    assert all(e >= 4 for e in estimates), estimates
    assert estimates == sorted(estimates) and estimates[2] > estimates[0], estimates
    assert all(int(d.headers["Retry-After"]) >= 1 for d in docs)
