"""Create the sales schema and fill it with a deterministic synthetic data set.

    async-reports-seed --rows 1000000            # or: python -m sales.seed
    async-reports-seed --rows 1000 --if-empty    # only when the table is missing or empty

Same seed and row count -> the same rows, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from collections.abc import Iterator
from decimal import Decimal

from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.schema import CreateTable

from jobs.settings import Settings, normalise_database_url
from sales.bulk import write_rows
from sales.db import make_engine
from sales.schema import SALES_COLUMNS, bump_version, ensure_tables, sales, stored_timestamp

FIRST_DAY = dt.date(2020, 1, 1)
LAST_DAY = dt.date(2025, 12, 31)
YEARLY_GROWTH = 1.08
# Retail seasonality: a summer lull, a strong November/December.
MONTH_WEIGHT = (0.80, 0.75, 0.90, 0.95, 1.00, 0.90, 0.85, 0.90, 1.00, 1.05, 1.35, 1.60)
WEEKDAY_WEIGHT = (0.90, 0.95, 1.00, 1.00, 1.10, 1.30, 0.75)  # Monday..Sunday
REGIONS = {"North": 0.26, "South": 0.22, "East": 0.20, "West": 0.18, "Central": 0.14}
CATALOGUE: dict[str, list[tuple[str, float]]] = {
    "Electronics": [
        ("Laptop Pro 14", 1499.0),
        ("Laptop Air 13", 999.0),
        ("Tablet 11", 449.0),
        ("Smartphone X", 899.0),
        ("Smartphone Lite", 399.0),
        ("Smartwatch", 249.0),
        ("Wireless Earbuds", 129.0),
        ("Bluetooth Speaker", 79.0),
    ],
    "Home": [
        ("Coffee Maker", 89.0),
        ("Espresso Machine", 349.0),
        ("Blender", 59.0),
        ("Air Fryer", 119.0),
        ("Vacuum Robot", 299.0),
        ("Desk Lamp", 39.0),
        ("Office Chair", 219.0),
        ("Standing Desk", 499.0),
    ],
    "Outdoor": [
        ("Tent 2P", 179.0),
        ("Sleeping Bag", 89.0),
        ("Hiking Boots", 139.0),
        ("Backpack 40L", 119.0),
        ("Camping Stove", 49.0),
        ("Headlamp", 29.0),
        ("Water Filter", 39.0),
        ("Trekking Poles", 69.0),
    ],
    "Apparel": [
        ("Rain Jacket", 149.0),
        ("Fleece", 79.0),
        ("T-Shirt", 19.0),
        ("Jeans", 59.0),
        ("Sneakers", 99.0),
        ("Wool Socks", 15.0),
        ("Cap", 22.0),
        ("Scarf", 29.0),
    ],
    "Books": [
        ("Cookbook", 32.0),
        ("Travel Guide", 24.0),
        ("Novel Hardcover", 27.0),
        ("Novel Paperback", 14.0),
        ("Children's Book", 12.0),
        ("Atlas", 45.0),
        ("Programming Guide", 49.0),
        ("Notebook Set", 9.0),
    ],
    "Grocery": [
        ("Coffee Beans 1kg", 24.0),
        ("Green Tea", 8.0),
        ("Olive Oil", 14.0),
        ("Dark Chocolate", 4.0),
        ("Pasta Pack", 3.0),
        ("Granola", 6.0),
        ("Honey", 9.0),
        ("Spice Set", 19.0),
    ],
}
DISCOUNTS = (0.0, 0.0, 0.0, 0.0, 0.05, 0.10, 0.20)
QUANTITIES, QUANTITY_WEIGHTS = (1, 2, 3, 4, 5, 6), (50, 22, 12, 8, 5, 3)
CUSTOMERS = 50_000
COLUMNS = SALES_COLUMNS


def _day_weights() -> tuple[list[dt.date], list[float]]:
    days, cum, total = [], [], 0.0
    day = FIRST_DAY
    while day <= LAST_DAY:
        total += (
            YEARLY_GROWTH ** (day.year - FIRST_DAY.year)
            * MONTH_WEIGHT[day.month - 1]
            * WEEKDAY_WEIGHT[day.weekday()]
        )
        days.append(day)
        cum.append(total)
        day += dt.timedelta(days=1)
    return days, cum


def generate(rows: int, seed: int = 2023) -> Iterator[tuple[object, ...]]:
    """Yield `rows` synthetic sales rows (without id), deterministically from `seed`."""
    rng = random.Random(seed)
    days, cum = _day_weights()
    products = [(name, cat, price) for cat, items in CATALOGUE.items() for name, price in items]
    # Cheap things sell more often; a fixed popularity per product adds variety.
    popularity = [rng.uniform(0.5, 1.5) / (price**0.35) for _, _, price in products]
    region_names, region_weights = list(REGIONS), list(REGIONS.values())
    midnight = dt.time()
    chunk = 50_000
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        picked_days = rng.choices(days, cum_weights=cum, k=n)
        seconds = [rng.randrange(86_400) for _ in range(n)]
        regions = rng.choices(region_names, region_weights, k=n)
        picked = rng.choices(products, popularity, k=n)
        qty = rng.choices(QUANTITIES, QUANTITY_WEIGHTS, k=n)
        discounts = rng.choices(DISCOUNTS, k=n)
        for i in range(n):
            name, cat, price = picked[i]
            sold_at = dt.datetime.combine(picked_days[i], midnight) + dt.timedelta(
                seconds=seconds[i]
            )
            yield (
                sold_at,
                regions[i],
                name,
                cat,
                rng.randint(1, CUSTOMERS),
                qty[i],
                Decimal(str(round(price * (1 - discounts[i]), 2))),
            )


def _stored(rows: Iterator[tuple[object, ...]]) -> Iterator[tuple[object, ...]]:
    # The bulk writer's value types; float(price) is what SQLite has always stored.
    for sold_at, region, product, category, customer, quantity, price in rows:
        assert isinstance(sold_at, dt.datetime) and isinstance(price, Decimal)
        yield stored_timestamp(sold_at), region, product, category, customer, quantity, float(price)


def row_count(engine: Engine) -> int | None:
    """Rows in `sales`, or None when the table does not exist."""
    if not inspect(engine).has_table("sales"):
        return None
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(sales)).scalar_one())


def seed(engine: Engine, rows: int, seed: int = 2023) -> None:
    """(Re)create the sales table, fill it with `rows` rows, and create the import tables."""
    sales.drop(engine, checkfirst=True)
    with engine.begin() as conn:
        conn.execute(CreateTable(sales))  # indexes after the bulk load: much faster
        write_rows(conn, sales, COLUMNS, _stored(generate(rows, seed)))
    for index in sales.indexes:
        index.create(engine)
    if engine.dialect.name == "postgresql":
        # VACUUM sets the visibility map of the freshly loaded table, so the covering
        # index answers the reports' range scans without visiting the heap (index-only
        # scans: yearly-sales over 1M rows ran 1.5x faster); it cannot run in a transaction.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE sales")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    ensure_tables(engine)
    with engine.begin() as conn:
        bump_version(conn)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--database-url", default=None, help="default: DATABASE_URL")
    parser.add_argument(
        "--if-empty", action="store_true", help="do nothing when the table already has rows"
    )
    args = parser.parse_args(argv)
    url = normalise_database_url(args.database_url or Settings.from_env().database_url)
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    if args.if_empty and (row_count(engine) or 0) > 0:
        ensure_tables(engine)  # a database from before imports existed gets their tables
        print(f"sales already has {row_count(engine)} rows; not seeding", file=sys.stderr)
        return 0
    started = time.perf_counter()
    seed(engine, args.rows, args.seed)
    print(
        f"seeded {args.rows} rows in {time.perf_counter() - started:.1f}s "
        f"({engine.url.render_as_string(hide_password=True)})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
