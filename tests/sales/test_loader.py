"""run_import on real databases: what it adds, what it rejects, and that it adds it once."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, event

from sales.bad_rows import bad_rows_csv, bad_rows_json, iter_bad_rows
from sales.errors import HeaderInvalid, UploadNotFound
from sales.ledger import ImportStatus
from sales.loader import BATCH_ROWS, run_import
from sales.schema import SALES_COLUMNS, ensure_tables
from sales.seed import generate, seed
from sales.staging import stage_upload
from sales.state import data_state
from tests.sales.conftest import csv_body, stage

HEADER = ",".join(SALES_COLUMNS)
GOOD = "2023-05-01 14:03:00,North,Tent 2P,Outdoor,42,3,179.00"
SEEDED = 300

Sql = Callable[[str], list[tuple[Any, ...]]]
Summary = Callable[[], tuple[Any, ...]]


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    """A database with the sample data set's first 300 rows."""
    seed(engine, SEEDED)
    return engine


def import_counter(engine: Engine) -> int:
    """The counter every committed import bumps (the version's first part: PostgreSQL's
    change counters, its second part, may still move while the seed's statistics arrive)."""
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT version FROM data_version").scalar_one())


def generated_csv(rows: int) -> tuple[bytes, list[tuple[Any, ...]]]:
    """A CSV of generated sales (not the seeded ones) and the rows it holds."""
    data = list(generate(rows, seed=5))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SALES_COLUMNS)
    writer.writerows(data)
    return out.getvalue().encode(), data


def errors_of(engine: Engine, import_id: str) -> list[tuple[int, str, str]]:
    return [(e.line, e.column, e.message) for e in iter_bad_rows(engine, import_id)]


def test_a_clean_import_adds_exactly_its_rows(seeded: Engine, sql: Sql, summary: Summary) -> None:
    # Given a database with 300 rows and a file of 12,000 others, sent in odd-sized pieces
    body, rows = generated_csv(12_000)
    import_id = stage(seeded, body, piece=7_777)
    before = data_state(seeded)
    # When it is imported
    seen: list[tuple[int, int, int]] = []
    outcome = run_import(seeded, import_id, on_progress=lambda *p: seen.append(p))
    # Then the outcome counts every row and spans their times
    assert outcome.status is ImportStatus.IMPORTED
    assert (outcome.rows_read, outcome.rows_imported, outcome.rows_rejected) == (12_000, 12_000, 0)
    assert outcome.first_sold_at == min(r[0] for r in rows)
    assert outcome.last_sold_at == max(r[0] for r in rows)
    assert outcome.result()["rowsImported"] == 12_000
    # And the new rows (ids after the seeded ones) add up to the file's, by independent SQL
    cents = "CAST(round(unit_price * 100) AS INTEGER)"
    added = sql(
        f"SELECT count(*), sum(quantity), sum(customer_id), sum(quantity * {cents}),"
        f" count(DISTINCT region || product) FROM sales WHERE id > {SEEDED}"
    )[0]
    in_file = (
        len(rows),
        sum(int(r[5]) for r in rows),
        sum(int(r[4]) for r in rows),
        sum(int(r[5]) * int(Decimal(str(r[6])) * 100) for r in rows),
        len({(r[1], r[2]) for r in rows}),
    )
    assert added == in_file
    assert summary()[0] == SEEDED + 12_000
    # And progress was reported along the way, in rows and bytes
    assert len(seen) >= 12_000 // BATCH_ROWS
    assert seen[-1] == (12_000, len(body), len(body))
    # And the data has a new version, with this import as the last one
    after = data_state(seeded)
    assert after.version != before.version and after.rows == SEEDED + 12_000
    assert after.last_import is not None and after.last_import.import_id == import_id


