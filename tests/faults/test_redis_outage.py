"""Redis down or restarted: accepted jobs survive, clients get 503 (never 500 or a hang)."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from devstack.stack import free_port
from jobs.store.keys import Keys
from tests.faults.harness import FaultStack, RedisProcess

pytestmark = pytest.mark.faults

# The API promises 503 "within a couple of seconds"; allow a little for a loaded CI box.
FAST_FAILURE = 4.0  # "within about two seconds", with room for a loaded machine; a hang is 10 s+


def timed_post(fs: FaultStack) -> tuple[requests.Response, float]:
    """Submit a job, measuring how long the answer took."""
    started = time.monotonic()
    resp = requests.post(
        f"{fs.base_url}/api/reports",
        json={"reportType": "noop", "parameters": {"steps": 1}},
        timeout=30,
    )
    return resp, time.monotonic() - started


def job_keys(redis_proc: RedisProcess) -> set[str]:
    """Every job record in the store."""
    return set(redis_proc.client().keys(Keys().job("*")))


def test_jobs_survive_a_redis_crash_and_everything_reconnects(
    fault_stack: Callable[..., FaultStack],
) -> None:
    # Given six accepted jobs, some running, some queued, all persisted (the append-only
    # file is flushed every second)
    fs = fault_stack(workers=1, WORKER_CONCURRENCY="2")
    jobs = [fs.submit_noop(steps=6, step_seconds=0.25) for _ in range(6)]
    fs.wait_progress(jobs[0])
    time.sleep(1.2)
    # When Redis crashes (SIGKILL) and comes back a second later on the same data
    fs.redis.kill(signal.SIGKILL)
    time.sleep(1.0)
    fs.redis.start()
    # Then every accepted job completes, and none completes twice
    done = fs.wait_all(jobs, timeout=90, allow_503=True)
    assert {d["status"] for d in done.values()} == {"Complete"}, done
    assert [fs.completions(j) for j in jobs] == [1] * 6
    # And the web and the worker reconnected by themselves: a new job runs end to end
    after = fs.submit_noop(steps=1)
    assert fs.wait_all([after], timeout=30)[after]["status"] == "Complete"


def test_store_down_answers_503_fast_and_leaves_no_job_behind(
    fault_stack: Callable[..., FaultStack],
) -> None:
    # Given a running service with one finished job
    fs = fault_stack(workers=1)
    known = fs.submit_noop(steps=1)
    fs.wait_all([known])
    time.sleep(1.2)  # persisted: the append-only file is flushed every second
    before = job_keys(fs.redis)
    # When Redis (store and broker) is down
    fs.redis.kill(signal.SIGKILL)
    # Then a submit answers 503 with Retry-After within about two seconds
    resp, took = timed_post(fs)
    assert resp.status_code == 503, resp.text
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert int(resp.headers["Retry-After"]) >= 1
    assert took < FAST_FAILURE
    # And a status read answers 503 too, not 500, just as fast
    started = time.monotonic()
    status = requests.get(f"{fs.base_url}/api/reports/{known}/status", timeout=30)
    assert status.status_code == 503, status.text
    assert "Retry-After" in status.headers
    assert time.monotonic() - started < FAST_FAILURE
    # And readiness says what is missing
    assert requests.get(f"{fs.base_url}/readyz", timeout=30).status_code == 503
    # When Redis is back, nothing half-made was left and the service works again
    fs.redis.start()
    assert job_keys(fs.redis) == before
    assert fs.status(known)["status"] == "Complete"
    again = fs.submit_noop(steps=1)
    assert fs.wait_all([again], timeout=30)[again]["status"] == "Complete"


@pytest.fixture
def broker_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A second Redis used only as the broker, so the broker can fail alone."""
    proc = RedisProcess(
        f"redis://127.0.0.1:{free_port()}/0", tmp_path / "broker", tmp_path / "broker.log"
    )
    proc.start()
    yield proc
    proc.kill()


def test_broker_down_at_submit_answers_503_and_discards_the_record(
    fault_stack: Callable[..., FaultStack], broker_redis: RedisProcess
) -> None:
    # Given a service whose broker is a Redis of its own, and whose store is up
    fs = fault_stack(workers=1, CELERY_BROKER_URL=broker_redis.url)
    ok = fs.submit_noop(steps=1)
    fs.wait_all([ok])
    before = job_keys(fs.redis)
    # When only the broker is down
    broker_redis.kill(signal.SIGKILL)
    # Then a submit answers 503 within about two seconds (kombu's publish retries are
    # bounded) and the record written before the publish is removed again
    for _ in range(3):
        resp, took = timed_post(fs)
        assert resp.status_code == 503, resp.text
        assert int(resp.headers["Retry-After"]) >= 1
        assert took < FAST_FAILURE
    assert job_keys(fs.redis) == before
    # And status reads, which need only the store, still work
    assert fs.status(ok)["status"] == "Complete"
    # When the broker is back, the producer reconnects by itself and jobs run again
    broker_redis.start()
    again = None
    for _ in range(50):  # the worker's consumer reconnects with its own backoff
        resp, _took = timed_post(fs)
        if resp.status_code == 202:
            again = resp.json()["id"]
            break
        time.sleep(0.2)
    assert again is not None
    assert fs.wait_all([again], timeout=60)[again]["status"] == "Complete"
