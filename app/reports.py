"""The reports resource: submit, poll, download (one MethodView per resource)."""

from __future__ import annotations

import csv
import io
from typing import Any
from uuid import UUID

from flask import Response, current_app, json, request
from flask.views import MethodView
from flask_smorest import Blueprint

from app import auth, lifecycle, throttle, waiting
from app.backend import backend
from app.listing import list_jobs
from app.openapi import IDEMPOTENCY_KEY, IF_NONE_MATCH, PREFER, errors, headers
from app.parsing import JsonBodyParser
from app.prefer import applied, parse_wait
from app.problems import Problem
from app.schemas import (
    DownloadQuerySchema,
    ReportListQuerySchema,
    ReportListSchema,
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
blp.ARGUMENTS_PARSER = JsonBodyParser()


@blp.before_request
def require_json_body() -> None:
    """A POST body must be JSON (415 otherwise), checked before anything is parsed."""
    if request.method == "POST" and not (
        request.mimetype == "application/json" or request.mimetype.endswith("+json")
    ):
        raise Problem(415, "Send the request body as JSON with `Content-Type: application/json`.")


def current_owner() -> str:
    """The client a request acts for (its API key's name; "public" while no keys are set)."""
    return auth.current_client()


def requested_wait() -> int | None:
    """Seconds of `Prefer: wait=N` (capped at MAX_WAIT_SECONDS), or None."""
    return parse_wait(request.headers.getlist("Prefer"), current_app.config["MAX_WAIT_SECONDS"])


def not_modified(view: StatusView) -> bool:
    """True when the client's If-None-Match names this document's (weak) tag, or is `*`."""
    # Weak comparison (RFC 9110 8.8.3.2): W/"x" and "x" both match our W/"x".
    return request.if_none_match.contains_weak(view.etag.removeprefix("W/").strip('"'))


def check_poll_rate(job_id: str) -> None:
    """429 when this client polls this job faster than MIN_POLL_INTERVAL_SECONDS."""
    interval = current_app.config["MIN_POLL_INTERVAL"]
    if interval <= 0:
        return
    client = current_owner() if current_app.config["API_KEYS"] else f"ip:{request.remote_addr}"
    wait = throttle.seconds_to_wait(backend().store, client, job_id, interval)
    if wait:
        raise Problem(
            429,
            f"Poll this job at most once every {interval:g} seconds; follow Retry-After.",
            headers={"Retry-After": str(wait)},
        )


def load_job(job_id: UUID) -> JobSnapshot:
    """Read a job the caller may see; 404 when unknown or not theirs, 410 when expired."""
    jobs = backend().store
    snap = backend().read(str(job_id))
    owner = current_owner()
    if snap is None or snap.record.owner != owner:
        if snap is None and jobs.existed(str(job_id)) == owner:
            raise Problem(
                410,
                "This job existed but its record and result are gone: they expired after "
                "the retention window, or the job was deleted. Submit the report again.",
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
    """The collection of the caller's report jobs."""

    @blp.arguments(ReportListQuerySchema(), location="query")
    @blp.response(200, ReportListSchema)
    @errors(blp, 401, 503)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """List your jobs, newest first; filter by status and reportType, page with `next`."""
        page = list_jobs(
            backend().store,
            current_owner(),
            query["limit"],
            after=query["cursor"],
            status=query["status"],
            report_type=query["reportType"],
            settle=backend().settle,
        )
        return {"items": page.items, "next": page.next}

    @blp.arguments(ReportRequestSchema())  # an instance: webargs instantiates a class per request
    @blp.response(
        202,
        StatusSchema,
        headers=headers("Location", "Retry-After", "ETag", "Preference-Applied", "Vary"),
    )
    @blp.alt_response(
        200,
        schema=StatusSchema,
        success=True,
        description="With `Prefer: wait=N`: the job finished within N seconds",
        headers=headers("Location", "ETag", "Preference-Applied", "Vary"),
    )
    @blp.doc(parameters=[IDEMPOTENCY_KEY, PREFER])
    @errors(blp, 400, 401, 409, 413, 415, 503)
    def post(self, body: dict[str, Any]) -> Response:
        """Submit a report job; answers 202 with the status resource in Location."""
        report_type = offered_types()[body["reportType"]]
        snap = lifecycle.submit(report_type, body, current_owner(), request.headers)
        extra = {"Location": status_url(snap.record.id), "Vary": "Prefer"}
        with waiting.slot(requested_wait()) as wait:
            if wait is None:
                return status_response(build_status(snap), 202, extra)
            extra["Preference-Applied"] = applied(wait)
            view = lifecycle.wait_until_finished(snap, wait)
        return status_response(view, 200 if view.terminal else 202, extra)


@blp.route("/reports/<uuid:job_id>")
class Report(MethodView):
    """One job: cancel it while it runs, forget it once finished."""

    @blp.response(202, StatusSchema, headers=headers("ETag", "Retry-After"))
    @blp.alt_response(204, success=True, description="The finished job was forgotten")
    @errors(blp, 401, 404, 410, 503)
    def delete(self, job_id: UUID) -> Response:
        """Cancel an unfinished job (202, ends Cancelled), or forget a finished one (204)."""
        snap = load_job(job_id)
        view = lifecycle.cancel_or_forget(snap)
        if view is None:
            return Response(status=204)
        return status_response(view, 202)


@blp.route("/reports/<uuid:job_id>/status")
class ReportStatus(MethodView):
    """The status resource of one job."""

    @blp.response(
        200,
        StatusSchema,
        headers=headers("ETag", "Retry-After", "Preference-Applied", "Vary"),
    )
    @blp.alt_response(
        304,
        description="Not modified (If-None-Match matched)",
        headers=headers("ETag", "Retry-After", "Preference-Applied", "Vary"),
    )
    @blp.doc(parameters=[PREFER, IF_NONE_MATCH])
    @errors(blp, 401, 404, 410, 429, 503)
    def get(self, job_id: UUID) -> Response:
        """Poll a job; with `Prefer: wait=N`, a long poll that answers on the next change."""
        snap = load_job(job_id)
        check_poll_rate(str(job_id))
        view = build_status(snap)
        extra = {"Vary": "Prefer"}
        with waiting.slot(requested_wait()) as wait:
            if wait is not None:
                extra["Preference-Applied"] = applied(wait)
                if not view.terminal:
                    # Wait for a document other than the one the client has (If-None-Match),
                    # or, without one, other than the one it would get now.
                    first = view.etag
                    unchanged = (
                        not_modified if request.if_none_match else (lambda v: v.etag == first)
                    )
                    changed = lifecycle.wait_for_change(str(job_id), wait, unchanged)
                    view = build_status(changed or load_job(job_id))
        if not_modified(view):
            return status_response(view, 304, extra)
        return status_response(view, 200, extra)


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
    @blp.doc(
        responses={
            "200": {
                "description": "The report: JSON by default, CSV on request",
                "headers": {
                    "Content-Disposition": {
                        "description": "attachment; filename=...",
                        "schema": {"type": "string"},
                    }
                },
                "content": {
                    "application/json": {"schema": {"type": "object"}},
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        }
    )
    @errors(blp, 401, 404, 409, 410, 503)
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
    @errors(blp, 401)
    def get(self) -> dict[str, Any]:
        """List the report types, their parameter schemas and output columns."""
        catalogue = current_app.extensions["async_reports_catalogue"]
        return {"items": [catalogue[name] for name in offered_types()]}
