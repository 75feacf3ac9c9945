"""The databases' own bulk loads for bench.imports, and the clocks it reads."""

from __future__ import annotations

import os
import resource
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from sales.schema import SALES_COLUMNS
from sales.staging import CHUNK_BYTES

COPY_COLUMNS = ", ".join(SALES_COLUMNS)
# The same columns as `sales` (on SQLite its INTEGER PRIMARY KEY id is the rowid).
SQLITE_COPY = """CREATE TABLE sales_copy (
    sold_at DATETIME NOT NULL, region TEXT NOT NULL, product TEXT NOT NULL,
    category TEXT NOT NULL, customer_id INTEGER NOT NULL, quantity INTEGER NOT NULL,
    unit_price NUMERIC(12, 2) NOT NULL)"""
PG_COPY = """CREATE TABLE sales_copy (
    id bigserial PRIMARY KEY, sold_at timestamp NOT NULL, region text NOT NULL,
    product text NOT NULL, category text NOT NULL, customer_id integer NOT NULL,
    quantity integer NOT NULL, unit_price numeric(12, 2) NOT NULL)"""
# seeded: the copy holds the seeded rows first; empty and seeded: the covering index.
FILL_COPY = f"INSERT INTO sales_copy ({COPY_COLUMNS}) SELECT {COPY_COLUMNS} FROM sales ORDER BY id"
INDEX_COPY = (
    "CREATE INDEX ix_sales_copy_cover"
    " ON sales_copy (sold_at, region, product, category, quantity, unit_price)"
)
# The page cache ours gives its import connection (sales.loader): the same for the shell.
SQLITE_CACHE = "PRAGMA cache_size = -262144"


def _proc_cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BackendCpu:
    """CPU seconds of the PostgreSQL backends an engine uses, when they run on this host."""

    def __init__(self, engine: Engine) -> None:
        self.seen: dict[int, float] = {}  # each live backend's CPU when last looked at
        self.closed = 0.0  # spent by backends that closed since start()
        self.local = True
        event.listen(engine, "connect", self._connect)
        event.listen(engine, "close", self._close)  # called before the backend goes

    def _connect(self, dbapi: Any, _record: Any) -> None:
        pid = dbapi.info.backend_pid
        cpu = _proc_cpu(pid)
        self.local = self.local and cpu is not None
        self.seen[pid] = cpu or 0.0

    def _close(self, dbapi: Any, _record: Any) -> None:
        pid = dbapi.info.backend_pid
        cpu = _proc_cpu(pid)
        if pid in self.seen and cpu is not None:
            self.closed += cpu - self.seen.pop(pid)

    def start(self) -> None:
        """Count from now."""
        self.closed = 0.0
        self.seen = {pid: _proc_cpu(pid) or 0.0 for pid in self.seen}

    def spent(self) -> float:
        """CPU seconds since start() (0 when the server is not on this host)."""
        if not self.local:
            return 0.0
        live = sum((_proc_cpu(pid) or cpu) - cpu for pid, cpu in self.seen.items())
        return self.closed + live


def chunks(path: Path) -> Iterator[bytes]:
    """The file in staging-sized pieces (as both sides read it)."""
    with path.open("rb") as source:
        while piece := source.read(CHUNK_BYTES):
            yield piece


def _setup(condition: str) -> list[str]:
    """The statements that ready sales_copy for a condition (empty, seeded or bare)."""
    if condition == "bare":
        return []
    return ([FILL_COPY] if condition == "seeded" else []) + [INDEX_COPY]


def sqlite_baseline(db: Path, csv_path: Path, sqlite3: str, condition: str) -> tuple[float, float]:
    """Wall and CPU seconds of the sqlite3 shell's .import of the file into sales_copy."""
    setup = "; ".join([SQLITE_COPY, *_setup(condition), "ANALYZE"])
    subprocess.run([sqlite3, str(db), setup], check=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    load = f".import --csv --skip 1 {csv_path} sales_copy"
    subprocess.run([sqlite3, "-cmd", SQLITE_CACHE, str(db), load], check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def pg_baseline(
    engine: Engine, csv_path: Path, clock: BackendCpu, condition: str
) -> tuple[float, float]:
    """Wall and CPU seconds to COPY ... FROM STDIN (FORMAT csv) the file into sales_copy."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS sales_copy")
        conn.exec_driver_sql(PG_COPY)
        for statement in _setup(condition):
            conn.exec_driver_sql(statement)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE sales_copy")
        conn.exec_driver_sql("CHECKPOINT")
    raw = engine.raw_connection()
    try:
        clock.start()
        cpu, started = time.process_time(), time.perf_counter()
        with raw.cursor() as cur:  # type: ignore[attr-defined]
            sql = f"COPY sales_copy ({COPY_COLUMNS}) FROM STDIN WITH (FORMAT csv, HEADER)"
            with cur.copy(sql) as copy:
                for piece in chunks(csv_path):
                    copy.write(piece)
        raw.commit()
        wall = time.perf_counter() - started
        return wall, time.process_time() - cpu + clock.spent()
    finally:
        raw.close()


def log_slow_statements(threshold: float) -> None:
    """Print every statement slower than `threshold` seconds (--explain)."""

    @event.listens_for(Engine, "before_cursor_execute")
    def _before(conn, _cursor, _statement, _params, _context, _many):
        conn.info["started"] = time.perf_counter()

    @event.listens_for(Engine, "after_cursor_execute")
    def _after(conn, _cursor, statement, _params, _context, _many):
        took = time.perf_counter() - conn.info.pop("started", time.perf_counter())
        if took > threshold:
            print(f"    {took:6.2f}s  {' '.join(statement.split())[:100]}", flush=True)
