"""`Prefer: changes=state` (RFC 7240 preference of this API) and its Preference-Applied."""

from __future__ import annotations

import pytest

from app.http.prefer import applied, parse_changes, parse_wait
from jobs.polling import MAX_PROGRESS_INTERVAL, MIN_PROGRESS_INTERVAL, Estimate, progress_interval


@pytest.mark.parametrize(
    "values",
    [
        ["wait=10, changes=state"],
        ["changes=state, wait=10"],
        ["wait=10; changes=state"],
        ["wait=10", "changes=state"],
        ['Changes="State"'],
        ["respond-async, changes = state"],
    ],
)
def test_changes_state_is_read_wherever_rfc_7240_allows_it(values: list[str]) -> None:
    assert parse_changes(values) == "state"


@pytest.mark.parametrize(
    "values",
    [[], [""], ["wait=10"], ["changes"], ["changes="], ["changes=progress"], ["changes=9" * 300]],
)
def test_an_absent_or_unknown_changes_preference_is_ignored(values: list[str]) -> None:
    assert parse_changes(values) is None


def test_changes_does_not_disturb_the_wait() -> None:
    assert parse_wait(["changes=state, wait=7"], 60) == 7
    assert parse_wait(["wait=7; changes=state"], 60) == 7
    assert parse_wait(["changes=state"], 60) is None


def test_preference_applied_names_what_was_honoured() -> None:
    assert applied(30) == "wait=30"
    assert applied(30, "state") == "wait=30, changes=state"


@pytest.mark.parametrize(
    ("age", "remaining", "expected"),
    [
        (0.0, None, MIN_PROGRESS_INTERVAL),
        (1.0, 1.0, MIN_PROGRESS_INTERVAL),
        (100.0, 100.0, 2.0),
        (60.0, 240.0, 3.0),
        (5000.0, 1e6, MAX_PROGRESS_INTERVAL),
    ],
)
def test_progress_is_answered_at_most_once_per_one_percent_of_the_job_within_bounds(
    age: float, remaining: float | None, expected: float
) -> None:
    estimate = None if remaining is None else Estimate(remaining, remaining)
    assert progress_interval(age, estimate) == pytest.approx(expected)
