"""The one table that maps Celery task states onto the contract's `state` and `status`."""

from __future__ import annotations

from typing import Final

QUEUED: Final = "queued"
RUNNING: Final = "running"
RETRYING: Final = "retrying"
SUCCEEDED: Final = "succeeded"
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"

# Custom Celery state our tasks report with update_state() after each step.
PROGRESS: Final = "PROGRESS"

# Every Celery state, explicitly. PENDING means "no result yet": only meaningful
# for a job whose record exists (an unknown id never gets here, it is a 404).
CELERY_TO_STATE: Final[dict[str, str]] = {
    "PENDING": QUEUED,
    "RECEIVED": QUEUED,
    "STARTED": RUNNING,
    PROGRESS: RUNNING,
    "RETRY": RETRYING,
    "SUCCESS": SUCCEEDED,
    "FAILURE": FAILED,
    "REJECTED": FAILED,
    "IGNORED": FAILED,
    "REVOKED": CANCELLED,
}

STATE_TO_STATUS: Final[dict[str, str]] = {
    QUEUED: "In Progress",
    RUNNING: "In Progress",
    RETRYING: "In Progress",
    SUCCEEDED: "Complete",
    FAILED: "Failed",
    CANCELLED: "Cancelled",
}

TERMINAL_STATES: Final = frozenset({SUCCEEDED, FAILED, CANCELLED})
STATUSES: Final = ("In Progress", "Complete", "Failed", "Cancelled")


def state_for(celery_state: str | None, cancel_requested: bool = False) -> str:
    """Map a Celery state (None when no result exists yet) to the contract's `state`.

    A queued job whose cancellation was requested is `cancelled` at once: it will
    never start (the worker checks the flag before running). A running one stays
    `running` until the worker stops it at its next checkpoint and stores REVOKED.
    """
    # No result yet means queued; a state we do not know is not a reason to claim
    # success or failure.
    state = QUEUED if celery_state is None else CELERY_TO_STATE.get(celery_state, RUNNING)
    if cancel_requested and state == QUEUED:
        return CANCELLED
    return state


def status_for(state: str) -> str:
    """Map the contract's `state` to its coarse `status`."""
    return STATE_TO_STATUS[state]
