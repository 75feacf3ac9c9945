"""Results already computed, through the real processes: what makes a kept result stale,
an import (its own signal) and rows inserted or updated with plain SQL (the fingerprint)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
import sqlalchemy

from tests.integration.imports import csv_text, post_import, rows_in, wait_done, year_range
from tests.integration.reuse import (
    ALICE,
    ENV,
    FINGERPRINT_SECONDS,
    ReuseStack,
    yearly,
)
from tests.integration.stacks import seeded_stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def long_fingerprint(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[ReuseStack]:
    """A stack that trusts a version read from the database for an hour: only the import's
    own signal can make it stale."""
    tmp = tmp_path_factory.mktemp("reuse-long")
    env = {**ENV, "DATA_FINGERPRINT_SECONDS": "3600"}
    with seeded_stack(tmp, "sqlite", redis_url, 12, env) as (stack, url):
        yield ReuseStack(stack, url)


def test_an_import_changes_the_version_and_the_next_reports_compute_anew(
    long_fingerprint: ReuseStack,
) -> None:
    reuse = long_fingerprint
    # Given reports of 2031 (no rows yet) and 2020, computed and kept
    empty = reuse.finished(reuse.submit(yearly(2031)))
    assert reuse.download(empty)["summary"]["orders"] == 0
    reuse.finished(reuse.submit(yearly(2020)))
    assert reuse.submit(yearly(2031)).json()["cached"] is True
    before = requests.get(f"{reuse.base}/api/data", headers=ALICE, timeout=10).json()["version"]
    # When an import adds 40 rows sold in 2031
    imported = post_import(reuse.base, csv_text(rows_in(2031, 40)), ALICE)
    assert imported.status_code == 202, imported.text
    assert wait_done(reuse.base, imported.headers["Location"], ALICE)["status"] == "Complete"
    # Then the version changed, the next 2031 report is computed and includes the rows
    after = requests.get(f"{reuse.base}/api/data", headers=ALICE, timeout=10).json()["version"]
    assert after != before
    resp = reuse.submit(yearly(2031))
    assert "cached" not in resp.json()
    assert reuse.download(reuse.finished(resp))["summary"]["orders"] == 40
    # And a 2020 report is computed anew too (the version is global)
    assert "cached" not in reuse.submit(yearly(2020)).json()


def insert_rows(database_url: str, year: int, count: int) -> None:
    engine = sqlalchemy.create_engine(database_url)
    with engine.begin() as conn:
        for i in range(count):
            conn.exec_driver_sql(
                "INSERT INTO sales (sold_at, region, product, category, customer_id, quantity,"
                f" unit_price) VALUES ('{year}-03-0{i % 9 + 1} 10:00:00.000000', 'North',"
                " 'Widget', 'Tools', 1, 2, 3.50)"
            )
    engine.dispose()


def test_rows_inserted_with_plain_sql_are_noticed_within_the_fingerprint_interval(
    reuse: ReuseStack,
) -> None:
    # Given a report of 2032 (no rows), computed and kept
    first = reuse.finished(reuse.submit(yearly(2032)))
    assert reuse.download(first)["summary"]["orders"] == 0
    assert reuse.submit(yearly(2032)).json()["cached"] is True
    # When someone inserts three rows of 2032 with plain SQL, bypassing the service
    insert_rows(reuse.database_url, 2032, 3)
    # Then once the cached version is older than DATA_FINGERPRINT_SECONDS, the next
    # 2032 report is computed and includes them
    time.sleep(2 * FINGERPRINT_SECONDS + 1.0)  # the cached version is gone
    resp = reuse.submit(yearly(2032))
    assert "cached" not in resp.json()
    assert reuse.download(reuse.finished(resp))["summary"]["orders"] == 3


def test_an_update_with_plain_sql_is_noticed_on_postgresql_only(reuse: ReuseStack) -> None:
    # Given a report of 2033 with two rows, computed and kept
    insert_rows(reuse.database_url, 2033, 2)
    time.sleep(2 * FINGERPRINT_SECONDS + 1.0)  # the cached version is gone
    first = reuse.finished(reuse.submit(yearly(2033)))
    assert reuse.download(first)["summary"]["units"] == 4
    # When their quantities are changed with a plain UPDATE (count and largest id unchanged)
    engine = sqlalchemy.create_engine(reuse.database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE sales SET quantity = 9 WHERE {year_range(2033)}")
    engine.dispose()  # the session ends: PostgreSQL has its statistics now
    time.sleep(2 * FINGERPRINT_SECONDS + 1.0)  # the cached version is gone
    # Then, as the README says: PostgreSQL's change counters notice it, and the report is
    # computed anew; SQLite's fingerprint does not (bump data_version, or no-cache)
    again = reuse.submit(yearly(2033))
    if reuse.postgres:
        assert "cached" not in again.json()
        assert reuse.download(reuse.finished(again))["summary"]["units"] == 18
    else:
        assert again.json()["cached"] is True
        fresh = reuse.finished(reuse.submit(yearly(2033), Cache_Control="no-cache"))
        assert reuse.download(fresh)["summary"]["units"] == 18
