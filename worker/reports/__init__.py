"""Report computations: pure functions (engine, validated parameters, step callback) -> data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from worker.reports.monthly_sales import monthly_sales
from worker.reports.noop import noop
from worker.reports.region_breakdown import region_breakdown
from worker.reports.sql import StepCallback
from worker.reports.top_products import top_products
from worker.reports.yearly_sales import yearly_sales

ReportFunction = Callable[[Engine, dict[str, Any], StepCallback], dict[str, Any]]

COMPUTATIONS: dict[str, ReportFunction] = {
    "yearly-sales": yearly_sales,
    "monthly-sales": monthly_sales,
    "top-products": top_products,
    "region-breakdown": region_breakdown,
    "noop": noop,
}
