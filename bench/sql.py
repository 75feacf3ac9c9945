"""The yearly-sales baseline: one SQL statement that yields everything the report shows."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from sqlalchemy import Engine, func, select

from kinds.reports.compute.sql import between_days, orders, revenue_cents, units
from sales.schema import sales


def month_of(engine: Engine) -> Any:
    """'YYYY-MM' of sold_at in either database."""
    if engine.dialect.name == "sqlite":
        return func.substr(sales.c.sold_at, 1, 7)
    return func.to_char(sales.c.sold_at, "YYYY-MM")


def yearly_sales_query(engine: Engine, year: int) -> Any:
    """Orders, units and cents per month, region and product over `year` and the year before.

    Months, the previous year's revenue, regions and top products all follow from these
    rows (at most 24 x 5 x 48), so it is the whole report in one scan of two years.
    """
    month = month_of(engine).label("month")
    return (
        select(
            month, sales.c.region, sales.c.product, sales.c.category, orders, units, revenue_cents
        )
        .where(between_days(engine, dt.date(year - 1, 1, 1), dt.date(year + 1, 1, 1)))
        .group_by(month, sales.c.region, sales.c.product, sales.c.category)
    )


def run_direct(engine: Engine, year: int) -> float:
    """Seconds to run the baseline query and fetch its rows."""
    started = time.perf_counter()
    with engine.connect() as conn:
        rows = conn.execute(yearly_sales_query(engine, year)).all()
    assert rows, "the sales table has no rows for that year"
    return time.perf_counter() - started
