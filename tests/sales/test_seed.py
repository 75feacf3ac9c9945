"""The sample data set: unchanged by the move to sales/ and its one bulk loader."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect

from sales.schema import data_version
from sales.seed import main, row_count, seed

ROWS = 30_000
# Computed with worker/sales/seed.py (main at dcd1074) for 30,000 rows, seed 2023.
AGGREGATES = (30_000, 61_308, 751_830_367, 206_783_570, 421_754_320)
FIRST, LAST = dt.datetime(2020, 1, 1, 16, 46, 43), dt.datetime(2025, 12, 31, 23, 31, 10)
ROWS_SHA256 = "9ac1c7ef6823db2badf4fd63084f322ea2840334f7051245159693e5e7e7011b"
# SQLite only: the stored values and their storage classes, byte for byte.
SQLITE_RAW_SHA256 = "bf341ef274ce62d8d8a5d05d79b020d6fa867f0a00d7fe24cfb804dd36845c42"

Sql = Callable[[str], list[tuple[Any, ...]]]


def _timestamp(value: object) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


def rows_digest(sql: Sql) -> str:
    """SHA-256 of every row as Python values, in id order (the same on both databases)."""
    digest = hashlib.sha256()
    query = (
        "SELECT id, sold_at, region, product, category, customer_id, quantity, unit_price"
        " FROM sales ORDER BY id"
    )
    for r in sql(query):
        price = Decimal(str(r[7])).quantize(Decimal("0.01"))
        sold_at = _timestamp(r[1]).isoformat(sep=" ")
        line = f"{r[0]}|{sold_at}|{r[2]}|{r[3]}|{r[4]}|{r[5]}|{r[6]}|{price}"
        digest.update(line.encode() + b"\n")
    return digest.hexdigest()


@pytest.mark.timeout(300)
def test_the_seed_stores_the_same_rows_as_before(engine: Engine, sql: Sql) -> None:
    # Given an empty database
    # When it is seeded with 30,000 rows
    seed(engine, ROWS)
    # Then the rows are those the previous seed stored, on either database
    cents = "CAST(round(unit_price * 100) AS INTEGER)"
    aggregates = sql(
        f"SELECT count(*), sum(quantity), sum(customer_id), sum({cents}), sum(quantity * {cents}),"
        " min(sold_at), max(sold_at) FROM sales"
    )[0]
    assert aggregates[:5] == AGGREGATES
    assert (_timestamp(aggregates[5]), _timestamp(aggregates[6])) == (FIRST, LAST)
    assert rows_digest(sql) == ROWS_SHA256
    # And the report index is there
    assert [i["name"] for i in inspect(engine).get_indexes("sales")] == ["ix_sales_sold_at_cover"]


def test_sqlite_stores_the_same_bytes_as_before(tmp_path: Path) -> None:
    # Given a SQLite file seeded through the command line
    path = tmp_path / "sales.db"
    assert main(["--rows", str(ROWS), "--database-url", f"sqlite:///{path}"]) == 0
    # Then every stored value and its storage class (text timestamps, REAL or INTEGER
    # prices) is what the previous seed wrote
    digest = hashlib.sha256()
    with sqlite3.connect(path) as conn:
        for r in conn.execute(
            "SELECT id, sold_at, region, product, category, customer_id, quantity, unit_price,"
            " typeof(sold_at), typeof(unit_price), typeof(customer_id) FROM sales ORDER BY id"
        ):
            digest.update(repr(r).encode())
    assert digest.hexdigest() == SQLITE_RAW_SHA256


def test_seeding_creates_the_import_tables_and_a_new_version(engine: Engine, sql: Sql) -> None:
    # Given a seeded database
    seed(engine, 100)
    tables = set(inspect(engine).get_table_names())
    assert {"import_uploads", "import_files", "import_errors", "import_ledger"} <= tables
    (before,) = sql("SELECT version FROM data_version")[0]
    # When it is seeded again
    seed(engine, 200)
    # Then the data version changed with the data
    assert sql("SELECT count(*) FROM data_version") == [(1,)]
    assert sql("SELECT version FROM data_version")[0][0] != before
    assert data_version.name == "data_version"


def test_if_empty_leaves_a_filled_table_alone(tmp_path: Path) -> None:
    # Given a seeded SQLite file
    url = f"sqlite:///{tmp_path / 'var' / 'sales.db'}"
    assert main(["--rows", "50", "--database-url", url]) == 0
    # When the seed runs again with --if-empty and another row count
    assert main(["--rows", "70", "--database-url", url, "--if-empty"]) == 0
    # Then the table keeps its rows
    from sales.db import make_engine

    engine = make_engine(url)
    try:
        assert row_count(engine) == 50
    finally:
        engine.dispose()
