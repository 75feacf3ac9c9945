"""The yearly-sales report's figures equal a hand computation over our own rows."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
import requests

from tests.contract import dataset
from tests.contract.client import run_seed_job
from tests.contract.conftest import Service

CENT = Decimal("0.01")


def money(value: Any) -> Decimal:
    """A figure from the report, exact to the cent (it must already be rounded)."""
    exact = Decimal(str(value))
    assert exact == exact.quantize(CENT), f"not rounded to cents: {value!r}"
    return exact.quantize(CENT)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def reported(request: pytest.FixtureRequest) -> tuple[dict[str, Any], str]:
    """The JSON and CSV report of the seed's request on each database."""
    svc: Service = request.getfixturevalue("service" if request.param == "sqlite" else "pg_service")
    _, doc = run_seed_job(svc.base)
    assert doc["status"] == "Complete", doc
    url = f"{svc.base}{doc['reportURL']}"
    as_json = requests.get(url, timeout=10)
    as_csv = requests.get(url, headers={"Accept": "text/csv"}, timeout=10)
    assert as_json.status_code == as_csv.status_code == 200
    return as_json.json(), as_csv.text


def test_hand_computation_agrees_with_itself() -> None:
    assert dataset.expected() == dataset.BY_HAND


def test_summary(reported: tuple[dict[str, Any], str]) -> None:
    report, _ = reported
    want = dataset.BY_HAND
    summary = report["summary"]
    assert summary["orders"] == want["orders"] == 24
    assert summary["units"] == want["units"] == 90
    assert money(summary["revenue"]) == want["revenue"] == Decimal("1529.73")
    assert money(summary["previousYearRevenue"]) == want["previous_revenue"]
    growth = (Decimal("1529.73") - Decimal("1622.49")) / Decimal("1622.49") * 100  # -5.717...%
    assert Decimal(str(summary["growthPercent"])) == pytest.approx(growth, abs=Decimal("0.01"))


def test_all_twelve_months_with_zeros(reported: tuple[dict[str, Any], str]) -> None:
    report, text = reported
    months = report["months"]
    assert [m["month"] for m in months] == [f"2023-{m:02d}" for m in range(1, 13)]
    for m, row in enumerate(months, start=1):
        orders, units, revenue = dataset.BY_HAND["months"][m]  # type: ignore[index]
        assert (row["orders"], row["units"], money(row["revenue"])) == (orders, units, revenue), m
    assert (months[7]["orders"], months[7]["units"], money(months[7]["revenue"])) == (0, 0, 0)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["month"] for r in rows] == [m["month"] for m in months]
    for m, row in enumerate(rows, start=1):
        orders, units, revenue = dataset.BY_HAND["months"][m]  # type: ignore[index]
        assert (int(row["orders"]), int(row["units"]), money(row["revenue"])) == (
            orders,
            units,
            revenue,
        )


def test_regions_and_shares(reported: tuple[dict[str, Any], str]) -> None:
    report, _ = reported
    want: dict[str, Decimal] = dataset.BY_HAND["regions"]  # type: ignore[assignment]
    got = {r["region"]: r for r in report["regions"]}
    assert set(got) == set(want)
    total = sum(want.values())
    for name, revenue in want.items():
        assert money(got[name]["revenue"]) == revenue, name
        share = revenue / total * 100
        assert Decimal(str(got[name]["share"])) == pytest.approx(share, abs=Decimal("0.01")), name
    assert sum(Decimal(str(r["share"])) for r in report["regions"]) == pytest.approx(
        100, abs=Decimal("0.05")
    )


def test_top_products(reported: tuple[dict[str, Any], str]) -> None:
    report, _ = reported
    want = dataset.BY_HAND["top_products"]
    got = report["topProducts"]
    assert [(p["product"], money(p["revenue"])) for p in got] == want
    assert [p.get("rank", i) for i, p in enumerate(got, start=1)] == list(range(1, 11))
