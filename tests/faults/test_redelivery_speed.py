"""A whole worker SIGKILLed: how soon its job runs again, Redis broker against RabbitMQ.

Redis cannot tell a dead worker from a slow one: the job comes back after the visibility
timeout (16 s here) plus a restore scan. RabbitMQ ties unacknowledged messages to the
consumer's connection: the kernel closes the killed worker's socket, RabbitMQ requeues
at once, and the other worker takes the job within a second or so.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests import brokers
from tests.conftest import IN_CI
from tests.faults.harness import FaultStack, RedisProcess

pytestmark = pytest.mark.faults

# Limits long enough for a 10 s job, so the idle worker is up before the kill.
LIMITS = {"TASK_SOFT_TIME_LIMIT": "12", "TASK_TIME_LIMIT": "14", "BROKER_VISIBILITY_TIMEOUT": "16"}
VISIBILITY = int(LIMITS["BROKER_VISIBILITY_TIMEOUT"])


def broker_url(kind: str, redis_url: str) -> str:
    """The broker of this test: the fault Redis itself, or a fresh RabbitMQ vhost."""
    if kind == "redis":
        return redis_url
    try:
        return brokers.new_vhost()
    except brokers.BrokerUnavailable as exc:
        if IN_CI:
            raise
        pytest.skip(f"no RabbitMQ: {exc}")


@pytest.mark.skipif(
    brokers.TEST_BROKER == "rabbitmq",
    reason="compares both brokers itself: runs once, in the session on the Redis broker",
)
@pytest.mark.parametrize("kind", ["redis", "rabbitmq"])
def test_killed_worker_job_comes_back(
    kind: str, fault_redis: RedisProcess, fault_stack: Callable[..., FaultStack]
) -> None:
    # Given a worker running a job on `kind` as the broker, and an idle second worker
    fs = fault_stack(workers=0, CELERY_BROKER_URL=broker_url(kind, fault_redis.url), **LIMITS)
    victim = fs.start_worker({"WORKER_CONCURRENCY": "1"})
    job_id = fs.submit_noop(steps=40, step_seconds=0.25)
    fs.wait_progress(job_id)
    survivor = fs.start_worker({"WORKER_CONCURRENCY": "1"})
    first = fs.record(job_id)
    assert first["worker"].startswith(victim + "@")
    # When the first worker is SIGKILLed whole (main process and pool, like a node loss)
    killed_at = time.monotonic()
    fs.kill_worker(victim)
    # Then the idle worker starts the job again: after the visibility timeout and a
    # restore scan on Redis, at once on RabbitMQ
    while int(fs.record(job_id).get("attempts", 0)) < 2:
        assert time.monotonic() - killed_at < VISIBILITY + 30, fs.record(job_id)
        time.sleep(0.02)
    back_after = time.monotonic() - killed_at
    since_delivery = float(fs.record(job_id)["startedAt"]) - float(first["startedAt"])
    print(
        f"\n{kind}: a SIGKILLed worker's job started again {back_after:.2f}s after the kill "
        f"({since_delivery:.2f}s after its first start)"
    )
    done = fs.wait_all([job_id], timeout=60)
    assert done[job_id]["status"] == "Complete"
    assert fs.completions(job_id) == 1
    assert fs.record(job_id)["worker"].startswith(survivor + "@")
    if kind == "redis":  # the visibility timeout counts from the first delivery
        assert since_delivery >= VISIBILITY
    else:
        assert back_after < 2
