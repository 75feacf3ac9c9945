"""Fixtures of the fault-injection suite: each test gets its own Redis and processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devstack.redis_server import RedisProcess
from tests.faults.harness import FaultStack, start_fault_stack, wait_web


@pytest.fixture
def fault_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A redis-server with append-only persistence on a free port, for one test."""
    proc = RedisProcess.on_free_port(tmp_path / "redis").start()
    yield proc
    proc.kill()


@pytest.fixture
def fault_stack(
    tmp_path: Path, fault_redis: RedisProcess, sqlite_url: str
) -> Iterator[Callable[..., FaultStack]]:
    """Factory: web (+ `workers` workers) with short limits; everything stopped after."""
    made: list[FaultStack] = []

    def make(workers: int = 1, **env: str) -> FaultStack:
        fs = start_fault_stack(tmp_path / f"stack{len(made)}", fault_redis, sqlite_url, env)
        made.append(fs)
        wait_web(fs)
        for _ in range(workers):
            fs.start_worker()
        return fs

    yield make
    for fs in made:
        fs.stack.stop_all()
