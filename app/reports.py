"""The reports resource: submit, poll, download (one MethodView per resource)."""

from __future__ import annotations

import csv
import io
from typing import Any
from uuid import UUID

from flask import Response, current_app, json, request
from flask.views import MethodView
from flask_smorest import Blueprint

from app.backend import backend
from app.problems import Problem
from app.schemas import (
    DownloadQuerySchema,
    ReportRequestSchema,
    ReportTypeListSchema,
    StatusSchema,
    offered_types,
)
from app.status import StatusView, build_status, status_url
from jobs.catalogue import REPORT_TYPES
from jobs.states import QUEUED, RETRYING, RUNNING, SUCCEEDED
from jobs.store import JobSnapshot

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/api",
    description="Submit slow reports, poll their status, download results.",
)


@blp.before_request
def require_json_body() -> None:
    """A POST body must be JSON (415 otherwise), checked before anything is parsed."""
    if request.method == "POST" and not (
        request.mimetype == "application/json" or request.mimetype.endswith("+json")
    ):
        raise Problem(415, "Send the request body as JSON with `Content-Type: application/json`.")


def current_owner() -> str:
    """The client a request acts for (every request is one client while no keys are set)."""
    return "public"


def load_job(job_id: UUID) -> JobSnapshot:
    """Read a job the caller may see; 404 when unknown or not theirs, 410 when expired."""
    jobs = backend().store
    snap = jobs.read(str(job_id))
    owner = current_owner()
    if snap is None or snap.record.owner != owner:
        if snap is None and jobs.existed(str(job_id)) == owner:
            raise Problem(
                410,
                "This job existed but its record and result have expired. Submit the report again.",
            )
        raise Problem(
            404,
            f"There is no job {job_id}. Job ids are the ones this API "
            "returned in a Location header.",
        )
    return snap


def status_response(
    view: StatusView, code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Serialise a status document with its caching and polling headers (no body on 304)."""
    # Headers go in with the constructor: setting them one by one costs more per poll.
    fields = [("ETag", view.etag), ("Cache-Control", "no-cache")]
    if view.retry_after is not None:
        fields.append(("Retry-After", str(view.retry_after)))
    fields.extend((headers or {}).items())
    body = "" if code == 304 else json.dumps(view.document)
    return Response(body, status=code, mimetype="application/json", headers=fields)


@blp.route("/reports")
class Reports(MethodView):
    """The collection of report jobs."""

    @blp.arguments(ReportRequestSchema())  # an instance: webargs instantiates a class per request
    @blp.response(
        202,
        StatusSchema,
        headers={
            "Location": {
                "description": "The status resource to poll",
                "schema": {"type": "string"},
            },
            "Retry-After": {
                "description": "Seconds to wait before the first poll",
                "schema": {"type": "integer"},
            },
        },
    )
    def post(self, body: dict[str, Any]) -> Response:
        """Submit a report job; answers 202 with the status resource in Location."""
        report_type = offered_types()[body["reportType"]]
        snap = backend().submit(report_type, body["parameters"], current_owner())
        view = build_status(snap)
        return status_response(view, 202, {"Location": status_url(snap.record.id)})


@blp.route("/reports/<uuid:job_id>/status")
class ReportStatus(MethodView):
    """The status resource of one job."""

    @blp.response(
        200,
        StatusSchema,
        headers={
            "ETag": {"description": "Tag of this document", "schema": {"type": "string"}},
            "Retry-After": {
                "description": "While in progress: seconds before the next poll",
                "schema": {"type": "integer"},
            },
        },
    )
    @blp.alt_response(304, description="Not modified (If-None-Match matched)")
    def get(self, job_id: UUID) -> Response:
        """Poll a job: its status, progress, estimate and, once complete, its reportURL."""
        view = build_status(load_job(job_id))
        if view.etag in request.if_none_match or request.if_none_match.contains_weak(
            view.etag.removeprefix("W/").strip('"')
        ):
            return status_response(view, 304)
        return status_response(view)


def render_csv(report: dict[str, Any], table: str, columns: tuple[str, ...]) -> str:
    """The report's main table as CSV, with a header row."""
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\r\n"
    )
    writer.writeheader()
    writer.writerows(report.get(table) or [])
    return out.getvalue()


def prefers_csv() -> bool:
    """True when Accept ranks text/csv above JSON (`*/*` and no Accept mean JSON)."""
    accept = request.accept_mimetypes
    return accept["text/csv"] > accept["application/json"]


@blp.route("/reports/<uuid:job_id>/download")
class ReportDownload(MethodView):
    """The result of one finished job."""

    @blp.arguments(DownloadQuerySchema(), location="query")
    @blp.response(
        200,
        description="The report: JSON by default, CSV on request",
        content_type="application/json",
    )
    @blp.alt_response(409, description="The job has not completed")
    def get(self, query: dict[str, Any], job_id: UUID) -> Response:
        """Download a completed report as JSON (default) or CSV."""
        snap = load_job(job_id)
        view = build_status(snap)
        if view.state != SUCCEEDED:
            headers = {"Location": status_url(snap.record.id)}
            if view.state in (QUEUED, RUNNING, RETRYING):
                headers["Retry-After"] = str(view.retry_after or 1)
                detail = "The report is not ready yet; poll its status until it is Complete."
            else:
                detail = (
                    f"The job ended {view.document['status']}; there is no report to "
                    "download. Its status says why."
                )
            raise Problem(
                409,
                detail,
                title="Report not available",
                headers=headers,
                links={"status": status_url(snap.record.id)},
                jobStatus=view.document["status"],
            )
        report = (snap.celery_meta or {}).get("result") or {}
        fmt = query.get("format") or ("csv" if prefers_csv() else "json")
        report_type = REPORT_TYPES[snap.record.report_type]
        stem = f"{report_type.name}-{snap.record.id}"
        if fmt == "csv":
            body = render_csv(report, report_type.csv_table, report_type.columns)
            resp = Response(body, mimetype="text/csv")
            resp.headers["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
        else:
            resp = Response(json.dumps(report), mimetype="application/json")
            resp.headers["Content-Disposition"] = f'attachment; filename="{stem}.json"'
        resp.headers["Vary"] = "Accept"
        return resp


@blp.route("/report-types")
class ReportTypes(MethodView):
    """The catalogue of report types."""

    @blp.response(200, ReportTypeListSchema)
    def get(self) -> dict[str, Any]:
        """List the report types, their parameter schemas and output columns."""
        catalogue = current_app.extensions["async_reports_catalogue"]
        return {"items": [catalogue[name] for name in offered_types()]}
