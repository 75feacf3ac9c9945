"""Worker side of an import: check a staged upload row by row, then add its rows all at once."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Connection, Engine, Text, delete, func, insert, literal, select, text, update

from sales.bulk import write_rows
from sales.errors import UploadNotFound
from sales.ids import ERROR_COLUMNS, reject_taken_ids
from sales.ledger import ImportOutcome, ImportStatus, record_outcome, recorded_outcome
from sales.records import Batch, Records
from sales.rows import RowParser, StoredRow
from sales.schema import (
    IMPORT_LOCK,
    SALES_COLUMNS,
    bump_version,
    import_errors,
    import_files,
    import_rows,
    import_uploads,
    pending_errors,
    sales,
    utcnow,
)

BATCH_ROWS = 5_000  # rows between progress reports and cancellation checks
FLUSH_ROWS = 50_000  # rows checked between writes to the scratch tables (and commits)
# A failed import lists the bad rows up to its limit and this many more; it counts them all.
ERRORS_PAST_LIMIT = 10_000

Progress = Callable[[int, int, int], None]  # (rows read, bytes read, bytes in the upload)


def run_import(
    engine: Engine,
    import_id: str,
    max_bad_rows: int = 0,
    on_progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ImportOutcome:
    """Import a staged upload; a run after one that committed returns its recorded outcome."""
    # Until the one final transaction nothing outside the loader's own connection
    # changes, so an exception, a kill or a cancellation leaves `sales` as it was.
    with engine.connect() as conn:
        recorded = recorded_outcome(conn, import_id)
    if recorded is not None:
        return recorded
    conn = engine.connect()
    try:
        return _Import(conn, import_id, max_bad_rows, on_progress, should_stop).run()
    finally:
        # Its scratch tables and session settings go with it, not back to the pool.
        conn.invalidate()
        conn.close()


@dataclasses.dataclass
class _Import:
    conn: Connection
    import_id: str
    max_bad_rows: int
    on_progress: Progress | None
    should_stop: Callable[[], bool] | None
    rows_read: int = 0
    rows_rejected: int = 0
    errors_kept: int = 0  # bad rows whose errors are kept
    failing: bool = False  # past max_bad_rows: only counting from here on
    columns: tuple[str, ...] = ()  # of the staged rows
    staged: list[Any] = dataclasses.field(default_factory=list)  # good rows not yet written
    bad: list[list[tuple[object, ...]]] = dataclasses.field(default_factory=list)  # ditto

    def run(self) -> ImportOutcome:
        upload = self._claim_upload()
        self._prepare_session()
        records = Records(self._chunks(upload.chunks))
        parser = RowParser(records.header())
        self.columns = (("line",) if parser.has_id else ()) + parser.stored_columns
        with _collector_paused():
            for batch in records.batches(BATCH_ROWS):
                self._take(batch, parser, parser.fast(records.plain))
                if len(self.staged) >= FLUSH_ROWS or self.bad:
                    self._flush()
                if self.on_progress is not None:
                    self.on_progress(self.rows_read, records.bytes_read, upload.bytes)
                if self.should_stop is not None and self.should_stop():
                    return self._outcome(ImportStatus.CANCELLED)
            self._flush()
        return self._finish(parser)

    def _claim_upload(self) -> Any:
        file = self.conn.execute(
            select(import_files).where(import_files.c.import_id == self.import_id)
        ).one_or_none()
        if file is None or not file.complete:
            raise UploadNotFound(f"import {self.import_id} has no complete upload")
        # Touched, so purge_stale leaves a running import alone.
        self.conn.execute(
            update(import_files)
            .where(import_files.c.import_id == self.import_id)
            .values(started_at=utcnow())
        )
        self.conn.commit()
        return file

    def _prepare_session(self) -> None:
        if self.conn.dialect.name == "postgresql":
            # The final INSERT sorts the import by sold_at (the index's order: B-tree
            # pages are then filled in sequence, 2.5x faster than file order); in memory.
            self.conn.exec_driver_sql("SET work_mem = '256MB'")
        else:
            # The index of 1M+ rows fits in the page cache while rows are added to it
            # (default 2 MiB: 2.5x slower), and the staged rows stay in memory instead of
            # going through the temp file (10% less CPU); the connection and its caches
            # close afterwards.
            self.conn.exec_driver_sql("PRAGMA cache_size = -262144")
            self.conn.exec_driver_sql("PRAGMA temp.cache_size = -131072")
        import_rows.create(self.conn)
        pending_errors.create(self.conn)
        self.conn.commit()

    def _chunks(self, count: int) -> Iterator[bytes]:
        # One short query per chunk: no cursor stays open across the staging writes.
        for seq in range(count):
            data = self.conn.execute(
                select(import_uploads.c.data).where(
                    import_uploads.c.import_id == self.import_id, import_uploads.c.seq == seq
                )
            ).scalar_one_or_none()
            if data is None:
                raise UploadNotFound(f"import {self.import_id} lost chunk {seq} of its upload")
            yield bytes(data)

    def _take(self, batch: Batch, parser: RowParser, fast: Callable[..., Any]) -> None:
        rows: list[StoredRow | None] = list(map(fast, batch.records))
        lines = batch.lines() if parser.has_id or None in rows else ()
        bad_before, blank = len(self.bad), 0
        if None in rows:
            for i, row in enumerate(rows):
                if row is not None:
                    continue
                fields = batch.records[i]
                if not fields:
                    blank += 1  # a blank line is no row at all
                    continue
                parsed = parser.parse(fields)
                if isinstance(parsed, tuple):
                    rows[i] = parsed  # unusual but good (an offset, a fraction of a second)
                else:
                    self.bad.append([(lines[i], e.column, e.value, e.message) for e in parsed])
        self.bad.extend([(line, "", "", why)] for line, why in batch.faults)
        self.rows_read += len(batch.records) - blank + len(batch.faults)
        self.rows_rejected += len(self.bad) - bad_before
        if self.failing:
            return
        if self.rows_rejected > self.max_bad_rows:
            self.failing = True  # its rows will never be added: stop keeping them
            self.staged.clear()
            self.conn.execute(delete(import_rows))
        elif parser.has_id:
            self.staged += [(n, *r) for n, r in zip(lines, rows, strict=True) if r is not None]
        else:
            self.staged += rows if len(self.bad) == bad_before and not blank else filter(None, rows)

    def _flush(self) -> None:
        # Scratch tables only, and a commit: an SQLite read snapshot of the upload is
        # not held for longer than FLUSH_ROWS rows take.
        if self.staged:
            write_rows(self.conn, import_rows, self.columns, self.staged)
            self.staged.clear()
        room = self.max_bad_rows + ERRORS_PAST_LIMIT - self.errors_kept
        kept = self.bad[: max(0, room)]
        if kept:
            write_rows(self.conn, pending_errors, ERROR_COLUMNS, [e for row in kept for e in row])
            self.errors_kept += len(kept)
        self.bad.clear()
        self.conn.commit()

    def _outcome(
        self,
        status: ImportStatus,
        imported: int = 0,
        first: dt.datetime | None = None,
        last: dt.datetime | None = None,
    ) -> ImportOutcome:
        return ImportOutcome(
            self.import_id, status, self.rows_read, imported, self.rows_rejected, first, last
        )

    def _finish(self, parser: RowParser) -> ImportOutcome:
        conn = self.conn
        if conn.dialect.name == "postgresql":
            # Imports finish one at a time, so the ids checked below stay free until
            # they are inserted; readers are not held up.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK})
        else:
            # pysqlite may hold an implicit transaction of this connection's own (its
            # temporary tables) that SQLAlchemy does not know of; end it first.
            raw = conn.connection.dbapi_connection
            if raw is not None and raw.in_transaction:
                raw.commit()
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock now, not mid-way
        recorded = recorded_outcome(conn, self.import_id)
        if recorded is not None:  # another delivery of this import finished meanwhile
            conn.rollback()
            return recorded
        if parser.has_id and not self.failing:
            taken = reject_taken_ids(conn)
            self.rows_rejected += taken
            self.failing = self.rows_rejected > self.max_bad_rows
        if self.failing:
            outcome = self._outcome(ImportStatus.TOO_MANY_BAD_ROWS)
        else:
            count, first, last = conn.execute(
                select(
                    func.count(), func.min(import_rows.c.sold_at), func.max(import_rows.c.sold_at)
                )
            ).one()
            _add_to_sales(conn, parser.has_id)
            if count:
                bump_version(conn)
            outcome = self._outcome(ImportStatus.IMPORTED, count, first, last)
        conn.execute(delete(import_errors).where(import_errors.c.import_id == self.import_id))
        conn.execute(
            insert(import_errors).from_select(
                ["import_id", *ERROR_COLUMNS],
                select(literal(self.import_id, Text), *pending_errors.c),
            )
        )
        record_outcome(conn, outcome)
        conn.execute(delete(import_uploads).where(import_uploads.c.import_id == self.import_id))
        conn.execute(delete(import_files).where(import_files.c.import_id == self.import_id))
        conn.commit()
        return outcome


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    # Millions of short-lived lists and tuples of strings, none in a reference cycle:
    # the garbage collector's scans of them found nothing and cost 15-20% of the run.
    # (The worker runs one task per process, so no other thread misses the collector.)
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _add_to_sales(conn: Connection, has_id: bool) -> None:
    # Rows with their own id first: the ids the database picks must come after them.
    staged = [import_rows.c[c] for c in SALES_COLUMNS]
    in_order = import_rows.c.sold_at  # the covering index's order: its pages fill in sequence
    if has_id:
        explicit = select(import_rows.c.id, *staged).where(import_rows.c.id.is_not(None))
        conn.execute(insert(sales).from_select(["id", *SALES_COLUMNS], explicit.order_by(in_order)))
    rest = select(*staged).order_by(in_order)
    if has_id:
        rest = rest.where(import_rows.c.id.is_(None))
    if conn.dialect.name == "postgresql" and not _follow_ids(conn):
        # A table made by hand from the README has no id default: number on from the top.
        top = select(func.coalesce(func.max(sales.c.id), 0)).scalar_subquery()
        numbered = rest.add_columns(top + func.row_number().over(order_by=in_order))
        conn.execute(insert(sales).from_select([*SALES_COLUMNS, "id"], numbered))
        return
    conn.execute(insert(sales).from_select(list(SALES_COLUMNS), rest))


def _follow_ids(conn: Connection) -> bool:
    """Move the id sequence past every id in the table; False when there is none."""
    # Explicit ids do not move PostgreSQL's sequence: without this, a later insert
    # could draw an id that is already taken.
    sequence = conn.exec_driver_sql("SELECT pg_get_serial_sequence('sales', 'id')").scalar()
    if sequence is None:
        return False
    conn.exec_driver_sql(
        f"SELECT setval('{sequence}', GREATEST("  # noqa: S608 (a name from the catalog)
        f"(SELECT COALESCE(max(id), 0) FROM sales), (SELECT last_value FROM {sequence})))"
    )
    return True
