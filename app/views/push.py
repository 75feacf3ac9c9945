"""Push for every kind: the webhook fields of a submit, a job's delivery log and
redelivery, and its event stream (API.md, "Push: webhooks and event streams")."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

from flask import Response, current_app, request, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint

from app.http.openapi import errors
from app.http.problems import Problem
from app.http.push_schemas import WebhookDeliveriesSchema, WebhookDeliverySchema
from app.services import streams
from app.services.access import load_job
from app.services.backend import backend
from jobs.errors import InvalidRequest
from jobs.kinds import JobKind
from jobs.status import iso
from jobs.store.webhooks import Delivery
from jobs.webhooks.request import EVENTS, webhook_spec

STREAM_BUSY_RETRY_AFTER = 5
WEBHOOK_QUERY: list[dict[str, Any]] = [
    {
        "in": "query",
        "name": "webhook",
        "required": False,
        "description": "URL that receives a signed POST on each of `webhookEvents`",
        "schema": {"type": "string", "maxLength": 2048},
    },
    {
        "in": "query",
        "name": "webhookEvents",
        "required": False,
        "description": "Comma-separated: started, progress, completed (default completed)",
        "schema": {"type": "string"},
    },
    {  # not a webhook's, but every streamed kind takes it the same way (fair sharing)
        "in": "query",
        "name": "priority",
        "required": False,
        "description": "Orders this client's own jobs (default normal)",
        "schema": {"type": "string", "enum": ["high", "normal", "low"]},
    },
]


def with_webhook(url: str | None, events: list[str] | None) -> dict[str, Any] | None:
    """The submission's webhook, checked against SSRF (422 when refused)."""
    allow = current_app.config["SETTINGS"].webhook_allow_private_networks
    return webhook_spec(url, events, allow)


def query_webhook() -> dict[str, Any] | None:
    """`?webhook=...&webhookEvents=a,b` of a streamed submission."""
    url = request.args.get("webhook") or None
    raw = ",".join(request.args.getlist("webhookEvents"))
    events = [e.strip() for e in raw.split(",") if e.strip()] or None
    unknown = sorted(set(events or ()) - set(EVENTS))
    if unknown:
        raise InvalidRequest(
            "The request did not validate; see `errors` for each field.",
            {"webhookEvents": [f"Unknown events {unknown}; use {', '.join(EVENTS)}."]},
        )
    if events and url is None:
        raise InvalidRequest(
            "The request did not validate; see `errors` for each field.",
            {"webhook": ["`webhookEvents` needs a `webhook` URL."]},
        )
    return with_webhook(url, events)


def delivery_document(d: Delivery) -> dict[str, Any]:
    """A delivery for the log, times as RFC 3339."""
    doc = d.describe()
    doc["createdAt"] = iso(d.created_at)
    doc["nextAttemptAt"] = iso(d.next_at) if d.status == "pending" else None
    doc["attempts"] = [{**a, "at": iso(a["at"])} for a in d.attempts]
    return doc


def add_push(blp: Blueprint, kind: JobKind) -> None:
    """`.../{id}/webhooks`, `.../{id}/webhooks/{delivery}/retry` and `.../{id}/events`."""

    @blp.route(f"/{kind.collection}/<uuid:job_id>/webhooks")
    class Deliveries(MethodView):
        """The webhook deliveries of one job."""

        @blp.response(200, WebhookDeliveriesSchema)
        @errors(blp, 401, 404, 410, 503)
        def get(self, job_id: UUID) -> dict[str, Any]:
            """Each event's delivery to the job's webhook, with every attempt."""
            snap = load_job(kind, job_id)
            items = backend().deliveries.of_job(snap.record.id)
            return {"items": [delivery_document(d) for d in items]}

    @blp.route(f"/{kind.collection}/<uuid:job_id>/webhooks/<string:delivery_id>/retry")
    class Redelivery(MethodView):
        """Send one delivery again."""

        @blp.response(202, WebhookDeliverySchema)
        @errors(blp, 401, 404, 410, 503)
        def post(self, job_id: UUID, delivery_id: str) -> dict[str, Any]:
            """Send a delivery again now, with the same `webhook-id` and body."""
            snap = load_job(kind, job_id)
            b = backend()
            found = b.deliveries.get(delivery_id)
            if found is None or found.job != snap.record.id:
                raise Problem(404, f"The job has no webhook delivery {delivery_id!r}.")
            b.deliveries.redeliver(delivery_id)
            latest = b.deliveries.get(delivery_id) or found
            return delivery_document(latest)

    @blp.route(f"/{kind.collection}/<uuid:job_id>/events")
    class Events(MethodView):
        """The job's status as a stream of Server-Sent Events."""

        @blp.doc(
            parameters=[
                {
                    "in": "header",
                    "name": "Last-Event-ID",
                    "required": False,
                    "description": "Resume after this event",
                    "schema": {"type": "string"},
                }
            ],
            responses={
                "200": {
                    "description": "`event: status` per change; ends after the terminal one",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                }
            },
        )
        @errors(blp, 401, 404, 410, 503)
        def get(self, job_id: UUID) -> Response:
            """Stream the job's status document on every change, until it ends."""
            snap = load_job(kind, job_id)
            raw = request.headers.get("Last-Event-ID", "").strip()
            last = int(raw) if raw.isdigit() else None
            slots: threading.BoundedSemaphore = current_app.extensions["async_reports_wait_slots"]
            if not slots.acquire(blocking=False):
                raise Problem(
                    503,
                    "Too many streams are open on this server; poll the status resource, "
                    "or reconnect later.",
                    headers={"Retry-After": str(STREAM_BUSY_RETRY_AFTER)},
                )
            released = threading.Event()

            def release() -> None:
                if not released.is_set():
                    released.set()
                    slots.release()

            try:
                config = current_app.config
                body = streams.events(
                    kind,
                    snap,
                    last,
                    config["MAX_STREAM_SECONDS"],
                    min(15.0, config["STREAM_KEEPALIVE_SECONDS"]),
                )
                response = Response(
                    stream_with_context(body),
                    mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
                )
            except BaseException:
                release()
                raise
            response.call_on_close(release)
            return response
