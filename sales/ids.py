"""Ids an import brings that are taken: already in `sales`, or repeated in the file."""

from __future__ import annotations

from sqlalchemy import Connection, Text, cast, delete, func, insert, literal, select

from sales.schema import import_rows, pending_errors, sales

ERROR_COLUMNS = ("line", "column_name", "value", "message")


def reject_taken_ids(conn: Connection) -> int:
    """Move staged rows whose id is taken into the pending errors; returns how many."""
    # Set-based, and inside the import's final transaction: no id can be taken
    # between this check and the insert.
    # rowcount of INSERT ... SELECT is kept only when asked for (SQLAlchemy 2).
    conn = conn.execution_options(preserve_rowcount=True)
    row = import_rows.alias("r")
    in_sales = select(sales.c.id).where(sales.c.id == row.c.id).exists()
    given = cast(row.c.id, Text)
    already = select(row.c.line, literal("id"), given, literal("is already in the sales table"))
    found = conn.execute(
        insert(pending_errors).from_select(
            ERROR_COLUMNS, already.where(row.c.id.is_not(None), in_sales)
        )
    ).rowcount
    first = (
        select(import_rows.c.id, func.min(import_rows.c.line).label("line"))
        .where(import_rows.c.id.is_not(None))
        .group_by(import_rows.c.id)
        .having(func.count() > 1)
        .subquery("first")
    )
    # Every occurrence after the first is the bad one (those in sales are counted above).
    message = literal("is repeated: first on line ") + cast(first.c.line, Text)
    repeated = (
        select(row.c.line, literal("id"), given, message)
        .join(first, first.c.id == row.c.id)
        .where(row.c.line > first.c.line, ~in_sales)
    )
    found += conn.execute(insert(pending_errors).from_select(ERROR_COLUMNS, repeated)).rowcount
    if found:
        bad = select(pending_errors.c.line).where(pending_errors.c.column_name == "id")
        conn.execute(delete(import_rows).where(import_rows.c.line.in_(bad)))
    return found
