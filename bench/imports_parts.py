"""Where an import's CPU goes, part by part (SQLite), for bench/README.md's imports section.

    python -m bench.imports_parts --rows 1000000 --repeats 2

CPU seconds (this process) of each step the loader takes over the same generated file,
and of the alternatives tried: str.split instead of the csv module, an untyped scratch
table, the final insert in file order instead of sorted by sold_at.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.imports import write_csv
from bench.imports_baselines import chunks
from sales.db import make_engine
from sales.records import Records
from sales.rows import RowParser
from sales.schema import SALES_COLUMNS
from sales.seed import seed

TYPED = (
    "sold_at DATETIME, region TEXT, product TEXT, category TEXT, customer_id INTEGER,"
    " quantity INTEGER, unit_price NUMERIC(12, 2)"
)
UNTYPED = ", ".join(SALES_COLUMNS)
COLUMNS = ", ".join(SALES_COLUMNS)


def cpu(label: str, runs: list[tuple[str, float]], step: Callable[[], Any]) -> Any:
    """Run `step`, note its CPU seconds under `label`; returns what it returns."""
    started = time.process_time()
    result = step()
    runs.append((label, time.process_time() - started))
    return result


def one_pass(csv_path: Path, seeded: Path, work: Path, runs: list[tuple[str, float]]) -> None:
    """Each part once."""

    def read() -> list[list[str]]:
        records = Records(chunks(csv_path))
        records.header()
        return [r for batch in records.batches(5_000) for r in batch.records]

    def split() -> list[list[str]]:
        text = csv_path.read_bytes().decode().replace("\r\n", "\n")
        return [line.split(",") for line in text.split("\n")[1:-1]]

    records = cpu("decode + csv module", runs, read)
    assert cpu("decode + str.split", runs, split) == records
    fast = RowParser(list(SALES_COLUMNS)).fast(True)
    rows = cpu("row rules (RowParser.fast)", runs, lambda: list(map(fast, records)))
    marks = ", ".join("?" * len(SALES_COLUMNS))
    for order in ("sorted", "file order"):
        for kind, columns in (("typed", TYPED), ("untyped", UNTYPED)):
            db = work / "parts.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(seeded, db)
            conn = sqlite3.connect(db, isolation_level=None)
            conn.execute("PRAGMA cache_size = -262144")
            conn.execute("PRAGMA temp.cache_size = -131072")
            conn.execute(f"CREATE TEMP TABLE r ({columns})")
            conn.execute("BEGIN")
            cpu(
                f"executemany into a {kind} scratch table",
                runs,
                lambda c=conn: c.executemany(f"INSERT INTO r VALUES ({marks})", rows),
            )
            conn.execute("COMMIT")
            tail = " ORDER BY sold_at" if order == "sorted" else ""
            conn.execute("BEGIN IMMEDIATE")
            cpu(
                f"final insert from the {kind} table, {order}",
                runs,
                lambda c=conn, t=tail: c.execute(
                    f"INSERT INTO sales ({COLUMNS}) SELECT {COLUMNS} FROM r{t}"
                ),
            )
            conn.execute("COMMIT")
            conn.close()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-imports-parts-") as tmp:
        work = Path(tmp)
        csv_path, seeded = work / "sales.csv", work / "seeded.db"
        write_csv(csv_path, args.rows)
        engine = make_engine(f"sqlite:///{seeded}")
        seed(engine, args.rows)
        engine.dispose()
        runs: list[tuple[str, float]] = []
        gc.disable()  # as the loader does while it parses (sales.loader._collector_paused)
        for _ in range(args.repeats):
            one_pass(csv_path, seeded, work, runs)
        gc.enable()
    print(f"CPU s per part, {args.rows} rows into a table of {args.rows}, {args.repeats} repeats:")
    for label in dict.fromkeys(label for label, _ in runs):
        found = [f"{s:.2f}" for name, s in runs if name == label]
        print(f"  {label}: {', '.join(found)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
