"""The HTTP protocol of every job kind, written once: one blueprint per kind's collection.

`job_blueprint(kind, settings)` builds /api/<collection> (list, submit),
/api/<collection>/<id> (cancel or forget), .../status (poll, long poll) and one
resource per entry of `kind.resources` (download, errors). A JSON kind's body is
validated by its schema; a streaming kind reads its body itself.
"""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema

from app.http.openapi import IDEMPOTENCY_KEY, IF_NONE_MATCH, PREFER, errors, headers
from app.http.parsing import JsonBodyParser, incoming
from app.http.prefer import applied, parse_changes
from app.http.problems import Problem
from app.http.responses import (
    POLL_HEADERS,
    not_modified,
    poll_code,
    requested_wait,
    status_response,
)
from app.http.schemas import (
    CatalogueSchema,
    FormatQuerySchema,
    list_query_schema,
    list_schema,
    status_schema,
)
from app.services import submit, waiting
from app.services.access import check_poll_rate, current_owner, load_job
from app.services.backend import backend
from app.services.cancel import cancel_or_forget
from app.services.listing import list_jobs
from app.views.push import WEBHOOK_QUERY, add_push, query_webhook
from app.views.resources import add_resource
from app.views.submits import accept_json, accepted
from jobs.kinds import JobKind
from jobs.polling import progress_interval
from jobs.settings import Settings
from jobs.status import build_status
from jobs.webhooks.request import with_webhook_fields


