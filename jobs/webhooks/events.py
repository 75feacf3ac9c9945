"""Which webhook events a job's change makes, and the body each delivery sends."""

from __future__ import annotations

import json
import logging
import time

from jobs.errors import StoreUnavailable
from jobs.kinds import JobKind
from jobs.states import State
from jobs.status import build_status, iso
from jobs.store.record import JobSnapshot
from jobs.store.webhooks import DeliveryStore

log = logging.getLogger(__name__)

TERMINAL_TYPES = {
    State.SUCCEEDED: "job.completed",
    State.FAILED: "job.failed",
    State.CANCELLED: "job.cancelled",
}


def body(event_type: str, document: dict[str, object], at: float) -> str:
    """The delivery body: `{"type", "timestamp", "data": <status document>}`."""
    return json.dumps(
        {"type": event_type, "timestamp": iso(at), "data": document}, separators=(",", ":")
    )


def emit(deliveries: DeliveryStore, snap: JobSnapshot | None, kind: JobKind, event: str) -> None:
    """Record the delivery of `event` (started, progress, completed) of a job as read now,
    if its client asked for it. A terminal job's `completed` is its final state's type."""
    webhook = snap.record.webhook if snap is not None else None
    if snap is None or not webhook or event not in webhook["events"]:
        return
    view = build_status(snap, kind)
    if event == "completed":
        if not view.terminal:
            return
        event_type, key = TERMINAL_TYPES.get(view.state, "job.failed"), "completed"
    elif view.terminal:
        return  # a started or progress event read after the end: the end's event says it
    elif event == "progress":
        event_type, key = "job.progress", f"progress:{view.document['progress']['percent']}"
    else:
        event_type, key = "job.started", "started"
    rec = snap.record
    try:
        deliveries.record(
            rec.id,
            rec.kind,
            rec.owner,
            key,
            event_type,
            webhook["url"],
            body(event_type, view.document, time.time()),
        )
    except StoreUnavailable as exc:
        log.warning("job %s: webhook %s not recorded: %s", rec.id, event_type, exc)
