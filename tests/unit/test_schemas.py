"""Request validation: ReportRequestSchema and each report type's parameter schema."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from marshmallow import Schema, ValidationError

from app import create_app
from app.schemas import ReportRequestSchema
from jobs.catalogue import (
    MonthlySalesParameters,
    RegionBreakdownParameters,
    TopProductsParameters,
    YearlySalesParameters,
)


def rejects(schema: type[Schema], data: Any) -> dict[str, Any]:
    """Load `data`, expect a ValidationError, return its messages."""
    with pytest.raises(ValidationError) as caught:
        schema().load(data)
    messages = caught.value.messages
    assert isinstance(messages, dict) and messages
    return messages


# -- yearly-sales ----------------------------------------------------------------


@pytest.mark.parametrize("year", ["2023", 2023, " 2023 "])
def test_year_as_string_or_integer_is_accepted(year: Any) -> None:
    assert YearlySalesParameters().load({"year": year}) == {"year": 2023}


@pytest.mark.parametrize(
    "year", [True, False, 2023.0, 2023.5, "2023.0", "twenty", "", "-2023", None, [2023], 1969, 2101]
)
def test_bad_years_are_rejected(year: Any) -> None:
    assert "year" in rejects(YearlySalesParameters, {"year": year})


def test_year_is_required() -> None:
    assert "year" in rejects(YearlySalesParameters, {})


@pytest.mark.parametrize(
    "schema",
    [
        YearlySalesParameters,
        MonthlySalesParameters,
        TopProductsParameters,
        RegionBreakdownParameters,
    ],
)
def test_unknown_parameters_are_rejected_by_every_type(schema: type[Schema]) -> None:
    assert "colour" in rejects(schema, {"colour": "red"})


# -- monthly-sales ---------------------------------------------------------------


def test_monthly_sales_takes_a_year_and_a_month() -> None:
    loaded = MonthlySalesParameters().load({"year": "2024", "month": "2"})
    assert loaded == {"year": 2024, "month": 2}


@pytest.mark.parametrize("month", [0, 13, "May", 2.5, 2.0, "2.5", True])
def test_monthly_sales_rejects_bad_months(month: Any) -> None:
    assert "month" in rejects(MonthlySalesParameters, {"year": 2024, "month": month})


# -- top-products ----------------------------------------------------------------


def test_top_products_defaults_to_ten_products_in_every_region() -> None:
    loaded = TopProductsParameters().load({"from": "2023-01-01", "to": "2023-03-31"})
    assert loaded == {
        "from_": dt.date(2023, 1, 1),
        "to": dt.date(2023, 3, 31),
        "limit": 10,
        "region": None,
    }


def test_top_products_takes_a_one_day_range_a_limit_and_a_region() -> None:
    loaded = TopProductsParameters().load(
        {"from": "2023-05-01", "to": "2023-05-01", "limit": "3", "region": "North"}
    )
    assert (loaded["limit"], loaded["region"]) == (3, "North")


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"from": "2023-05-01", "to": "2023-04-30"}, "to"),  # backwards
        ({"from": "2010-01-01", "to": "2023-01-01"}, "to"),  # over ten years
        ({"from": "1969-12-01", "to": "1970-01-31"}, "from"),  # before 1970
        ({"from": "2023-01-01"}, "to"),
        ({"to": "2023-01-01"}, "from"),
        ({"from": "2023-02-30", "to": "2023-03-01"}, "from"),  # no such day
        ({"from": "01/02/2023", "to": "2023-03-01"}, "from"),
        ({"from": "2023-01-01", "to": "2023-02-01", "limit": 0}, "limit"),
        ({"from": "2023-01-01", "to": "2023-02-01", "limit": 101}, "limit"),
        ({"from": "2023-01-01", "to": "2023-02-01", "limit": 2.5}, "limit"),
        ({"from": "2023-01-01", "to": "2023-02-01", "limit": False}, "limit"),
        ({"from": "2023-01-01", "to": "2023-02-01", "region": ""}, "region"),
    ],
)
def test_top_products_range_rules(parameters: dict[str, Any], field: str) -> None:
    assert field in rejects(TopProductsParameters, parameters)


def test_top_products_accepts_exactly_ten_years() -> None:
    loaded = TopProductsParameters().load({"from": "2014-01-01", "to": "2023-12-31"})
    assert loaded["to"] - loaded["from_"] == dt.timedelta(days=3651)


# -- region-breakdown --------------------------------------------------------------


def test_region_breakdown_quarter_is_optional() -> None:
    assert RegionBreakdownParameters().load({"year": 2023}) == {"year": 2023, "quarter": None}
    assert RegionBreakdownParameters().load({"year": "2023", "quarter": "4"}) == {
        "year": 2023,
        "quarter": 4,
    }


@pytest.mark.parametrize("quarter", [0, 5, "Q1", 1.5, True])
def test_region_breakdown_rejects_bad_quarters(quarter: Any) -> None:
    assert "quarter" in rejects(RegionBreakdownParameters, {"year": 2023, "quarter": quarter})


# -- the request as a whole (needs the app: the catalogue depends on its settings) --


@pytest.fixture
def app() -> Iterator[Flask]:
    """The web app, without diagnostic reports, in an app context."""
    flask_app = create_app({"TESTING": True})
    with flask_app.app_context():
        yield flask_app


def test_the_seed_request_validates(app: Flask) -> None:
    body = {"reportType": "yearly-sales", "parameters": {"year": "2023"}}
    # The raw parameters are kept as sent; the worker re-validates them.
    assert ReportRequestSchema().load(body) == body


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"reportType": "nope"}, {"reportType"}),
        ({"parameters": {"year": 2023}}, {"reportType"}),
        ({"reportType": "yearly-sales"}, {"parameters"}),
        ({"reportType": "yearly-sales", "parameters": "2023"}, {"parameters"}),
        ({"reportType": "yearly-sales", "parameters": {"year": 1.5}}, {"parameters"}),
        ({"reportType": "yearly-sales", "extra": 1, "parameters": {"year": 2023}}, {"extra"}),
    ],
)
def test_bad_requests_are_rejected_by_field(
    app: Flask, body: dict[str, Any], expected: set[str]
) -> None:
    assert set(rejects(ReportRequestSchema, body)) == expected


def test_parameter_errors_are_nested_under_parameters(app: Flask) -> None:
    messages = rejects(
        ReportRequestSchema, {"reportType": "monthly-sales", "parameters": {"year": 2023}}
    )
    assert set(messages["parameters"]) == {"month"}


def test_unknown_report_type_lists_the_known_ones(app: Flask) -> None:
    message = rejects(ReportRequestSchema, {"reportType": "nope"})["reportType"][0]
    assert "yearly-sales" in message and "top-products" in message


def test_diagnostic_noop_is_hidden_unless_enabled(app: Flask) -> None:
    assert "reportType" in rejects(ReportRequestSchema, {"reportType": "noop", "parameters": {}})
    assert "noop" not in rejects(ReportRequestSchema, {"reportType": "nope"})["reportType"][0]
