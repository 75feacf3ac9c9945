"""Build a job's status document (and its polling hints) from a JobSnapshot."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from jobs.problems import CELERY_FAILURES, INTERNAL_ERROR
from jobs.states import FAILED, QUEUED, RUNNING, SUCCEEDED, TERMINAL_STATES, state_for, status_for
from jobs.store import JobSnapshot

MIN_RETRY_AFTER, MAX_RETRY_AFTER = 1, 30
DEFAULT_QUEUED_RETRY_AFTER = 2


def iso(ts: float | None) -> str | None:
    """Epoch seconds -> RFC 3339 UTC with a Z."""
    if ts is None:
        return None
    return (
        dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def status_url(job_id: str) -> str:
    """The status resource of a job (the Location of a 202)."""
    return f"/api/reports/{job_id}/status"


def report_url(job_id: str) -> str:
    """The download resource of a job."""
    return f"/api/reports/{job_id}/download"


@dataclass(frozen=True)
class StatusView:
    """A status document plus what the HTTP layer needs to answer with it."""

    document: dict[str, Any]
    state: str
    etag: str
    retry_after: int | None

    @property
    def terminal(self) -> bool:
        """True once the job will not change any more."""
        return self.state in TERMINAL_STATES


def _progress(snap: JobSnapshot, state: str) -> dict[str, Any]:
    meta = snap.celery_meta or {}
    info = meta.get("result") if meta.get("status") == "PROGRESS" else None
    if isinstance(info, dict) and "current" in info:
        return {
            "percent": int(info.get("percent", 0)),
            "current": int(info["current"]),
            "total": info.get("total"),
        }
    if state == SUCCEEDED:
        return {"percent": 100, "current": 1, "total": 1}
    return {"percent": 0, "current": 0, "total": None}


def _estimate(snap: JobSnapshot, state: str, progress: dict[str, Any]) -> float | None:
    """Seconds left: from progress so far, or from queue position and recent run times."""
    now, rec, mean = snap.read_at, snap.record, snap.mean_duration
    if state == RUNNING and rec.started_at is not None:
        elapsed = max(0.0, now - rec.started_at)
        current, total = progress["current"], progress["total"]
        if current and total:
            return elapsed * (total - current) / current
        if mean is not None:
            return max(mean - elapsed, 1.0)
        return None
    if state == QUEUED and mean is not None:
        ahead = snap.queue_rank or 0
        slots = max(snap.worker_slots, 1)
        return (math.floor(ahead / slots) + 1) * mean
    return None


def _failure(snap: JobSnapshot) -> dict[str, Any]:
    if snap.record.error:
        return {
            k: snap.record.error[k] for k in ("type", "title", "detail") if k in snap.record.error
        }
    meta = snap.celery_meta or {}
    result = meta.get("result")
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


def retry_after_for(state: str, estimate: float | None) -> int | None:
    """How long a client should wait before polling again (None once terminal)."""
    if state in TERMINAL_STATES:
        return None
    if estimate is None:
        return DEFAULT_QUEUED_RETRY_AFTER if state == QUEUED else MIN_RETRY_AFTER
    return int(min(MAX_RETRY_AFTER, max(MIN_RETRY_AFTER, math.ceil(estimate / 4))))


def build_status(snap: JobSnapshot) -> StatusView:
    """The status document of one job, its ETag and Retry-After."""
    rec = snap.record
    state = state_for(snap.celery_state, snap.record.cancel_requested)
    if state not in TERMINAL_STATES and rec.finished_at is not None and rec.error:
        # Failed by the deadline check (the worker vanished), or a redelivery of a
        # failed job wrote STARTED over Celery's FAILURE: the record has the last word.
        state = FAILED
    progress = _progress(snap, state)
    doc: dict[str, Any] = {
        "id": rec.id,
        "reportType": rec.report_type,
        "parameters": rec.parameters,
        "status": status_for(state),
        "state": state,
        "progress": progress,
    }
    estimate = _estimate(snap, state, progress)
    doc.update(
        {
            "createdAt": iso(rec.created_at),
            "startedAt": iso(rec.started_at),
            "finishedAt": iso(_finished_at(snap)) if state in TERMINAL_STATES else None,
        }
    )
    links = {"self": status_url(rec.id)}
    if state not in TERMINAL_STATES:
        links["cancel"] = f"/api/reports/{rec.id}"
    if state == SUCCEEDED:
        doc["reportURL"] = links["report"] = report_url(rec.id)
    if state == FAILED:
        doc["error"] = _failure(snap)
    doc["links"] = links
    # The estimate changes as the clock runs; the ETag covers everything else,
    # so a client polling with If-None-Match gets 304 until something happens.
    tag = hashlib.blake2b(json.dumps(doc, sort_keys=True).encode(), digest_size=12).hexdigest()
    if estimate is not None:
        doc["estimatedTimeRemaining"] = f"{max(1, math.ceil(estimate))} seconds"
    return StatusView(doc, state, f'W/"{tag}"', retry_after_for(state, estimate))
