"""The one table from Celery states to the contract's `state` and `status`."""

from __future__ import annotations

import json

import pytest
from celery import states as celery_states

from jobs.states import (
    STATE_TO_STATUS,
    TERMINAL_STATES,
    UNFINISHED_STATES,
    State,
    Status,
    state_for,
)

# The contract (API.md), written out independently of the table under test.
CONTRACT = [
    ("PENDING", "queued", "In Progress"),
    ("RECEIVED", "queued", "In Progress"),
    ("STARTED", "running", "In Progress"),
    ("PROGRESS", "running", "In Progress"),
    ("RETRY", "retrying", "In Progress"),
    ("SUCCESS", "succeeded", "Complete"),
    ("FAILURE", "failed", "Failed"),
    ("REJECTED", "failed", "Failed"),
    ("IGNORED", "failed", "Failed"),
    ("REVOKED", "cancelled", "Cancelled"),
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
    assert mapped.status == status


def test_every_state_celery_defines_is_mapped_explicitly() -> None:
    # Given every state Celery itself knows
    known = celery_states.ALL_STATES
    # Then each one is in our table (no state falls through to the default)
    assert {s for s, _, _ in CONTRACT} >= known


def test_the_enums_hold_exactly_the_contracts_values() -> None:
    assert {s.value for s in State} == {state for _, state, _ in CONTRACT}
    assert {s.value for s in Status} == {status for _, _, status in CONTRACT}
    assert set(STATE_TO_STATUS) == set(State)
    assert set(STATE_TO_STATUS.values()) == set(Status)


def test_states_and_statuses_are_plain_strings_on_the_wire() -> None:
    # A status document holds the enums; its JSON must hold the contract's strings
    assert json.dumps({"state": State.RUNNING, "status": Status.IN_PROGRESS}) == (
        '{"state": "running", "status": "In Progress"}'
    )
    assert State("queued") is State.QUEUED and Status("Complete") is Status.COMPLETE
    # The history stores plain strings: they are found in the enum sets as they are
    assert "queued" in UNFINISHED_STATES and "failed" in TERMINAL_STATES


def test_a_known_job_with_no_celery_result_yet_is_queued() -> None:
    # Given a job whose record exists but Celery has written nothing (None)
    # Then it is queued, in progress (unknown ids never reach this: they are 404s)
    assert state_for(None) is State.QUEUED
    assert state_for(None).status is Status.IN_PROGRESS


def test_an_unknown_celery_state_is_in_progress_not_an_outcome() -> None:
    # Given a state this table has never heard of (a custom state of a future task)
    state = state_for("SOMETHING-NEW")
    # Then we claim neither success nor failure
    assert state is State.RUNNING
    assert not state.terminal


def test_terminal_states_are_exactly_the_three_outcomes() -> None:
    assert frozenset({State.SUCCEEDED, State.FAILED, State.CANCELLED}) == TERMINAL_STATES
    assert {s for s in State if s.terminal} == TERMINAL_STATES
    assert {s.status for s in TERMINAL_STATES} == {Status.COMPLETE, Status.FAILED, Status.CANCELLED}
    assert {State.QUEUED, State.RUNNING, State.RETRYING} == UNFINISHED_STATES
    assert {s.status for s in UNFINISHED_STATES} == {Status.IN_PROGRESS}


@pytest.mark.parametrize(
    ("celery_state", "cancel", "state"),
    [
        (None, False, State.QUEUED),
        (None, True, State.CANCELLED),  # a queued job never starts once cancelled
        ("RECEIVED", True, State.CANCELLED),
        ("STARTED", True, State.RUNNING),  # a running one stops at its next checkpoint
        ("PROGRESS", True, State.RUNNING),
        ("RETRY", True, State.RETRYING),
        ("REVOKED", True, State.CANCELLED),
        ("SUCCESS", True, State.SUCCEEDED),  # finished before the cancel arrived
        ("FAILURE", True, State.FAILED),
        ("REVOKED", False, State.CANCELLED),
    ],
)
def test_state_mapping_with_cancellation(
    celery_state: str | None, cancel: bool, state: State
) -> None:
    assert state_for(celery_state, cancel) is state
