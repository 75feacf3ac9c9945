"""An independent oracle for the reports: raw rows aggregated in Python with Decimal.

It shares nothing with worker/reports: rows come from one plain `SELECT ... FROM sales`,
dates are compared as Python datetimes, money is summed exactly with Decimal, then rounded
to cents. The tests compare the reports (and downloads) with what this computes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text

CENT = Decimal("0.01")
# Percentages are derived from rounded figures in floats by the reports: allow one
# unit in the last place (0.01 percentage points), never more.
PERCENT_TOLERANCE = 0.0101
PERCENT_KEYS = {"share", "growthPercent"}


@dataclass(frozen=True)
class Sale:
    """One row of `sales`, as Python values."""

    sold_at: dt.datetime
    region: str
    product: str
    category: str
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price


def _timestamp(value: Any) -> dt.datetime:
    # SQLite hands back text, PostgreSQL a datetime.
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


def _price(value: Any) -> Decimal:
    # SQLite stores NUMERIC as REAL: str() of the float gives back the two decimals.
    return Decimal(str(value)).quantize(CENT)


def load_sales(engine: Engine) -> list[Sale]:
    """Every sale, read with hand-written SQL."""
    sql = "SELECT sold_at, region, product, category, quantity, unit_price FROM sales"
    with engine.connect() as conn:
        return [
            Sale(_timestamp(r[0]), r[1], r[2], r[3], int(r[4]), _price(r[5]))
            for r in conn.execute(text(sql))
        ]


def money(amount: Decimal) -> float:
    """Exact amount -> the float the API shows (rounded to cents)."""
    return float(amount.quantize(CENT, ROUND_HALF_EVEN))


def percent(part: Decimal, whole: Decimal) -> float:
    return float((part * 100 / whole).quantize(CENT)) if whole else 0.0


def totals(rows: Iterable[Sale]) -> tuple[int, int, Decimal]:
    """(orders, units, revenue) of some sales."""
    orders = units = 0
    revenue = Decimal(0)
    for s in rows:
        orders, units, revenue = orders + 1, units + s.quantity, revenue + s.amount
    return orders, units, revenue


def ranked_products(rows: list[Sale], limit: int, whole: Decimal | None) -> list[dict[str, Any]]:
    """Products by revenue (highest first, then by name), with optional share of `whole`."""
    groups: dict[tuple[str, str], list[Sale]] = defaultdict(list)
    for s in rows:
        groups[(s.product, s.category)].append(s)
    ranked = sorted(groups.items(), key=lambda kv: (-totals(kv[1])[2], kv[0][0]))[:limit]
    out = []
    for rank, ((product, category), sales) in enumerate(ranked, start=1):
        orders, units, revenue = totals(sales)
        item: dict[str, Any] = {
            "rank": rank,
            "product": product,
            "category": category,
            "orders": orders,
            "units": units,
            "revenue": money(revenue),
        }
        if whole is not None:
            item["share"] = percent(revenue, whole)
        out.append(item)
    return out


def in_range(rows: list[Sale], first: dt.date, last: dt.date) -> list[Sale]:
    """Sales on days first..last, both inclusive."""
    return [s for s in rows if first <= s.sold_at.date() <= last]


def yearly_sales(rows: list[Sale], year: int) -> dict[str, Any]:
    """What yearly-sales must say about `year`."""
    this_year = [s for s in rows if s.sold_at.year == year]
    orders, units, revenue = totals(this_year)
    previous = totals(s for s in rows if s.sold_at.year == year - 1)[2]
    growth = float(((revenue - previous) * 100 / previous).quantize(CENT)) if previous else None
    months = []
    for month in range(1, 13):
        o, u, r = totals(s for s in this_year if s.sold_at.month == month)
        months.append(
            {"month": f"{year}-{month:02d}", "orders": o, "units": u, "revenue": money(r)}
        )
    by_region: dict[str, Decimal] = defaultdict(Decimal)
    for s in this_year:
        by_region[s.region] += s.amount
    return {
        "summary": {
            "year": year,
            "orders": orders,
            "units": units,
            "revenue": money(revenue),
            "previousYearRevenue": money(previous),
            "growthPercent": growth,
        },
        "months": months,
        "regions": [
            {"region": name, "revenue": money(amount), "share": percent(amount, revenue)}
            for name, amount in sorted(by_region.items())
        ],
        "topProducts": ranked_products(this_year, 10, None),
    }


def monthly_sales(rows: list[Sale], year: int, month: int) -> dict[str, Any]:
    """What monthly-sales must say about one month."""
    first = dt.date(year, month, 1)
    days = []
    day = first
    while day.month == month:
        o, u, r = totals(s for s in rows if s.sold_at.date() == day)
        days.append(
            {"date": day.isoformat(), "orders": o, "units": u, "revenue": money(r), "_r": r}
        )
        day += dt.timedelta(days=1)
    orders, units, revenue = totals(in_range(rows, first, day - dt.timedelta(days=1)))
    busiest = max(days, key=lambda d: (d["_r"], d["date"]))["date"] if orders else None
    for d in days:
        del d["_r"]
    return {
        "summary": {
            "month": f"{year}-{month:02d}",
            "orders": orders,
            "units": units,
            "revenue": money(revenue),
            "busiestDay": busiest,
        },
        "days": days,
    }


def top_products(
    rows: list[Sale], first: dt.date, last: dt.date, limit: int, region: str | None
) -> dict[str, Any]:
    """What top-products must say about a date range (and maybe one region)."""
    chosen = [s for s in in_range(rows, first, last) if region is None or s.region == region]
    orders, units, revenue = totals(chosen)
    return {
        "summary": {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "region": region,
            "orders": orders,
            "units": units,
            "revenue": money(revenue),
        },
        "products": ranked_products(chosen, limit, revenue),
    }


def region_breakdown(rows: list[Sale], year: int, quarter: int | None) -> dict[str, Any]:
    """What region-breakdown must say about a year or one quarter of it."""
    months = range(3 * quarter - 2, 3 * quarter + 1) if quarter else range(1, 13)
    chosen = [s for s in rows if s.sold_at.year == year and s.sold_at.month in months]
    orders, units, revenue = totals(chosen)
    groups: dict[tuple[str, str], list[Sale]] = defaultdict(list)
    for s in chosen:
        groups[(s.region, s.category)].append(s)
    out = []
    for (region, category), sales in sorted(groups.items()):
        o, u, r = totals(sales)
        out.append(
            {
                "region": region,
                "category": category,
                "orders": o,
                "units": u,
                "revenue": money(r),
                "share": percent(r, revenue),
            }
        )
    first = dt.date(year, months[0], 1)
    after = dt.date(year + 1, 1, 1) if months[-1] == 12 else dt.date(year, months[-1] + 1, 1)
    return {
        "summary": {
            "year": year,
            "quarter": quarter,
            "from": first.isoformat(),
            "to": (after - dt.timedelta(days=1)).isoformat(),
            "orders": orders,
            "units": units,
            "revenue": money(revenue),
        },
        "rows": out,
    }


def assert_matches(actual: Any, expected: Any, path: str = "report") -> None:
    """Equal everywhere; percentages within one hundredth of a point."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        assert set(actual) == set(expected), (path, set(actual) ^ set(expected))
        for key, value in expected.items():
            check: Callable[[Any, Any, str], None] = (
                _assert_percent if key in PERCENT_KEYS else assert_matches
            )
            check(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (path, actual)
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_matches(a, e, f"{path}[{i}]")
    else:
        assert actual == expected, (path, actual, expected)


def _assert_percent(actual: Any, expected: Any, path: str) -> None:
    if expected is None:
        assert actual is None, path
    else:
        assert actual == pytest.approx(expected, abs=PERCENT_TOLERANCE), path
