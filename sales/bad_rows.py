"""The bad rows of an import, for GET /api/imports/{id}/errors: streamed, never loaded whole."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import NamedTuple

from sqlalchemy import Engine, and_, delete, or_, select

from sales.schema import import_errors, import_ledger, utcnow

PAGE = 5_000
CSV_HEADER = ("line", "column", "value", "message")


class BadValue(NamedTuple):
    """One bad value of a row (column "" when the row as a whole is bad)."""

    line: int
    column: str
    value: str
    message: str


def iter_bad_rows(engine: Engine, import_id: str, page: int = PAGE) -> Iterator[BadValue]:
    """The bad values in line order, a page per short query (no cursor held open)."""
    errors = import_errors.c
    after: tuple[int, str] = (0, "")
    while True:
        with engine.connect() as conn:
            found = conn.execute(
                select(errors.line, errors.column_name, errors.value, errors.message)
                .where(
                    errors.import_id == import_id,
                    or_(
                        errors.line > after[0],
                        and_(errors.line == after[0], errors.column_name > after[1]),
                    ),
                )
                .order_by(errors.line, errors.column_name)
                .limit(page)
            ).all()
        yield from (BadValue(*row) for row in found)
        if len(found) < page:
            return
        after = (found[-1][0], found[-1][1])


def bad_rows_csv(engine: Engine, import_id: str) -> Iterator[str]:
    """The bad rows as CSV text (line,column,value,message), in pieces."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for count, bad in enumerate(iter_bad_rows(engine, import_id), 1):
        writer.writerow(bad)
        if count % 1000 == 0:
            yield _drain(out)
    yield _drain(out)


def bad_rows_json(engine: Engine, import_id: str) -> Iterator[str]:
    """The bad rows as a JSON array of {line, column, value, message}, in pieces."""
    yield "["
    for count, bad in enumerate(iter_bad_rows(engine, import_id)):
        yield ("," if count else "") + json.dumps(bad._asdict(), ensure_ascii=False)
    yield "]"


def _drain(out: io.StringIO) -> str:
    piece = out.getvalue()
    out.seek(0)
    out.truncate()
    return piece


def purge_errors(engine: Engine, older_than_seconds: float) -> int:
    """Forget the bad rows of imports finished that long ago (their ledger rows stay)."""
    cutoff = utcnow() - dt.timedelta(seconds=older_than_seconds)
    old = select(import_ledger.c.import_id).where(import_ledger.c.finished_at < cutoff)
    with engine.begin() as conn:
        gone = conn.execute(delete(import_errors).where(import_errors.c.import_id.in_(old)))
    return int(gone.rowcount)


def discard_bad_rows(engine: Engine, import_id: str) -> None:
    """Forget one import's bad rows (its job was forgotten)."""
    with engine.begin() as conn:
        conn.execute(delete(import_errors).where(import_errors.c.import_id == import_id))
