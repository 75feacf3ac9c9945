"""Redis connections that never hang, and the Lua scripts our store runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.commands.core import Script
from redis.retry import Retry

from jobs.errors import StoreUnavailable


def connect(
    url: str,
    timeout: float = 2.0,
    patience: float = 0.5,
    retry_timeouts: bool = True,
    max_connections: int | None = None,
) -> redis.Redis:
    """A Redis client that never hangs and checks idle connections.

    A failed command is retried with jittered backoff for about `patience` seconds in
    all: short for the web (a client gets 503 within ~2 s), longer for workers, which
    would rather ride out a Redis restart than fail a job.
    """
    retries = max(1, int(patience / 0.25))
    # A timeout means Redis hangs: retrying it only multiplies the client's wait.
    retried = (
        (redis.ConnectionError, redis.TimeoutError) if retry_timeouts else (redis.ConnectionError,)
    )
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        # redis-py's default pool holds 100: fewer than a web process's waiting requests
        # (each holds a pub/sub connection and reads beside it) plus its other threads.
        max_connections=max_connections,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        socket_keepalive=True,
        health_check_interval=30,
        retry=Retry(
            ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries, supported_errors=retried
        ),
        retry_on_timeout=retry_timeouts,
    )


@contextmanager
def reachable() -> Iterator[None]:
    """Turn redis-py's connection failures into StoreUnavailable."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailable(str(exc)) from exc


@cache
def lua(name: str) -> str:
    """The text of `scripts/<name>.lua`, read once per process."""
    return (resources.files("jobs.store") / "scripts" / f"{name}.lua").read_text()


def script(client: redis.Redis, name: str, *prelude: str) -> Script:
    """A script registered with `client` (EVALSHA, loaded again after a Redis restart),
    after the text of the `prelude` scripts (shared Lua functions)."""
    return client.register_script("".join(lua(n) for n in (*prelude, name)))
