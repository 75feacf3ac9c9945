"""What the import tests share: CSV files of their own making, an import client, SQL checks,
and a stack over a sales database of their own with what an upload may leave behind."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
import requests
import sqlalchemy

from devstack.stack import Stack
from jobs.store.keys import Keys
from sales.seed import generate
from tests import brokers
from tests.integration.stacks import redis_db, seeded_stack

HEADER = ("sold_at", "region", "product", "category", "customer_id", "quantity", "unit_price")
TERMINAL = {"Complete", "Failed", "Cancelled"}


def rows_in(year: int, count: int, seed: int = 7) -> list[list[str]]:
    """`count` valid rows, all sold in `year` (outside the sample data's 2020-2025)."""
    out = []
    for sold_at, region, product, category, customer, quantity, price in generate(count, seed):
        assert isinstance(sold_at, dt.datetime)
        moved = sold_at.replace(year=year, day=min(sold_at.day, 28))
        values = (region, product, category, customer, quantity, price)
        out.append([moved.isoformat(sep=" "), *(str(v) for v in values)])
    return out


def csv_text(rows: list[list[str]], header: tuple[str, ...] = HEADER) -> str:
    """A CSV file: the header row, then the rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def csv_lines(year: int, count: int, seed: int = 7) -> Iterator[bytes]:
    """A large CSV file as a stream of encoded pieces (never built whole in memory)."""
    yield (",".join(HEADER) + "\n").encode()
    batch: list[list[str]] = []
    for row in generate(count, seed):
        sold_at = row[0]
        assert isinstance(sold_at, dt.datetime)
        moved = sold_at.replace(year=year, day=min(sold_at.day, 28))
        batch.append([moved.isoformat(sep=" "), *(str(v) for v in row[1:])])
        if len(batch) == 20_000:
            yield csv_text(batch, ())[1:].encode()  # no header: drop the empty first line
            batch = []
    if batch:
        yield csv_text(batch, ())[1:].encode()


def post_import(
    base: str,
    body: Any,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    gzipped: bool = False,
) -> requests.Response:
    """POST /api/imports with a CSV body (text, bytes or an iterator of bytes)."""
    sent = {"Content-Type": "text/csv", **(headers or {})}
    if gzipped:
        sent["Content-Encoding"] = "gzip"
        body = gzip.compress(body.encode() if isinstance(body, str) else body)
    return requests.post(f"{base}/api/imports", data=body, headers=sent, params=params, timeout=300)


def wait_done(
    base: str, location: str, headers: dict[str, str] | None = None, timeout: float = 300
) -> dict[str, Any]:
    """Long-poll a status until it is terminal."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = requests.get(
            base + location, headers={"Prefer": "wait=10", **(headers or {})}, timeout=30
        )
        assert resp.status_code == 200, resp.text
        doc = resp.json()
        if doc["status"] in TERMINAL:
            return dict(doc)
    raise AssertionError(f"{location} not finished after {timeout}s")


def count_rows(database_url: str, where: str = "1=1") -> int:
    """Rows of `sales` matching `where`, counted with plain SQL."""
    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.exec_driver_sql(f"SELECT count(*) FROM sales WHERE {where}").scalar_one()
            )
    finally:
        engine.dispose()


def staged(database_url: str) -> int:
    """Uploads still staged (chunks in the database); 0 before the first upload made the table."""
    engine = sqlalchemy.create_engine(database_url)
    try:
        if not sqlalchemy.inspect(engine).has_table("import_uploads"):
            return 0
        with engine.connect() as conn:
            n = conn.exec_driver_sql("SELECT count(*) FROM import_uploads").scalar_one()
    finally:
        engine.dispose()
    return int(n)


def year_range(year: int) -> str:
    """A WHERE clause for the rows sold in `year` (text or timestamp columns alike)."""
    return f"sold_at >= '{year}-01-01' AND sold_at < '{year + 1}-01-01'"


def left_behind(stack: Stack, store: redis.Redis, database_url: str) -> tuple[int, int, int]:
    """Jobs in the store, tasks queued, uploads staged."""
    jobs = sum(1 for _ in store.scan_iter(Keys().job("*")))
    queued = brokers.waiting(stack.env.get("CELERY_BROKER_URL") or stack.env["REDIS_URL"])
    return jobs, queued, staged(database_url)


@dataclass
class ImportStack:
    """A stack whose sales database belongs to one test module (imports change it), and a
    client of its Redis database."""

    stack: Stack
    database_url: str
    redis: redis.Redis

    @property
    def base(self) -> str:
        return self.stack.base_url

    def left_behind(self) -> tuple[int, int, int, int]:
        """Jobs in the store, tasks queued, uploads staged, sales rows."""
        return (
            *left_behind(self.stack, self.redis, self.database_url),
            count_rows(self.database_url),
        )


@contextmanager
def import_stack(
    tmp: Path, dialect: str, redis_url: str, db: int, env: dict[str, str], **sizes: int
) -> Iterator[ImportStack]:
    """A seeded_stack (`sizes`: its workers and rows) and a client of its Redis database."""
    with seeded_stack(tmp, dialect, redis_url, db, env, **sizes) as (stack, url):
        client = redis.Redis.from_url(redis_db(redis_url, db), decode_responses=True)
        yield ImportStack(stack, url, client)
        client.close()
