"""The SQL rows: yearly-sales as a job, to Complete over HTTP, vs bench/sql.py's one
statement run directly on the same engine, per data size, on SQLite and PostgreSQL.

Data: `python -m sales.seed` rows in var/bench/sales-N.db and in PostgreSQL schemas
bench_sales_N (reused when the row count matches, dropped at the end unless --keep-data).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import sqlalchemy

from bench.harness import Figure
from bench.jobs import submit_and_wait
from bench.sql import run_direct
from sales.db import make_engine
from sales.seed import row_count, seed

PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
YEAR = 2024


def measure(run: Any, row: Callable[..., None], var: Path) -> None:
    """yearly-sales as a job vs the equivalent single SQL query run directly."""
    a = run.args
    base = run.web("web", bare=False)
    for rows in a.rows:
        for kind in ("sqlite", "postgresql"):
            if kind == "sqlite":
                url = f"sqlite:///{var / f'sales-{rows}.db'}"
            else:
                url = f"{PG_URL}?options=-csearch_path%3D{pg_schema(rows)}"
                try:
                    create_schema(rows)
                except sqlalchemy.exc.OperationalError as exc:
                    print(f"  no PostgreSQL at {PG_URL}: {exc}", flush=True)
                    continue
            engine = make_engine(url)
            if row_count(engine) != rows:
                print(f"  seeding {rows} rows into {kind} ...", flush=True)
                t = time.perf_counter()
                seed(engine, rows)
                print(f"  seeded in {time.perf_counter() - t:.0f}s", flush=True)
            run.worker("sqlworker", raw=False, extra={"DATABASE_URL": url})
            body = {"reportType": "yearly-sales", "parameters": {"year": str(YEAR)}}
            job, direct, ratio = Figure(), Figure(), Figure()
            with requests.Session() as s:
                submit_and_wait(s, base, body)  # warm up caches on both paths
                run_direct(engine, YEAR)
                for i in range(a.runs):
                    got = {}
                    for side in ("direct", "job") if i % 2 == 0 else ("job", "direct"):
                        t = time.perf_counter()
                        if side == "job":
                            submit_and_wait(s, base, body)
                            got[side] = time.perf_counter() - t
                        else:
                            got[side] = run_direct(engine, YEAR)
                    job.add(got["job"])
                    direct.add(got["direct"])
                    ratio.add(got["job"] / got["direct"])
            run.stop("sqlworker")
            engine.dispose()
            row(
                f"yearly-sales {YEAR}, {rows:,} rows, {kind} (s)",
                job.text("{:.3f}"),
                direct.text("{:.3f}"),
                ratio,
                "<= 1.2x",
                ratio.median <= 1.2,
            )
    run.stop("web")
    if not a.keep_data:
        for rows in a.rows:
            drop_schema(rows)


def pg_schema(rows: int) -> str:
    """The benchmark's own PostgreSQL schema for a data set size."""
    return f"bench_sales_{rows}"


def _admin() -> sqlalchemy.Engine:
    return sqlalchemy.create_engine(PG_URL, connect_args={"connect_timeout": 3})


def create_schema(rows: int) -> None:
    """Create the schema when missing (kept data is reused when its row count matches)."""
    engine = _admin()
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{pg_schema(rows)}"')
    engine.dispose()


def drop_schema(rows: int) -> None:
    """Drop the benchmark's schema."""
    engine = _admin()
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{pg_schema(rows)}" CASCADE')
    except sqlalchemy.exc.OperationalError:
        pass
    engine.dispose()
