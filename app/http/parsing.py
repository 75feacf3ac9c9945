"""How request bodies are parsed: webargs' Flask parser, strict about what is JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
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
        return decode_json(data)


def decode_json(data: bytes) -> Any:
    """A JSON body as the API takes it: Problem 400 when empty or nested too deeply, 422
    for values no field can take; json.JSONDecodeError and UnicodeDecodeError (webargs
    answers those with 400) pass through."""
    if not data.strip():
        raise Problem(
            400,
            "The request body is empty; send a JSON object such as "
            '{"reportType": "yearly-sales", "parameters": {"year": "2023"}}.',
        )
    try:
        doc = DECODER.decode(data.decode("utf-8"))  # a BOM is not JSON: JSONDecodeError
    except RecursionError:
        raise Problem(400, "The request body is not valid JSON: it is nested too deeply.") from None
    unusable = dict(_unusable_values(doc, ""))
    if unusable:
        raise Problem(
            422, "The request did not validate; see `errors` for each field.", errors=unusable
        )
    return doc


# More digits than any field takes; int() of past ~4300 digits raises ValueError.
MAX_INT_DIGITS = 100


class OversizedNumber:
    """An integer literal too long to convert; reported as an invalid field (422)."""

    def __repr__(self) -> str:
        return "<oversized number>"


def _bounded_int(literal: str) -> int | OversizedNumber:
    if len(literal.lstrip("-")) > MAX_INT_DIGITS:
        return OversizedNumber()
    return int(literal)


# What json.loads(text, parse_int=_bounded_int) builds on every call, built once.
DECODER = json.JSONDecoder(parse_int=_bounded_int)


def _unusable_values(doc: Any, path: str) -> Iterator[tuple[str, list[str]]]:
    """(field, messages) for each value no field can take: text that is not valid
    Unicode (a lone surrogate cannot be stored or sent as UTF-8), oversized numbers."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            name = _printable(key)
            where = f"{path}.{name}" if path else name
            if not _encodable(key):
                yield where, ["Field names must be valid Unicode text (no lone surrogates)."]
            yield from _unusable_values(value, where)
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _unusable_values(value, f"{path}.{i}" if path else str(i))
    elif isinstance(doc, str) and not _encodable(doc):
        yield path or "_body", ["Must be valid Unicode text (no lone surrogates)."]
    elif isinstance(doc, OversizedNumber):
        yield path or "_body", [f"Numbers may have at most {MAX_INT_DIGITS} digits."]
    elif isinstance(doc, float) and not math.isfinite(doc):
        yield path or "_body", ["Numbers must be finite."]


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def incoming(req: flask.Request) -> Incoming:
    """A streamed request body as a kind reads it (jobs.kinds.Incoming), without Flask."""
    return Incoming(
        content_type=req.mimetype,
        content_encoding=(req.headers.get("Content-Encoding") or "").strip().lower(),
        content_length=req.content_length,
        stream=req.stream,
        query=req.args.to_dict(),
    )
