"""Build a job's status document (and its polling hints) from a JobSnapshot and its kind."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from jobs.kinds import JobKind
from jobs.problems import CELERY_FAILURES, INTERNAL_ERROR
from jobs.states import State, state_for
from jobs.store.record import JobSnapshot, Progress

# Retry-After is whole seconds: at least 1, at most an hour (a bound for wild estimates).
MIN_RETRY_AFTER, MAX_RETRY_AFTER = 1, 3600
# How late a client following Retry-After may learn of the end: this share of the job's
# expected length (since it was submitted), and never less than MIN_LATENESS seconds.
LATENESS_SHARE, MIN_LATENESS = 0.1, 1.0
# A progress rate from fewer steps than this sends a client no further than a guess does.
MIN_STEPS_FOR_RATE = 3


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
    estimate: Estimate | None = None
    age: float = 0.0  # seconds since the job was submitted

    @property
    def terminal(self) -> bool:
        """True once the job will not change any more."""
        return self.state.terminal


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


@dataclass(frozen=True)
class Estimate:
    """Seconds left: the best guess, the soonest the job plausibly ends, and how it was got.

    `soonest <= remaining`. From progress, `soonest` assumes one more step done than
    counted (a step may be about to land). A `guess` is trusted less by the polling
    policy: from recent run times alone (an average of other jobs), or from a rate of
    fewer than MIN_STEPS_FOR_RATE steps.
    """

    remaining: float
    soonest: float
    guess: bool = False


def _estimate(snap: JobSnapshot, state: State, progress: dict[str, Any]) -> Estimate | None:
    """Seconds left: from progress so far, or from queue position and recent run times."""
    now, rec, mean = snap.read_at, snap.record, snap.mean_duration
    if state is State.RUNNING and rec.started_at is not None:
        elapsed = max(0.0, now - rec.started_at)
        current, total = progress["current"], progress["total"]
        if current and total:
            left = max(0, total - current)
            # A rate from one or two steps may be far off (a slow first step on a busy
            # worker): trusted as little as a guess until MIN_STEPS_FOR_RATE are counted.
            guess = current < MIN_STEPS_FOR_RATE and left > 0
            mark = rec.progress.mark if rec.progress else None
            if mark is not None and current - mark[0] >= MIN_STEPS_FOR_RATE - 1:
                # The rate since the first step: a slow start is not spread over the rest.
                current, elapsed = current - mark[0], max(0.0, now - mark[1])
            return Estimate(
                elapsed * left / current,
                elapsed * max(0, left - 1) / (current + 1),
                guess=guess,
            )
        if mean is not None:
            left = max(mean - elapsed, 1.0)
            return Estimate(left, left, guess=True)
        return None
    if state is State.QUEUED and mean is not None:
        ahead = snap.queue_rank or 0
        slots = max(snap.worker_slots, 1)
        left = (math.floor(ahead / slots) + 1) * mean
        return Estimate(left, left, guess=True)
    return None


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


def lateness_allowed(expected_total: float) -> float:
    """How late a client may learn of the end of a job expected to last this long (s)."""
    return max(MIN_LATENESS, LATENESS_SHARE * expected_total)


def retry_after_for(
    state: State, estimate: Estimate | float | None, age: float = 0.0
) -> int | None:
    """How long a client should wait before polling again (None once terminal).

    The aim: few polls, and the end learned within `lateness_allowed` of the job's
    length. `age` is the seconds since the job was submitted.

    - A progress estimate: poll once the job has plausibly ended (`soonest`, which
      counts one step more than done) plus half the allowed lateness. A client that
      comes back too early gets a better estimate, from more progress, and is sent
      closer to the end; a linear job ends within 2-4 polls.
    - A guess (from recent run times while queued or before any progress, or from a
      rate of fewer than MIN_STEPS_FOR_RATE steps): the same aim, but never more than the
      job's age ahead (doubling), since other jobs of the kind may be longer or shorter
      and a first step may be slow.
    - Nothing known: geometric spacing, 10% of the age (at least 1 s), so the end is
      still learned within 10% of the job's length.
    """
    if state.terminal:
        return None
    if isinstance(estimate, int | float):
        estimate = Estimate(float(estimate), float(estimate))
    if estimate is None:
        seconds = math.floor(LATENESS_SHARE * age)
    else:
        soonest = min(estimate.soonest, estimate.remaining)
        # Anywhere in [soonest, soonest + allowed] is on time; aim at half of it (a poll
        # takes time, estimates err), in whole seconds, never past the latest likely end.
        allowed = lateness_allowed(age + soonest)
        seconds = max(math.ceil(soonest), math.floor(soonest + allowed / 2))
        seconds = min(seconds, math.ceil(estimate.remaining))
        if estimate.guess:  # not more than doubling, not more often than knowing nothing
            seconds = min(seconds, max(math.floor(age), MIN_RETRY_AFTER))
            seconds = max(seconds, math.floor(LATENESS_SHARE * age))
    return int(min(MAX_RETRY_AFTER, max(MIN_RETRY_AFTER, seconds)))


# A plain long poll (no `changes=state`) answers progress at most once per this share of
# the job's expected length, within these bounds: about 100 answers per job, a steady rate.
PROGRESS_SHARE, MIN_PROGRESS_INTERVAL, MAX_PROGRESS_INTERVAL = 0.01, 1.0, 10.0


def progress_interval(view: StatusView) -> float:
    """Seconds a plain long poll holds a progress-only change back (coalescing steps)."""
    expected = view.age + (view.estimate.remaining if view.estimate else 0.0)
    return min(MAX_PROGRESS_INTERVAL, max(MIN_PROGRESS_INTERVAL, PROGRESS_SHARE * expected))


@dataclass(frozen=True)
class StableStatus:
    """The part of a status document the clock does not change (and its ETag)."""

    document: dict[str, Any]  # without estimatedTimeRemaining
    state: State
    etag: str
    progress: dict[str, Any]


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
    # so a client polling with If-None-Match gets 304 until something happens.
    tag = hashlib.blake2b(json.dumps(doc, sort_keys=True).encode(), digest_size=12).hexdigest()
    return StableStatus(doc, state, f'W/"{tag}"', progress)


def clocked_status(stable: StableStatus, snap: JobSnapshot) -> StatusView:
    """The whole status view: the stable part plus what the clock and the queue change
    (the estimate, last in the document, and Retry-After), as of `snap.read_at`."""
    rec = snap.record
    estimate = _estimate(snap, stable.state, stable.progress)
    doc = stable.document
    if estimate is not None:
        remaining = f"{max(1, math.ceil(estimate.remaining))} seconds"
        doc = {**doc, ESTIMATE_FIELD: remaining}
    age = max(0.0, snap.read_at - rec.created_at)
    retry_after = retry_after_for(stable.state, estimate, age)
    return StatusView(doc, stable.state, stable.etag, retry_after, estimate, age)


# The one field of a status document that changes with the clock alone (always last).
ESTIMATE_FIELD = "estimatedTimeRemaining"
