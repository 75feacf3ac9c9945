"""Report computations: pure functions (engine, validated parameters, step callback) -> data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from kinds.reports.compute.monthly_sales import monthly_sales
from kinds.reports.compute.noop import noop
from kinds.reports.compute.region_breakdown import region_breakdown
from kinds.reports.compute.sql import StepCallback
from kinds.reports.compute.top_products import top_products
from kinds.reports.compute.yearly_sales import yearly_sales

ReportFunction = Callable[[Engine, dict[str, Any], StepCallback], dict[str, Any]]

COMPUTATIONS: dict[str, ReportFunction] = {
    "yearly-sales": yearly_sales,
    "monthly-sales": monthly_sales,
    "top-products": top_products,
    "region-breakdown": region_breakdown,
    "noop": noop,
}
