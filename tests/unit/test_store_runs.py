"""RunLedger (what a worker writes about its job) against fakeredis: claims, progress
steps, the outcome, run times; none of it may resurrect a record that is gone."""

from __future__ import annotations

import fakeredis
import pytest

from jobs.store import PROVISIONAL_SECONDS, JobStore, Keys, Progress
from jobs.store.runs import RECENT_DURATIONS, Claim, RunLedger
from tests.unit.support import RETENTION, CommandSpy, Submit, Subscribe, record

LABEL = "report:yearly-sales"


def test_a_claimed_job_is_kept_even_if_its_commit_was_lost(
    store: JobStore, ledger: RunLedger, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # Given a job created but never committed (the web died after the enqueue)
    store.create(record())
    # When a worker claims it
    outcome, *_ = ledger.claim("job-1", "w1", deadline=2000.0)
    # Then it runs, and its record lives for the retention window, visible
    assert outcome is Claim.RUN
    assert PROVISIONAL_SECONDS < client.ttl(keys.job("job-1")) <= RETENTION
    assert store.read("job-1") is not None


def test_claim_dequeues_and_records_the_worker_attempts_and_deadline(
    store: JobStore, ledger: RunLedger, submit: Submit
) -> None:
    # Given a queued job
    submit()
    # When a worker claims it
    assert ledger.claim("job-1", "w1@host", 1000.0) == (Claim.RUN, 1, None, False)
    # Then it is no longer queued and the record names the run
    snap = store.read("job-1")
    assert snap is not None
    assert snap.queue_rank is None
    assert snap.record.worker == "w1@host" and snap.record.deadline == 1000.0
    assert snap.record.started_at is not None and snap.record.attempts == 1
    # And a redelivery counts as a second attempt, with a new deadline
    assert ledger.claim("job-1", "w2@host", 2000.0) == (Claim.RUN, 2, None, False)
    again = store.read("job-1")
    assert again is not None and again.record.attempts == 2 and again.record.worker == "w2@host"
    assert again.record.deadline == 2000.0


def test_claim_refuses_a_finished_or_missing_job(
    store: JobStore, ledger: RunLedger, submit: Submit
) -> None:
    # Given a job that finished (a redelivery after a crash between result and ack)
    submit("done")
    ledger.claim("done", "w1@host", 1000.0)
    ledger.finish("done", LABEL, 1.0, attempt=1, result={"rows": []})
    # Then it is not run again, nor is a job without a record
    assert ledger.claim("done", "w2@host", 2000.0) == (Claim.FINISHED, 1, None, False)
    assert ledger.claim("nobody", "w2@host", 2000.0) == (Claim.MISSING, 0, None, False)
    snap = store.read("done")
    assert snap is not None and snap.record.attempts == 1 and snap.record.worker == "w1@host"


def test_a_claim_of_a_cancelled_job_says_so_without_starting_it(
    store: JobStore, ledger: RunLedger, submit: Submit, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # Given a queued job the client cancelled (a queued cancel also finishes it)
    submit()
    store.request_cancel("job-1", queued=True)
    # When a worker gets its message anyway (the revoke was lost)
    outcome, attempts, *_ = ledger.claim("job-1", "w1", deadline=2000.0)
    # Then the claim reports the cancellation and the job never starts
    assert (outcome, attempts) == (Claim.CANCELLED, 0)
    assert client.hget(keys.job("job-1"), "startedAt") is None


def test_a_step_is_recorded_in_the_job_record_and_announced(
    store: JobStore, ledger: RunLedger, submit: Submit, keys: Keys, subscribe: Subscribe
) -> None:
    # Given a running job and someone waiting on its changes
    submit()
    ledger.claim("job-1", "w1@host", 5000.0)
    pubsub = subscribe(keys.events("job-1"))
    # When the worker reports a step
    keep_going = ledger.step("job-1", Progress(5, 15, 33))
    # Then the job goes on, its record holds the step and the waiter hears of it
    assert keep_going is True
    snap = store.read("job-1")
    assert snap is not None and snap.record.progress == Progress(5, 15, 33)
    message = pubsub.get_message(timeout=1.0)
    assert message is not None and message["data"] == "changed"


def test_a_step_after_the_client_cancelled_says_stop_and_records_nothing(
    store: JobStore, ledger: RunLedger, submit: Submit
) -> None:
    # Given a running job at step 2 whose client then cancelled it
    submit()
    ledger.claim("job-1", "w1@host", 5000.0)
    ledger.step("job-1", Progress(2, 10, 20))
    store.request_cancel("job-1", queued=False)
    # When the worker reports its next step
    keep_going = ledger.step("job-1", Progress(3, 10, 30))
    # Then it is told to stop, and the record keeps the step it had reached
    assert keep_going is False
    snap = store.read("job-1")
    assert snap is not None and snap.record.progress == Progress(2, 10, 20)


def test_a_step_is_one_evalsha(ledger: RunLedger, submit: Submit, spy: CommandSpy) -> None:
    # Given a running job whose first step loaded the script into Redis
    submit()
    ledger.claim("job-1", "w1@host", 5000.0)
    ledger.step("job-1", Progress(1, 10, 10))
    # When the worker reports the next step
    with spy.recording() as sent:
        ledger.step("job-1", Progress(2, 10, 20))
    # Then recording it and checking for a cancellation took one round trip
    assert sent == ["EVALSHA"]


def test_finish_says_whether_it_stored_the_result(ledger: RunLedger, submit: Submit) -> None:
    # Given a running job and a failing one
    submit("ok")
    submit("bad")
    # Then an end with a result says it stored it (Celery's store of it is then skipped)
    assert ledger.finish("ok", LABEL, 1.0, result={"n": 1}) is True
    # And an end without one, or of a job that is gone, says it did not
    assert ledger.finish("bad", LABEL, None, {"type": "t"}) is False
    assert ledger.finish("ok", LABEL, None, progress=Progress(1, 1, 100)) is False
    assert ledger.finish("gone", LABEL, 1.0, result={"n": 1}) is False


def test_finish_records_the_end_the_error_and_the_duration(
    store: JobStore, ledger: RunLedger, submit: Submit
) -> None:
    # Given two running jobs
    submit("ok")
    submit("bad")
    problem = {"type": "t", "title": "The sales data is not available", "detail": "no table"}
    # When one succeeds and one fails
    ledger.finish("ok", LABEL, 3.0, progress=Progress(12, 12, 100))
    ledger.finish("bad", LABEL, None, problem)
    # Then both are finished, with the error and the final progress recorded
    ok, bad = store.read("ok"), store.read("bad")
    assert ok is not None and bad is not None
    assert ok.record.finished_at is not None and ok.record.error is None
    assert ok.record.progress == Progress(12, 12, 100)
    assert bad.record.finished_at is not None and bad.record.error == problem
    # And only the success counted towards estimates
    assert ok.mean_duration == 3.0


def test_a_failure_keeps_the_progress_the_job_reached(
    store: JobStore, ledger: RunLedger, submit: Submit
) -> None:
    submit()
    ledger.claim("job-1", "w1@host", 5000.0)
    ledger.step("job-1", Progress(3, 10, 30))
    ledger.finish("job-1", LABEL, None, {"type": "t"})
    snap = store.read("job-1")
    assert snap is not None and snap.record.progress == Progress(3, 10, 30)


def test_record_duration_keeps_the_mean_of_the_recent_runs(
    ledger: RunLedger, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # Given more runs than are kept: one slow, old run, then many 2-second ones
    ledger.record_duration("report:monthly-sales", 100.0)
    for _ in range(RECENT_DURATIONS):
        ledger.record_duration("report:monthly-sales", 2.0)
    # Then the old run has dropped out of the mean
    assert client.llen(keys.durations("report:monthly-sales")) == RECENT_DURATIONS
    assert float(client.hget(keys.stats(), "report:monthly-sales") or 0) == 2.0


def test_record_duration_is_one_round_trip(ledger: RunLedger, spy: CommandSpy) -> None:
    ledger.record_duration(LABEL, 1.0)  # loads the script
    with spy.recording() as sent:
        ledger.record_duration(LABEL, 2.0)
    assert sent == ["EVALSHA"]


def test_claims_announce_the_change_on_the_jobs_channel(
    ledger: RunLedger, submit: Submit, keys: Keys, subscribe: Subscribe
) -> None:
    submit()
    pubsub = subscribe(keys.events("job-1"))
    ledger.claim("job-1", "w1@host", 1000.0)
    message = pubsub.get_message(timeout=1.0)
    assert message is not None and message["data"] == "changed"


@pytest.mark.parametrize("late_update", ["started", "step", "finished"])
def test_a_late_update_never_resurrects_an_expired_record(
    store: JobStore,
    ledger: RunLedger,
    submit: Submit,
    client: fakeredis.FakeRedis,
    keys: Keys,
    subscribe: Subscribe,
    late_update: str,
) -> None:
    # Given a job whose record has expired (retention passed)
    submit()
    client.delete(keys.job("job-1"))
    pubsub = subscribe(keys.events("job-1"))
    # When a worker reports on it late (a redelivery, a slow step or finish)
    if late_update == "started":
        assert ledger.claim("job-1", "w1@host", 1000.0) == (Claim.MISSING, 0, None, False)
    elif late_update == "step":
        ledger.step("job-1", Progress(1, 2, 50))
    else:
        ledger.finish("job-1", LABEL, None, {"type": "t"})
    # Then no half-record without kind, type or owner appears, and nobody is told of a change
    assert not client.exists(keys.job("job-1"))
    assert store.read("job-1") is None
    assert pubsub.get_message(timeout=0.1) is None
    # And the tombstone still says the job existed
    assert store.existed("job-1") == "alice"
