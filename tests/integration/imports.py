"""What the import tests share: CSV files of their own making, an import client, SQL checks."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import time
from collections.abc import Iterator
from typing import Any

import requests
import sqlalchemy

from sales.seed import generate

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
