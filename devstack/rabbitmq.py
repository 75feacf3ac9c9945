"""The RabbitMQ the tests' second pass uses: is it usable, and (in CI) install and start it.

The RabbitMQ pass (TEST_BROKER=rabbitmq) gives every test stack a virtual host made with
`rabbitmqctl`, so it needs the server answering AMQP and `rabbitmqctl` allowed to manage
it. A developer's machine may have neither: the pass is then skipped with the reason. In
CI (root on Debian) a missing server is installed and started.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from urllib.parse import urlsplit

from devstack.debian import ensure_command

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672"
STARTUP_SECONDS = 90.0


def unusable_reason(amqp_url: str) -> str | None:
    """Why the RabbitMQ pass cannot run here, or None when it can."""
    parts = urlsplit(amqp_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5672
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        return f"nothing answers AMQP at {host}:{port} ({exc})"
    if not shutil.which("rabbitmqctl"):
        return "no rabbitmqctl (Debian: rabbitmq-server) to make the tests' virtual hosts"
    try:
        proc = subprocess.run(
            ["rabbitmqctl", "-q", "list_vhosts", "name"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "rabbitmqctl list_vhosts did not answer within 60 s"
    if proc.returncode:
        return f"rabbitmqctl list_vhosts failed: {proc.stderr.strip()[-300:]}"
    return None


def ensure_running(amqp_url: str) -> str | None:
    """Install (Debian, root) and start a local RabbitMQ if none is usable; why not, or None."""
    reason = unusable_reason(amqp_url)
    if reason is None or os.geteuid() != 0:
        return reason
    if not ensure_command("rabbitmqctl", "rabbitmq-server"):
        return reason
    if unusable_reason(amqp_url) is None:  # the package's own start may have done it
        return None
    print("starting rabbitmq-server ...", flush=True)
    if shutil.which("service"):
        start = ["service", "rabbitmq-server", "start"]
    else:
        start = ["rabbitmq-server", "-detached"]
    subprocess.run(start, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + STARTUP_SECONDS
    while (reason := unusable_reason(amqp_url)) is not None and time.monotonic() < deadline:
        time.sleep(2)
    return reason
