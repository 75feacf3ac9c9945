"""Status-document responses and the request headers that shape them (ETag, Prefer)."""

from __future__ import annotations

from flask import Response, current_app, json, request

from app.http.prefer import parse_wait
from jobs.status import StatusView


def requested_wait() -> int | None:
    """Seconds of `Prefer: wait=N` (capped at MAX_WAIT_SECONDS), or None."""
    return parse_wait(request.headers.getlist("Prefer"), current_app.config["MAX_WAIT_SECONDS"])


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
