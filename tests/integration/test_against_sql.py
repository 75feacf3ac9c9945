"""Reports computed by the real worker equal independent SQL; missing data fails clearly.

Each extra stack here gets a Redis database of its own, so its worker never takes jobs
meant for the session's SQLite stack (and the other way round).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
import requests
from sqlalchemy import text

from devstack.stack import Stack
from sales.db import make_engine
from tests import oracle
from tests.conftest import start_stack
from tests.integration.client import run_job

pytestmark = pytest.mark.integration


@contextmanager
def own_redis_db(redis_url: str, db: int) -> Iterator[str]:
    """Another database of the session's Redis, flushed before and after."""
    url = f"{redis_url.rsplit('/', 1)[0]}/{db}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@pytest.fixture(scope="module")
def pg_stack(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, postgres_url: str
) -> Iterator[Stack]:
    """web + a worker whose DATABASE_URL is the seeded PostgreSQL schema."""
    with own_redis_db(redis_url, 3) as url:
        stack = start_stack(tmp_path_factory.mktemp("pg-stack"), url, postgres_url)
        yield stack
        stack.stop_all()


@pytest.fixture(scope="module")
def empty_db_stack(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Stack]:
    """web + a worker whose DATABASE_URL is an SQLite file without a `sales` table."""
    data = tmp_path_factory.mktemp("empty-db")
    (data / "empty.db").touch()
    with own_redis_db(redis_url, 4) as url:
        stack = start_stack(data, url, f"sqlite:///{data / 'empty.db'}")
        yield stack
        stack.stop_all()


def download_yearly(stack: Stack, year: str) -> dict:
    final, _ = run_job(stack.base_url, "yearly-sales", {"year": year})
    assert final["status"] == "Complete", final
    resp = requests.get(stack.base_url + final["reportURL"], timeout=10)
    assert resp.status_code == 200
    return resp.json()


def assert_equals_independent_sql(report: dict, database_url: str, year: int) -> None:
    engine = make_engine(database_url)
    try:
        expected = oracle.yearly_sales(oracle.load_sales(engine), year)
        with engine.connect() as conn:
            count, units = conn.execute(
                text(
                    "SELECT COUNT(*), SUM(quantity) FROM sales WHERE sold_at >= :a AND sold_at < :b"
                ),
                {"a": f"{year}-01-01", "b": f"{year + 1}-01-01"},
            ).one()
    finally:
        engine.dispose()
    oracle.assert_matches({k: report[k] for k in expected}, expected)
    assert (report["summary"]["orders"], report["summary"]["units"]) == (count, units)
    assert report["summary"]["orders"] > 0


def test_yearly_sales_from_the_worker_on_sqlite_equals_independent_sql(
    stack: Stack, sqlite_url: str
) -> None:
    # Given the session's stack, whose worker reads the seeded SQLite file
    # When the seed's request runs through web, broker and worker
    report = download_yearly(stack, "2023")
    # Then the downloaded figures equal an independent aggregation of that same file
    assert report["reportType"] == "yearly-sales" and report["parameters"] == {"year": "2023"}
    assert_equals_independent_sql(report, sqlite_url, 2023)


@pytest.mark.postgres
def test_yearly_sales_from_the_worker_on_postgres_equals_independent_sql(
    pg_stack: Stack, postgres_url: str
) -> None:
    # Given a stack whose worker reads the seeded PostgreSQL schema
    # When the seed's request runs through web, broker and worker
    report = download_yearly(pg_stack, "2023")
    # Then the downloaded figures equal an independent aggregation of that same schema
    assert_equals_independent_sql(report, postgres_url, 2023)


def test_a_database_without_the_sales_table_fails_with_a_useful_error(
    empty_db_stack: Stack,
) -> None:
    # Given a worker whose database has no `sales` table
    # When a report is asked for
    final, _ = run_job(empty_db_stack.base_url, "yearly-sales", {"year": "2023"})
    # Then the job fails, saying what is missing and what to do, without a traceback
    assert (final["status"], final["state"]) == ("Failed", "failed")
    error = final["error"]
    assert set(error) == {"type", "title", "detail"}
    assert error["type"].endswith("/data-unavailable")
    assert error["title"] == "The sales data is not available"
    assert "`sales` table" in error["detail"] and "seed" in error["detail"]
    assert "Traceback" not in str(final) and "sqlite3" not in str(final)
    assert "reportURL" not in final
    # And the download says it is not there, pointing at the status
    resp = requests.get(f"{empty_db_stack.base_url}/api/reports/{final['id']}/download", timeout=10)
    assert resp.status_code == 409
    assert resp.headers["Location"] == f"/api/reports/{final['id']}/status"
