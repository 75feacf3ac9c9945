"""Fixtures of the sales package's tests: an empty database of each kind per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import Engine

from sales.db import make_engine

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An engine on the test PostgreSQL server (skipped off CI when there is none)."""
    admin = sqlalchemy.create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.connect():
            pass
    except sqlalchemy.exc.OperationalError as exc:
        if IN_CI:
            raise
        pytest.skip(f"no PostgreSQL at {PG_URL}: {exc}")
    yield admin
    admin.dispose()


@pytest.fixture
def pg_url(pg_admin: Engine) -> Iterator[str]:
    """The URL of a PostgreSQL schema of this test's own, dropped afterwards."""
    schema = f"ar_test_{uuid.uuid4().hex[:8]}"
    with pg_admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with pg_admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind: a SQLite file, a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sales.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on `database_url`, disposed afterwards."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sql(engine: Engine) -> Callable[[str], list[tuple[Any, ...]]]:
    """Run one hand-written query and return its rows (an independent view of the data)."""

    def run(query: str) -> list[tuple[Any, ...]]:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(query)]

    return run


def csv_body(header: str, *lines: str, newline: str = "\n") -> bytes:
    """A CSV file's bytes from its header and lines, as written by hand."""
    return newline.join([header, *lines]).encode() + newline.encode()


def stage(engine: Engine, body: bytes, piece: int = 65_536) -> str:
    """Stage `body` as an upload arriving in `piece`-byte writes; returns its import id."""
    from sales.staging import stage_upload

    import_id = uuid.uuid4().hex
    stage_upload(engine, import_id, (body[i : i + piece] for i in range(0, len(body), piece)))
    return import_id


@pytest.fixture
def summary(sql: Callable[[str], list[tuple[Any, ...]]]) -> Callable[[], tuple[Any, ...]]:
    """Count, units, cents, customers and the id range of `sales`, by hand-written SQL."""

    def run() -> tuple[Any, ...]:
        cents = "CAST(round(unit_price * 100) AS INTEGER)"
        return sql(
            f"SELECT count(*), sum(quantity), sum({cents}), sum(quantity * {cents}),"
            " sum(customer_id), min(id), max(id) FROM sales"
        )[0]

    return run
