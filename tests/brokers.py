"""Which broker the test stacks use: Redis (default) or RabbitMQ (TEST_BROKER=rabbitmq).

With RabbitMQ every stack gets a virtual host of its own (its own queues, exchanges and
pidbox), as each stack gets a Redis of its own; the job store and results stay on that
Redis. Virtual hosts are created with rabbitmqctl, named arh-<pid>-<n>, and deleted at the
end of the session; those of a session that died are swept by the next one.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

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


def delete_vhosts() -> None:
    """Delete the virtual hosts this session created, and those of sessions that died."""
    while _created:
        rabbitmqctl("delete_vhost", _created.pop())
    for name in rabbitmqctl("list_vhosts", "name").split():
        pid = name.removeprefix(VHOST_PREFIX).split("-")[0]
        if name.startswith(VHOST_PREFIX) and pid.isdigit() and not Path(f"/proc/{pid}").exists():
            rabbitmqctl("delete_vhost", name)
