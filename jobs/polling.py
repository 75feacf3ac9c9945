"""How often a client should poll: the estimate of a job's time left, and the Retry-After
and long-poll pacing built on it (README, "Retry-After" and "Long polls")."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from jobs.states import State
from jobs.store.record import JobSnapshot

# Retry-After is whole seconds: at least 1, at most an hour (a bound for wild estimates).
MIN_RETRY_AFTER, MAX_RETRY_AFTER = 1, 3600
# How late a client following Retry-After may learn of the end: this share of the job's
# expected length (since it was submitted), and never less than MIN_LATENESS seconds.
LATENESS_SHARE, MIN_LATENESS = 0.1, 1.0
# A progress rate from fewer steps than this sends a client no further than a guess does.
MIN_STEPS_FOR_RATE = 3


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


def estimate(snap: JobSnapshot, state: State, progress: dict[str, Any]) -> Estimate | None:
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


def progress_interval(age: float, estimate: Estimate | None) -> float:
    """Seconds a plain long poll holds a progress-only change back (coalescing steps)."""
    expected = age + (estimate.remaining if estimate else 0.0)
    return min(MAX_PROGRESS_INTERVAL, max(MIN_PROGRESS_INTERVAL, PROGRESS_SHARE * expected))
