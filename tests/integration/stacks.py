"""Extra stacks for protocol tests, each on its own Redis database (own queue and keys)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from devstack.stack import Stack
from tests import brokers
from tests.conftest import start_stack


def redis_db(redis_url: str, db: int) -> str:
    """The same Redis server, another database number."""
    base, _, _ = redis_url.rpartition("/")
    return f"{base}/{db}"


def start_web_only(tmp: Path, redis_url: str, database_url: str, env: dict[str, str]) -> Stack:
    """The web process alone: jobs stay queued until a worker is started."""
    stack = Stack(
        env={
            "REDIS_URL": redis_url,
            "DATABASE_URL": database_url,
            "WEB_CONCURRENCY": "2",
            **brokers.broker_env(),
            **env,
        },
        log_dir=tmp,
    )
    try:
        stack.start("web")
        stack.wait_web()
        return stack
    except BaseException:
        stack.stop_all()
        raise


@contextmanager
def extra_stack(
    tmp: Path,
    redis_url: str,
    db: int,
    database_url: str,
    env: dict[str, str],
    workers: int = 1,
) -> Iterator[Stack]:
    """web (+ `workers` workers) on Redis database `db`, emptied before and after."""
    url = redis_db(redis_url, db)
    client = redis.Redis.from_url(url)
    client.flushdb()
    if workers:
        stack = start_stack(tmp, url, database_url, workers=workers, extra_env=env)
    else:
        stack = start_web_only(tmp, url, database_url, env)
    try:
        yield stack
    finally:
        stack.stop_all()
        client.flushdb()
        client.close()


__all__ = ["extra_stack", "redis_db", "start_stack", "start_web_only"]
