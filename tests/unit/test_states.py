"""The one table from Celery states to the contract's `state` and `status`."""

from __future__ import annotations

import pytest
from celery import states as celery_states

from jobs.states import (
    CANCELLED,
    FAILED,
    QUEUED,
    RETRYING,
    RUNNING,
    STATE_TO_STATUS,
    STATUSES,
    SUCCEEDED,
    TERMINAL_STATES,
    state_for,
    status_for,
)

# The contract (API.md), written out independently of the table under test.
CONTRACT = [
    ("PENDING", QUEUED, "In Progress"),
    ("RECEIVED", QUEUED, "In Progress"),
    ("STARTED", RUNNING, "In Progress"),
    ("PROGRESS", RUNNING, "In Progress"),
    ("RETRY", RETRYING, "In Progress"),
    ("SUCCESS", SUCCEEDED, "Complete"),
    ("FAILURE", FAILED, "Failed"),
    ("REJECTED", FAILED, "Failed"),
    ("IGNORED", FAILED, "Failed"),
    ("REVOKED", CANCELLED, "Cancelled"),
]


@pytest.mark.parametrize(("celery_state", "state", "status"), CONTRACT)
def test_each_celery_state_maps_to_the_contracts_state_and_status(
    celery_state: str, state: str, status: str
) -> None:
    # Given a job whose Celery result says `celery_state`
    # When we map it
    mapped = state_for(celery_state)
    # Then it lands on the contract's state and status
    assert mapped == state
    assert status_for(mapped) == status


def test_every_state_celery_defines_is_mapped_explicitly() -> None:
    # Given every state Celery itself knows
    known = celery_states.ALL_STATES
    # Then each one is in our table (no state falls through to the default)
    assert {s for s, _, _ in CONTRACT} >= known


def test_a_known_job_with_no_celery_result_yet_is_queued() -> None:
    # Given a job whose record exists but Celery has written nothing (None)
    # Then it is queued, in progress (unknown ids never reach this: they are 404s)
    assert state_for(None) == QUEUED
    assert status_for(state_for(None)) == "In Progress"


def test_an_unknown_celery_state_is_in_progress_not_an_outcome() -> None:
    # Given a state this table has never heard of (a custom state of a future task)
    state = state_for("SOMETHING-NEW")
    # Then we claim neither success nor failure
    assert state == RUNNING
    assert state not in TERMINAL_STATES


def test_terminal_states_are_exactly_the_three_outcomes() -> None:
    assert frozenset({SUCCEEDED, FAILED, CANCELLED}) == TERMINAL_STATES
    assert {status_for(s) for s in TERMINAL_STATES} == {"Complete", "Failed", "Cancelled"}
    assert set(STATE_TO_STATUS.values()) == set(STATUSES)
