"""The OpenAPI document's shared parts: problem+json error responses, headers, security,
and the interactive docs page served from local assets (it must work offline)."""

from __future__ import annotations

import http
from collections.abc import Callable
from importlib import resources
from typing import Any

from flask import Flask, Response, send_from_directory
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response

from app.http.prefer import MAX_PREFER_LENGTH
from app.http.problems import PROBLEM_JSON
from jobs.kinds import JobKind
from jobs.settings import Settings

DOCS_ASSETS = "/api/docs/assets/"

RETRY_AFTER = {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}
HEADERS: dict[str, dict[str, Any]] = {
    "Location": {"description": "The job's status resource", "schema": {"type": "string"}},
    "Retry-After": RETRY_AFTER,
    "ETag": {"description": "Weak tag of the status document", "schema": {"type": "string"}},
    "Preference-Applied": {
        "description": "`wait=N` when a `Prefer: wait=N` was honoured",
        "schema": {"type": "string"},
    },
    "Vary": {"description": "`Prefer`: the answer depends on it", "schema": {"type": "string"}},
    "WWW-Authenticate": {"description": "The Bearer challenge", "schema": {"type": "string"}},
}
ERROR_HEADERS = {
    401: ("WWW-Authenticate",),
    409: ("Location", "Retry-After"),
    429: ("Retry-After",),
    503: ("Retry-After",),
}
# Request headers, documented as parameters of the operations that read them.
PREFER: dict[str, Any] = {
    "in": "header",
    "name": "Prefer",
    "required": False,
    "description": "RFC 7240. `wait=N` (N <= 60): wait up to N seconds for the job to "
    "finish (POST) or for its document to change (status GET). Unknown or unusable "
    "preferences are ignored (a wait above the maximum is the maximum); a header longer "
    "than maxLength is a 400.",
    "schema": {"type": "string", "maxLength": MAX_PREFER_LENGTH},
    "example": "wait=5",
}
# What a status long poll answers on, and `changes=state` (README, "Long polls").
PREFER["description"] += (
    " On the status GET a change of `state` or the job's end answers at once, a change of"
    " progress alone at most once per max(1 s, 1% of the job's expected length) (at most"
    " 10 s): steps in between are coalesced. With `changes=state` too (`wait=N,"
    " changes=state`) the status GET answers only when the job's state differs from its"
    " state when the request arrived, or it ends, or after N s. `Preference-Applied` names"
    " what was honoured (`wait=N` or `wait=N, changes=state`)."
)
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "Repeat a POST safely: the same key and body return the same job; the "
    "same key with another body is a 422. Kept for the retention window.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
IF_NONE_MATCH = {
    "in": "header",
    "name": "If-None-Match",
    "required": False,
    "description": "The ETag of the document you have: 304 while it is unchanged.",
    "schema": {"type": "string"},
}


def headers(*names: str) -> dict[str, dict[str, Any]]:
    """Response header objects by name."""
    return {name: HEADERS[name] for name in names}


def register_problem_responses(api: Api) -> None:
    """One response component per HTTP status; errors are problem+json with their headers."""
    for status in http.HTTPStatus:
        response: dict[str, Any] = {"description": status.phrase}
        if status >= 400:
            response["schema"] = api.ERROR_SCHEMA
            if status in ERROR_HEADERS:
                response["headers"] = headers(*ERROR_HEADERS[status])
        prepare_response(response, api.spec, PROBLEM_JSON)
        api.spec.components.response(status.name, response, lazy=True)
    response = {"description": "Any other error", "schema": api.ERROR_SCHEMA}
    prepare_response(response, api.spec, PROBLEM_JSON)
    api.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def errors(blp: Blueprint, *codes: int) -> Callable[[Any], Any]:
    """Document the error responses a view can give (problem+json)."""

    def decorate(view: Any) -> Any:
        for code in codes:
            view = blp.alt_response(code, response=http.HTTPStatus(code).name)(view)
        return view

    return decorate


def add_security(api: Api, required: bool) -> None:
    """Declare Bearer API keys; every operation needs one when keys are configured."""
    api.spec.components.security_scheme(
        "apiKey", {"type": "http", "scheme": "bearer", "description": "An API key from API_KEYS"}
    )
    if required:
        api.spec.options["security"] = [{"apiKey": []}]


def init_docs(app: Flask) -> None:
    """Serve Swagger UI's files from the flask-swagger-ui package (no CDN needed)."""
    dist = resources.files("flask_swagger_ui") / "dist"

    @app.get(DOCS_ASSETS + "<path:filename>")
    def docs_asset(filename: str) -> Response:
        """A Swagger UI asset."""
        return send_from_directory(str(dist), filename, max_age=3600)


def document_request_body(api: Api, kind: JobKind, settings: Settings) -> None:
    """Replace a kind's generated request-body component by its own, stricter JSON Schema."""
    schema, doc = kind.request_schema(settings), kind.request_json_schema(settings)
    if schema is None or doc is None:
        return
    name = type(schema).__name__.removesuffix("Schema")
    component = api.spec.components.schemas[name]
    component.clear()
    component.update(doc)