def job_blueprint(
    kind: JobKind, settings: Settings, schemas: dict[str, Schema] | None = None
) -> Blueprint:
    """The blueprint of one kind's collection, its jobs and their resources; a JSON kind's
    request schema goes in `schemas` (by collection) for the submit fast path."""
    blp = Blueprint(kind.collection, __name__, url_prefix="/api", description=kind.description)
    blp.ARGUMENTS_PARSER = JsonBodyParser()
    schema = kind.request_schema(settings)
    if schema is not None:  # every JSON kind takes `webhook`/`webhookEvents` (API.md, "Push")
        schema = with_webhook_fields(schema)
        if schemas is not None and not kind.stream_media_types:
            schemas[kind.collection] = schema  # the fast path takes JSON bodies only
    status_doc = status_schema(kind)

    @blp.before_request
    def require_media_type() -> None:
        """A POST body must be of a media type the kind takes (415), checked first."""
        if request.method != "POST" or request.endpoint != f"{kind.collection}.Collection":
            return
        mimetype = request.mimetype
        if kind.stream_media_types:
            # A streamed body may be as large as the kind accepts (it checks the
            # decompressed size itself); MAX_REQUEST_BYTES is for JSON bodies.
            request.max_content_length = kind.max_stream_bytes(settings)
            if mimetype not in kind.stream_media_types:
                wanted = " or ".join(f"`{t}`" for t in kind.stream_media_types)
                raise Problem(415, f"Send the request body with `Content-Type:` {wanted}.")
        elif not (mimetype == "application/json" or mimetype.endswith("+json")):
            raise Problem(
                415, "Send the request body as JSON with `Content-Type: application/json`."
            )

    # Every header is read and checked before anything is created.
    def post_json(self: Any, body: dict[str, Any]) -> Response:
        key = request.headers.get("Idempotency-Key")
        submit.check_idempotency_key(key)
        return accept_json(kind, body, key, requested_wait()).response()

    def post_stream(self: Any) -> Response:
        key = request.headers.get("Idempotency-Key")
        submit.check_idempotency_key(key)
        wanted = requested_wait()
        webhook = query_webhook()  # a stream's body is the kind's: webhooks go in the query
        job_id = str(uuid.uuid4())
        priority = submit.query_priority()  # checked before the body is read
        submission = kind.accept_stream(incoming(request), job_id, backend().kind_services)
        submission = submit.attach_priority(submission, priority)
        answer = accepted(kind, submit.attach_webhook(submission, webhook), job_id, key, wanted)
        return answer.response()

    if schema is not None:
        # An instance: webargs would instantiate a class per request.
        post_view = blp.arguments(schema)(post_json)
    else:
        post_view = blp.doc(requestBody=kind.stream_request_doc())(post_stream)
    post_view.__doc__ = (
        f"Submit a {kind.name} job; answers 202 with its status resource in Location."
    )
    post_view = blp.response(
        202,
        status_doc,
        headers=headers("Location", "Retry-After", "ETag", "Preference-Applied", "Vary"),
    )(post_view)
    post_view = blp.alt_response(
        200,
        schema=status_doc,
        success=True,
        description="With `Prefer: wait=N`: the job finished within N seconds",
        headers=headers("Location", "ETag", "Preference-Applied", "Vary"),
    )(post_view)
    params = [IDEMPOTENCY_KEY, PREFER]
    if schema is None:
        params += WEBHOOK_QUERY
    post_view = blp.doc(parameters=params)(post_view)
    # A JSON body's 422 is documented by blp.arguments; a stream's by us.
    codes = (
        (400, 401, 409, 413, 415, 503)
        if schema is not None
        else (400, 401, 409, 413, 415, 422, 503)
    )
    post_view = errors(blp, *codes)(post_view)

    @blp.route(f"/{kind.collection}")
    class Collection(MethodView):
        """The caller's jobs of this kind."""

        @blp.arguments(list_query_schema(kind)(), location="query")
        @blp.response(200, list_schema(kind))
        @errors(blp, 401, 503)
        def get(self, query: dict[str, Any]) -> dict[str, Any]:
            """List your jobs, newest first; filter by status (and type), page with `next`."""
            page = list_jobs(
                backend(),
                kind,
                current_owner(),
                query["limit"],
                after=query["cursor"],
                status=query["status"],
                job_type=query.get(kind.type_field) if kind.type_field else None,
            )
            return {"items": page.items, "next": page.next}

        post = post_view

    @blp.route(f"/{kind.collection}/<uuid:job_id>")
    class Job(MethodView):
        """One job: cancel it while it runs, forget it once finished."""

        @blp.response(202, status_doc, headers=headers("ETag", "Retry-After"))
        @blp.alt_response(204, success=True, description="The finished job was forgotten")
        @errors(blp, 401, 404, 410, 503)
        def delete(self, job_id: UUID) -> Response:
            """Cancel an unfinished job (202, ends Cancelled), or forget a finished one (204)."""
            view = cancel_or_forget(load_job(kind, job_id))
            if view is None:
                return Response(status=204)
            return status_response(view, 202)

    @blp.route(f"/{kind.collection}/<uuid:job_id>/status")
    class Status(MethodView):
        """The status resource of one job."""

        @blp.response(
            200, status_doc, headers=headers("ETag", "Retry-After", "Preference-Applied", "Vary")
        )
        @blp.alt_response(
            304,
            description="Not modified (If-None-Match matched)",
            headers=headers("ETag", "Retry-After", "Preference-Applied", "Vary"),
        )
        @blp.doc(parameters=[PREFER, IF_NONE_MATCH])
        @errors(blp, 400, 401, 404, 410, 429, 503)
        def get(self, job_id: UUID) -> Response:
            """Poll a job; with `Prefer: wait=N`, a long poll that answers on the next change.

            With `changes=state` too, it answers only when the state changes (or the job
            ends); without, progress changes are answered at most once per
            `progress_interval` (1-10 s, 1% of the job's expected length).
            """
            asked = requested_wait()
            changes = parse_changes(request.headers.getlist("Prefer"))
            snap = load_job(kind, job_id)
            check_poll_rate(str(job_id))
            view = build_status(snap, kind)
            extra = dict(POLL_HEADERS)
            with waiting.slot(asked) as wait:
                if wait is not None:
                    extra["Preference-Applied"] = applied(wait, changes)
                    # Wait for a document other than the one the client has
                    # (If-None-Match), or, without one, other than the one it would get now.
                    first = view.etag
                    unchanged = (
                        not_modified if request.if_none_match else (lambda v: v.etag == first)
                    )
                    if view.terminal:
                        pass
                    elif changes == "state":
                        found = waiting.wait_for_state(str(job_id), kind, wait, view.state)
                        view = build_status(found or load_job(kind, job_id), kind)
                    elif unchanged(view):
                        found = waiting.wait_for_change(
                            str(job_id),
                            kind,
                            wait,
                            unchanged,
                            progress_interval(view.age, view.estimate),
                        )
                        view = build_status(found or load_job(kind, job_id), kind)
            # A plain poll (no Prefer) is usually answered before Flask (app/views/polls.py)
            # with the same pieces: this is the one place their order is written for both.
            return status_response(view, poll_code(view, request.if_none_match), extra)

    for resource in kind.resources:
        add_resource(blp, kind, resource, FormatQuerySchema)
    add_catalogue(blp, kind, settings)
    add_push(blp, kind)
    return blp


def add_catalogue(blp: Blueprint, kind: JobKind, settings: Settings) -> None:
    """`GET /api/<kind>-types` when the kind has a catalogue of job types."""
    found = kind.catalogue(settings)
    if found is None:
        return
    path, _ = found

    @blp.route(path)
    class Catalogue(MethodView):
        """The catalogue of this kind's job types."""

        @blp.response(200, CatalogueSchema)
        @errors(blp, 401)
        def get(self) -> dict[str, Any]:
            """List the types, their parameter schemas and output columns."""
            return {"items": current_app.extensions["async_reports_catalogues"][kind.name]}
