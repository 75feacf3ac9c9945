"""region-breakdown: revenue by region and product category, one region per step."""

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


def region_breakdown(
    engine: Engine, params: dict[str, Any], on_step: StepCallback = no_steps
) -> dict[str, Any]:
    """Break `params["year"]` (or one quarter of it) down by region and category."""
    year: int = params["year"]
    quarter: int | None = params.get("quarter")
    if quarter:
        first, after = dt.date(year, 3 * quarter - 2, 1), next_month(year, 3 * quarter)
    else:
        first, after = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    period = between_days(engine, first, after)
    with engine.connect() as conn:
        regions = [
            r[0]
            for r in conn.execute(
                select(sales.c.region).where(period).distinct().order_by(sales.c.region)
            )
        ]
        total_steps = len(regions) + 1
        on_step(1, total_steps)
        rows: list[dict[str, Any]] = []
        for i, region in enumerate(regions, start=2):
            for r in conn.execute(
                select(sales.c.category, orders, units, revenue_cents.label("cents"))
                .where(period, sales.c.region == region)
                .group_by(sales.c.category)
                .order_by(sales.c.category)
            ):
                rows.append(
                    {
                        "region": region,
                        "category": r.category,
                        "orders": int(r[1]),
                        "units": int(r[2]),
                        "cents": int(r.cents),
                    }
                )
            on_step(i, total_steps)
    total = sum(r["cents"] for r in rows)
    for item in rows:
        cents = item.pop("cents")
        item["revenue"], item["share"] = money(cents), share(cents, total)
    return {
        "summary": {
            "year": year,
            "quarter": quarter,
            "from": first.isoformat(),
            "to": (after - dt.timedelta(days=1)).isoformat(),
            "orders": sum(r["orders"] for r in rows),
            "units": sum(r["units"] for r in rows),
            "revenue": money(total),
        },
        "rows": rows,
    }
