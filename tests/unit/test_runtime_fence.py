"""worker.runtime against fakeredis: a run whose claim was superseded (its worker was cut
off and the job was claimed again elsewhere) is dropped, writing nothing: no step, no end,
no result for Celery to store."""

from __future__ import annotations

import pytest
from celery.exceptions import Ignore

from jobs.store import JobStore, Progress
from jobs.store.runs import RunLedger
from tests.unit.support import Submit
from tests.unit.test_runtime import ON_STEP, run, worker_clients

__all__ = ["worker_clients"]  # the autouse fixture: the runtime writes to the fake Redis


@pytest.mark.parametrize("reclaimed_at", [1, 3])  # mid-run, and at the last step
def test_a_superseded_run_is_dropped_and_writes_nothing(
    store: JobStore, submit: Submit, ledger: RunLedger, reclaimed_at: int
) -> None:
    # Given a count job whose run is cut off at a step, and claimed again by w2
    submit(kind="count", type="to")
    ON_STEP.append(lambda i: ledger.claim("job-1", "w2@host", 1e12) if i == reclaimed_at else None)
    # When the first run goes on (its link is back)
    with pytest.raises(Ignore):
        result = run("job-1", {"steps": 3})
        pytest.fail(f"the superseded run ended with {result}")
    # Then it wrote nothing after the claim: w2's run owns the record
    snap = store.read("job-1")
    assert snap is not None and snap.record.attempts == 2 and snap.record.worker == "w2@host"
    assert snap.record.finished_at is None
    assert snap.celery_meta is not None and snap.celery_meta["status"] == "STARTED"  # no end
    assert snap.record.progress == Progress(reclaimed_at, 3, reclaimed_at * 100 // 3)
    # (its run time may count towards estimates: it goes in the same round trip as the end)


def test_the_current_run_finishes_with_its_result(
    store: JobStore, submit: Submit, ledger: RunLedger
) -> None:
    # Given a job claimed twice (the first run's worker was cut off)
    submit(kind="count", type="to")
    ledger.claim("job-1", "w0@host", 1e12)
    # When the second run completes
    assert run("job-1", {"steps": 2}) == {"counted": 2}
    # Then its end and its result are recorded together
    snap = store.read("job-1")
    assert snap is not None and snap.record.attempts == 2
    assert snap.celery_state == "SUCCESS" and snap.result == {"counted": 2}