def test_timestamps_are_stored_as_utc(seeded: Engine, sql: Sql) -> None:
    # Given timestamps with and without offsets, with T or a space, and a fraction
    body = csv_body(
        "id,sold_at,region,product,category,customer_id,quantity,unit_price",
        "1001,2023-05-01T14:03:00Z,North,Tent,Outdoor,1,1,1.00",
        "1002,2023-05-01T14:03:00+02:00,North,Tent,Outdoor,1,1,1.00",
        "1003,2023-12-31T23:30:00-01:00,North,Tent,Outdoor,1,1,1.00",
        "1004,2023-05-01 14:03:00.25,North,Tent,Outdoor,1,1,1.00",
    )
    # When imported
    outcome = run_import(seeded, stage(seeded, body))
    # Then each is stored as the UTC time it names
    found = sql("SELECT id, sold_at FROM sales WHERE id > 1000 ORDER BY id")
    stored = [
        v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(str(v)) for _, v in found
    ]
    assert stored == [
        dt.datetime(2023, 5, 1, 14, 3),
        dt.datetime(2023, 5, 1, 12, 3),
        dt.datetime(2024, 1, 1, 0, 30),
        dt.datetime(2023, 5, 1, 14, 3, 0, 250_000),
    ]
    assert outcome.first_sold_at == dt.datetime(2023, 5, 1, 12, 3)
    assert outcome.last_sold_at == dt.datetime(2024, 1, 1, 0, 30)
    assert outcome.result()["lastSoldAt"] == "2024-01-01T00:30:00Z"


def test_bad_rows_within_the_limit_are_listed_by_physical_line(
    seeded: Engine, summary: Summary
) -> None:
    # Given a CRLF file whose quoted product spans two lines just before a bad row
    body = csv_body(
        HEADER,
        GOOD,  # line 2
        '2023-05-01 14:03:00,North,"Tent\r\n2 people",Outdoor,42,3,179.00',  # lines 3-4
        "2023-05-01 14:03:00,North,Tent,Outdoor,42,0,179.001",  # line 5: two bad values
        "",  # line 6: blank, not a row
        "2023-05-01,North,Tent,Outdoor,42,3,1",  # line 7: no time of day
        "2023-05-01 14:03:00,North,Tent",  # line 8: too few fields
        newline="\r\n",
    )
    before = summary()
    # When imported with up to 3 bad rows allowed
    import_id = stage(seeded, body)
    outcome = run_import(seeded, import_id, max_bad_rows=3)
    # Then the good rows are added and the bad ones listed with their lines and reasons
    assert outcome.status is ImportStatus.IMPORTED
    assert (outcome.rows_read, outcome.rows_imported, outcome.rows_rejected) == (5, 2, 3)
    assert summary()[0] == before[0] + 2
    found = errors_of(seeded, import_id)
    assert [(line, column) for line, column, _ in found] == [
        (5, "quantity"),
        (5, "unit_price"),
        (7, "sold_at"),
        (8, ""),
    ]
    assert "from 1 to 1000000" in found[0][2] and "more than two decimals" in found[1][2]
    assert "time of day" in found[2][2] and "has 3 fields; the header has 7" in found[3][2]


def test_more_bad_rows_than_allowed_fail_and_change_nothing(
    seeded: Engine, summary: Summary
) -> None:
    # Given a file with two good rows and three bad ones, and at most two bad rows allowed
    body = csv_body(HEADER, GOOD, "x,North,Tent,Outdoor,1,1,1", GOOD, "y,,,,,,", "z,a,b,c,1,1,1")
    before, version = summary(), import_counter(seeded)
    import_id = stage(seeded, body)
    # When imported
    outcome = run_import(seeded, import_id, max_bad_rows=2)
    # Then it fails saying how many rows were bad, adds nothing and lists them
    assert outcome.status is ImportStatus.TOO_MANY_BAD_ROWS
    assert (outcome.rows_read, outcome.rows_imported, outcome.rows_rejected) == (5, 0, 3)
    assert summary() == before and import_counter(seeded) == version
    assert sorted({line for line, _, _ in errors_of(seeded, import_id)}) == [3, 5, 6]
    # And a redelivery gives the same answer without reading the file again (it is gone)
    assert run_import(seeded, import_id, max_bad_rows=2) == outcome


