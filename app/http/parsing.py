"""How request bodies are parsed: webargs' Flask parser, strict about what is JSON."""

from __future__ import annotations

from typing import Any

import flask
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from app.http.problems import Problem
from jobs.kinds import Incoming


class JsonBodyParser(FlaskParser):
    """A parser that answers 400 for an empty or absurdly nested JSON body.

    webargs treats an empty body as "no data" (a 422 about missing fields) and lets
    the RecursionError of a deeply nested document escape as a 500; both are
    malformed JSON to a client.
    """

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        limit = req.max_content_length
        if req.content_length is None and limit is not None and len(data) >= limit:
            # A chunked body is cut at the limit without an error; reading past the
            # cut makes werkzeug raise 413, as it does for a long Content-Length.
            req.stream.read(1)
        if not data.strip():
            raise Problem(
                400,
                "The request body is empty; send a JSON object such as "
                '{"reportType": "yearly-sales", "parameters": {"year": "2023"}}.',
            )
        try:
            return core.parse_json(data)
        except RecursionError:
            raise Problem(
                400, "The request body is not valid JSON: it is nested too deeply."
            ) from None


def incoming(req: flask.Request) -> Incoming:
    """A streamed request body as a kind reads it (jobs.kinds.Incoming), without Flask."""
    return Incoming(
        content_type=req.mimetype,
        content_encoding=(req.headers.get("Content-Encoding") or "").strip().lower(),
        content_length=req.content_length,
        stream=req.stream,
        query=req.args.to_dict(),
    )
