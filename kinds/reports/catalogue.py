"""The report types clients may ask for: names, parameter schemas and output columns.

Both sides read this module: the web validates requests and publishes the catalogue
from these schemas, the worker re-validates with them before computing. It holds no
report code, so the web process never loads any.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

MIN_YEAR, MAX_YEAR = 1970, 2100
MAX_RANGE_DAYS = 366 * 10
_ASCII_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


class WholeNumber(fields.Integer):
    """An integer given as a number or a string of ASCII digits ("5"); never a bool or a
    fraction (2.0 is the integer 2, as in JSON Schema).

    marshmallow's non-strict Integer would truncate 2.5 to 2: a client asking for
    month 2.5 must hear that it is invalid, not get February.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=False, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise self.make_error("invalid")
        if isinstance(value, float):
            value = int(value)  # 2023.0 is the integer JSON Schema says it is
        # ASCII digits only: int() also takes Arabic-Indic or fullwidth digits and " 2023 ".
        if isinstance(value, str) and not (value.isascii() and value.isdigit()):
            raise self.make_error("invalid")
        return int(super()._deserialize(value, attr, data, **kwargs))


class DecimalNumber(fields.Float):
    """A finite number, or a string of ASCII digits with an optional fraction ("1.5")."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, str) and not _ASCII_DECIMAL.fullmatch(value):
            raise self.make_error("invalid")
        return float(super()._deserialize(value, attr, data, **kwargs))


class YearField(WholeNumber):
    """A calendar year given as a number or a numeric string ("2023")."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            validate=validate.Range(MIN_YEAR, MAX_YEAR),
            metadata={"description": f"Calendar year, {MIN_YEAR}-{MAX_YEAR}", "example": "2023"},
            **kwargs,
        )


class YearlySalesParameters(Schema):
    """Parameters of `yearly-sales`."""

    year = YearField(required=True)


class MonthlySalesParameters(Schema):
    """Parameters of `monthly-sales`."""

    year = YearField(required=True)
    month = WholeNumber(
        required=True,
        validate=validate.Range(1, 12),
        metadata={"description": "Month number, 1-12", "example": 5},
    )


class TopProductsParameters(Schema):
    """Parameters of `top-products`."""

    from_ = fields.Date(
        required=True,
        data_key="from",
        metadata={"description": "First day, inclusive (YYYY-MM-DD)", "example": "2023-01-01"},
    )
    to = fields.Date(
        required=True,
        metadata={"description": "Last day, inclusive (YYYY-MM-DD)", "example": "2023-03-31"},
    )
    limit = WholeNumber(
        load_default=10,
        validate=validate.Range(1, 100),
        metadata={"description": "How many products, 1-100", "example": 10},
    )
    region = fields.String(
        load_default=None,
        validate=validate.Length(1, 64),
        metadata={"description": "Only sales in this region (optional)", "example": "North"},
    )

    @validates_schema
    def check_range(self, data: dict[str, Any], **_: Any) -> None:
        """The range must run forwards and stay within ten years."""
        start, end = data.get("from_"), data.get("to")
        if not isinstance(start, dt.date) or not isinstance(end, dt.date):
            return
        if end < start:
            raise ValidationError("'to' must not be before 'from'.", "to")
        if (end - start).days > MAX_RANGE_DAYS:
            raise ValidationError("The range may span at most ten years.", "to")
        if start.year < MIN_YEAR or end.year > MAX_YEAR:
            raise ValidationError(f"Dates must lie in {MIN_YEAR}-{MAX_YEAR}.", "from")


class RegionBreakdownParameters(Schema):
    """Parameters of `region-breakdown`."""

    year = YearField(required=True)
    quarter = WholeNumber(
        load_default=None,
        validate=validate.Range(1, 4),
        metadata={"description": "Only this quarter, 1-4 (optional)", "example": 2},
    )


class NoopParameters(Schema):
    """Parameters of the diagnostic `noop` report (hidden unless enabled)."""

    steps = WholeNumber(load_default=1, validate=validate.Range(0, 1000))
    stepSeconds = DecimalNumber(load_default=0.0, validate=validate.Range(0, 60))
    failAtStep = WholeNumber(load_default=None, validate=validate.Range(0, 1000))
    reuse = fields.Boolean(load_default=False)  # share like a real report (tests of reuse)


@dataclass(frozen=True)
class ReportType:
    """One kind of report: what it takes, what it returns, which task computes it."""

    name: str
    title: str
    description: str
    parameters: type[Schema]
    csv_table: str
    columns: tuple[str, ...]
    hidden: bool = False

    @cached_property
    def schema(self) -> Schema:
        """The parameter schema, built once per process (loading with it is thread-safe)."""
        return self.parameters()

    @property
    def task_name(self) -> str:
        """Celery task name; the web enqueues by this name only."""
        return "reports." + self.name.replace("-", "_")


REPORT_TYPES: dict[str, ReportType] = {
    rt.name: rt
    for rt in (
        ReportType(
            "yearly-sales",
            "Yearly sales",
            "Orders, units and revenue of one year, month by month, with regions, the top "
            "10 products and growth over the previous year. CSV: the months table.",
            YearlySalesParameters,
            "months",
            ("month", "orders", "units", "revenue"),
        ),
        ReportType(
            "monthly-sales",
            "Monthly sales by day",
            "Orders, units and revenue of every day of one month. CSV: the days table.",
            MonthlySalesParameters,
            "days",
            ("date", "orders", "units", "revenue"),
        ),
        ReportType(
            "top-products",
            "Top products over a date range",
            "The best-selling products by revenue between two dates, optionally in one "
            "region, with their share of revenue. CSV: the products table.",
            TopProductsParameters,
            "products",
            ("rank", "product", "category", "orders", "units", "revenue", "share"),
        ),
        ReportType(
            "region-breakdown",
            "Region and category breakdown",
            "Revenue of one year (or quarter) by region and product category. CSV: the rows.",
            RegionBreakdownParameters,
            "rows",
            ("region", "category", "orders", "units", "revenue", "share"),
        ),
        ReportType(
            "noop",
            "Diagnostic no-op",
            "Does nothing in a given number of steps; for measuring job overhead and for tests.",
            NoopParameters,
            "steps",
            ("step",),
            hidden=True,
        ),
    )
}


def visible_types(include_hidden: bool) -> dict[str, ReportType]:
    """The report types this deployment offers."""
    return {n: t for n, t in REPORT_TYPES.items() if include_hidden or not t.hidden}