def test_a_file_of_nothing_but_bad_rows_is_counted_in_full(seeded: Engine) -> None:
    # Given 12,000 rows, all bad, and no bad row allowed
    body = csv_body(HEADER, *["2023-05-01 14:03:00,North,Tent,Outdoor,0,1,1"] * 12_000)
    import_id = stage(seeded, body)
    outcome = run_import(seeded, import_id)
    # Then every one is counted, and the first are listed
    assert outcome.status is ImportStatus.TOO_MANY_BAD_ROWS
    assert outcome.rows_rejected == 12_000
    listed = errors_of(seeded, import_id)
    assert listed[0] == (2, "customer_id", listed[0][2]) and len(listed) == 10_000


def test_ids_already_in_the_table_or_repeated_in_the_file_are_bad_rows(
    seeded: Engine, sql: Sql
) -> None:
    # Given a file with an id column: free ids, one taken, one repeated, and empty ones
    header = "id,sold_at,region,product,category,customer_id,quantity,unit_price"
    row = "2023-05-01 14:03:00,North,Tent,Outdoor,42,3,179.00"
    body = csv_body(
        header,
        f"5000,{row}",  # line 2: free
        f"7,{row}",  # line 3: taken by the seeded data
        f"5001,{row}",  # line 4: free, first of two
        f",{row}",  # line 5: the database picks one
        f"5001,{row}",  # line 6: repeated
        f"5002,{row}",  # line 7: free
        f"5001,{row}",  # line 8: repeated again
        f",{row}",  # line 9: the database picks one
    )
    import_id = stage(seeded, body)
    # When imported with room for the bad rows
    outcome = run_import(seeded, import_id, max_bad_rows=5)
    # Then the taken and repeated ids are bad rows, the others are added
    assert (outcome.rows_read, outcome.rows_imported, outcome.rows_rejected) == (8, 5, 3)
    assert [(e.line, e.column, e.value, e.message) for e in iter_bad_rows(seeded, import_id)] == [
        (3, "id", "7", "is already in the sales table"),
        (6, "id", "5001", "is repeated: first on line 4"),
        (8, "id", "5001", "is repeated: first on line 4"),
    ]
    ids = [r[0] for r in sql(f"SELECT id FROM sales WHERE id > {SEEDED} ORDER BY id")]
    assert ids[:3] == [5000, 5001, 5002] and len(ids) == 5
    assert all(i > 5002 for i in ids[3:])
    # And a later insert that lets the database pick the id still finds a free one
    with seeded.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO sales (sold_at, region, product, category, customer_id, quantity,"
            " unit_price) VALUES ('2023-06-01 00:00:00', 'North', 'Tent', 'Outdoor', 1, 1, 1)"
        )
    assert sql("SELECT count(*), count(DISTINCT id) FROM sales")[0] == (SEEDED + 6, SEEDED + 6)


def test_too_many_taken_ids_fail_the_import(seeded: Engine, summary: Summary) -> None:
    header = "id,sold_at,region,product,category,customer_id,quantity,unit_price"
    body = csv_body(header, f"1,{GOOD}", f"2,{GOOD}", f"9999,{GOOD}")
    before = summary()
    outcome = run_import(seeded, stage(seeded, body), max_bad_rows=1)
    assert outcome.status is ImportStatus.TOO_MANY_BAD_ROWS and outcome.rows_rejected == 2
    assert summary() == before


def test_an_import_that_committed_adds_nothing_when_run_again(
    seeded: Engine, summary: Summary
) -> None:
    # Given an import that completed
    body, _ = generated_csv(500)
    import_id = stage(seeded, body)
    first = run_import(seeded, import_id)
    after_first, version = summary(), import_counter(seeded)
    # When the same import is delivered again
    again = run_import(seeded, import_id)
    # Then it reports the same outcome and the data is unchanged
    assert again == first
    assert summary() == after_first and import_counter(seeded) == version


