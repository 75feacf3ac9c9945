"""RabbitMQ closes a worker's connection mid-job: the job still completes exactly once.

On RabbitMQ a delivery belongs to the consumer's connection: when it closes (a network
blip, a broker restart, `consumer_timeout`) the message goes back to the queue at once,
while the worker's pool may still be running the job. Redis has no such case (its
visibility timeout covers a blip), so this runs on RabbitMQ only.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests import brokers
from tests.conftest import IN_CI
from tests.faults.harness import FaultStack

pytestmark = pytest.mark.faults


def close_connections(vhost: str) -> int:
    """Close every client connection of a virtual host from the broker's side."""
    closed = 0
    for line in brokers.rabbitmqctl("list_connections", "pid", "vhost").splitlines():
        pid, _, name = line.partition("\t")
        if name == vhost:
            brokers.rabbitmqctl("close_connection", pid, "closed by the fault test")
            closed += 1
    return closed


def test_worker_connection_closed_mid_job_completes_once(
    fault_stack: Callable[..., FaultStack],
) -> None:
    try:
        url = brokers.new_vhost()
    except brokers.BrokerUnavailable as exc:
        if IN_CI:
            raise
        pytest.skip(f"no RabbitMQ: {exc}")
    # Given two workers on RabbitMQ, one of them running a job
    fs = fault_stack(workers=2, CELERY_BROKER_URL=url, WORKER_CONCURRENCY="1")
    job_id = fs.submit_noop(steps=16, step_seconds=0.25)
    fs.wait_progress(job_id)
    # When RabbitMQ closes every connection of the deployment (the workers reconnect)
    assert close_connections(url.rsplit("/", 1)[1]) >= 2
    # Then the job completes, and exactly one run completes it
    done = fs.wait_all([job_id], timeout=60)
    time.sleep(3)  # a second run, if any, would end within its 4 s
    print(f"\nattempts {fs.record(job_id)['attempts']}, completions {fs.completions(job_id)}")
    assert done[job_id]["status"] == "Complete"
    assert fs.completions(job_id) == 1
    # And both workers take new jobs again
    later = [fs.submit_noop(steps=1) for _ in range(4)]
    assert {d["status"] for d in fs.wait_all(later, timeout=60).values()} == {"Complete"}
