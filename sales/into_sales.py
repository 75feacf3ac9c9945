"""An import's last step: its staged rows into `sales`, in the covering index's order."""

from __future__ import annotations

from sqlalchemy import Connection, func, insert, select

from sales.schema import SALES_COLUMNS, import_rows, sales


def add_to_sales(conn: Connection, has_id: bool) -> None:
    """Insert the staged rows (import_rows) into `sales`, in conn's transaction."""
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
