"""CSV imports against each database's own bulk load of the same file.

    python -m bench.imports --rows 1000000          # SQLite, and PostgreSQL when reachable
    python -m bench.imports --rows 100000 --only sqlite --runs 1

Ours: stage_upload from the file in 1 MiB chunks, then run_import, into a database
already seeded with as many rows (the covering index included). Baselines: Debian's
`sqlite3 <db> ".import --csv --skip 1 <file> sales_copy"` and psycopg's
`COPY sales_copy FROM STDIN WITH (FORMAT csv, HEADER)`, each into an empty table of
the same columns. Runs alternate which side goes first; the ratio is the median of
the per-run ratios. With --indexed, also the same bulk loads into a copy of the seeded
table with its covering index (the work ours cannot skip), for context.

Besides wall time, CPU seconds (this process, the sqlite3 shell, and the PostgreSQL
backends when the server runs on this host): on a machine shared with other work, the
CPU ratio moves much less from run to run than the wall-time one.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import Engine, event

from devstack.debian import ensure_command
from sales.db import make_engine
from sales.loader import run_import
from sales.schema import SALES_COLUMNS
from sales.seed import generate, seed
from sales.staging import CHUNK_BYTES, stage_upload

PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
COPY_COLUMNS = ", ".join(SALES_COLUMNS)
SQLITE_COPY = """CREATE TABLE sales_copy (
    sold_at DATETIME NOT NULL, region TEXT NOT NULL, product TEXT NOT NULL,
    category TEXT NOT NULL, customer_id INTEGER NOT NULL, quantity INTEGER NOT NULL,
    unit_price NUMERIC(12, 2) NOT NULL)"""
PG_COPY = """CREATE TABLE sales_copy (
    id bigserial PRIMARY KEY, sold_at timestamp NOT NULL, region text NOT NULL,
    product text NOT NULL, category text NOT NULL, customer_id integer NOT NULL,
    quantity integer NOT NULL, unit_price numeric(12, 2) NOT NULL)"""
# --indexed: the copy holds the seeded rows and the reports' covering index first.
FILL_COPY = f"INSERT INTO sales_copy ({COPY_COLUMNS}) SELECT {COPY_COLUMNS} FROM sales ORDER BY id"
INDEX_COPY = (
    "CREATE INDEX ix_sales_copy_cover"
    " ON sales_copy (sold_at, region, product, category, quantity, unit_price)"
)


@dataclass
class Figures:
    """Seconds per run (wall and CPU) of ours, its phases, and the baselines."""

    ours: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    ours_cpu: list[float] = field(default_factory=list)
    baseline_cpu: list[float] = field(default_factory=list)
    indexed: list[float] = field(default_factory=list)  # baseline into the seeded table
    phases: dict[str, list[float]] = field(default_factory=dict)

    def line(self, name: str) -> str:
        """One row of the result table."""
        phases = ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in self.phases.items())
        indexed = "n/a"
        if self.indexed:
            indexed = f"{_median(self.indexed)}, ours {_ratio(self.ours, self.indexed)}"
        cpu = "n/a"
        if self.ours_cpu and self.baseline_cpu:
            cpu = f"{_median(self.ours_cpu)} / {_median(self.baseline_cpu)} = "
            cpu += _ratio(self.ours_cpu, self.baseline_cpu)
        return (
            f"| {name} | {_median(self.ours)} | {_median(self.baseline)} | "
            f"{_ratio(self.ours, self.baseline)} | {cpu} | {indexed} | {phases} |"
        )


def _median(runs: list[float]) -> str:
    return f"{statistics.median(runs):.2f} ({min(runs):.2f}-{max(runs):.2f})"


def _ratio(ours: list[float], base: list[float]) -> str:
    ratios = [o / b for o, b in zip(ours, base, strict=True)]
    return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


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


def write_csv(path: Path, rows: int) -> None:
    """A CSV file of `rows` generated sales (another seed than the database's)."""
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(SALES_COLUMNS)
        writer.writerows(generate(rows, seed=7))


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while piece := source.read(CHUNK_BYTES):
            yield piece


def ours(engine: Engine, csv_path: Path, phases: dict[str, list[float]]) -> float:
    """Seconds to stage the file and import it; the phases are added to `phases`."""
    marks: list[float] = []
    import_id = uuid.uuid4().hex
    started = time.perf_counter()  # (time.process_time() is read by the caller)
    stage_upload(engine, import_id, _chunks(csv_path))
    staged = time.perf_counter()
    outcome = run_import(
        engine, import_id, on_progress=lambda *_: marks.append(time.perf_counter())
    )
    done = time.perf_counter()
    assert outcome.rows_rejected == 0 and outcome.rows_imported > 0, outcome
    for name, value in (
        ("stage", staged - started),
        ("check", marks[-1] - staged),
        ("finish", done - marks[-1]),
    ):
        phases.setdefault(name, []).append(value)
    return done - started


def sqlite_baseline(
    db: Path, csv_path: Path, sqlite3: str, indexed: bool = False
) -> tuple[float, float]:
    """Wall and CPU seconds of the sqlite3 shell's .import of the file into a new table."""
    subprocess.run([sqlite3, str(db), SQLITE_COPY], check=True)
    if indexed:
        subprocess.run([sqlite3, str(db), f"{FILL_COPY}; {INDEX_COPY}; ANALYZE"], check=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sqlite3, str(db), f".import --csv --skip 1 {csv_path} sales_copy"], check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def pg_baseline(
    engine: Engine, csv_path: Path, clock: BackendCpu, indexed: bool = False
) -> tuple[float, float]:
    """Wall and CPU seconds to COPY ... FROM STDIN (FORMAT csv) the file into a new table."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS sales_copy")
        conn.exec_driver_sql(PG_COPY)
        if indexed:
            conn.exec_driver_sql(FILL_COPY)
            conn.exec_driver_sql(INDEX_COPY)
    if indexed:
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
                for piece in _chunks(csv_path):
                    copy.write(piece)
        raw.commit()
        wall = time.perf_counter() - started
        return wall, time.process_time() - cpu + clock.spent()
    finally:
        raw.close()


def bench_sqlite(
    rows: int, runs: int, csv_path: Path, work: Path, sqlite3: str, indexed: bool
) -> Figures:
    """Each run on fresh copies of one seeded file."""
    template = work / "seeded.db"
    engine = make_engine(f"sqlite:///{template}")
    seed(engine, rows)
    engine.dispose()
    figures = Figures()
    for run in range(runs):
        for side in ("baseline", "ours") if run % 2 == 0 else ("ours", "baseline"):
            db = work / f"{side}.db"
            _copy_sqlite(template, db)
            if side == "ours":
                engine = make_engine(f"sqlite:///{db}")
                cpu = time.process_time()
                figures.ours.append(ours(engine, csv_path, figures.phases))
                figures.ours_cpu.append(time.process_time() - cpu)
                engine.dispose()
            else:
                wall, cpu = sqlite_baseline(db, csv_path, sqlite3)
                figures.baseline.append(wall)
                figures.baseline_cpu.append(cpu)
            print(f"  sqlite run {run + 1} {side}: {_last(figures, side)}", flush=True)
        if indexed:
            _copy_sqlite(template, work / "indexed.db")
            wall, _ = sqlite_baseline(work / "indexed.db", csv_path, sqlite3, True)
            figures.indexed.append(wall)
            print(f"  sqlite run {run + 1} indexed baseline: {wall:.2f}s")
    return figures


def _copy_sqlite(template: Path, db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, db)


def _last(figures: Figures, side: str) -> str:
    if side == "ours":
        return f"{figures.ours[-1]:.2f}s, {figures.ours_cpu[-1]:.2f} CPU s"
    return f"{figures.baseline[-1]:.2f}s, {figures.baseline_cpu[-1]:.2f} CPU s"


def bench_postgres(rows: int, runs: int, csv_path: Path, indexed: bool) -> Figures | None:
    """Each run in a schema of its own, freshly seeded."""
    admin = sqlalchemy.create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.connect():
            pass
    except sqlalchemy.exc.OperationalError as exc:
        print(f"  no PostgreSQL at {PG_URL}: skipped ({exc})")
        return None
    figures = Figures()
    for run in range(runs):
        schema = f"bench_imports_{uuid.uuid4().hex[:8]}"
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in PG_URL else "?"
        engine = make_engine(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
        clock = BackendCpu(engine)
        try:
            seed(engine, rows)
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("CHECKPOINT")  # both sides start with a clean WAL
            for side in ("baseline", "ours") if run % 2 == 0 else ("ours", "baseline"):
                if side == "ours":
                    clock.start()
                    cpu = time.process_time()
                    figures.ours.append(ours(engine, csv_path, figures.phases))
                    figures.ours_cpu.append(time.process_time() - cpu + clock.spent())
                else:
                    wall, cpu = pg_baseline(engine, csv_path, clock)
                    figures.baseline.append(wall)
                    figures.baseline_cpu.append(cpu)
                print(f"  postgresql run {run + 1} {side}: {_last(figures, side)}", flush=True)
            if indexed:
                wall, _ = pg_baseline(engine, csv_path, clock, indexed=True)
                figures.indexed.append(wall)
                print(f"  postgresql run {run + 1} indexed baseline: {wall:.2f}s")
        finally:
            engine.dispose()
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()
    return figures


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


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    parser.add_argument("--explain", action="store_true", help="print statements over 0.3 s")
    parser.add_argument(
        "--indexed", action="store_true", help="also the baselines into a seeded, indexed table"
    )
    args = parser.parse_args(argv)
    if args.explain:
        log_slow_statements(0.3)
    sqlite3 = ensure_command("sqlite3", "sqlite3")
    if sqlite3 is None and args.only != "postgresql":
        raise SystemExit("needs Debian's sqlite3 shell: apt-get install sqlite3")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load}; {args.rows} rows, {args.runs} runs")
    with tempfile.TemporaryDirectory(prefix="bench-imports-") as tmp:
        work = Path(tmp)
        csv_path = work / "sales.csv"
        write_csv(csv_path, args.rows)
        print(f"  {csv_path.stat().st_size / 2**20:.1f} MiB of CSV", flush=True)
        results: list[str] = []
        if args.only != "postgresql":
            assert sqlite3 is not None
            figures = bench_sqlite(args.rows, args.runs, csv_path, work, sqlite3, args.indexed)
            results.append(figures.line("sqlite"))
        if args.only != "sqlite":
            pg = bench_postgres(args.rows, args.runs, csv_path, args.indexed)
            if pg is not None:
                results.append(pg.line("postgresql"))
    print(
        "\n| database | ours (s) | baseline (s) | ours/baseline | CPU s: ours / baseline"
        " | baseline into the seeded, indexed table (s) | our phases, median (s) |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
