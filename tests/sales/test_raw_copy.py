"""PostgreSQL's COPY way in (sales.raw_copy): the SQL check agrees with parse(), and a file
gives the same rows and the same bad rows whichever way it goes."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

import sales.loader
import sales.staging
from sales.bad_rows import iter_bad_rows
from sales.db import make_engine
from sales.loader import run_import
from sales.raw_copy import RAW, RawFile
from sales.rows import RowParser
from sales.seed import seed
from tests.sales.conftest import stage
from tests.sales.test_rows import GOOD, HEADER

pytestmark = pytest.mark.postgres

PIECES = {
    "sold_at": [
        "2023-05-01 14:03:00",
        "2023-05-01T14:03:00",
        "2023-05-01T14:03:00Z",
        "2023-05-01 14:03:00Z",
        "2023-05-01t14:03:00",
        "2023-05-01T14:03:00z",
        "2023-05-01T14:03:00+01:00",
        "2023-05-01T14:03:00.5",
        "2023-05-01",
        "20230501T140300",
        "0000-01-01 00:00:00",
        "0001-01-01 00:00:00",
        "9999-12-31 23:59:59",
        "2023-00-10 10:00:00",
        "2023-13-10 10:00:00",
        "2023-04-31 10:00:00",
        "2023-04-30 10:00:00",
        "2023-12-31 10:00:00",
        "2023-02-29 10:00:00",
        "2024-02-29 10:00:00",
        "1900-02-29 10:00:00",
        "2000-02-29 10:00:00",
        "2023-02-30 10:00:00",
        "2023-05-00 10:00:00",
        "2023-05-01 24:00:00",
        "2023-05-01 23:60:00",
        "2023-05-01 23:59:60",
        "2023-05-01 23:59:59",
        "2023-05-01  14:03:00",
        "\u0662023-05-01 14:03:00",
    ],
    "text": ["North", "", " ", "\t", " x ", "x" * 100, "x" * 101, "Café", "日本", "\u3000",
             "\ufffd", "a\ufffdb", "\x01", "N\x7fx", "\x1c", " \x0b ", "\x1f x", "\xa0"],
    "customer_id": ["1", "42", "0", "01", "999999999", "1000000000", "2147483647",
                    "2147483648", "-1", "1.0", "", " 1", "\u0661"],
    "quantity": ["1", "3", "0", "01", "999999", "1000000", "1000001", "-3", "", "2.0"],
    "unit_price": ["0", "0.0", "12.5", "179.00", "1.", ".5", "01.50", "1.234", "-1",
                   "9999999999.99", "10000000000", "", "1e3", "NaN", "1.5.0"],
    "id": ["", "1", "0", "01", "9223372036854775807", "9223372036854775808", "x"],
}  # fmt: skip
KIND = {"region": "text", "product": "text", "category": "text"}
WITH_ID = ["id", *HEADER]


def rows_for(columns: list[str], count: int, rng: random.Random) -> Iterator[list[str]]:
    """Rows mostly good, each value replaced by an edge case now and then."""
    for _ in range(count):
        row = []
        for column in columns:
            good = GOOD.get(column, "7")
            pieces = PIECES[KIND.get(column, column)]
            row.append(rng.choice(pieces) if rng.random() < 0.3 else good)
        yield row


def as_stored(column: str, value: Any) -> Any:
    """parse()'s stored text as the database's cast would read it."""
    if value is None:
        return None
    if column == "sold_at":
        return dt.datetime.fromisoformat(value)
    if column in ("customer_id", "quantity", "id"):
        return int(value)
    if column == "unit_price":
        return Decimal(value).quantize(Decimal("0.01"))
    return value


@pytest.fixture
def pg(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("columns", [HEADER, WITH_ID, list(reversed(WITH_ID))])
def test_rows_the_sql_check_passes_are_stored_exactly_as_parse_stores_them(
    pg: Engine, columns: list[str]
) -> None:
    # Given thousands of rows full of edge cases, as COPY leaves them (empty is NULL)
    parser = RowParser(columns)
    raw = RawFile(parser, 0)
    rows = list(rows_for(columns, 4000, random.Random(9)))
    fields = ", ".join(f"f{i}" for i in range(len(columns)))
    with pg.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {RAW} (line bigint, "
            + ", ".join(f"f{i} text" for i in range(len(columns)))
            + ")"
        )
        marks = ", ".join(["%s"] * (len(columns) + 1))
        conn.connection.driver_connection.cursor().executemany(  # type: ignore[union-attr]
            f"INSERT INTO {RAW} (line, {fields}) VALUES ({marks})",
            [(n, *[v or None for v in row]) for n, row in enumerate(rows)],
        )
        # When the SQL check and the casts run over them
        found = conn.exec_driver_sql(
            f"SELECT line, {raw.good()}, CASE WHEN {raw.good()} THEN ROW({', '.join(raw.stored())})"
            f" END FROM {RAW} ORDER BY line"
        ).all()
    # Then every row it passes is one parse() stores, as the same values
    passed = 0
    for (line, good, record), row in zip(found, rows, strict=True):
        result = parser.parse(row)
        if not good:
            continue
        passed += 1
        assert isinstance(result, tuple), (line, row, result)
        expected = tuple(
            as_stored(c, v) for c, v in zip(parser.stored_columns, result, strict=True)
        )
        assert _record(record, parser) == expected, row
    assert 0.05 * len(rows) < passed < len(rows)  # (both answers occur)


def _record(values: tuple[str | None, ...], parser: RowParser) -> tuple[Any, ...]:
    # A ROW() arrives as a tuple of its values' text.
    return tuple(as_stored(c, v) for c, v in zip(parser.stored_columns, values, strict=True))


def plain_file(rows: list[list[str]], columns: list[str], newline: str) -> bytes:
    lines = [",".join(columns), *(",".join(r) for r in rows)]
    return (newline.join(lines) + newline).encode()


def _at_a_line(body: bytes, near: int, lines: bytes) -> bytes:
    cut = body.index(b"\n", near) + 1
    return body[:cut] + lines + body[cut:]


FILES = {
    "plain": lambda body: body,
    "crlf and trailing blank lines": lambda body: body.replace(b"\n", b"\r\n") + b"\r\n\r\n",
    "a quoted value late": lambda body: body + b'2023-05-01 14:03:00,"North",T,O,1,1,1.00\n',
    "a blank line mid-way": lambda body: _at_a_line(body, 30_000, b"\n"),
    "a line of another width": lambda body: body + b"2023-05-01 14:03:00,North,T,O,1,1\n",
    # (as many commas as two good lines: only COPY finds them)
    "two lines of other widths": lambda body: _at_a_line(
        body, 9000, b"a,b,c,d,e,f,g,h\na,b,c,d,e,f\n"
    ),
    "a lone carriage return": lambda body: body + b"2023-05-01 14:03:00,North\r,T,O,1,1,1\n",
    "a backslash": lambda body: body + b"2023-05-01 14:03:00,No\\rth,T,O,1,1,1\n",
}


def _imported(engine: Engine, after: int) -> list[tuple[Any, ...]]:
    """The rows of `sales` past id `after`, in an order that ties nothing."""
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.exec_driver_sql(
                "SELECT sold_at, region, product, category, customer_id, quantity, unit_price"
                f" FROM sales WHERE id > {after} ORDER BY sold_at, region, product, category,"
                " customer_id, quantity, unit_price"
            )
        ]


@pytest.mark.parametrize(
    ("name", "columns"),
    [(name, HEADER) for name in FILES] + [("plain", WITH_ID), ("plain", WITH_ID[::-1])],
)
def test_a_file_gives_the_same_rows_and_bad_rows_either_way(
    pg: Engine, name: str, columns: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a file of many small chunks, mostly good rows, some bad, in one of its forms
    monkeypatch.setattr(sales.staging, "CHUNK_BYTES", 8192)
    seed(pg, 0)
    rows = list(rows_for(columns, 3000, random.Random(4)))
    body = FILES[name](plain_file(rows, columns, "\n"))
    took: list[bool] = []
    real = sales.loader.copy_raw

    def spy(*args: Any) -> Any:
        result = real(*args)
        took.append(result is not None)
        return result

    # When it is imported by COPY where it can be, then again row by row
    monkeypatch.setattr(sales.loader, "copy_raw", spy)
    first = run_import(pg, stage(pg, body), max_bad_rows=10**6)
    added = _imported(pg, 0)
    with pg.connect() as conn:
        top = conn.exec_driver_sql("SELECT max(id) FROM sales").scalar_one()
    monkeypatch.setattr(sales.loader, "copy_raw", lambda *_: None)
    second_id = stage(pg, body)
    second = run_import(pg, second_id, max_bad_rows=10**6)
    # Then both add the same rows and find the same bad rows, by line and message
    assert took == [name.startswith(("plain", "crlf"))]
    assert (first.rows_read, first.rows_imported, first.rows_rejected) == (
        second.rows_read,
        second.rows_imported,
        second.rows_rejected,
    )
    assert first.rows_rejected > 0 and first.rows_imported > 500
    assert (first.first_sold_at, first.last_sold_at) == (second.first_sold_at, second.last_sold_at)
    assert _imported(pg, top) == added
    assert list(iter_bad_rows(pg, first.import_id)) == list(iter_bad_rows(pg, second_id))


def test_too_many_bad_rows_by_copy_change_nothing_and_keep_the_first_errors(pg: Engine) -> None:
    # Given a plain file whose every third row is bad
    seed(pg, 0)
    rows = [[*GOOD.values()] for _ in range(9000)]
    for row in rows[::3]:
        row[5] = "0"
    body = plain_file(rows, HEADER, "\n")
    # When it is imported with maxBadRows 10
    outcome = run_import(pg, stage(pg, body), max_bad_rows=10)
    # Then nothing is added, all 3000 are counted, and the first ones are listed in order
    assert outcome.status.value == "too-many-bad-rows"
    assert (outcome.rows_read, outcome.rows_imported, outcome.rows_rejected) == (9000, 0, 3000)
    with pg.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM sales").scalar_one() == 0
    listed = [e.line for e in iter_bad_rows(pg, outcome.import_id)]
    assert listed[:3] == [2, 5, 8] and listed == sorted(listed)
