"""The synthetic sales data set: deterministic, several years, realistic shape."""

from __future__ import annotations

import collections
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from sales.db import make_engine
from sales.seed import generate, seed

ROWS = 20_000


@pytest.fixture(scope="module")
def rows() -> list[tuple[object, ...]]:
    return list(generate(ROWS))


def test_the_same_seed_gives_the_same_rows(rows: list[tuple[object, ...]]) -> None:
    assert list(generate(ROWS)) == rows
    assert list(generate(ROWS, seed=7)) != rows


def test_seeding_two_databases_stores_identical_rows(tmp_path: Path) -> None:
    # Given two empty SQLite files seeded with the same row count
    dumps = []
    for name in ("a", "b"):
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        seed(engine, 1_000)
        with engine.connect() as conn:
            dumps.append(conn.execute(text("SELECT * FROM sales ORDER BY id")).all())
        engine.dispose()
    # Then they hold exactly the same sales
    assert len(dumps[0]) == 1_000
    assert dumps[0] == dumps[1]


def test_several_years_regions_and_dozens_of_products(rows: list[tuple[object, ...]]) -> None:
    years = {r[0].year for r in rows if isinstance(r[0], dt.datetime)}
    assert len(years) >= 5 and {2022, 2023, 2024} <= years
    assert len({r[1] for r in rows}) >= 4
    assert len({r[2] for r in rows}) >= 24
    assert len({r[3] for r in rows}) >= 4


def test_rows_are_well_formed(rows: list[tuple[object, ...]]) -> None:
    for sold_at, region, product, category, customer, quantity, price in rows:
        assert isinstance(sold_at, dt.datetime) and sold_at.tzinfo is None
        assert isinstance(region, str) and isinstance(product, str) and isinstance(category, str)
        assert isinstance(customer, int) and customer >= 1
        assert isinstance(quantity, int) and quantity >= 1
        assert isinstance(price, Decimal) and price > 0
        assert price == price.quantize(Decimal("0.01"))  # whole cents


def test_november_and_december_sell_more_than_summer(rows: list[tuple[object, ...]]) -> None:
    by_month = collections.Counter(r[0].month for r in rows if isinstance(r[0], dt.datetime))
    summer = max(by_month[6], by_month[7], by_month[8])
    assert by_month[11] > summer * 1.2
    assert by_month[12] > summer * 1.4


def test_sales_grow_from_year_to_year(rows: list[tuple[object, ...]]) -> None:
    by_year = collections.Counter(r[0].year for r in rows if isinstance(r[0], dt.datetime))
    first, last = min(by_year), max(by_year)
    assert by_year[last] > by_year[first]
