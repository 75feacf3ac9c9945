"""The one bulk writer: every value arrives as sent, on either database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from sales.bulk import write_rows
from sales.schema import SALES_COLUMNS, ensure_tables, sales, stored_timestamp

Sql = Callable[[str], list[tuple[Any, ...]]]
AWKWARD = ["tab\there", "back\\slash", "new\nline", "cr\rlf\r\n", 'quote"s', "\\N", "ünï", ",;|"]


def test_rows_arrive_exactly_as_written(engine: Engine, sql: Sql) -> None:
    # Given rows whose text has every character COPY and CSV treat specially
    ensure_tables(engine)
    when = dt.datetime(2023, 5, 1, 14, 3, 0, 250_000)
    rows = [
        (stored_timestamp(when), text, text[::-1], "Outdoor", str(i + 1), i + 1, "12.50")
        for i, text in enumerate(AWKWARD)
    ]
    # When they are written in one transaction
    with engine.begin() as conn:
        assert write_rows(conn, sales, SALES_COLUMNS, iter(rows)) == len(AWKWARD)
    # Then the database holds the same values
    found = sql("SELECT region, product, customer_id, quantity, unit_price, sold_at FROM sales")
    assert [(r[0], r[1], r[2], r[3]) for r in found] == [
        (t, t[::-1], i + 1, i + 1) for i, t in enumerate(AWKWARD)
    ]
    assert {float(r[4]) for r in found} == {12.5}
    assert {
        r[5] if isinstance(r[5], dt.datetime) else dt.datetime.fromisoformat(r[5]) for r in found
    } == {when}


def test_writes_roll_back_with_their_transaction(engine: Engine, sql: Sql) -> None:
    ensure_tables(engine)
    with engine.connect() as conn:
        write_rows(
            conn, sales, SALES_COLUMNS, [("2023-05-01 00:00:00.000000", "a", "b", "c", 1, 1, 1.0)]
        )
        conn.rollback()
    assert sql("SELECT count(*) FROM sales") == [(0,)]
