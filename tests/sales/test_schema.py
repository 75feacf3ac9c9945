"""ensure_tables: creates what is missing, keeps what is there, and survives a race."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, inspect
from sqlalchemy.schema import CreateTable

from sales.db import make_engine
from sales.schema import ensure_tables, sales

Sql = Callable[[str], list[tuple[Any, ...]]]
IMPORT_TABLES = {"import_uploads", "import_files", "import_errors", "import_ledger", "data_version"}


def test_it_adds_the_import_tables_beside_an_existing_sales_table(engine: Engine, sql: Sql) -> None:
    # Given a database with only a filled sales table, as before imports existed
    with engine.begin() as conn:
        conn.execute(CreateTable(sales))
        conn.exec_driver_sql(
            "INSERT INTO sales (sold_at, region, product, category, customer_id, quantity,"
            " unit_price) VALUES ('2023-05-01 00:00:00', 'North', 'Tent', 'Outdoor', 1, 1, 1)"
        )
    # When the tables are ensured, twice
    ensure_tables(engine)
    ensure_tables(engine)
    # Then the import tables and the report index exist, and the sales row is kept
    assert IMPORT_TABLES | {"sales"} <= set(inspect(engine).get_table_names())
    assert "ix_sales_sold_at_cover" in {i["name"] for i in inspect(engine).get_indexes("sales")}
    assert sql("SELECT count(*) FROM sales") == [(1,)]
    assert sql("SELECT count(*) FROM data_version") == [(1,)]


def test_processes_that_race_to_create_the_tables_all_succeed(database_url: str, sql: Sql) -> None:
    # Given four engines (as four processes would have) on an empty database
    engines = [make_engine(database_url) for _ in range(4)]
    failures: list[BaseException] = []
    start = threading.Barrier(len(engines))

    def create(engine: Engine) -> None:
        start.wait()
        try:
            ensure_tables(engine)
        except BaseException as exc:  # the test reports it below
            failures.append(exc)

    # When they all ensure the tables at once
    threads = [threading.Thread(target=create, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.dispose()
    # Then none failed and there is one version row
    assert failures == []
    assert sql("SELECT count(*) FROM data_version") == [(1,)]
