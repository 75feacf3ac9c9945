"""Scenario 2 again with RabbitMQ as the broker: the cut-off worker's jobs come back when
RabbitMQ declares its connection dead (missed heartbeats), not after a visibility timeout.

The machine's RabbitMQ listens on 127.0.0.1 only: a forwarder on the root namespace's leg
of the switch carries the hosts' AMQP connections to it (the job store stays on the
store host's Redis). Runs last: it leaves the deployment on RabbitMQ.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests import brokers
from tests.conftest import IN_CI
from tests.hosts.cluster import Cluster
from tests.hosts.partition import cut_worker_off

HEARTBEAT = 10  # jobs/celery_config.py broker_heartbeat
# RabbitMQ closes a connection after about two heartbeat intervals without a frame;
# then the requeued job waits behind the queue and runs (the Redis scenario's 10 s).
BOUND = 2 * HEARTBEAT + 10 + 10


@pytest.fixture(scope="module")
def amqp_url(cluster: Cluster) -> Iterator[str]:
    """A virtual host of the machine's RabbitMQ, reachable from the hosts."""
    try:
        url = brokers.new_vhost()
    except brokers.BrokerUnavailable as exc:
        if IN_CI:
            raise
        pytest.skip(f"no RabbitMQ: {exc}")
    address = cluster.net.client_address
    forwarder = subprocess.Popen(
        [sys.executable, "-m", "tests.hosts.relay", "--listen", address, "--port", "5672",
         "--delay-ms", "0", "--jitter-ms", "0", "--target", "127.0.0.1:5672"],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        assert forwarder.stdout is not None
        assert b"listening" in forwarder.stdout.readline()
        yield url.replace("127.0.0.1", address)
    finally:
        forwarder.kill()
        forwarder.wait(10)
        if forwarder.stdout is not None:
            forwarder.stdout.close()


def test_cut_off_worker_jobs_come_back_on_rabbitmq(cluster: Cluster, amqp_url: str) -> None:
    # Given the deployment on RabbitMQ as its broker
    cluster.use_broker(amqp_url)
    started = time.monotonic()
    worst = cut_worker_off(cluster, BOUND, "scenario 2 (RabbitMQ broker)")
    print(f"(RabbitMQ: handed over within {worst:.1f}s; {time.monotonic() - started:.0f}s in all)")
