"""yearly-sales: one year month by month, with regions, top products and growth."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, select

from kinds.reports.compute.sql import (
    StepCallback,
    between_days,
    money,
    next_month,
    no_steps,
    orders,
    revenue_cents,
    share,
    units,
)
from sales.schema import sales

TOP_PRODUCTS = 10


def yearly_sales(
    engine: Engine, params: dict[str, Any], on_step: StepCallback = no_steps
) -> dict[str, Any]:
    """Compute the yearly sales report for `params["year"]`, one month per step."""
    year: int = params["year"]
    total_steps = 12 + 3
    months: list[dict[str, Any]] = []
    totals = {"orders": 0, "units": 0, "cents": 0}
    with engine.connect() as conn:
        for month in range(1, 13):
            first = dt.date(year, month, 1)
            row = conn.execute(
                select(orders, units, revenue_cents).where(
                    between_days(engine, first, next_month(year, month))
                )
            ).one()
            n_orders, n_units, cents = int(row[0]), int(row[1]), int(row[2])
            totals["orders"] += n_orders
            totals["units"] += n_units
            totals["cents"] += cents
            months.append(
                {
                    "month": f"{year}-{month:02d}",
                    "orders": n_orders,
                    "units": n_units,
                    "revenue": money(cents),
                }
            )
            on_step(month, total_steps)

        year_range = between_days(engine, dt.date(year, 1, 1), dt.date(year + 1, 1, 1))
        previous_cents = int(
            conn.execute(
                select(revenue_cents).where(
                    between_days(engine, dt.date(year - 1, 1, 1), dt.date(year, 1, 1))
                )
            ).scalar_one()
        )
        on_step(13, total_steps)

        region_rows = conn.execute(
            select(sales.c.region, revenue_cents.label("cents"))
            .where(year_range)
            .group_by(sales.c.region)
            .order_by(sales.c.region)
        ).all()
        on_step(14, total_steps)

        product_rows = conn.execute(
            select(sales.c.product, sales.c.category, orders, units, revenue_cents.label("cents"))
            .where(year_range)
            .group_by(sales.c.product, sales.c.category)
            .order_by(revenue_cents.desc(), sales.c.product)
            .limit(TOP_PRODUCTS)
        ).all()
        on_step(15, total_steps)

    cents = totals["cents"]
    growth = round((cents - previous_cents) * 100 / previous_cents, 2) if previous_cents else None
    return {
        "summary": {
            "year": year,
            "orders": totals["orders"],
            "units": totals["units"],
            "revenue": money(cents),
            "previousYearRevenue": money(previous_cents),
            "growthPercent": growth,
        },
        "months": months,
        "regions": [
            {"region": r.region, "revenue": money(r.cents), "share": share(int(r.cents), cents)}
            for r in region_rows
        ],
        "topProducts": [
            {
                "rank": i,
                "product": r.product,
                "category": r.category,
                "orders": int(r[2]),
                "units": int(r[3]),
                "revenue": money(r.cents),
            }
            for i, r in enumerate(product_rows, start=1)
        ],
    }
