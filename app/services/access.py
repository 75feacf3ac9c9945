"""Which jobs a request may see, and how often it may poll them."""

from __future__ import annotations

from uuid import UUID

from flask import current_app, request

from app.http import auth
from app.http.problems import Problem
from app.services.backend import backend
from jobs.kinds import JobKind
from jobs.store.record import JobSnapshot


def current_owner() -> str:
    """The client a request acts for (its API key's name; "public" while no keys are set)."""
    return auth.current_client()


def load_job(kind: JobKind, job_id: UUID | str) -> JobSnapshot:
    """Read a job the caller may see; 404 when unknown, of another kind or not theirs, 410
    when expired."""
    b = backend()
    snap = b.read(str(job_id))
    owner = current_owner()
    if snap is None or not visible(snap, kind, owner):
        if snap is None and b.jobs.existed(str(job_id)) == owner:
            raise Problem(
                410,
                "This job existed but its record and result are gone: they expired after "
                "the retention window, or the job was deleted. Submit it again.",
            )
        raise Problem(
            404,
            f"There is no job {job_id}. Job ids are the ones this API "
            "returned in a Location header.",
        )
    return snap


def visible(snap: JobSnapshot, kind: JobKind, owner: str) -> bool:
    """True when `owner` may see this job as one of `kind` (else it is a 404 to them)."""
    return snap.record.owner == owner and snap.record.kind == kind.name


def check_poll_rate(job_id: str) -> None:
    """429 when this client polls this job faster than MIN_POLL_INTERVAL_SECONDS."""
    interval = current_app.config["MIN_POLL_INTERVAL"]
    if interval <= 0:
        return
    client = current_owner() if current_app.config["API_KEYS"] else f"ip:{request.remote_addr}"
    wait = backend().poll_gate.seconds_to_wait(client, job_id, interval)
    if wait:
        raise Problem(
            429,
            f"Poll this job at most once every {interval:g} seconds; follow Retry-After.",
            headers={"Retry-After": str(wait)},
        )
