"""Extra stacks for protocol tests, each on its own Redis database (own queue and keys)."""

from __future__ import annotations

import time
from pathlib import Path

import requests

from devstack.stack import Stack
from tests.conftest import start_stack


def redis_db(redis_url: str, db: int) -> str:
    """The same Redis server, another database number."""
    base, _, _ = redis_url.rpartition("/")
    return f"{base}/{db}"


def start_web_only(tmp: Path, redis_url: str, database_url: str, env: dict[str, str]) -> Stack:
    """The web process alone: jobs stay queued until a worker is started."""
    stack = Stack(
        env={"REDIS_URL": redis_url, "DATABASE_URL": database_url, "WEB_CONCURRENCY": "2", **env},
        log_dir=tmp,
    )
    try:
        stack.start("web")
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(stack.base_url + "/healthz", timeout=2).ok:
                    return stack
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(stack.log("web")[-2000:])
            time.sleep(0.2)
    except BaseException:
        stack.stop_all()
        raise


__all__ = ["redis_db", "start_stack", "start_web_only"]
