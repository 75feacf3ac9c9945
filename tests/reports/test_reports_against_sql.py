"""Every report function against an independent computation, on SQLite and PostgreSQL.

The expected figures come from tests/oracle.py (raw rows summed with Decimal) and, for
yearly-sales, from GROUP BY queries written by hand in each database's own SQL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from kinds.reports.catalogue import REPORT_TYPES
from kinds.reports.compute import COMPUTATIONS
from sales.db import make_engine
from sales.schema import metadata
from sales.schema import sales as sales_table
from tests import oracle

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=DATABASES)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine on the seeded test database of each kind."""
    url = request.getfixturevalue(f"{request.param}_url")
    eng = make_engine(url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def sales(engine: Engine) -> list[oracle.Sale]:
    return oracle.load_sales(engine)


def run(engine: Engine, report_type: str, raw: dict[str, Any]) -> tuple[dict[str, Any], list]:
    """Validate raw parameters as the worker does, compute, and record the steps taken."""
    steps: list[tuple[int, int]] = []
    params = REPORT_TYPES[report_type].parameters().load(raw)
    report = COMPUTATIONS[report_type](engine, params, lambda c, t: steps.append((c, t)))
    return report, steps


def assert_steps_count_up_to_done(steps: list[tuple[int, int]]) -> None:
    assert steps, "no progress reported"
    assert [c for c, _ in steps] == list(range(1, len(steps) + 1))
    assert {t for _, t in steps} == {len(steps)}


def test_the_test_data_spans_the_years_the_tests_ask_about(sales: list[oracle.Sale]) -> None:
    years = {s.sold_at.year for s in sales}
    assert {2020, 2021, 2022, 2023, 2024, 2025} <= years
    assert 2030 not in years and 2019 not in years


# -- yearly-sales --------------------------------------------------------------------


@pytest.mark.parametrize("year", ["2023", 2020, 2025])
def test_yearly_sales_equals_the_independent_aggregation(
    engine: Engine, sales: list[oracle.Sale], year: Any
) -> None:
    # Given the seeded sales
    # When the yearly report is computed
    report, steps = run(engine, "yearly-sales", {"year": year})
    # Then every figure equals the independent one: summary, twelve months, regions, top 10
    oracle.assert_matches(report, oracle.yearly_sales(sales, int(year)))
    assert len(report["months"]) == 12 and len(report["topProducts"]) == 10
    assert sum(r["share"] for r in report["regions"]) == pytest.approx(100, abs=0.05)
    assert_steps_count_up_to_done(steps)
    assert len(steps) == 15


def test_yearly_sales_of_the_first_year_has_no_growth(engine: Engine) -> None:
    report, _ = run(engine, "yearly-sales", {"year": 2020})
    assert report["summary"]["previousYearRevenue"] == 0
    assert report["summary"]["growthPercent"] is None


def test_yearly_sales_of_a_year_without_data_is_twelve_zero_months(
    engine: Engine, sales: list[oracle.Sale]
) -> None:
    report, steps = run(engine, "yearly-sales", {"year": 2030})
    assert report["months"] == [
        {"month": f"2030-{m:02d}", "orders": 0, "units": 0, "revenue": 0} for m in range(1, 13)
    ]
    assert report["summary"] == {
        "year": 2030,
        "orders": 0,
        "units": 0,
        "revenue": 0,
        "previousYearRevenue": 0,
        "growthPercent": None,
    }
    assert report["regions"] == [] and report["topProducts"] == []
    oracle.assert_matches(report, oracle.yearly_sales(sales, 2030))
    assert len(steps) == 15


# Hand-written SQL, in each database's own dialect: month of a row and the year filter.
MONTH_SQL = {
    "sqlite": (
        "SELECT substr(sold_at, 1, 7) AS month, COUNT(*), SUM(quantity), "
        "ROUND(SUM(quantity * unit_price), 2) FROM sales "
        "WHERE substr(sold_at, 1, 4) = :year GROUP BY 1 ORDER BY 1"
    ),
    "postgresql": (
        "SELECT to_char(sold_at, 'YYYY-MM') AS month, COUNT(*), SUM(quantity), "
        "SUM(quantity * unit_price) FROM sales "
        "WHERE EXTRACT(YEAR FROM sold_at) = :year GROUP BY 1 ORDER BY 1"
    ),
}
REGION_SQL = {
    "sqlite": (
        "SELECT region, ROUND(SUM(quantity * unit_price), 2) FROM sales "
        "WHERE substr(sold_at, 1, 4) = :year GROUP BY region ORDER BY region"
    ),
    "postgresql": (
        "SELECT region, SUM(quantity * unit_price) FROM sales "
        "WHERE EXTRACT(YEAR FROM sold_at) = :year GROUP BY region ORDER BY region"
    ),
}
TOP_SQL = {
    "sqlite": (
        "SELECT product, COUNT(*), SUM(quantity), ROUND(SUM(quantity * unit_price), 2) AS rev "
        "FROM sales WHERE substr(sold_at, 1, 4) = :year "
        "GROUP BY product ORDER BY rev DESC, product LIMIT 10"
    ),
    "postgresql": (
        "SELECT product, COUNT(*), SUM(quantity), SUM(quantity * unit_price) AS rev "
        "FROM sales WHERE EXTRACT(YEAR FROM sold_at) = :year "
        "GROUP BY product ORDER BY rev DESC, product LIMIT 10"
    ),
}


def cents(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(oracle.CENT)


def test_yearly_sales_equals_group_by_queries_written_by_hand(engine: Engine) -> None:
    # Given the same year asked of the database directly, in its own SQL dialect
    year = 2023
    dialect = engine.dialect.name
    bind = {"year": str(year) if dialect == "sqlite" else year}
    with engine.connect() as conn:
        months = conn.execute(text(MONTH_SQL[dialect]), bind).all()
        regions = conn.execute(text(REGION_SQL[dialect]), bind).all()
        top = conn.execute(text(TOP_SQL[dialect]), bind).all()
    # When the report is computed
    report, _ = run(engine, "yearly-sales", {"year": str(year)})
    # Then months, summary, regions and top products agree with the hand-written queries
    assert [
        (m["month"], m["orders"], m["units"], cents(m["revenue"])) for m in report["months"]
    ] == [(r[0], int(r[1]), int(r[2]), cents(r[3])) for r in months]
    assert report["summary"]["orders"] == sum(int(r[1]) for r in months)
    assert report["summary"]["units"] == sum(int(r[2]) for r in months)
    assert cents(report["summary"]["revenue"]) == sum(cents(r[3]) for r in months)
    assert [(r["region"], cents(r["revenue"])) for r in report["regions"]] == [
        (r[0], cents(r[1])) for r in regions
    ]
    assert [
        (p["product"], p["orders"], p["units"], cents(p["revenue"])) for p in report["topProducts"]
    ] == [(r[0], int(r[1]), int(r[2]), cents(r[3])) for r in top]


# -- monthly-sales ---------------------------------------------------------------------


@pytest.mark.parametrize(("year", "month", "days"), [(2024, 2, 29), (2023, 12, 31), (2030, 6, 30)])
def test_monthly_sales_equals_the_independent_aggregation(
    engine: Engine, sales: list[oracle.Sale], year: int, month: int, days: int
) -> None:
    report, steps = run(engine, "monthly-sales", {"year": year, "month": month})
    oracle.assert_matches(report, oracle.monthly_sales(sales, year, month))
    assert len(report["days"]) == days
    assert len(steps) == days
    assert_steps_count_up_to_done(steps)


# -- top-products ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "parameters",
    [
        {"from": "2023-01-01", "to": "2023-12-31"},
        {"from": "2022-11-15", "to": "2023-02-10", "limit": 5},
        {"from": "2023-01-01", "to": "2023-12-31", "region": "North", "limit": 100},
        {"from": "2024-02-29", "to": "2024-02-29", "limit": 3, "region": "South"},
        {"from": "2023-01-01", "to": "2023-12-31", "region": "Atlantis"},
    ],
)
def test_top_products_equals_the_independent_aggregation(
    engine: Engine, sales: list[oracle.Sale], parameters: dict[str, Any]
) -> None:
    report, steps = run(engine, "top-products", parameters)
    expected = oracle.top_products(
        sales,
        dt.date.fromisoformat(parameters["from"]),
        dt.date.fromisoformat(parameters["to"]),
        parameters.get("limit", 10),
        parameters.get("region"),
    )
    oracle.assert_matches(report, expected)
    assert len(report["products"]) <= parameters.get("limit", 10)
    assert_steps_count_up_to_done(steps)


def test_top_products_in_one_region_only_counts_that_region(
    engine: Engine, sales: list[oracle.Sale]
) -> None:
    everywhere, _ = run(engine, "top-products", {"from": "2023-01-01", "to": "2023-12-31"})
    north, _ = run(
        engine, "top-products", {"from": "2023-01-01", "to": "2023-12-31", "region": "North"}
    )
    assert 0 < north["summary"]["orders"] < everywhere["summary"]["orders"]
    assert north["summary"]["orders"] == sum(
        1 for s in sales if s.region == "North" and s.sold_at.year == 2023
    )


# -- region-breakdown --------------------------------------------------------------------


@pytest.mark.parametrize(("year", "quarter"), [(2023, None), (2023, 4), (2021, 1), (2030, 2)])
def test_region_breakdown_equals_the_independent_aggregation(
    engine: Engine, sales: list[oracle.Sale], year: int, quarter: int | None
) -> None:
    parameters: dict[str, Any] = {"year": year}
    if quarter:
        parameters["quarter"] = quarter
    report, steps = run(engine, "region-breakdown", parameters)
    oracle.assert_matches(report, oracle.region_breakdown(sales, year, quarter))
    assert_steps_count_up_to_done(steps)
    if report["rows"]:
        assert sum(r["share"] for r in report["rows"]) == pytest.approx(100, abs=0.2)


# -- edges of a period ------------------------------------------------------------------

EDGE_SALES = [
    # (sold_at, quantity, unit_price): a sale at each edge of 2023 and of its months
    ("2022-12-31 23:59:59.999999", 1, "1.00"),
    ("2023-01-01 00:00:00", 2, "10.00"),
    ("2023-01-31 23:59:59", 3, "0.10"),
    ("2023-02-01 00:00:00", 4, "100.01"),
    ("2023-12-31 23:59:59.999999", 5, "1000.00"),
    ("2024-01-01 00:00:00", 6, "0.01"),
]


@pytest.fixture(params=DATABASES)
def edge_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database of its own holding only EDGE_SALES (inserted as users load data)."""
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'edges.db'}"
    else:
        # A schema of this test's own next to the session's seeded one (left intact).
        session_url = request.getfixturevalue("postgres_url")
        schema = f"ar_edges_{uuid.uuid4().hex[:8]}"
        url = session_url.rsplit("options=", 1)[0] + f"options=-csearch_path%3D{schema}"
        admin = make_engine(session_url)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        admin.dispose()
    eng = make_engine(url)
    metadata.create_all(eng)
    with eng.begin() as conn:
        conn.execute(
            sales_table.insert(),
            [
                {
                    "sold_at": dt.datetime.fromisoformat(at),
                    "region": "North",
                    "product": "Thing",
                    "category": "Things",
                    "customer_id": 1,
                    "quantity": qty,
                    "unit_price": Decimal(price),
                }
                for at, qty, price in EDGE_SALES
            ],
        )
    yield eng
    if schema:
        with eng.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    eng.dispose()


def test_sales_at_midnight_belong_to_the_new_period(edge_engine: Engine) -> None:
    # Given sales a microsecond before and exactly at midnight of month and year edges
    report, _ = run(edge_engine, "yearly-sales", {"year": 2023})
    months = {m["month"]: m for m in report["months"]}
    # Then each lands in the period it belongs to, and nothing outside the year counts
    assert (months["2023-01"]["orders"], months["2023-01"]["revenue"]) == (2, 20.3)
    assert (months["2023-02"]["orders"], months["2023-02"]["revenue"]) == (1, 400.04)
    assert (months["2023-12"]["orders"], months["2023-12"]["revenue"]) == (1, 5000.0)
    assert report["summary"]["orders"] == 4
    assert report["summary"]["revenue"] == 5420.34
    assert report["summary"]["previousYearRevenue"] == 1.0
    day, _ = run(edge_engine, "top-products", {"from": "2023-12-31", "to": "2023-12-31"})
    assert day["summary"]["orders"] == 1 and day["summary"]["revenue"] == 5000.0
