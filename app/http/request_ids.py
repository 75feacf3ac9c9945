"""Request ids for the web process: on every log line, response and enqueued task.

`X-Request-ID` is honoured when it is a sane token (else a new one is made), returned on
every response, put on every log line of the request, and sent to the worker with the
task it enqueues.
"""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request

from jobs.logs import REQUEST_ID, install_producer_hook

HEADER = "X-Request-ID"
ACCEPTED = re.compile(r"^[A-Za-z0-9._:/+=@-]{1,128}$")


def request_id() -> str | None:
    """The current request's id."""
    return g.get("request_id")


def choose(given: str | None) -> str:
    """The id of a request that sent `given` as its X-Request-ID: it, if sane, else a new one."""
    return given if given and ACCEPTED.match(given) else uuid.uuid4().hex


def init_app(app: Flask) -> None:
    """Assign a request id to each request and tag published tasks with it."""
    install_producer_hook()

    @app.before_request
    def _assign() -> None:
        rid = choose(request.headers.get(HEADER))
        g.request_id = rid
        REQUEST_ID.set(rid)

    @app.after_request
    def _return(resp: Response) -> Response:
        rid = g.get("request_id")
        if rid:
            resp.headers[HEADER] = rid
        return resp

    @app.teardown_request
    def _clear(_exc: BaseException | None) -> None:
        REQUEST_ID.set(None)
