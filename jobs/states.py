"""The one table that maps Celery task states onto the contract's `state` and `status`."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class State(StrEnum):
    """The contract's fine-grained `state` of a job."""

    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def status(self) -> Status:
        """The coarse `status` this state is reported as."""
        return STATE_TO_STATUS[self]

    @property
    def terminal(self) -> bool:
        """True once a job in this state will not change any more."""
        return self in TERMINAL_STATES


class Status(StrEnum):
    """The contract's coarse `status` of a job (the seed's two values and two failures)."""

    IN_PROGRESS = "In Progress"
    COMPLETE = "Complete"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


# Every Celery state, explicitly. PENDING means "no result yet": only meaningful
# for a job whose record exists (an unknown id never gets here, it is a 404).
# PROGRESS is what earlier versions stored after each step (progress now lives in the
# job record); a result stored by them still maps.
CELERY_TO_STATE: Final[dict[str, State]] = {
    "PENDING": State.QUEUED,
    "RECEIVED": State.QUEUED,
    "STARTED": State.RUNNING,
    "PROGRESS": State.RUNNING,
    "RETRY": State.RETRYING,
    "SUCCESS": State.SUCCEEDED,
    "FAILURE": State.FAILED,
    "REJECTED": State.FAILED,
    "IGNORED": State.FAILED,
    "REVOKED": State.CANCELLED,
}

STATE_TO_STATUS: Final[dict[State, Status]] = {
    State.QUEUED: Status.IN_PROGRESS,
    State.RUNNING: Status.IN_PROGRESS,
    State.RETRYING: Status.IN_PROGRESS,
    State.SUCCEEDED: Status.COMPLETE,
    State.FAILED: Status.FAILED,
    State.CANCELLED: Status.CANCELLED,
}

TERMINAL_STATES: Final = frozenset({State.SUCCEEDED, State.FAILED, State.CANCELLED})
UNFINISHED_STATES: Final = frozenset(set(State) - TERMINAL_STATES)


def state_for(celery_state: str | None, cancel_requested: bool = False) -> State:
    """Map a Celery state (None when no result exists yet) to the contract's `state`.

    A queued job whose cancellation was requested is `cancelled` at once: it will
    never start (the worker checks the flag before running). A running one stays
    `running` until the worker stops it at its next checkpoint and stores REVOKED.
    """
    # No result yet means queued; a state we do not know is not a reason to claim
    # success or failure.
    if celery_state is None:
        state = State.QUEUED
    else:
        state = CELERY_TO_STATE.get(celery_state, State.RUNNING)
    if cancel_requested and state is State.QUEUED:
        return State.CANCELLED
    return state
