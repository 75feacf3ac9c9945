"""Stacks several integration modules share: the operations stack (its own persistent
Redis, web, two workers and the monitor), the reuse stack per SQL dialect, and the slow
stack (one web of few threads with short read bounds)."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from devstack.redis_server import RedisProcess
from devstack.stack import Stack
from tests import brokers
from tests.integration.reuse import ENV as REUSE_ENV
from tests.integration.reuse import ReuseStack
from tests.integration.stacks import extra_stack, seeded_stack

RETENTION = 15  # seconds: short, so the tests see results expire
SLOW_IDLE = 1.0  # seconds: the slow stack's REQUEST_IDLE_TIMEOUT
SLOW_THREADS = 8  # the slow stack's web threads


@dataclass
class OpsStack:
    """A Stack plus the Redis it owns (restartable, append-only) and its worker names."""

    stack: Stack
    redis: RedisProcess
    workers: list[str]

    @property
    def base_url(self) -> str:
        """Where the web process listens."""
        return self.stack.base_url

    @property
    def redis_url(self) -> str:
        """The stack's Redis."""
        return self.redis.url

    def restart_redis(self) -> None:
        """Stop Redis (it writes its append-only file) and start it again on the same port."""
        self.redis.restart()

    def wait_web(self) -> None:
        """Wait until the web process answers /healthz (workers need not answer pings)."""
        self.stack.wait_web()

    def ops(self, path: str, **kwargs: object) -> requests.Response:
        """GET an ops API path."""
        return requests.get(f"{self.base_url}/api/ops{path}", timeout=10, **kwargs)  # type: ignore[arg-type]

    def wait_for(self, predicate, timeout: float = 60.0, what: str = "condition"):  # type: ignore[no-untyped-def]
        """Poll `predicate()` until it returns something truthy."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


@pytest.fixture(scope="session")
def ops_stack(tmp_path_factory: pytest.TempPathFactory, sqlite_url: str) -> Iterator[OpsStack]:
    """web + monitor + two single-process workers on a private append-only Redis."""
    tmp = tmp_path_factory.mktemp("ops")
    redis = RedisProcess.on_free_port(tmp / "redis").start()
    env = {
        "REDIS_URL": redis.url,
        "DATABASE_URL": sqlite_url,
        "MONITOR_DATABASE_URL": f"sqlite:///{tmp / 'history.db'}",
        "WEB_CONCURRENCY": "2",
        "WORKER_CONCURRENCY": "1",
        "ENABLE_DIAGNOSTIC_REPORTS": "1",
        "JOB_RETENTION_SECONDS": str(RETENTION),
        **brokers.broker_env(),
    }
    stack = Stack(env=env, log_dir=tmp / "logs")
    names = [f"ops{i}-{uuid.uuid4().hex[:6]}" for i in range(2)]
    ops = OpsStack(stack, redis, [])
    try:
        stack.start("monitor")
        stack.start("web")
        for i, name in enumerate(names):
            stack.start(
                "worker",
                f"worker{i}",
                {"WORKER_NAME": name, "WORKER_HEARTBEAT_FILE": str(tmp / f"{name}.heartbeat")},
            )
        stack.wait_ready(workers=2)
        ops.workers = [r["hostname"] for r in ops.ops("/workers").json()["items"]] or names
        yield ops
    finally:
        stack.stop_all()
        ops.redis.kill(signal.SIGTERM)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def reuse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[ReuseStack]:
    """One stack at a time, on Redis database 10, over each dialect's sales database
    (module scope: each reuse module has stacks of its own)."""
    tmp = tmp_path_factory.mktemp(f"reuse-{request.param}")
    with seeded_stack(tmp, request.param, redis_url, 10, REUSE_ENV) as (stack, url):
        yield ReuseStack(stack, url)


@pytest.fixture(scope="module")
def slow_stack(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, sqlite_url: str
) -> Iterator[Stack]:
    """One web process of 8 threads with short read bounds and short streams, one worker."""
    env = {
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": str(SLOW_THREADS),
        "REQUEST_IDLE_TIMEOUT": str(SLOW_IDLE),
        "REQUEST_HEADER_TIMEOUT": "2",
        "ENABLE_DIAGNOSTIC_REPORTS": "1",
        # event streams notice a client gone within a second, and end within the mix's window
        "STREAM_KEEPALIVE_SECONDS": "1",
        "MAX_STREAM_SECONDS": "8",
    }
    with extra_stack(tmp_path_factory.mktemp("slow"), redis_url, 11, sqlite_url, env) as s:
        yield s
