"""Extra stacks for protocol tests, each on its own Redis database (own queue and keys)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from devstack.stack import Stack
from tests import brokers
from tests.conftest import TEST_ROWS, seeded_database, start_stack


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


@contextmanager
def seeded_stack(
    tmp: Path,
    dialect: str,
    redis_url: str,
    db: int,
    env: dict[str, str],
    workers: int = 1,
    rows: int = TEST_ROWS,
) -> Iterator[tuple[Stack, str]]:
    """An extra_stack over a `dialect` sales database of the caller's own, seeded with
    `rows` rows (for tests that change the data); the stack and the database's URL."""
    with (
        seeded_database(dialect, tmp, rows=rows) as url,
        extra_stack(tmp / "stack", redis_url, db, url, env, workers) as stack,
    ):
        yield stack, url


__all__ = ["extra_stack", "redis_db", "seeded_stack", "start_stack", "start_web_only"]
