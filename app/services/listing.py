"""GET /api/<collection>: a client's jobs, newest first, filtered, in cursor-sized pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.http import cursor
from app.services.backend import Backend
from jobs.kinds import JobKind
from jobs.status import build_status

BATCH = 50  # ids read per round trip
MAX_SCAN = 1000  # ids examined per request; a sparse filter answers a short page + cursor


@dataclass(frozen=True)
class Page:
    """One page of status documents and the cursor of the next (None on the last)."""

    items: list[dict[str, Any]]
    next: str | None


def list_jobs(
    b: Backend,
    kind: JobKind,
    owner: str,
    limit: int,
    after: str | None = None,
    status: str | None = None,
    job_type: str | None = None,
) -> Page:
    """Scan the owner's index from `after`, keep matching jobs, prune expired ids."""
    position = cursor.decode(after) if after else None
    items: list[dict[str, Any]] = []
    scanned = 0
    while len(items) < limit and scanned < MAX_SCAN:
        batch = b.index.page(owner, kind.name, position, BATCH)
        if not batch:
            return Page(items, None)
        gone = []
        for (job_id, score), snap in zip(
            batch, b.jobs.read_many([j for j, _ in batch]), strict=True
        ):
            scanned += 1
            position = (score, job_id)
            if snap is not None:
                snap = b.settle(snap)  # a job past its deadline is listed as Failed
            if snap is None:
                gone.append(job_id)
                continue
            doc = build_status(snap, kind).document
            if (status is None or doc["status"] == status) and (
                job_type is None or snap.record.type == job_type
            ):
                items.append(doc)
                if len(items) == limit:
                    break
        b.index.prune(owner, kind.name, gone)
    if position is None or not b.index.page(owner, kind.name, position, 1):
        return Page(items, None)
    return Page(items, cursor.encode(*position))
