"""Problem details (RFC 9457): every error response is built and mapped here."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from jobs.errors import (
    BrokerUnavailable,
    DatabaseUnavailable,
    InvalidRequest,
    MalformedRequest,
    PayloadTooLarge,
    RequestRejected,
    StoreUnavailable,
    UnsupportedMediaType,
)
from jobs.problems import problem_type

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
UNAVAILABLE_RETRY_AFTER = 5

TITLES = {
    400: "Malformed request",
    401: "Authentication required",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    408: "Request timeout",
    409: "Conflict",
    410: "Gone",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}
SLUGS = {
    400: "malformed-request",
    401: "unauthorized",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    408: "request-timeout",
    409: "not-ready",
    410: "expired",
    413: "too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "too-many-requests",
    500: "internal-error",
    503: "unavailable",
}


# A rejected request's HTTP status, by the job core's error class.
REJECTION_STATUS: dict[type[RequestRejected], int] = {
    InvalidRequest: 422,
    MalformedRequest: 400,
    UnsupportedMediaType: 415,
    PayloadTooLarge: 413,
}


class Problem(Exception):
    """Raised in a view to answer with a problem-details response."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        slug: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail
        self.title = title or TITLES.get(status, "Error")
        self.slug = slug or SLUGS.get(status, "error")
        self.headers = headers or {}
        self.extra = extra


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json response."""
    body = {
        "type": problem_type(slug or SLUGS.get(status, "error")),
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.path,
        **extra,
    }
    resp = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


def flatten(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages -> {"parameters.year": ["..."]}."""
    if isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            return {prefix or "_body": list(errors)}
        out: dict[str, list[str]] = {}
        for i, e in enumerate(errors):
            out.update(flatten(e, f"{prefix}.{i}" if prefix else str(i)))
        return out
    if isinstance(errors, dict):
        out = {}
        for key, value in errors.items():
            name = (
                "_body"
                if key == "_schema" and not prefix
                else (prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key)))
            )
            for field, messages in flatten(value, name).items():
                out.setdefault(field, []).extend(messages)
        return out
    return {prefix or "_body": [str(errors)]}


def _http_detail(error: HTTPException) -> str:
    status = error.code or 500
    if status == 404:
        return "No such resource. Check the URL; job ids are the UUIDs this API returned."
    if status == 405:
        return f"{request.method} is not allowed on {request.path}."
    if status == 413:  # Werkzeug's max_content_length: MAX_REQUEST_BYTES, or a kind's limit
        limit = request.max_content_length
        size = f" ({limit} bytes)" if limit else ""
        return f"The request body is larger than this service accepts{size}; send a smaller one."
    if status == 500:
        return "The service failed to handle this request. It has been logged."
    return error.description or TITLES.get(status, "Error")


def handle_http_exception(error: HTTPException) -> Response:
    """Werkzeug and webargs errors -> problem details."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    headers = dict(data.get("headers") or {})
    if status == 400 and messages:
        return problem_response(400, "The request body is not valid JSON.", headers=headers)
    if status == 422 and messages:
        # webargs nests messages by location ("json", "query"); clients want fields.
        fields: dict[str, list[str]] = {}
        for location_messages in messages.values():
            fields.update(flatten(location_messages))
        return problem_response(
            422,
            "The request did not validate; see `errors` for each field.",
            headers=headers,
            errors=fields,
        )
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        headers["Allow"] = ", ".join(allowed)
    return problem_response(status, _http_detail(error), headers=headers)


def register_error_handlers(app: Flask) -> None:
    """Map every error (ours, werkzeug's, unexpected ones) to problem details."""

    @app.errorhandler(Problem)
    def _problem(error: Problem) -> Response:
        return problem_response(
            error.status,
            error.detail,
            title=error.title,
            slug=error.slug,
            headers=error.headers,
            **error.extra,
        )

    @app.errorhandler(RequestRejected)
    def _rejected(error: RequestRejected) -> Response:
        status = REJECTION_STATUS.get(type(error), 422)
        extra: dict[str, Any] = {"errors": error.errors} if error.errors else {}
        return problem_response(status, error.detail, **extra)

    @app.errorhandler(DatabaseUnavailable)
    def _no_database(error: DatabaseUnavailable) -> Response:
        log.warning("sales database unavailable: %s", error)
        return problem_response(
            503,
            "The sales database is unreachable or has no sales table yet; nothing was "
            "changed. Retry later, or ask the operators to load the sales data.",
            headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
        )

    @app.errorhandler(StoreUnavailable)
    @app.errorhandler(BrokerUnavailable)
    def _unavailable(error: Exception) -> Response:
        log.warning("dependency unavailable: %s", error)
        what = "job store" if isinstance(error, StoreUnavailable) else "job queue"
        return problem_response(
            503,
            f"The {what} is unreachable right now; nothing was changed. Retry later.",
            headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        if isinstance(error, HTTPException):
            return handle_http_exception(error)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(
            500, "The service failed to handle this request. It has been logged."
        )
