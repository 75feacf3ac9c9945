"""monthly-sales: every day of one month, one day per step."""

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
    units,
)


def monthly_sales(
    engine: Engine, params: dict[str, Any], on_step: StepCallback = no_steps
) -> dict[str, Any]:
    """Compute daily orders, units and revenue of `params["year"]`-`params["month"]`."""
    year, month = params["year"], params["month"]
    first, after = dt.date(year, month, 1), next_month(year, month)
    n_days = (after - first).days
    days: list[dict[str, Any]] = []
    total_orders = total_units = total_cents = 0
    with engine.connect() as conn:
        for i in range(n_days):
            day = first + dt.timedelta(days=i)
            row = conn.execute(
                select(orders, units, revenue_cents).where(
                    between_days(engine, day, day + dt.timedelta(days=1))
                )
            ).one()
            o, u, c = int(row[0]), int(row[1]), int(row[2])
            total_orders, total_units, total_cents = (
                total_orders + o,
                total_units + u,
                total_cents + c,
            )
            days.append({"date": day.isoformat(), "orders": o, "units": u, "revenue": money(c)})
            on_step(i + 1, n_days)
    busiest = max(days, key=lambda d: (d["revenue"], d["date"])) if total_orders else None
    return {
        "summary": {
            "month": f"{year}-{month:02d}",
            "orders": total_orders,
            "units": total_units,
            "revenue": money(total_cents),
            "busiestDay": busiest["date"] if busiest else None,
        },
        "days": days,
    }
