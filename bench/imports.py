"""CSV imports against each database's own bulk load of the same file, like for like.

    python -m bench.imports --rows 1000000          # SQLite, and PostgreSQL when reachable
    python -m bench.imports --rows 100000 --only sqlite --runs 1 --condition empty

Ours: stage_upload from the file in 1 MiB chunks, then run_import, into `sales`. The
database's own load: Debian's `sqlite3 <db> ".import --csv --skip 1 <file> sales_copy"`
and psycopg's `COPY sales_copy FROM STDIN WITH (FORMAT csv, HEADER)`, into a table of the
same columns. Two conditions, each comparing like with like:

- empty: both into an empty table with the reports' covering index (`sales` as the
  schema creates it, and `sales_copy` with the same index);
- seeded: both into a table already holding --rows seeded rows and the covering index.

Besides, for context, the bare load the issue names: into an empty table without the
index. The SQLite shell gets the page cache ours uses (PRAGMA cache_size), the work both
sides then do differs only in the loader. Runs alternate which side goes first; the ratio
is the median of the per-run ratios.

Besides wall time, CPU seconds (this process, the sqlite3 shell, and the PostgreSQL
backends when the server runs on this host): on a machine shared with other work, the
CPU ratio moves much less from run to run than the wall-time one.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy
from sqlalchemy import Engine

from bench.imports_baselines import (
    BackendCpu,
    chunks,
    log_slow_statements,
    pg_baseline,
    sqlite_baseline,
)
from devstack.debian import ensure_command
from sales.db import make_engine
from sales.loader import run_import
from sales.schema import SALES_COLUMNS
from sales.seed import generate, seed
from sales.staging import stage_upload

PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CONDITIONS = ("empty", "seeded")


@dataclass
class Pair:
    """Seconds per run (wall and CPU) of ours, its phases, and the database's own load."""

    ours: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    ours_cpu: list[float] = field(default_factory=list)
    baseline_cpu: list[float] = field(default_factory=list)
    phases: dict[str, list[float]] = field(default_factory=dict)

    def line(self, name: str, condition: str) -> str:
        """One row of the result table."""
        phases = ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in self.phases.items())
        cpu = "n/a"
        if self.ours_cpu and self.baseline_cpu and min(self.baseline_cpu) > 0:
            cpu = f"{_median(self.ours_cpu)} / {_median(self.baseline_cpu)} = "
            cpu += _ratio(self.ours_cpu, self.baseline_cpu)
        return (
            f"| {name} | {condition} | {_median(self.ours)} | {_median(self.baseline)} | "
            f"{_ratio(self.ours, self.baseline)} | {cpu} | {phases} |"
        )


@dataclass
class Figures:
    """Per condition, ours against the database's own load; and the bare load."""

    pairs: dict[str, Pair] = field(default_factory=dict)
    bare: list[float] = field(default_factory=list)
    bare_cpu: list[float] = field(default_factory=list)

    def pair(self, condition: str) -> Pair:
        """The figures of one condition."""
        return self.pairs.setdefault(condition, Pair())

    def lines(self, name: str) -> list[str]:
        """The result table's rows of this database."""
        found = [self.pairs[c].line(name, c) for c in CONDITIONS if c in self.pairs]
        if self.bare:
            ours = self.pairs.get("empty")
            vs = f" (ours into empty: {_ratio(ours.ours, self.bare)})" if ours else ""
            found.append(
                f"| {name} | bare table (context) | | {_median(self.bare)}, "
                f"{_median(self.bare_cpu)} CPU s{vs} | | | |"
            )
        return found


def _median(runs: list[float]) -> str:
    return f"{statistics.median(runs):.2f} ({min(runs):.2f}-{max(runs):.2f})"


def _ratio(ours: list[float], base: list[float]) -> str:
    ratios = [o / b for o, b in zip(ours, base, strict=False)]
    return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


def write_csv(path: Path, rows: int) -> None:
    """A CSV file of `rows` generated sales (another seed than the database's)."""
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(SALES_COLUMNS)
        writer.writerows(generate(rows, seed=7))


def ours(engine: Engine, csv_path: Path, phases: dict[str, list[float]]) -> float:
    """Seconds to stage the file and import it; the phases are added to `phases`."""
    marks: list[float] = []
    import_id = uuid.uuid4().hex
    started = time.perf_counter()  # (time.process_time() is read by the caller)
    stage_upload(engine, import_id, chunks(csv_path))
    staged = time.perf_counter()
    outcome = run_import(
        engine, import_id, on_progress=lambda *_: marks.append(time.perf_counter())
    )
    done = time.perf_counter()
    assert outcome.rows_rejected == 0 and outcome.rows_imported > 0, outcome
    for name, value in (
        ("stage", staged - started),
        ("check", (marks[-1] if marks else done) - staged),
        ("finish", done - (marks[-1] if marks else done)),
    ):
        phases.setdefault(name, []).append(value)
    return done - started


def _sides(run: int) -> tuple[str, str]:
    return ("baseline", "ours") if run % 2 == 0 else ("ours", "baseline")


