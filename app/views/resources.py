"""The resources under a finished job (a report's download, an import's errors)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema

from app.http.openapi import errors
from app.http.problems import Problem
from app.services.access import load_job
from app.services.backend import backend
from jobs.kinds import JobKind, Resource
from jobs.states import State
from jobs.status import build_status, status_url

MEDIA_TYPES = {"json": "application/json", "csv": "text/csv"}


def preferred_format(resource: Resource, asked: str | None) -> str:
    """`?format=` if given, else what Accept ranks highest among the resource's formats."""
    if asked:
        if asked not in resource.formats:
            raise Problem(422, f"`format` must be one of: {', '.join(resource.formats)}.")
        return asked
    accept = request.accept_mimetypes
    default = resource.formats[0]
    best = max(resource.formats, key=lambda f: (accept[MEDIA_TYPES[f]], f == default))
    return best if accept[MEDIA_TYPES[best]] > accept[MEDIA_TYPES[default]] else default


def add_resource(blp: Blueprint, kind: JobKind, resource: Resource, query: type[Schema]) -> None:
    """Register GET /api/<collection>/<id>/<resource.name> on the kind's blueprint."""
    content = {
        MEDIA_TYPES[f]: {"schema": {"type": "object" if f == "json" else "string"}}
        for f in resource.formats
    }

    def get(self: Any, query_args: dict[str, Any], job_id: UUID) -> Response:
        snap = load_job(kind, job_id)
        view = build_status(snap, kind)
        if view.state not in resource.states:
            where = status_url(kind, snap.record.id)
            headers = {"Location": where}
            if not view.terminal:
                headers["Retry-After"] = str(view.retry_after or 1)
                detail = (
                    f"The job is not finished yet; poll its status until it is {_wanted(resource)}."
                )
            else:
                detail = (
                    f"The job ended {view.document['status']}; there is no {resource.name} "
                    "to get. Its status says why."
                )
            raise Problem(
                409,
                detail,
                title="Not available",
                headers=headers,
                links={"status": where},
                jobStatus=view.document["status"],
            )
        fmt = preferred_format(resource, query_args.get("format"))
        rendered = kind.render(resource, snap, fmt, backend().kind_services)
        resp = Response(rendered.chunks, mimetype=rendered.media_type)
        resp.headers["Content-Disposition"] = f'attachment; filename="{rendered.filename}"'
        resp.headers["Vary"] = "Accept"
        return resp

    get.__name__ = "get"
    get.__doc__ = resource.summary or f"Get the {resource.name} of a job."
    view_func = blp.arguments(query, location="query", as_kwargs=False)(get)
    view_func = blp.response(
        200, description=resource.summary, content_type=resource_media(resource)
    )(view_func)
    view_func = blp.doc(
        responses={
            "200": {
                "description": resource.summary,
                "headers": {
                    "Content-Disposition": {
                        "description": "attachment; filename=...",
                        "schema": {"type": "string"},
                    }
                },
                "content": content,
            }
        }
    )(view_func)
    view_func = errors(blp, 401, 404, 409, 410, 503)(view_func)
    view_class = type(resource.name.title().replace("-", ""), (MethodView,), {"get": view_func})
    blp.route(f"/{kind.collection}/<uuid:job_id>/{resource.name}")(view_class)


def resource_media(resource: Resource) -> str:
    """The media type of the resource's default format."""
    return MEDIA_TYPES[resource.formats[0]]


def _wanted(resource: Resource) -> str:
    return " or ".join(s.status.value for s in sorted(resource.states, key=list(State).index))
