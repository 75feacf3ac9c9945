"""Which broker the test stacks use: Redis (default) or RabbitMQ (TEST_BROKER=rabbitmq).

With RabbitMQ every stack gets a virtual host of its own (its own queues, exchanges and
pidbox), as each stack gets a Redis of its own; the job store and results stay on that
Redis. Virtual hosts are created with rabbitmqctl, named arh-<pid>-<n>, and deleted at the
end of the session; those of a session that died are swept by the next one.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import kombu
import redis

from jobs.celery_config import DEFAULT_QUEUE

TEST_BROKER = os.environ.get("TEST_BROKER", "redis").strip().lower() or "redis"
AMQP_BASE = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672")
VHOST_PREFIX = "arh-"

_counter = itertools.count(1)
_created: list[str] = []


class BrokerUnavailable(RuntimeError):
    """Raised when TEST_BROKER names a broker this machine does not run."""


def uses_rabbitmq() -> bool:
    """True when the stacks of this session use RabbitMQ as their broker."""
    if TEST_BROKER not in {"redis", "rabbitmq"}:
        raise BrokerUnavailable(f"TEST_BROKER must be redis or rabbitmq, not {TEST_BROKER!r}")
    return TEST_BROKER == "rabbitmq"


def rabbitmqctl(*args: str) -> str:
    """Run rabbitmqctl; its output."""
    if not shutil.which("rabbitmqctl"):
        raise BrokerUnavailable("TEST_BROKER=rabbitmq needs rabbitmqctl (Debian: rabbitmq-server)")
    proc = subprocess.run(
        ["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60, check=False
    )
    if proc.returncode:
        raise BrokerUnavailable(f"rabbitmqctl {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def new_vhost() -> str:
    """Create a virtual host for one stack (guest may do anything in it); its AMQP URL."""
    name = f"{VHOST_PREFIX}{os.getpid()}-{next(_counter)}"
    rabbitmqctl("add_vhost", name)
    _created.append(name)
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    return f"{AMQP_BASE}/{quote(name, safe='')}"


def broker_env() -> dict[str, str]:
    """What a stack's processes need on top of REDIS_URL for this session's broker."""
    return {"CELERY_BROKER_URL": new_vhost()} if uses_rabbitmq() else {}


def created_any() -> bool:
    """True when this session made a virtual host (so there is something to delete)."""
    return bool(_created)


def waiting(broker_url: str, queue: str = DEFAULT_QUEUE) -> int:
    """Messages waiting in a queue of either broker (a passive queue.declare, as jobs/queues.py)."""
    with kombu.Connection(broker_url, connect_timeout=5) as conn:
        try:
            return int(conn.default_channel.queue_declare(queue=queue, passive=True).message_count)
        except conn.channel_errors as exc:  # no such queue yet: nothing waiting
            if "NOT_FOUND" in str(exc) or "404" in str(exc):
                return 0
            raise


def unacked(broker_url: str, queue: str = DEFAULT_QUEUE) -> int:
    """Deliveries not yet acknowledged: Redis's `unacked` hash, or RabbitMQ's count."""
    if not broker_url.startswith("amqp"):
        return int(redis.Redis.from_url(broker_url).hlen("unacked"))
    vhost = broker_url.rsplit("/", 1)[1]
    for line in rabbitmqctl("list_queues", "-p", vhost, "name", "messages_unacknowledged").split(
        "\n"
    ):
        name, _, count = line.partition("\t")
        if name == queue:
            return int(count)
    return 0


def drop_message(broker_url: str, task_id: str, queue: str = DEFAULT_QUEUE) -> None:
    """Remove one waiting task message (a message lost by the broker, an operator's purge)."""
    if not broker_url.startswith("amqp"):
        client = redis.Redis.from_url(broker_url, decode_responses=True)
        for raw in client.lrange(queue, 0, -1):
            if json.loads(raw)["headers"]["id"] == task_id:
                assert client.lrem(queue, 1, raw) == 1
                return
        raise AssertionError(f"no message of {task_id} in {queue}")
    with kombu.Connection(broker_url, connect_timeout=5) as conn:
        channel = conn.channel()
        try:
            while (message := channel.basic_get(queue, no_ack=False)) is not None:
                if message.headers.get("id") == task_id:
                    channel.basic_ack(message.delivery_tag)
                    return
            raise AssertionError(f"no message of {task_id} in {queue}")
        finally:
            channel.close()  # the others were only taken: closing the channel requeues them


def delete_vhosts() -> None:
    """Delete the virtual hosts this session created, and those of sessions that died."""
    while _created:
        rabbitmqctl("delete_vhost", _created.pop())
    for name in rabbitmqctl("list_vhosts", "name").split():
        pid = name.removeprefix(VHOST_PREFIX).split("-")[0]
        if name.startswith(VHOST_PREFIX) and pid.isdigit() and not Path(f"/proc/{pid}").exists():
            rabbitmqctl("delete_vhost", name)
