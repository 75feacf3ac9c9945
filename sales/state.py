"""What reports read now, for GET /api/data: row count, time span, last import, version."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, func, select, true

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
    # The version is text so that it can later fold in more than the counter (say, a
    # fingerprint that notices changes made with plain SQL) without changing type.
    query = (
        select(
            data_version.c.version,
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
        version, rows, first, last, import_id, imported, finished = conn.execute(query).one()
    return DataState(
        version=str(version),
        rows=int(rows),
        first_sold_at=first,
        last_sold_at=last,
        last_import=None if import_id is None else LastImport(import_id, imported, finished),
    )


def version_token(engine: Engine) -> str:
    """The data version as reuse of results compares it: the counter every import bumps,
    plus a fingerprint of `sales` (row count and largest id) that changes made with plain
    SQL move too: inserted or deleted rows. One statement; it does not see UPDATEs."""
    query = select(
        data_version.c.version,
        select(func.count()).select_from(sales).scalar_subquery(),
        select(func.max(sales.c.id)).scalar_subquery(),
    ).where(data_version.c.id == 1)
    with engine.connect() as conn:
        version, rows, last_id = conn.execute(query).one()
    return f"{version}.{rows}.{last_id or 0}"
