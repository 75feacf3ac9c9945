"""top-products: best sellers by revenue over a date range, optionally in one region."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, select

from kinds.reports.compute.sql import (
    StepCallback,
    between_days,
    money,
    no_steps,
    orders,
    revenue_cents,
    share,
    units,
)
from sales.schema import sales


def top_products(
    engine: Engine, params: dict[str, Any], on_step: StepCallback = no_steps
) -> dict[str, Any]:
    """Rank products by revenue between params["from_"] and params["to"] (inclusive)."""
    first: dt.date = params["from_"]
    last: dt.date = params["to"]
    limit: int = params["limit"]
    region: str | None = params.get("region")
    where = [between_days(engine, first, last + dt.timedelta(days=1))]
    if region is not None:
        where.append(sales.c.region == region)
    with engine.connect() as conn:
        total = conn.execute(select(orders, units, revenue_cents).where(*where)).one()
        on_step(1, 2)
        rows = conn.execute(
            select(sales.c.product, sales.c.category, orders, units, revenue_cents.label("cents"))
            .where(*where)
            .group_by(sales.c.product, sales.c.category)
            .order_by(revenue_cents.desc(), sales.c.product)
            .limit(limit)
        ).all()
        on_step(2, 2)
    total_cents = int(total[2])
    return {
        "summary": {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "region": region,
            "orders": int(total[0]),
            "units": int(total[1]),
            "revenue": money(total_cents),
        },
        "products": [
            {
                "rank": i,
                "product": r.product,
                "category": r.category,
                "orders": int(r[2]),
                "units": int(r[3]),
                "revenue": money(r.cents),
                "share": share(int(r.cents), total_cents),
            }
            for i, r in enumerate(rows, start=1)
        ],
    }
