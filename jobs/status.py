"""Build a job's status document (and its polling hints) from a JobSnapshot and its kind."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from jobs import jsontext
from jobs.kinds import JobKind
from jobs.polling import Estimate, estimate, retry_after_for
from jobs.problems import CELERY_FAILURES, INTERNAL_ERROR
from jobs.states import State, state_for
from jobs.store.record import JobSnapshot, Progress


def iso(ts: float | None) -> str | None:
    """Epoch seconds -> RFC 3339 UTC with a Z."""
    if ts is None:
        return None
    return (
        dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def job_url(kind: JobKind, job_id: str) -> str:
    """The job resource (DELETE cancels or forgets it)."""
    return f"/api/{kind.collection}/{job_id}"


def status_url(kind: JobKind, job_id: str) -> str:
    """The status resource of a job (the Location of a 202)."""
    return f"/api/{kind.collection}/{job_id}/status"


@dataclass(frozen=True)
class StatusView:
    """A status document plus what the HTTP layer needs to answer with it."""

    document: dict[str, Any]
    state: State
    etag: str
    retry_after: int | None
    stable_json: str  # the document without the estimate, as JSON (StableStatus.json)
    estimate: Estimate | None = None
    age: float = 0.0  # seconds since the job was submitted

    @property
    def terminal(self) -> bool:
        """True once the job will not change any more."""
        return self.state.terminal

    def json(self) -> str:
        """The document as JSON: the stable part serialised once, the estimate (the one
        field the clock changes, last) spliced in."""
        remaining = self.document.get(ESTIMATE_FIELD)
        if remaining is None:
            return self.stable_json
        return f"{self.stable_json[:-1]},{ESTIMATE_JSON}:{json.dumps(remaining)}}}"


def job_state(snap: JobSnapshot) -> State:
    """The contract's state of a job, from Celery's state and the record together."""
    rec = snap.record
    state = state_for(snap.celery_state, rec.cancel_requested)
    if not state.terminal and rec.finished_at is not None and rec.error:
        # Failed by the deadline check (the worker vanished), or a redelivery of a
        # failed job wrote STARTED over Celery's FAILURE: the record has the last word.
        return State.FAILED
    return state


def _progress(snap: JobSnapshot, state: State, unit: str) -> dict[str, Any]:
    # The record keeps the progress the job reached, finished or not.
    progress = snap.record.progress or Progress()
    if state is State.SUCCEEDED:
        done = progress.total if progress.total is not None else progress.current
        progress = Progress(done, done, 100)
    return {
        "percent": progress.percent,
        "current": progress.current,
        "total": progress.total,
        "unit": unit,
    }


def _failure(snap: JobSnapshot) -> dict[str, Any]:
    error = snap.record.error
    if error:
        return {k: error[k] for k in ("type", "title", "detail") if k in error}
    result = (snap.celery_meta or {}).get("result")
    exc_type = result.get("exc_type") if isinstance(result, dict) else None
    return dict(CELERY_FAILURES.get(exc_type or "", INTERNAL_ERROR))


def _finished_at(snap: JobSnapshot) -> float | None:
    if snap.record.finished_at is not None:
        return snap.record.finished_at
    done = (snap.celery_meta or {}).get("date_done")
    if not done:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(done))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()


@dataclass(frozen=True)
class StableStatus:
    """The part of a status document the clock does not change (and its ETag)."""

    document: dict[str, Any]  # without estimatedTimeRemaining
    state: State
    etag: str
    progress: dict[str, Any]
    json: str  # the document as the API sends it (compact, the contract's field order)


def build_status(snap: JobSnapshot, kind: JobKind) -> StatusView:
    """The status document of one job, its ETag and Retry-After."""
    return clocked_status(stable_status(snap, kind), snap)


def stable_status(snap: JobSnapshot, kind: JobKind) -> StableStatus:
    """The document of a job as its record and Celery's result make it, and its ETag:
    a function of those alone (and the kind), so the same read gives the same one."""
    rec = snap.record
    state = job_state(snap)
    progress = _progress(snap, state, kind.progress_unit)
    doc: dict[str, Any] = {
        "id": rec.id,
        "kind": kind.name,
        **kind.describe(rec),
        "status": state.status,
        "state": state,
        "progress": progress,
        "createdAt": iso(rec.created_at),
        "startedAt": iso(rec.started_at),
        "finishedAt": iso(_finished_at(snap)) if state.terminal else None,
    }
    if rec.cached:
        # Answered from a result computed for another job (kept, or shared while running).
        doc["cached"] = True
        if rec.computed_at is not None:
            doc["computedAt"] = iso(rec.computed_at)
    links = {"self": status_url(kind, rec.id)}
    if not state.terminal:
        links["cancel"] = job_url(kind, rec.id)
    if state is State.SUCCEEDED:
        doc.update(kind.outcome(snap))
    for resource in kind.resources:
        if state in resource.states:
            doc[resource.field] = links[resource.link] = f"{job_url(kind, rec.id)}/{resource.name}"
    if state is State.FAILED:
        doc["error"] = _failure(snap)
    doc["links"] = links
    # The estimate changes as the clock runs; the ETag covers everything else,
    # so a client polling with If-None-Match gets 304 until something happens. It hashes
    # the JSON that is sent (one serialisation: the same inputs build the same dict).
    text = jsontext.dumps(doc)
    tag = hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
    return StableStatus(doc, state, f'W/"{tag}"', progress, text)


def clocked_status(stable: StableStatus, snap: JobSnapshot) -> StatusView:
    """The whole status view: the stable part plus what the clock and the queue change
    (the estimate, last in the document, and Retry-After), as of `snap.read_at`."""
    rec = snap.record
    left = estimate(snap, stable.state, stable.progress)
    doc = stable.document
    if left is not None:
        doc = {**doc, ESTIMATE_FIELD: f"{max(1, math.ceil(left.remaining))} seconds"}
    age = max(0.0, snap.read_at - rec.created_at)
    retry_after = retry_after_for(stable.state, left, age)
    return StatusView(doc, stable.state, stable.etag, retry_after, stable.json, left, age)


# The one field of a status document that changes with the clock alone (always last).
ESTIMATE_FIELD = "estimatedTimeRemaining"
ESTIMATE_JSON = json.dumps(ESTIMATE_FIELD)
