"""Status-document responses and the request headers that shape them (ETag, Prefer)."""

from __future__ import annotations

from flask import Response, current_app, request
from werkzeug.datastructures import ETags

from app.http.prefer import MAX_PREFER_LENGTH, parse_wait
from app.http.problems import Problem
from jobs.status import StatusView


def requested_wait() -> int | None:
    """Seconds of `Prefer: wait=N` (capped at MAX_WAIT_SECONDS), or None.

    A Prefer header longer than the OpenAPI document allows is a 400; within it, an
    unusable preference is ignored (RFC 7240).
    """
    values = request.headers.getlist("Prefer")
    if sum(len(v) for v in values) > MAX_PREFER_LENGTH:
        raise Problem(
            400,
            f"The Prefer header is longer than {MAX_PREFER_LENGTH} characters.",
            errors={"Prefer": [f"At most {MAX_PREFER_LENGTH} characters."]},
        )
    return parse_wait(values, current_app.config["MAX_WAIT_SECONDS"])


# Every status poll's answer varies with Prefer (long polls), whether it waited or not.
POLL_HEADERS = {"Vary": "Prefer"}


def poll_code(view: StatusView, if_none_match: ETags) -> int:
    """304 when the client already has this document (If-None-Match), else 200."""
    return 304 if matches(if_none_match, view) else 200


def not_modified(view: StatusView) -> bool:
    """True when the client's If-None-Match names this document's (weak) tag, or is `*`."""
    return matches(request.if_none_match, view)


def matches(if_none_match: ETags, view: StatusView) -> bool:
    """True when these If-None-Match tags name the document's (weak) tag, or are `*`."""
    # Weak comparison (RFC 9110 8.8.3.2): W/"x" and "x" both match our W/"x".
    return if_none_match.contains_weak(view.etag.removeprefix("W/").strip('"'))


def status_fields(
    view: StatusView, code: int, headers: dict[str, str] | None
) -> tuple[list[tuple[str, str]], str]:
    """The headers and body of a status answer (no body on 304), for Flask or WSGI."""
    fields = [("ETag", view.etag), ("Cache-Control", "no-cache")]
    if view.retry_after is not None:
        fields.append(("Retry-After", str(view.retry_after)))
    fields.extend((headers or {}).items())
    return fields, "" if code == 304 else view.json()


def status_response(
    view: StatusView, code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Serialise a status document with its caching and polling headers (no body on 304)."""
    # Headers go in with the constructor: setting them one by one costs more per poll.
    fields, body = status_fields(view, code, headers)
    return Response(body, status=code, mimetype="application/json", headers=fields)
