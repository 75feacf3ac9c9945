"""ChangeFeed: a long poll wakes on the job's change notifications, not on a timer."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import fakeredis

from jobs.store import JobSnapshot, JobStore, Keys, Progress
from jobs.store.runs import RunLedger
from jobs.store.waiting import ChangeFeed
from tests.unit.support import Submit

PATIENCE = 30.0  # a wait that times out instead of waking fails the elapsed-time check


def after(seconds: float, action: Callable[[], object]) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def test_a_wait_returns_on_the_published_change(
    changes: ChangeFeed, store: JobStore, submit: Submit
) -> None:
    # Given a queued job that its client cancels in 0.2 s
    submit()
    timer = after(0.2, lambda: store.request_cancel("job-1", True))
    # When someone waits for it to be cancelled
    started = time.monotonic()
    snap = changes.wait_for(
        "job-1", lambda s: s is not None and s.record.cancel_requested, PATIENCE, store.read
    )
    timer.join()
    # Then the wait ends with the cancelled job, woken by the message
    assert snap is not None and snap.record.cancel_requested
    assert time.monotonic() - started < PATIENCE / 2


def test_a_progress_step_wakes_a_wait(
    changes: ChangeFeed, store: JobStore, ledger: RunLedger, submit: Submit
) -> None:
    # Given a running job that reports a step in 0.2 s
    submit()
    ledger.claim("job-1", "w1@host", time.time() + 600)
    timer = after(0.2, lambda: ledger.step("job-1", Progress(1, 4, 25)))

    def moved(snap: JobSnapshot | None) -> bool:
        return snap is not None and snap.record.progress is not None

    # When someone waits for the job to move
    started = time.monotonic()
    snap = changes.wait_for("job-1", moved, PATIENCE, store.read)
    timer.join()
    # Then the wait ends with the step it made
    assert snap is not None and snap.record.progress == Progress(1, 4, 25)
    assert time.monotonic() - started < PATIENCE / 2


def test_celerys_own_notification_wakes_a_wait(
    changes: ChangeFeed, store: JobStore, submit: Submit, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # Given a job whose result Celery's Redis backend stores (and publishes) in 0.2 s
    submit()
    meta = json.dumps({"status": "SUCCESS", "result": {}})

    def store_result() -> None:
        client.set(keys.celery_meta("job-1"), meta)
        client.publish(keys.celery_meta("job-1"), meta)

    timer = after(0.2, store_result)
    # When someone waits for it to finish
    started = time.monotonic()
    snap = changes.wait_for(
        "job-1", lambda s: s is not None and s.celery_state == "SUCCESS", PATIENCE, store.read
    )
    timer.join()
    # Then Celery's message woke it
    assert snap is not None and snap.celery_state == "SUCCESS"
    assert time.monotonic() - started < PATIENCE / 2


def test_a_forgotten_job_ends_the_wait_with_nothing(
    changes: ChangeFeed, store: JobStore, submit: Submit
) -> None:
    rec = submit()
    timer = after(0.2, lambda: store.forget(rec))
    started = time.monotonic()
    snap = changes.wait_for("job-1", lambda s: s is None, PATIENCE, store.read)
    timer.join()
    assert snap is None
    assert time.monotonic() - started < PATIENCE / 2


def test_a_wait_gives_up_after_its_timeout(
    changes: ChangeFeed, store: JobStore, submit: Submit
) -> None:
    # Given a job nothing happens to
    submit()
    # When someone waits 0.2 s for something that never comes
    started = time.monotonic()
    snap = changes.wait_for("job-1", lambda s: False, 0.2, store.read)
    # Then they get the job as it is, after about that long
    assert snap is not None and snap.record.id == "job-1"
    assert 0.2 <= time.monotonic() - started < 5


def test_a_wait_that_is_already_satisfied_returns_at_once(
    changes: ChangeFeed, store: JobStore, submit: Submit
) -> None:
    submit()
    reads: list[str] = []

    def read(job_id: str) -> JobSnapshot | None:
        reads.append(job_id)
        return store.read(job_id)

    started = time.monotonic()
    snap = changes.wait_for("job-1", lambda s: s is not None, PATIENCE, read)
    assert snap is not None and reads == ["job-1"]
    assert time.monotonic() - started < 1
