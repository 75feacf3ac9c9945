"""GET /api/reports: a client's jobs, newest first, filtered, in cursor-sized pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app import cursor
from app.status import build_status
from jobs.store import JobSnapshot, JobStore

BATCH = 50  # ids read per round trip
MAX_SCAN = 1000  # ids examined per request; a sparse filter answers a short page + cursor


@dataclass(frozen=True)
class Page:
    """One page of status documents and the cursor of the next (None on the last)."""

    items: list[dict[str, Any]]
    next: str | None


def list_jobs(
    store: JobStore,
    owner: str,
    limit: int,
    after: str | None = None,
    status: str | None = None,
    report_type: str | None = None,
    settle: Callable[[JobSnapshot], JobSnapshot | None] = lambda snap: snap,
) -> Page:
    """Scan the owner's index from `after`, keep matching jobs, prune expired ids."""
    position = cursor.decode(after) if after else None
    items: list[dict[str, Any]] = []
    scanned = 0
    while len(items) < limit and scanned < MAX_SCAN:
        batch = store.owner_page(owner, position, BATCH)
        if not batch:
            return Page(items, None)
        gone = []
        for (job_id, score), snap in zip(
            batch, store.read_many([j for j, _ in batch]), strict=True
        ):
            scanned += 1
            position = (score, job_id)
            if snap is not None:
                snap = settle(snap)  # a job past its deadline is listed as Failed
            if snap is None:
                gone.append(job_id)
                continue
            doc = build_status(snap).document
            if (status is None or doc["status"] == status) and (
                report_type is None or doc["reportType"] == report_type
            ):
                items.append(doc)
                if len(items) == limit:
                    break
        store.prune_owner(owner, gone)
    if position is None or not store.owner_page(owner, position, 1):
        return Page(items, None)
    return Page(items, cursor.encode(*position))
