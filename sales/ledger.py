"""The ledger of finished imports: each outcome written once, read back by any redelivery."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, insert, select

from sales.schema import import_ledger, utcnow


class ImportStatus(StrEnum):
    """How an import ended."""

    IMPORTED = "imported"
    TOO_MANY_BAD_ROWS = "too-many-bad-rows"
    CANCELLED = "cancelled"  # never recorded: a cancelled import may be run again


def iso_utc(value: dt.datetime | None) -> str | None:
    """A naive UTC datetime as the API writes times (2023-05-01T14:03:00Z)."""
    return None if value is None else value.isoformat() + "Z"


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did; first/last are the sold_at range of the rows it added."""

    import_id: str
    status: ImportStatus
    rows_read: int
    rows_imported: int
    rows_rejected: int
    first_sold_at: dt.datetime | None = None
    last_sold_at: dt.datetime | None = None

    def result(self) -> dict[str, object]:
        """The job's `result` as API.md names it."""
        return {
            "rowsRead": self.rows_read,
            "rowsImported": self.rows_imported,
            "rowsRejected": self.rows_rejected,
            "firstSoldAt": iso_utc(self.first_sold_at),
            "lastSoldAt": iso_utc(self.last_sold_at),
        }


def recorded_outcome(conn: Connection, import_id: str) -> ImportOutcome | None:
    """The outcome of a finished import, or None when it has not finished."""
    row = conn.execute(
        select(import_ledger).where(import_ledger.c.import_id == import_id)
    ).one_or_none()
    if row is None:
        return None
    return ImportOutcome(
        import_id=row.import_id,
        status=ImportStatus(row.status),
        rows_read=row.rows_read,
        rows_imported=row.rows_imported,
        rows_rejected=row.rows_rejected,
        first_sold_at=row.first_sold_at,
        last_sold_at=row.last_sold_at,
    )


def record_outcome(conn: Connection, outcome: ImportOutcome) -> None:
    """Write an outcome, inside the transaction that makes it true."""
    conn.execute(
        insert(import_ledger).values(
            import_id=outcome.import_id,
            status=outcome.status.value,
            rows_read=outcome.rows_read,
            rows_imported=outcome.rows_imported,
            rows_rejected=outcome.rows_rejected,
            first_sold_at=outcome.first_sold_at,
            last_sold_at=outcome.last_sold_at,
            finished_at=utcnow(),
        )
    )
