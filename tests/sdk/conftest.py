"""Fixtures of the SDK tests: clients of the shared stack, extra stacks, the CLI as a process.

Coupling to the server stays with tests/conftest.py (`stack`, `start_stack`, the test
Redis and data) and devstack's Redis helpers: the SDK itself knows only HTTP.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from async_reports_client import Client
from devstack.redis_server import RedisProcess
from devstack.stack import Stack
from tests.conftest import start_stack

CLI = [sys.executable, "-m", "async_reports_client"]
DIAGNOSTIC = {"ENABLE_DIAGNOSTIC_REPORTS": "1"}
RATE_LIMITED_DB = 9  # a database of the session's Redis no other test uses


@pytest.fixture
def client(stack: Stack) -> Iterator[Client]:
    """A client of the shared stack."""
    with Client(stack.base_url) as c:
        yield c


@pytest.fixture
def retries(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The SDK's retry notices (INFO on the `async_reports_client` logger)."""
    caplog.set_level(logging.INFO, logger="async_reports_client")
    return caplog


def redis_db(redis_url: str, db: int) -> str:
    """Another database number of the same Redis server."""
    base, _, _ = redis_url.rpartition("/")
    return f"{base}/{db}"


@pytest.fixture(scope="module")
def rate_limited_stack(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, sqlite_url: str
) -> Iterator[Stack]:
    """A stack that answers 429 to a client polling one job more often than every 2 s."""
    url = redis_db(redis_url, RATE_LIMITED_DB)
    # Two seconds: longer than a plain long poll holds progress back (1 s), so a client
    # that polls again as soon as an answer comes meets the limit.
    env = {**DIAGNOSTIC, "MIN_POLL_INTERVAL_SECONDS": "2"}
    s = start_stack(tmp_path_factory.mktemp("rate-limited"), url, sqlite_url, extra_env=env)
    yield s
    s.stop_all()


@dataclass
class OutageStack:
    """A stack on a Redis of its own, so that Redis can be taken away mid-wait."""

    stack: Stack
    redis: RedisProcess


@pytest.fixture(scope="module")
def outage_stack(
    tmp_path_factory: pytest.TempPathFactory, sqlite_url: str
) -> Iterator[OutageStack]:
    """web + worker on a Redis of their own that a test may stop and restart."""
    tmp = tmp_path_factory.mktemp("outage")
    redis = RedisProcess.on_free_port(tmp / "redis", appendonly=True).start()
    try:
        s = start_stack(tmp / "logs", redis.url, sqlite_url, extra_env=DIAGNOSTIC)
    except BaseException:
        redis.kill(signal.SIGTERM)
        raise
    yield OutageStack(s, redis)
    s.stop_all()
    redis.kill(signal.SIGTERM)


def cli_env(base_url: str, **extra: str) -> dict[str, str]:
    """The environment of a CLI process: ours, the service URL, no inherited key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNC_REPORTS_")}
    return {**env, "ASYNC_REPORTS_URL": base_url, "PYTHONUNBUFFERED": "1", **extra}


def run_cli(
    base_url: str, *args: str, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run `async-reports ARGS` with its output piped; returns the finished process."""
    return subprocess.run(
        [*CLI, *args],
        env=cli_env(base_url, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
