"""What reports read now, for GET /api/data: row count, time span, last import, version."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, literal_column, select, table, true

from sales.ledger import ImportStatus, iso_utc
from sales.schema import data_version, import_ledger, sales


@dataclass(frozen=True)
class LastImport:
    """The import that added rows most recently."""

    import_id: str
    rows_imported: int
    finished_at: dt.datetime


@dataclass(frozen=True)
class DataState:
    """The data as one snapshot; `version` changes whenever the data does (opaque text)."""

    version: str
    rows: int
    first_sold_at: dt.datetime | None
    last_sold_at: dt.datetime | None
    last_import: LastImport | None

    def document(self) -> dict[str, object]:
        """The fields of GET /api/data as API.md names them."""
        last = self.last_import
        return {
            "version": self.version,
            "rows": self.rows,
            "firstSoldAt": iso_utc(self.first_sold_at),
            "lastSoldAt": iso_utc(self.last_sold_at),
            "lastImport": None
            if last is None
            else {
                "id": last.import_id,
                "rowsImported": last.rows_imported,
                "finishedAt": iso_utc(last.finished_at),
            },
        }


def data_state(engine: Engine) -> DataState:
    """Read the state in one statement, so its parts agree (needs ensure_tables)."""
    ledger = import_ledger.c
    latest = (
        select(ledger.import_id, ledger.rows_imported, ledger.finished_at)
        .where(ledger.status == ImportStatus.IMPORTED.value)
        .order_by(ledger.finished_at.desc())
        .limit(1)
        .subquery()
    )
    # The version is text: the counter every import bumps, then a fingerprint that
    # changes made with plain SQL move (see fingerprint), the same as reuse compares.
    query = (
        select(
            data_version.c.version,
            *fingerprint(engine.dialect.name),
            select(func.count()).select_from(sales).scalar_subquery(),
            select(func.min(sales.c.sold_at)).scalar_subquery(),
            select(func.max(sales.c.sold_at)).scalar_subquery(),
            latest.c.import_id,
            latest.c.rows_imported,
            latest.c.finished_at,
        )
        .select_from(data_version.outerjoin(latest, true()))
        .where(data_version.c.id == 1)
    )
    with engine.connect() as conn:
        row = tuple(conn.execute(query).one())
    version, largest, changes, rows, first, last, import_id, imported, finished = row
    return DataState(
        version=token(version, largest, changes),
        rows=int(rows),
        first_sold_at=first,
        last_sold_at=last,
        last_import=None if import_id is None else LastImport(import_id, imported, finished),
    )


def fingerprint(dialect: str) -> list[Any]:
    """Scalar subqueries that changes made with plain SQL move: [largest id, changes].

    SQLite: the row count (inserts and deletes; not UPDATEs). PostgreSQL: the table's
    insert, update and delete counters from pg_stat_user_tables (every change, UPDATEs
    included, once the changing session has reported its statistics: when it ends, or
    within seconds), not a count, which would scan the table.
    """
    largest = select(func.max(sales.c.id)).scalar_subquery()
    if dialect == "postgresql":
        counters: Any = literal_column("concat_ws('.', n_tup_ins, n_tup_upd, n_tup_del)")
        changes = (
            select(counters)
            .select_from(table("pg_stat_user_tables"))
            .where(literal_column("relid") == func.to_regclass("sales"))
            .scalar_subquery()
        )
    else:
        changes = select(func.count()).select_from(sales).scalar_subquery()
    return [largest, changes]


def token(version: Any, largest: Any, changes: Any) -> str:
    """The `version` text: the import counter, then the fingerprint."""
    return f"{version}.{largest or 0}.{changes or 0}"


def version_token(engine: Engine) -> str:
    """The data version alone (what reuse of results compares), in one statement."""
    query = select(data_version.c.version, *fingerprint(engine.dialect.name)).where(
        data_version.c.id == 1
    )
    with engine.connect() as conn:
        version, largest, changes = conn.execute(query).one()
    return token(version, largest, changes)
