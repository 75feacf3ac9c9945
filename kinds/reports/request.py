"""The body of `POST /api/reports`: a report type and that type's parameters."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from jobs.webhooks.request import WebhookFields
from kinds.reports.catalogue import ReportType


class ReportRequestSchema(WebhookFields):
    """A request for a report: its type and that type's parameters (and a webhook)."""

    reportType = fields.String(
        required=True,
        validate=validate.Length(1, 64),
        metadata={"description": "A name from GET /api/report-types", "example": "yearly-sales"},
    )
    parameters = fields.Dict(  # a JSON object's keys are strings: no key field to run
        load_default=dict,
        metadata={"description": "The report type's parameters", "example": {"year": "2023"}},
    )

    def __init__(self, offered: dict[str, ReportType] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.offered = offered or {}

    @validates_schema
    def check_report_type(self, data: dict[str, Any], **_: Any) -> None:
        """The requested report type must be one offered."""
        name = data.get("reportType")
        if name is not None and name not in self.offered:
            known = ", ".join(sorted(self.offered))
            raise ValidationError(
                f"Unknown report type {name!r}. Known types: {known}.", "reportType"
            )

    @post_load
    def normalise_parameters(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """Validate `parameters` against the schema of the requested report type and keep
        them in their normalised form ("2023-1-1" is "2023-01-01"): one load of them.
        (A post_load: `schema.validate()`, which skips it, does not check parameters;
        requests are always `load`ed.)"""
        given = data.get("parameters") or {}
        try:
            data["parameters"] = normalised(self.offered[data["reportType"]], given)
        except ValidationError as exc:
            raise ValidationError({"parameters": exc.messages}) from None
        return data


def normalised(report_type: ReportType, given: dict[str, Any]) -> dict[str, Any]:
    """The client's parameters as the type's schema reads them, each in the JSON type
    the client used (a number stays a number, a numeric string a string)."""
    schema = report_type.schema
    canonical = schema.dump(schema.load(given))
    out: dict[str, Any] = {}
    for name, value in given.items():
        value_now = canonical.get(name, value)
        if isinstance(value, str) and not isinstance(value_now, str):
            value_now = str(value_now)
        out[name] = value_now
    return out
