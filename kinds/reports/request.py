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
    parameters = fields.Dict(
        keys=fields.String(),
        load_default=dict,
        metadata={"description": "The report type's parameters", "example": {"year": "2023"}},
    )

    def __init__(self, offered: dict[str, ReportType] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.offered = offered or {}

    @validates_schema
    def check_parameters(self, data: dict[str, Any], **_: Any) -> None:
        """Validate `parameters` against the schema of the requested report type."""
        name = data.get("reportType")
        if name is None:
            return
        report_type = self.offered.get(name)
        if report_type is None:
            known = ", ".join(sorted(self.offered))
            raise ValidationError(
                f"Unknown report type {name!r}. Known types: {known}.", "reportType"
            )
        try:
            report_type.schema.load(data.get("parameters") or {})
        except ValidationError as exc:
            raise ValidationError({"parameters": exc.messages}) from None

    @post_load
    def normalise_parameters(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """Keep the parameters in their normalised form ("2023-1-1" is "2023-01-01")."""
        given = data.get("parameters") or {}
        data["parameters"] = normalised(self.offered[data["reportType"]], given)
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
