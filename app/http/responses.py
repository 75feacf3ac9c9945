"""Status-document responses and the request headers that shape them (ETag, Prefer)."""

from __future__ import annotations

from flask import Response, current_app, json, request

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


def not_modified(view: StatusView) -> bool:
    """True when the client's If-None-Match names this document's (weak) tag, or is `*`."""
    # Weak comparison (RFC 9110 8.8.3.2): W/"x" and "x" both match our W/"x".
    return request.if_none_match.contains_weak(view.etag.removeprefix("W/").strip('"'))


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
