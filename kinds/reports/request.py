"""The body of `POST /api/reports`: a report type and that type's parameters."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

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
