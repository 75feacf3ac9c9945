"""How a run ends when its claim no longer holds: dropped, with nothing written.

A run is fenced by its claim (jobs/store/scripts/progress.lua, finish.lua): once the job
was claimed again (its worker was cut off and the broker handed the job to another one)
or failed as lost by the deadline check, the run's steps and end are refused, and the run
ends here without a result, so Celery stores nothing over the job's real outcome.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any, NoReturn, TypeVar

import redis
from celery.exceptions import Ignore, Reject, SoftTimeLimitExceeded

from jobs.errors import StoreUnavailable
from jobs.store.runs import Superseded

log = logging.getLogger(__name__)

T = TypeVar("T")

# billiard's soft time limit: the pool's main process sends it to the pool process.
SOFT_LIMIT_SIGNAL = getattr(signal, "SIGUSR1", None)
_held: list[Any] = []  # the soft-limit handler while it is held


def hold_soft_limit() -> None:
    """A dropped run is over, but its soft time limit may still arrive: a main process
    blocked through a cut fires it late, and Celery would then fail the job outside the
    task body (storing FAILURE over the real outcome). Ignore the signal until the next
    task starts (release_soft_limit)."""
    if SOFT_LIMIT_SIGNAL is None or _held:
        return
    try:
        _held.append(signal.signal(SOFT_LIMIT_SIGNAL, signal.SIG_IGN))
    except ValueError:  # not the main thread (a threads or solo pool): nothing to hold
        return


def release_soft_limit() -> None:
    """Give the soft time limit back to the pool (a task is starting)."""
    if SOFT_LIMIT_SIGNAL is not None and _held:
        handler: Callable[[int, FrameType | None], Any] | int | None = _held.pop()
        signal.signal(SOFT_LIMIT_SIGNAL, handler)


def drop_superseded(job_id: str) -> NoReturn:
    """End a run whose claim was superseded: nothing stored; Ignore acks this delivery
    (the broker has already requeued or restored it, or the job has ended)."""
    log.warning(
        "job %s: claimed again or failed as lost since this run started; dropping this run", job_id
    )
    hold_soft_limit()
    raise Ignore()


def record_end(job_id: str, write: Callable[[], T]) -> T:
    """Write a run's end (what `write` returns), or drop the run without a result
    (nothing stored, Celery's result included) when that cannot be done:

    - superseded (see drop_superseded): the later run, or the deadline check, has the
      last word;
    - the store out of reach (after the client's own retries), or the soft time limit
      while trying: Reject with requeue hands the job back to the broker, whose
      redelivery runs it again (if the broker is out of reach too, the visibility
      timeout or the closed connection does the same).
    """
    try:
        return write()
    except Superseded:
        drop_superseded(job_id)
    except (StoreUnavailable, redis.RedisError, SoftTimeLimitExceeded) as exc:
        log.warning("job %s: its end could not be recorded (%r); handing it back", job_id, exc)
        hold_soft_limit()
        raise Reject(f"not recorded ({exc!r}): handed back to the broker", requeue=True) from None
