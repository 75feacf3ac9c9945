"""The plain status poll, answered before Flask: the request this service answers most.

`GET /api/<collection>/<id>/status` without `Prefer` is one read, an owner check and a
document (or a 304). Flask's request context, routing, hooks and flask-smorest's view
wrappers cost about as much again as that work (bench/README.md, "Where the time goes"),
so `PollFastPath` wraps the app's WSGI callable and answers such a poll itself, with the
same pieces the Flask view uses: `auth.client_for`, `access.visible`, `Backend.settled`,
`build_status`, `responses.status_fields` and `poll_code`, `request_ids.choose`,
`metrics.count_poll`.

Anything else goes to Flask, untouched: other paths and methods, a query string, any
`Prefer` (long polls), a missing or wrong API key (401), an unknown, foreign or expired
job (404/410), a job the read must settle first (deadline, reuse), the poll-rate limit.
Errors of the read itself (Redis down) are raised inside Flask's handling of the same
request (app/views/fast_path.py), so every problem+json answer is still built in one place and
the read is not repeated.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from flask import Flask
from werkzeug.http import parse_etags

from app.http import auth, request_ids
from app.http.responses import POLL_HEADERS, poll_code, status_fields
from app.services.access import visible
from app.services.backend import backend_of
from app.views.fast_path import Answer, FastPath, WSGIApp, raise_deferred
from app.views.metrics import count_poll
from jobs.kinds import JobKind
from jobs.status import StableStatus, clocked_status, stable_status
from jobs.store.jobs import snapshot_of
from jobs.store.record import JobRecord, JobSnapshot

# Werkzeug's `uuid` converter's pattern (the Flask route's), and the route's shape.
STATUS_PATH = re.compile(
    r"^/api/([^/]+)/([A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12})/status$"
)
REASONS = {200: "200 OK", 304: "304 NOT MODIFIED"}
# Parsed reads kept per process, and the largest Celery meta kept (a big result is
# parsed per poll instead of held in memory).
MEMO_SIZE, MAX_MEMO_META = 512, 16384


class PollFastPath(FastPath):
    """Plain status polls answered before Flask, every other request by Flask."""

    method, path = "GET", STATUS_PATH

    def __init__(self, app: Flask, wsgi_app: WSGIApp) -> None:
        super().__init__(app, wsgi_app)
        # Parsed reads by their raw reply: a job polled again unchanged is not parsed,
        # built, hashed or serialised again (thread-safe; bounded).
        self._parsed = functools.lru_cache(maxsize=MEMO_SIZE)(self._parse)

    def answer(self, environ: dict[str, Any], *groups: str) -> Answer | None:
        """A poll without `Prefer` (a long poll is the view's)."""
        collection, job_id = groups
        if "HTTP_PREFER" in environ:
            return None
        return self.poll(environ, collection, job_id.lower())

    def poll(self, environ: dict[str, Any], collection: str, job_id: str) -> Answer | None:
        """(status, headers, body) of a plain poll, or None when Flask must answer it."""
        config = self.app.config
        if config["MIN_POLL_INTERVAL"] > 0:
            return None  # the limit writes a marker per poll: the view's job
        b = backend_of(self.app)
        kind = b.kinds.by_collection.get(collection)
        if kind is None:
            return None
        keys = config["API_KEYS"]
        owner = (
            auth.client_for(auth.bearer_token(environ.get("HTTP_AUTHORIZATION")), keys)
            if keys
            else auth.OPEN_CLIENT
        )
        if owner is None:
            return None  # 401, with its challenge
        found = b.jobs.read_raw(job_id)
        if found is None:
            return None
        flat, meta, rank, mean, slots = found
        parse = self._parse if meta is not None and len(meta) > MAX_MEMO_META else self._parsed
        parsed = parse(kind, tuple(flat), meta)
        if parsed is None:
            return None  # its enqueue is unconfirmed: not visible yet
        snap = JobSnapshot(
            parsed.record, parsed.meta, rank, float(mean) if mean else None, int(slots)
        )
        if not visible(snap, kind, owner) or not b.settled(snap):
            return None
        view = clocked_status(parsed.stable, snap)
        code = poll_code(view, parse_etags(environ.get("HTTP_IF_NONE_MATCH")))
        headers, body = status_fields(view, code, POLL_HEADERS)
        data = body.encode()
        if code != 304:
            headers += [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        headers.append((request_ids.HEADER, request_ids.choose(environ.get("HTTP_X_REQUEST_ID"))))
        count_poll(kind.name, code)
        return REASONS[code], headers, data

    def _parse(self, kind: JobKind, flat: tuple[str, ...], meta: str | None) -> Parsed | None:
        """A read's record, meta and stable document with its JSON (None while pending)."""
        snap = snapshot_of((list(flat), meta, None, None, 0))
        if snap is None:
            return None
        stable = stable_status(snap, kind)
        return Parsed(snap.record, snap.celery_meta, stable)


@dataclass(frozen=True)
class Parsed:
    """What a read gives that only a change of the job changes (shared: read-only)."""

    record: JobRecord
    meta: dict[str, Any] | None
    stable: StableStatus  # with its JSON


def init_app(app: Flask) -> None:
    """Put the fast path in front of the app (after its other hooks are registered)."""
    app.before_request(raise_deferred)
    app.wsgi_app = PollFastPath(app, app.wsgi_app)  # type: ignore[method-assign]
