"""Reports: sales reports computed from the sales database (`/api/reports`)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from jobs.kinds import JobKind, KindContext, Rendered, Resource, Submission, fingerprint_of
from jobs.settings import Settings
from jobs.states import State
from jobs.store.record import JobRecord, JobSnapshot
from kinds.reports import documented
from kinds.reports.catalogue import REPORT_TYPES, visible_types
from kinds.reports.render import render_csv, render_json
from kinds.reports.request import ReportRequestSchema

DOWNLOAD = Resource(
    name="download",
    field="reportURL",
    link="report",
    states=frozenset({State.SUCCEEDED}),
    summary="Download a completed report as JSON (default) or CSV.",
)


class ReportKind(JobKind):
    """A report of one of the catalogue's types over the sales data."""

    name = "report"
    collection = "reports"
    title = "Reports"
    description = "Submit slow reports, poll their status, download results."
    executor = "kinds.reports.work:execute"
    type_field = "reportType"
    progress_unit = "steps"
    deterministic = True
    resources = (DOWNLOAD,)

    def types(self, settings: Settings) -> list[str]:
        """The report types offered (diagnostic ones only when enabled)."""
        return list(visible_types(settings.enable_diagnostic_types))

    def task_names(self) -> dict[str, str]:
        """Every report type -> its task (`reports.yearly_sales`, ...)."""
        return {name: rt.task_name for name, rt in REPORT_TYPES.items()}

    def request_schema(self, settings: Settings) -> Schema:
        """`{"reportType", "parameters"}`, the parameters checked against the type's schema."""
        return ReportRequestSchema(visible_types(settings.enable_diagnostic_types))

    def request_json_schema(self, settings: Settings) -> dict[str, Any]:
        """One alternative per report type (`oneOf`), each with its parameters."""
        return documented.request_schema(visible_types(settings.enable_diagnostic_types))

    def accept(self, body: dict[str, Any], ctx: KindContext) -> Submission:
        """A validated body becomes a job of its report type."""
        return Submission(body["reportType"], body["parameters"], fingerprint_of(body))

    def normalised(self, submission: Submission) -> dict[str, Any] | None:
        """The parameters as the type's schema reads them, written back (defaults filled).

        The diagnostic `noop` exists to run (overhead measurements, fault tests): it is
        shared only when it asks to be, with `"reuse": true`.
        """
        report_type = REPORT_TYPES[submission.type]
        if report_type.hidden and "reuse" not in submission.parameters:
            return None  # its default is False: no need to load the parameters again
        params = report_type.schema.load(submission.parameters)
        if report_type.hidden and not params.get("reuse"):
            return None
        return dict(report_type.schema.dump(params))

    def document_fields(self) -> dict[str, Any]:
        """`reportType` and `parameters`."""
        return {
            "reportType": fields.String(metadata={"example": "yearly-sales"}),
            "parameters": fields.Dict(metadata={"example": {"year": "2023"}}),
        }

    def describe(self, record: JobRecord) -> dict[str, Any]:
        """Which report, with which parameters."""
        return {"reportType": record.type, "parameters": record.parameters}

    def render(self, resource: Resource, snap: JobSnapshot, fmt: str, ctx: KindContext) -> Rendered:
        """The report as JSON, or its main table as CSV."""
        report = snap.result or {}
        report_type = REPORT_TYPES[snap.record.type]
        stem = f"{report_type.name}-{snap.record.id}"
        if fmt == "csv":
            body = render_csv(report, report_type.csv_table, report_type.columns)
            return Rendered([body], "text/csv", f"{stem}.csv")
        return Rendered([render_json(report)], "application/json", f"{stem}.json")

    def catalogue(self, settings: Settings) -> tuple[str, list[dict[str, Any]]]:
        """`GET /api/report-types`: name, description, parameter schema, CSV columns."""
        items = [
            {
                "name": name,
                "title": rt.title,
                "description": rt.description,
                "parameters": documented.parameters_schema(rt.schema),
                "columns": list(rt.columns),
            }
            for name, rt in visible_types(settings.enable_diagnostic_types).items()
        ]
        return "/report-types", items


KIND = ReportKind()
