"""build_status's polling cues: the estimated time remaining, Retry-After and the ETag."""

from __future__ import annotations

import hashlib
import json

import pytest

from jobs.polling import MAX_RETRY_AFTER, retry_after_for
from jobs.states import State
from jobs.status import ESTIMATE_FIELD, build_status
from jobs.store import Progress
from kinds.imports import KIND as IMPORTS
from kinds.reports import KIND as REPORTS
from tests.unit.support import (
    CREATED,
    JOB_ID,
    SECONDS,
    progress,
    record,
    report,
    snapshot,
)

# -- estimates and Retry-After -------------------------------------------------


def test_running_estimate_comes_from_progress_so_far() -> None:
    # Given 5 of 15 steps done in 10 seconds
    snap = report({"status": "STARTED"}, started=CREATED, steps=progress(5, 15), now=CREATED + 10)
    view = build_status(snap, REPORTS)
    # Then 10 more steps take about 20 seconds
    assert view.document["estimatedTimeRemaining"] == "20 seconds"
    # And the next poll is aimed past the soonest end (one step more: 9 steps at 10/6 s)
    assert view.retry_after == 16


def test_running_without_progress_uses_recent_durations() -> None:
    snap = report({"status": "STARTED"}, started=CREATED, now=CREATED + 4, mean=10.0)
    assert build_status(snap, REPORTS).document["estimatedTimeRemaining"] == "6 seconds"


def test_running_past_the_usual_duration_still_estimates_at_least_a_second() -> None:
    view = build_status(
        report({"status": "STARTED"}, started=CREATED, now=CREATED + 60, mean=10.0), REPORTS
    )
    assert SECONDS.match(view.document["estimatedTimeRemaining"])
    assert view.retry_after is not None and view.retry_after >= 1


def test_a_count_past_its_estimated_total_estimates_at_least_a_second() -> None:
    # Given an import that read more rows than it estimated the file to hold
    snap = report({"status": "STARTED"}, started=CREATED, steps=Progress(120, 100, 99))
    view = build_status(snap, REPORTS)
    assert view.document["estimatedTimeRemaining"] == "1 seconds"
    assert view.retry_after == 1


def test_queued_estimate_counts_the_jobs_ahead_per_worker_slot() -> None:
    # Given 5 jobs ahead, 2 worker slots and jobs of this type taking 6 seconds
    view = build_status(report(rank=5, slots=2, mean=6.0), REPORTS)
    # Then this one starts after 2 full rounds and runs one more: 18 seconds
    assert view.document["estimatedTimeRemaining"] == "18 seconds"


def test_queued_with_no_history_has_no_estimate_but_a_nonzero_retry_after() -> None:
    view = build_status(report(rank=0), REPORTS)
    assert "estimatedTimeRemaining" not in view.document
    assert view.retry_after is not None and view.retry_after >= 1


@pytest.mark.parametrize("estimate", [None, 0.0, 0.01, 0.4, 1.0, 3.0, 17.5, 120.0, 1e6])
def test_retry_after_for_a_queued_job_is_never_zero_and_bounded(estimate: float | None) -> None:
    seconds = retry_after_for(State.QUEUED, estimate)
    assert seconds is not None
    assert 1 <= seconds <= MAX_RETRY_AFTER


@pytest.mark.parametrize("state", [State.RUNNING, State.RETRYING])
@pytest.mark.parametrize("estimate", [None, 0.0, 2.0, 40.0, 3600.0])
def test_retry_after_while_running_is_between_one_and_the_cap(
    state: State, estimate: float | None
) -> None:
    seconds = retry_after_for(state, estimate)
    assert seconds is not None and 1 <= seconds <= MAX_RETRY_AFTER


def test_retry_after_grows_with_the_estimate() -> None:
    short, long = retry_after_for(State.RUNNING, 2.0), retry_after_for(State.RUNNING, 100.0)
    assert short is not None and long is not None and short < long


@pytest.mark.parametrize("state", [State.SUCCEEDED, State.FAILED, State.CANCELLED])
def test_no_retry_after_once_terminal(state: State) -> None:
    assert retry_after_for(state, 10.0) is None


# -- ETag ----------------------------------------------------------------------


def test_etag_is_stable_while_only_the_estimate_changes() -> None:
    # Given the same running job read twice, 3 seconds apart, with no new progress
    steps = progress(2, 15)
    first = build_status(
        report({"status": "STARTED"}, started=CREATED, steps=steps, now=CREATED + 4), REPORTS
    )
    later = build_status(
        report({"status": "STARTED"}, started=CREATED, steps=steps, now=CREATED + 7), REPORTS
    )
    # Then the estimate moved but the ETag did not (If-None-Match keeps answering 304)
    assert first.document["estimatedTimeRemaining"] != later.document["estimatedTimeRemaining"]
    assert first.etag == later.etag
    assert first.etag.startswith('W/"') and first.etag.endswith('"')


def test_etag_changes_with_progress_and_with_state() -> None:
    running = {"status": "STARTED"}
    queued = build_status(report(), REPORTS)
    step2 = build_status(report(running, started=CREATED, steps=progress(2, 15)), REPORTS)
    step3 = build_status(report(running, started=CREATED, steps=progress(3, 15)), REPORTS)
    done = build_status(report({"status": "SUCCESS", "result": {}}, started=CREATED), REPORTS)
    assert len({queued.etag, step2.etag, step3.etag, done.etag}) == 4


def test_etag_differs_between_kinds() -> None:
    rec = record(JOB_ID, created=CREATED, parameters={})
    as_report = build_status(snapshot(rec, now=CREATED), REPORTS)
    as_import = build_status(snapshot(rec, now=CREATED), IMPORTS)
    assert as_report.etag != as_import.etag


def test_the_document_is_serialised_once_and_the_etag_hashes_that_json() -> None:
    # Given a running job read twice, 3 seconds apart (the estimate moves)
    steps = progress(2, 15)
    first, later = (
        build_status(
            report({"status": "STARTED"}, started=CREATED, steps=steps, now=CREATED + t), REPORTS
        )
        for t in (4, 7)
    )
    for view in (first, later):
        # Then the body is the document, the estimate last, from one serialisation
        sent = json.loads(view.json())
        assert sent == view.document
        assert list(sent)[-1] == ESTIMATE_FIELD
        assert view.json().startswith(view.stable_json[:-1])
    # And both carry the ETag of the same stable JSON
    digest = hashlib.blake2b(first.stable_json.encode(), digest_size=12).hexdigest()
    assert first.stable_json == later.stable_json
    assert first.etag == later.etag == f'W/"{digest}"'
    # And a job without an estimate is sent as its stable JSON alone
    done = build_status(report({"status": "SUCCESS", "result": {}}, started=CREATED), REPORTS)
    assert ESTIMATE_FIELD not in done.document
    assert done.json() == done.stable_json
    assert json.loads(done.json()) == done.document
