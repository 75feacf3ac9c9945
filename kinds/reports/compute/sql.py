"""SQL building blocks shared by the report computations (portable SQLite/PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Engine,
    String,
    and_,
    cast,
    func,
    literal,
)

from sales.schema import sales

StepCallback = Callable[[int, int], None]


def no_steps(_current: int, _total: int) -> None:
    """A progress callback that ignores progress."""


def day_start(engine: Engine, day: dt.date) -> ColumnElement[Any]:
    """Midnight of `day` as a bound value that compares right in either database.

    On SQLite timestamps are text; a bare 'YYYY-MM-DD' sorts before every time of that
    day whatever format the rows use ('2023-02-01 00:00:00', '...T00:00:00.000000').
    """
    if engine.dialect.name == "sqlite":
        return literal(day.isoformat(), String)
    return literal(dt.datetime.combine(day, dt.time()), DateTime)


def between_days(engine: Engine, first: dt.date, after_last: dt.date) -> ColumnElement[bool]:
    """sold_at in [first, after_last)."""
    return and_(
        sales.c.sold_at >= day_start(engine, first), sales.c.sold_at < day_start(engine, after_last)
    )


# Money is summed in integer cents so that both databases give exact, equal totals.
revenue_cents = func.coalesce(
    func.sum(sales.c.quantity * cast(func.round(sales.c.unit_price * 100), BigInteger)), 0
)
orders = func.count()
units = func.coalesce(func.sum(sales.c.quantity), 0)


def money(cents: int | float | Any) -> float:
    """Integer cents -> a currency amount rounded to cents."""
    return round(int(cents) / 100, 2)


def share(part: int, whole: int) -> float:
    """`part` as a percentage of `whole`, to two decimals (0 when whole is 0)."""
    return round(part * 100 / whole, 2) if whole else 0.0


def next_month(year: int, month: int) -> dt.date:
    """The first day of the month after (year, month)."""
    return dt.date(year + month // 12, month % 12 + 1, 1)
