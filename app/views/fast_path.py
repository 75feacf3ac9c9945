"""Answering a request before Flask: the shape the poll's and the submission's fast paths
share (app/views/polls.py, app/views/submits.py).

A fast path is WSGI middleware in front of the app. It takes requests of one method and
path pattern with no query string; `answer` gives (status, headers, body), or None to hand
the request to Flask untouched. An error met on the way is left in the environ and
raised by `raise_deferred` (a before_request hook) inside Flask's handling of the same
request, so every problem+json answer is built in one place and nothing is done twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from flask import Flask, request

DEFERRED = "async_reports.deferred_error"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Answer = tuple[str, list[tuple[str, str]], bytes]  # status line, headers, body


class FastPath:
    """WSGI middleware: the requests `answer` takes are answered here, others by Flask."""

    method: ClassVar[str]
    path: ClassVar[re.Pattern[str]]  # its groups are `answer`'s arguments

    def __init__(self, app: Flask, wsgi_app: WSGIApp) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Answer the request, or hand it on."""
        if environ.get("REQUEST_METHOD") == self.method and not environ.get("QUERY_STRING"):
            found = self.path.match(environ.get("PATH_INFO", ""))
            if found is not None:
                try:
                    answer = self.answer(environ, *found.groups())
                except Exception as exc:  # noqa: BLE001 - re-raised inside Flask, answered there
                    defer(environ, exc)
                    answer = None
                if answer is not None:
                    status, headers, body = answer
                    start_response(status, headers)
                    return [body]
        return self.wsgi_app(environ, start_response)

    def answer(self, environ: dict[str, Any], *groups: str) -> Answer | None:
        """The answer to a request whose path matched, or None: Flask answers it."""
        raise NotImplementedError


def defer(environ: dict[str, Any], exc: Exception) -> None:
    """Leave an error for Flask to raise (and answer) when it handles this request."""
    environ[DEFERRED] = exc


def raise_deferred() -> None:
    """before_request hook: raise the error a fast path met, so Flask answers it."""
    exc = request.environ.pop(DEFERRED, None)
    if exc is not None:
        raise exc
