"""data_state: what reports read now, in one consistent read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from sales.loader import run_import
from sales.schema import ensure_tables
from sales.seed import seed
from sales.state import data_state
from tests.sales.conftest import csv_body, stage

Sql = Callable[[str], list[tuple[Any, ...]]]


def _timestamp(value: Any) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


def test_an_empty_database_has_no_rows_and_a_version(engine: Engine) -> None:
    ensure_tables(engine)
    state = data_state(engine)
    assert (state.rows, state.first_sold_at, state.last_sold_at, state.last_import) == (
        0,
        None,
        None,
        None,
    )
    assert state.version and state.document()["lastImport"] is None


def test_the_state_matches_the_table_and_names_the_last_import(engine: Engine, sql: Sql) -> None:
    # Given seeded data and then one import
    seed(engine, 1_000)
    header = "sold_at,region,product,category,customer_id,quantity,unit_price"
    import_id = stage(engine, csv_body(header, "2030-01-02T03:04:05Z,North,Tent,Outdoor,1,2,3"))
    run_import(engine, import_id)
    # When the state is read
    state = data_state(engine)
    # Then it agrees with hand-written SQL
    count, first, last = sql("SELECT count(*), min(sold_at), max(sold_at) FROM sales")[0]
    assert (state.rows, state.first_sold_at, state.last_sold_at) == (
        count,
        _timestamp(first),
        _timestamp(last),
    )
    assert state.last_sold_at == dt.datetime(2030, 1, 2, 3, 4, 5)
    doc = state.document()
    assert doc["rows"] == 1_001 and doc["lastSoldAt"] == "2030-01-02T03:04:05Z"
    assert doc["lastImport"]["id"] == import_id and doc["lastImport"]["rowsImported"] == 1
    assert doc["version"] == state.version