def test_an_import_interrupted_after_staging_changes_nothing_and_a_rerun_completes_once(
    seeded: Engine, summary: Summary
) -> None:
    # Given an import whose worker fails after staging its first rows
    body, _ = generated_csv(3 * BATCH_ROWS)
    import_id = stage(seeded, body)
    before, version = summary(), import_counter(seeded)

    def fail(rows: int, _done: int, _total: int) -> None:
        if rows > BATCH_ROWS:
            raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError, match="worker lost"):
        run_import(seeded, import_id, on_progress=fail)
    # Then sales is exactly as it was
    assert summary() == before and import_counter(seeded) == version
    # When it runs again, twice
    outcome = run_import(seeded, import_id)
    assert run_import(seeded, import_id) == outcome
    # Then every row was added once
    assert outcome.rows_imported == 3 * BATCH_ROWS
    assert summary()[0] == before[0] + 3 * BATCH_ROWS


def test_should_stop_cancels_without_changing_sales(seeded: Engine, summary: Summary) -> None:
    # Given a cancellation that arrives after the first batch
    body, _ = generated_csv(3 * BATCH_ROWS)
    import_id = stage(seeded, body)
    before, version = summary(), import_counter(seeded)
    # When the import checks for it
    outcome = run_import(seeded, import_id, should_stop=lambda: True)
    # Then it stops there and sales is unchanged
    assert outcome.status is ImportStatus.CANCELLED
    assert outcome.rows_read == BATCH_ROWS and outcome.rows_imported == 0
    assert summary() == before and import_counter(seeded) == version
    # And nothing was recorded: the upload is still there to discard (or run)
    assert run_import(seeded, import_id).rows_imported == 3 * BATCH_ROWS


def test_the_data_version_changes_only_when_an_import_adds_rows(seeded: Engine) -> None:
    version = import_counter(seeded)
    # A failed import, a cancelled one and one of no rows leave it alone
    run_import(seeded, stage(seeded, csv_body(HEADER, "bad")))
    run_import(seeded, stage(seeded, csv_body(HEADER, GOOD)), should_stop=lambda: True)
    empty = run_import(seeded, stage(seeded, csv_body(HEADER)))
    assert empty.status is ImportStatus.IMPORTED and empty.rows_read == 0
    assert import_counter(seeded) == version
    # A committed import changes it
    run_import(seeded, stage(seeded, csv_body(HEADER, GOOD)))
    assert import_counter(seeded) != version


def test_bytes_that_are_not_utf8_make_a_bad_row_that_names_its_column(seeded: Engine) -> None:
    # Given a Latin-1 "é" in one product name, and a UTF-8 BOM at the start
    latin1 = csv_body(HEADER, GOOD, "2023-05-01 14:03:00,North,CafX,Outdoor,1,1,1")
    body = b"\xef\xbb\xbf" + latin1.replace(b"CafX", b"Caf\xe9")
    import_id = stage(seeded, body)
    outcome = run_import(seeded, import_id, max_bad_rows=1)
    assert (outcome.rows_imported, outcome.rows_rejected) == (1, 1)
    assert errors_of(seeded, import_id) == [(3, "product", "is not valid UTF-8")]


def test_text_of_any_kind_is_stored_as_sent(seeded: Engine, sql: Sql) -> None:
    # Given text with quotes, commas, tabs, backslashes, a newline and non-ASCII letters
    product = 'Zoë\'s "best",\ttent \\ 2\nPro'
    body = csv_body(
        "id,region,product,sold_at,category,customer_id,quantity,unit_price",
        f'4242,Émilie-Zoë,"{product.replace(chr(34), chr(34) * 2)}",2023-05-01 14:03:00,'
        "Outdoor,1,1,1",
    )
    run_import(seeded, stage(seeded, body))
    assert sql("SELECT region, product FROM sales WHERE id = 4242") == [("Émilie-Zoë", product)]


def test_a_header_against_the_rules_is_refused(seeded: Engine) -> None:
    with pytest.raises(HeaderInvalid) as caught:
        run_import(seeded, stage(seeded, csv_body("sold_at,region,colour", "a,b,c")))
    assert "colour" in caught.value.errors and "product" in caught.value.errors


