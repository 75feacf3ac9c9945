"""Submitting a JSON job: the one place its answer is made, and its fast path before Flask.

`accept_json` is the whole of a JSON submit after its body validated: webhook, the
kind's own checks, priority, the submit (idempotency, quotas, the enqueue), the 202 (or
the 200 of `Prefer: wait`). The Flask view (app/views/jobs.py) calls it after webargs
and flask-smorest; `SubmitFastPath` calls it for a plain submission, before Flask.

A plain submission is `POST /api/<collection>` of a JSON kind, with no query string, no
`Prefer`, no `Cache-Control`/`Pragma`, a `Content-Type: application/json` body of a
declared length within `MAX_REQUEST_BYTES`, and a valid API key (when keys are set).
Flask's request context, routing, hooks and flask-smorest's wrappers cost about a
quarter of such a request (bench/README.md, "The hot paths"), so the fast path reads
the body, decodes it as the parser does (`parsing.decode_json`), loads it with the same
schema instance, and runs `accept_json` in an application context with the request's
client and id set as the hooks set them. Anything else goes to Flask untouched; so does
a body that does not decode or validate (put back for Flask to read and answer: every
400 and 422 is built in one place). An error after that (a webhook refused, a quota,
Redis down) is raised inside Flask's handling of the same request
(app/views/fast_path.py), so it is answered as problem+json there, and nothing is done
twice.
"""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass
from typing import Any

import marshmallow
from flask import Flask, Response, g

from app.http import auth, request_ids
from app.http.parsing import decode_json
from app.http.prefer import applied
from app.http.responses import status_fields, status_response
from app.services import submit, waiting
from app.services.access import current_owner
from app.services.backend import backend, backend_of
from app.views.fast_path import Answer, FastPath, WSGIApp, defer
from app.views.metrics import count_submission
from app.views.push import with_webhook
from jobs.kinds import JobKind, Submission
from jobs.logs import REQUEST_ID
from jobs.polling import MIN_RETRY_AFTER
from jobs.status import StatusView, build_status, status_url
from jobs.webhooks.request import split_body

COLLECTION_PATH = re.compile(r"^/api/([a-z0-9-]+)$")
# Headers that change what a submission does: the Flask view reads them.
FLASK_HEADERS = ("HTTP_PREFER", "HTTP_CACHE_CONTROL", "HTTP_PRAGMA", "HTTP_TRANSFER_ENCODING")
REASONS = {202: "202 ACCEPTED"}


@dataclass(frozen=True)
class Accepted:
    """A submission's answer before it is rendered: the document, the code, the headers."""

    view: StatusView
    code: int
    headers: dict[str, str]

    def response(self) -> Response:
        """As a Flask response."""
        return status_response(self.view, self.code, self.headers)


def accept_json(
    kind: JobKind, body: dict[str, Any], key: str | None, wanted: int | None
) -> Accepted:
    """Submit a validated JSON body; the 202 (or 200 when `Prefer: wait` saw it end)."""
    rest, url, events = split_body(body)
    webhook = with_webhook(url, events)  # checked before the kind sees the request
    submission = kind.accept(rest, backend().kind_services)
    submission = submit.attach_webhook(
        submit.attach_priority(submission, body.get("priority")), webhook
    )
    return accepted(kind, submission, str(uuid.uuid4()), key, wanted)


def accepted(
    kind: JobKind, submission: Submission, job_id: str, key: str | None, wanted: int | None
) -> Accepted:
    """Submit, then answer 202 (or 200 when `Prefer: wait` saw the job finish)."""
    snap = submit.submit(kind, submission, current_owner(), job_id, key)
    count_submission(kind.name, snap.record.type)
    extra = {"Location": status_url(kind, snap.record.id), "Vary": "Prefer"}
    with waiting.slot(wanted) as wait:
        if wait is None:
            view = build_status(snap, kind)
            if view.terminal:
                # Answered from a result already computed: the 202 still carries the
                # Retry-After the contract promises (the smallest; the body is final).
                extra["Retry-After"] = str(MIN_RETRY_AFTER)
            return Accepted(view, 202, extra)
        extra["Preference-Applied"] = applied(wait)
        view = waiting.wait_until_finished(snap, kind, wait)
    return Accepted(view, 200 if view.terminal else 202, extra)


class SubmitFastPath(FastPath):
    """Plain JSON submissions answered before Flask, every other request by Flask."""

    method, path = "POST", COLLECTION_PATH

    def __init__(
        self, app: Flask, wsgi_app: WSGIApp, schemas: dict[str, marshmallow.Schema]
    ) -> None:
        super().__init__(app, wsgi_app)
        self.schemas = schemas  # collection -> the request schema its blueprint validates with

    def answer(self, environ: dict[str, Any], *groups: str) -> Answer | None:
        """A submission to a collection."""
        return self.submit(environ, groups[0])

    def submit(self, environ: dict[str, Any], collection: str) -> Answer | None:
        """(status, headers, body) of a plain submission, or None when Flask must answer."""
        schema = self.schemas.get(collection)
        length = environ.get("CONTENT_LENGTH") or ""
        limit = self.app.config["MAX_CONTENT_LENGTH"]
        if (
            schema is None
            or any(h in environ for h in FLASK_HEADERS)
            or environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
            != "application/json"
            or not (length.isascii() and length.isdigit())
            or (limit is not None and int(length) > limit)
        ):
            return None
        keys = self.app.config["API_KEYS"]
        token = auth.bearer_token(environ.get("HTTP_AUTHORIZATION"))
        owner = auth.client_for(token, keys) if keys else auth.OPEN_CLIENT
        if owner is None:
            return None  # 401, with its challenge
        try:
            data = environ["wsgi.input"].read(int(length))
        except Exception as exc:  # noqa: BLE001 - a body cut short or too slow: Flask answers
            defer(environ, exc)
            return None
        environ["wsgi.input"] = io.BytesIO(data)  # for Flask, if it answers after all
        if len(data) != int(length):
            return None  # shorter than declared: the view's read decides
        try:
            body = schema.load(decode_json(data))
        except Exception:  # noqa: BLE001 - not decodable or not valid: Flask answers it
            return None
        rid = request_ids.choose(environ.get("HTTP_X_REQUEST_ID"))
        kind = backend_of(self.app).kinds.by_collection[collection]
        REQUEST_ID.set(rid)
        try:
            with self.app.app_context():
                g.client, g.request_id = owner, rid
                key = environ.get("HTTP_IDEMPOTENCY_KEY")
                submit.check_idempotency_key(key)
                answer = accept_json(kind, body, key, None)
                headers, text = status_fields(answer.view, answer.code, answer.headers)
                data = text.encode()
        except Exception as exc:  # noqa: BLE001 - re-raised inside Flask, answered there
            defer(environ, exc)
            environ["HTTP_X_REQUEST_ID"] = rid  # the same id on the answer and its logs
            return None
        finally:
            REQUEST_ID.set(None)
        headers += [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            (request_ids.HEADER, rid),
        ]
        return REASONS[answer.code], headers, data


def init_app(app: Flask, schemas: dict[str, marshmallow.Schema]) -> None:
    """Put the fast path in front of the app (the poll's fast path goes in front of it)."""
    app.wsgi_app = SubmitFastPath(app, app.wsgi_app, schemas)  # type: ignore[method-assign]