def bench_sqlite(
    rows: int, runs: int, csv_path: Path, work: Path, sqlite3: str, conditions: list[str]
) -> Figures:
    """Each run on fresh copies of a seeded (or empty) file."""
    templates = {"empty": work / "empty.db", "seeded": work / "seeded.db"}
    for condition in conditions:
        engine = make_engine(f"sqlite:///{templates[condition]}")
        seed(engine, rows if condition == "seeded" else 0)
        engine.dispose()
    figures = Figures()
    for run in range(runs):
        for condition in conditions:
            pair = figures.pair(condition)
            for side in _sides(run):
                db = work / f"{side}.db"
                _copy_sqlite(templates[condition], db)
                if side == "ours":
                    engine = make_engine(f"sqlite:///{db}")
                    cpu = time.process_time()
                    pair.ours.append(ours(engine, csv_path, pair.phases))
                    pair.ours_cpu.append(time.process_time() - cpu)
                    engine.dispose()
                else:
                    wall, cpu = sqlite_baseline(db, csv_path, sqlite3, condition)
                    pair.baseline.append(wall)
                    pair.baseline_cpu.append(cpu)
                print(f"  sqlite run {run + 1} {condition} {side}: {_last(pair, side)}", flush=True)
        _copy_sqlite(templates[conditions[0]], work / "bare.db")
        wall, cpu = sqlite_baseline(work / "bare.db", csv_path, sqlite3, "bare")
        figures.bare.append(wall)
        figures.bare_cpu.append(cpu)
        print(f"  sqlite run {run + 1} bare baseline: {wall:.2f}s, {cpu:.2f} CPU s", flush=True)
    return figures


def _copy_sqlite(template: Path, db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, db)


def _last(pair: Pair, side: str) -> str:
    if side == "ours":
        return f"{pair.ours[-1]:.2f}s, {pair.ours_cpu[-1]:.2f} CPU s"
    return f"{pair.baseline[-1]:.2f}s, {pair.baseline_cpu[-1]:.2f} CPU s"


def bench_postgres(rows: int, runs: int, csv_path: Path, conditions: list[str]) -> Figures | None:
    """Each run and condition in a schema of its own, freshly seeded."""
    admin = sqlalchemy.create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.connect():
            pass
    except sqlalchemy.exc.OperationalError as exc:
        print(f"  no PostgreSQL at {PG_URL}: skipped ({exc})")
        return None
    figures = Figures()
    for run in range(runs):
        for condition in conditions:
            pair = figures.pair(condition)
            for side in _sides(run):
                with PgSchema(admin, rows if condition == "seeded" else 0) as (engine, clock):
                    if side == "ours":
                        clock.start()
                        cpu = time.process_time()
                        pair.ours.append(ours(engine, csv_path, pair.phases))
                        pair.ours_cpu.append(time.process_time() - cpu + clock.spent())
                    else:
                        wall, cpu = pg_baseline(engine, csv_path, clock, condition)
                        pair.baseline.append(wall)
                        pair.baseline_cpu.append(cpu)
                print(f"  postgresql run {run + 1} {condition} {side}: {_last(pair, side)}")
        with PgSchema(admin, 0) as (engine, clock):
            wall, cpu = pg_baseline(engine, csv_path, clock, "bare")
        figures.bare.append(wall)
        figures.bare_cpu.append(cpu)
        print(f"  postgresql run {run + 1} bare baseline: {wall:.2f}s, {cpu:.2f} CPU s", flush=True)
    admin.dispose()
    return figures


class PgSchema:
    """A schema of its own with `rows` seeded rows, CHECKPOINTed; dropped on exit."""

    def __init__(self, admin: Engine, rows: int) -> None:
        self.admin, self.rows = admin, rows
        self.schema = f"bench_imports_{uuid.uuid4().hex[:8]}"

    def __enter__(self) -> tuple[Engine, BackendCpu]:
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')
        sep = "&" if "?" in PG_URL else "?"
        self.engine = make_engine(f"{PG_URL}{sep}options=-csearch_path%3D{self.schema}")
        self.clock = BackendCpu(self.engine)  # before the first connection
        seed(self.engine, self.rows)
        with self.admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("CHECKPOINT")  # every side starts with a clean WAL
        return self.engine, self.clock

    def __exit__(self, *_exc: object) -> None:
        self.engine.dispose()
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{self.schema}" CASCADE')


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    parser.add_argument("--condition", choices=CONDITIONS, action="append", default=None)
    parser.add_argument("--explain", action="store_true", help="print statements over 0.3 s")
    args = parser.parse_args(argv)
    conditions = [c for c in CONDITIONS if c in (args.condition or CONDITIONS)]
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
            figures = bench_sqlite(args.rows, args.runs, csv_path, work, sqlite3, conditions)
            results += figures.lines("sqlite")
        if args.only != "sqlite":
            pg = bench_postgres(args.rows, args.runs, csv_path, conditions)
            if pg is not None:
                results += pg.lines("postgresql")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nload average at the end {load}")
    print(
        "| database | into | ours (s) | database's own load (s) | ours/own (wall)"
        " | CPU s: ours / own | our phases, median (s) |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