def test_an_import_without_a_complete_upload_is_an_error(seeded: Engine) -> None:
    with pytest.raises(UploadNotFound):
        run_import(seeded, "never-staged")


def test_the_bad_rows_read_as_csv_and_json(seeded: Engine) -> None:
    body = csv_body(HEADER, '2023-05-01 14:03:00,North,Tent,Outdoor,1,1,"1,5"', GOOD)
    import_id = stage(seeded, body)
    run_import(seeded, import_id, max_bad_rows=1)
    text = "".join(bad_rows_csv(seeded, import_id))
    why = "must be a decimal number from 0 with at most two decimals, such as 12.50"
    assert list(csv.reader(io.StringIO(text))) == [
        ["line", "column", "value", "message"],
        [
            "2",
            "unit_price",
            "1,5",
            "must be a decimal number from 0 with at most two decimals, such as 12.50",
        ],
    ]
    assert json.loads("".join(bad_rows_json(seeded, import_id))) == [
        {
            "line": 2,
            "column": "unit_price",
            "value": "1,5",
            "message": why,
        }
    ]


def test_bad_rows_are_read_a_page_at_a_time_in_line_order(seeded: Engine) -> None:
    lines = ["2023-05-01 14:03:00,North,Tent,Outdoor,0,0,1"] * 7  # two bad values each
    import_id = stage(seeded, csv_body(HEADER, *lines))
    run_import(seeded, import_id, max_bad_rows=10)
    paged = [(e.line, e.column) for e in iter_bad_rows(seeded, import_id, page=3)]
    assert paged == [(n, c) for n in range(2, 9) for c in ("customer_id", "quantity")]


README_SALES = """CREATE TABLE sales (
    id          integer PRIMARY KEY,
    sold_at     timestamp NOT NULL,
    region      text NOT NULL,
    product     text NOT NULL,
    category    text NOT NULL,
    customer_id integer NOT NULL,
    quantity    integer NOT NULL,
    unit_price  numeric(12,2) NOT NULL
)"""


def test_a_sales_table_made_from_the_readme_gets_ids_too(engine: Engine, sql: Sql) -> None:
    # Given the table as the README tells users to create it (no id default in PostgreSQL)
    with engine.begin() as conn:
        conn.exec_driver_sql(README_SALES)
        conn.exec_driver_sql(
            "INSERT INTO sales VALUES (41, '2023-01-01 00:00:00', 'North', 'Tent', 'Outdoor',"
            " 1, 1, 1)"
        )
    ensure_tables(engine)
    # When rows without ids are imported
    outcome = run_import(engine, stage(engine, csv_body(HEADER, GOOD, GOOD)))
    # Then they are numbered on from the highest id
    assert outcome.rows_imported == 2
    assert [r[0] for r in sql("SELECT id FROM sales ORDER BY id")] == [41, 42, 43]


def test_uploads_can_be_staged_while_an_import_commits(seeded: Engine, summary: Summary) -> None:
    # Given an import held inside its final transaction, its rows inserted, not committed
    body, _ = generated_csv(2_000)
    import_id = stage(seeded, body)
    inside, release = threading.Event(), threading.Event()

    @event.listens_for(seeded, "after_cursor_execute")
    def hold(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO sales "):
            inside.set()
            release.wait(30)

    loader = threading.Thread(target=run_import, args=(seeded, import_id))
    loader.start()
    try:
        assert inside.wait(30)
        # When the web stages another upload meanwhile (SQLite: it waits for the lock)
        timer = threading.Timer(1.0, release.set)
        timer.start()
        info = stage_upload(seeded, "another", [b"x" * 3_000_000])
    finally:
        release.set()
        loader.join(60)
        event.remove(seeded, "after_cursor_execute", hold)
    # Then both succeed: the upload is whole and the import added its rows
    assert info.chunks == 3
    assert summary()[0] == SEEDED + 2_000
