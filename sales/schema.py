"""The `sales` table every report reads (documented in the README) and the tables of imports."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    Text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

metadata = MetaData()

sales = Table(
    "sales",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("sold_at", DateTime(timezone=False), nullable=False, comment="UTC"),
    Column("region", Text, nullable=False),
    Column("product", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("customer_id", Integer, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Numeric(12, 2), nullable=False),
)

# Reports filter by time range first; the covering index lets the per-month
# aggregations run from the index alone.
Index(
    "ix_sales_sold_at_cover",
    sales.c.sold_at,
    sales.c.region,
    sales.c.product,
    sales.c.category,
    sales.c.quantity,
    sales.c.unit_price,
)

SALES_COLUMNS = (
    "sold_at",
    "region",
    "product",
    "category",
    "customer_id",
    "quantity",
    "unit_price",
)

# The raw CSV of an upload (decompressed UTF-8), in ~1 MiB pieces: staged by the web,
# read by whichever worker runs the import, so no shared filesystem is needed.
import_uploads = Table(
    "import_uploads",
    metadata,
    Column("import_id", Text, primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)

# One row per upload: written before its first chunk and marked complete after the
# last, so a worker never imports half a file; the times let stale uploads be purged.
import_files = Table(
    "import_files",
    metadata,
    Column("import_id", Text, primary_key=True),
    Column("bytes", BigInteger, nullable=False),
    Column("chunks", Integer, nullable=False),
    Column("complete", Boolean, nullable=False),
    Column("staged_at", DateTime, nullable=False, comment="UTC"),
    Column("started_at", DateTime, nullable=True, comment="UTC, when a loader last began it"),
)

# The bad rows of finished imports, for GET /api/imports/{id}/errors.
import_errors = Table(
    "import_errors",
    metadata,
    Column("import_id", Text, primary_key=True),
    Column("line", BigInteger, primary_key=True, autoincrement=False),
    # Not "column": a reserved word that every hand-written query would have to quote.
    Column("column_name", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("message", Text, nullable=False),
)

# The outcome of every finished import, written in the transaction that adds its rows:
# a redelivered import finds it here and adds nothing twice.
import_ledger = Table(
    "import_ledger",
    metadata,
    Column("import_id", Text, primary_key=True),
    Column("status", Text, nullable=False),
    Column("rows_read", BigInteger, nullable=False),
    Column("rows_imported", BigInteger, nullable=False),
    Column("rows_rejected", BigInteger, nullable=False),
    Column("first_sold_at", DateTime, nullable=True),
    Column("last_sold_at", DateTime, nullable=True),
    Column("finished_at", DateTime, nullable=False, comment="UTC"),
)
Index("ix_import_ledger_finished_at", import_ledger.c.finished_at)

# One row (id 1): bumped in every transaction that changes `sales`, so clients can
# tell "same data" from "new data" without comparing rows.
data_version = Table(
    "data_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
    Column("changed_at", DateTime, nullable=False, comment="UTC"),
)

# Per-connection scratch tables of a running import: no other session sees them, they
# vanish with the connection (a killed worker leaves nothing), and PostgreSQL writes
# no WAL for them.
staging = MetaData()

import_rows = Table(
    "import_rows",
    staging,
    Column("line", BigInteger, nullable=True),
    Column("id", BigInteger, nullable=True),
    Column("sold_at", DateTime, nullable=False),
    Column("region", Text, nullable=False),
    Column("product", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("customer_id", Integer, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Numeric(12, 2), nullable=False),
    prefixes=["TEMPORARY"],
)

pending_errors = Table(
    "import_errors_pending",
    staging,
    Column("line", BigInteger, nullable=False),
    Column("column_name", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("message", Text, nullable=False),
    prefixes=["TEMPORARY"],
)

# Any 64-bit number of our own: serialises schema changes and imports' final steps.
SCHEMA_LOCK = 0x5A1E5_5C4E
IMPORT_LOCK = 0x5A1E5_1A9D


def utcnow() -> dt.datetime:
    """Now in UTC, naive (how every timestamp of these tables is stored)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def stored_timestamp(value: dt.datetime) -> str:
    """A naive UTC datetime as `sold_at` text (SQLAlchemy's SQLite format; PostgreSQL reads it)."""
    return value.isoformat(" ", "microseconds")


def ensure_tables(engine: Engine) -> None:
    """Create whichever of these tables and indexes are missing; safe when processes race."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # CREATE ... IF NOT EXISTS can still collide in the catalog when two sessions
            # create the same table at once; the lock makes the second wait and skip.
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK})")
        for table in metadata.sorted_tables:
            conn.execute(CreateTable(table, if_not_exists=True))
            for index in table.indexes:
                conn.execute(CreateIndex(index, if_not_exists=True))
        if conn.dialect.name == "postgresql":
            _store_uploads_uncompressed(conn)
        _first_version(conn)


def _store_uploads_uncompressed(conn: Connection) -> None:
    # PostgreSQL compresses large values by default: staging 1M rows (57 MiB) took
    # 1.4-4 s instead of 0.4-0.5 s, for space that is freed when the import finishes.
    storage = conn.exec_driver_sql(
        "SELECT attstorage FROM pg_attribute"
        " WHERE attrelid = 'import_uploads'::regclass AND attname = 'data'"
    ).scalar()
    if storage != "e":
        conn.exec_driver_sql("ALTER TABLE import_uploads ALTER COLUMN data SET STORAGE EXTERNAL")


def _first_version(conn: Connection) -> None:
    # Start from the clock, not 1: a database created anew never repeats a version a
    # client may still hold from the one it replaced.
    values = {"id": 1, "version": time.time_ns() // 1_000_000, "changed_at": utcnow()}
    if conn.dialect.name == "postgresql":
        conn.execute(postgresql.insert(data_version).values(values).on_conflict_do_nothing())
    else:
        conn.execute(sqlite.insert(data_version).values(values).on_conflict_do_nothing())


def bump_version(conn: Connection) -> None:
    """Mark the data as changed, inside the caller's transaction."""
    conn.execute(
        data_version.update()
        .where(data_version.c.id == 1)
        .values(version=data_version.c.version + 1, changed_at=utcnow())
    )
