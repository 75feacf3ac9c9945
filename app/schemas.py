"""Request and response schemas; they validate input and document the API."""

from __future__ import annotations

from typing import Any

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from jobs.catalogue import ReportType, visible_types
from jobs.states import STATE_TO_STATUS, STATUSES


def offered_types() -> dict[str, ReportType]:
    """The report types this deployment offers (diagnostic ones only when enabled)."""
    return visible_types(current_app.config["SETTINGS"].enable_diagnostic_reports)


class ReportRequestSchema(Schema):
    """A request for a report: its type and that type's parameters."""

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

    @validates_schema
    def check_parameters(self, data: dict[str, Any], **_: Any) -> None:
        """Validate `parameters` against the schema of the requested report type."""
        name = data.get("reportType")
        if name is None:
            return
        report_type = offered_types().get(name)
        if report_type is None:
            known = ", ".join(sorted(offered_types()))
            raise ValidationError(
                f"Unknown report type {name!r}. Known types: {known}.", "reportType"
            )
        try:
            report_type.schema.load(data.get("parameters") or {})
        except ValidationError as exc:
            raise ValidationError({"parameters": exc.messages}) from None


class ProgressSchema(Schema):
    """How far a job has got."""

    percent = fields.Integer(metadata={"example": 42})
    current = fields.Integer(metadata={"example": 5})
    total = fields.Integer(allow_none=True, metadata={"example": 12})


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String(metadata={"example": "https://async-reports.example/problems/not-found"})
    title = fields.String(metadata={"example": "Not found"})
    status = fields.Integer(metadata={"example": 404})
    detail = fields.String()
    instance = fields.String(metadata={"example": "/api/reports/3f0c.../status"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Messages by field (validation errors)"},
    )


class JobErrorSchema(Schema):
    """Why a job failed, in words a client can act on."""

    type = fields.String()
    title = fields.String()
    detail = fields.String()


class LinksSchema(Schema):
    """Where to go next."""

    self = fields.String()
    cancel = fields.String()
    report = fields.String()


class StatusSchema(Schema):
    """The status document of a job."""

    id = fields.String(metadata={"format": "uuid"})
    reportType = fields.String()
    parameters = fields.Dict()
    status = fields.String(validate=validate.OneOf(STATUSES))
    state = fields.String(validate=validate.OneOf(list(STATE_TO_STATUS)))
    progress = fields.Nested(ProgressSchema)
    estimatedTimeRemaining = fields.String(
        metadata={"example": "120 seconds", "pattern": "^[0-9]+ seconds$"}
    )
    createdAt = fields.String(metadata={"format": "date-time"})
    startedAt = fields.String(allow_none=True, metadata={"format": "date-time"})
    finishedAt = fields.String(allow_none=True, metadata={"format": "date-time"})
    reportURL = fields.String(metadata={"example": "/api/reports/3f0c.../download"})
    error = fields.Nested(JobErrorSchema)
    links = fields.Nested(LinksSchema)


class DownloadQuerySchema(Schema):
    """How to render a finished report."""

    format = fields.String(
        load_default=None,
        validate=validate.OneOf(["json", "csv"]),
        metadata={"description": "Overrides the Accept header"},
    )


class ReportTypeSchema(Schema):
    """One entry of the catalogue."""

    name = fields.String()
    title = fields.String()
    description = fields.String()
    parameters = fields.Dict(metadata={"description": "JSON Schema of the parameters"})
    columns = fields.List(fields.String(), metadata={"description": "CSV columns"})


class ReportTypeListSchema(Schema):
    """The catalogue."""

    items = fields.List(fields.Nested(ReportTypeSchema))


def _check_cursor(value: str) -> None:
    from app.cursor import BadCursor, decode

    try:
        decode(value)
    except BadCursor:
        raise ValidationError("Not a cursor from this API; use the `next` of a page.") from None


class ReportListQuerySchema(Schema):
    """Filters and paging of GET /api/reports."""

    status = fields.String(
        load_default=None, validate=validate.OneOf(STATUSES), metadata={"example": "Complete"}
    )
    reportType = fields.String(
        load_default=None, validate=validate.Length(1, 64), metadata={"example": "yearly-sales"}
    )
    limit = fields.Integer(
        load_default=20,
        strict=False,
        validate=validate.Range(1, 100),
        metadata={"description": "Page size, 1-100"},
    )
    cursor = fields.String(
        load_default=None,
        validate=[validate.Length(1, 512), _check_cursor],
        metadata={"description": "The `next` of the previous page"},
    )


class ReportListSchema(Schema):
    """A page of the caller's jobs, newest first."""

    items = fields.List(fields.Nested(StatusSchema))
    next = fields.String(
        allow_none=True, metadata={"description": "Cursor of the next page; null on the last"}
    )
