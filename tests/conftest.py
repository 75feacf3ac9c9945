"""Shared fixtures: a private Redis, seeded sales databases, a running stack."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import sqlalchemy

from devstack.redis_server import RedisProcess
from devstack.stack import Stack
from sales.db import make_engine
from sales.seed import seed
from tests import brokers

TEST_ROWS = 30_000
PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session", autouse=True)
def broker_session() -> Iterator[str]:
    """The broker of this session's stacks (TEST_BROKER); RabbitMQ vhosts deleted after."""
    if brokers.uses_rabbitmq():
        try:
            brokers.rabbitmqctl("list_vhosts", "name")
        except brokers.BrokerUnavailable as exc:
            pytest.exit(f"TEST_BROKER=rabbitmq but RabbitMQ is not usable: {exc}", returncode=3)
    yield brokers.TEST_BROKER
    if brokers.created_any():  # also by tests that compare both brokers
        brokers.delete_vhosts()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis of this test session's own (its own port), or TEST_REDIS_URL if given."""
    given = os.environ.get("TEST_REDIS_URL")
    if given:
        client = redis.Redis.from_url(given)
        client.flushdb()
        yield given
        client.flushdb()
        return
    server = RedisProcess.on_free_port(tmp_path_factory.mktemp("redis"), appendonly=False).start()
    yield server.url
    server.kill(signal.SIGTERM)


@pytest.fixture(scope="session")
def redis_client(redis_url: str) -> redis.Redis:
    """A client of the test Redis (decoded strings)."""
    return redis.Redis.from_url(redis_url, decode_responses=True)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite sales database seeded with the deterministic sample set."""
    path = tmp_path_factory.mktemp("sales") / "sales.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    seed(engine, TEST_ROWS)
    engine.dispose()
    return url


@contextmanager
def seeded_database(kind: str, tmp: Path, rows: int = TEST_ROWS) -> Iterator[str]:
    """A sales database of the caller's own, seeded: a SQLite file in `tmp`, or a
    PostgreSQL schema dropped afterwards (skipped off CI when there is no server)."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'sales.db'}"
        engine = make_engine(url)
        seed(engine, rows)
        engine.dispose()
        yield url
        return
    schema = f"ar_test_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sqlalchemy.exc.OperationalError as exc:
        if IN_CI:
            raise
        pytest.skip(f"no PostgreSQL at {PG_URL}: {exc}")
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    seed(engine, rows)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL schema of this session's own, seeded; skipped off CI if no server."""
    with seeded_database("postgres", tmp_path_factory.mktemp("pg")) as url:
        yield url


def start_stack(
    tmp: Path,
    redis_url: str,
    database_url: str,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
) -> Stack:
    """web + N workers from the Procfile, with a platform's variables plus `extra_env`."""
    env = {
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "WEB_CONCURRENCY": "2",
        # not the default under /tmp, which every session on the machine would share
        "WORKER_HEARTBEAT_FILE": str(tmp / "worker.heartbeat"),
        **brokers.broker_env(),
        **(extra_env or {}),
    }
    stack = Stack(env=env, log_dir=tmp)
    try:
        stack.start("web")
        for i in range(workers):
            stack.start("worker", f"worker{i}", {"WORKER_NAME": f"w{i}-{uuid.uuid4().hex[:6]}"})
        stack.wait_ready(workers=workers)
    except BaseException:
        stack.stop_all()
        raise
    return stack


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, sqlite_url: str
) -> Iterator[Stack]:
    """web (gunicorn) + one worker (Celery) on the SQLite data, diagnostic reports on."""
    s = start_stack(
        tmp_path_factory.mktemp("stack"),
        redis_url,
        sqlite_url,
        extra_env={"ENABLE_DIAGNOSTIC_REPORTS": "1"},
    )
    yield s
    s.stop_all()
