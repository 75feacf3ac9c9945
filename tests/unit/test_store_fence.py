"""The fence of a run (jobs/store/scripts: progress, finish, claim, fail_overdue) against
fakeredis: a run whose claim was superseded (its worker was cut off and the job was
claimed again elsewhere) writes nothing, and a record that says finished without its
result is not taken for finished."""

from __future__ import annotations

import json

import fakeredis
import pytest

from jobs.store import JobStore, Keys, Progress
from jobs.store.results import success_meta
from jobs.store.runs import Claim, RunLedger, Superseded
from tests.unit.support import RETENTION, Submit, Subscribe

LABEL = "report:yearly-sales"
PROBLEM = {"type": "t", "title": "The worker running this job stopped"}


def cut_off_and_reclaimed(ledger: RunLedger, submit: Submit) -> tuple[int, int]:
    """A job claimed by w1, then claimed again by w2 (w1 was cut off): both attempts."""
    submit()
    first = ledger.claim("job-1", "w1@host", 1000.0).attempts
    second = ledger.claim("job-1", "w2@host", 2000.0).attempts
    return first, second


def test_a_superseded_run_records_no_step_and_is_told_so(
    store: JobStore, ledger: RunLedger, submit: Submit, keys: Keys, subscribe: Subscribe
) -> None:
    # Given a job handed to w2 while w1, cut off, was still running it
    first, second = cut_off_and_reclaimed(ledger, submit)
    ledger.step("job-1", Progress(1, 10, 10), attempt=second)
    pubsub = subscribe(keys.events("job-1"))
    # When w1's link comes back and it reports a step
    with pytest.raises(Superseded):
        ledger.step("job-1", Progress(9, 10, 90), attempt=first)
    # Then the record keeps w2's progress, and nobody is told of a change
    snap = store.read("job-1")
    assert snap is not None and snap.record.progress == Progress(1, 10, 10)
    assert pubsub.get_message(timeout=0.1) is None
    # And the current run's steps are recorded
    assert ledger.step("job-1", Progress(2, 10, 20), attempt=second) is True


@pytest.mark.parametrize("late", ["success", "failure"])
def test_a_superseded_run_cannot_finish_the_job(
    store: JobStore,
    ledger: RunLedger,
    submit: Submit,
    client: fakeredis.FakeRedis,
    keys: Keys,
    late: str,
) -> None:
    # Given a job w2 completed after it was claimed again from a cut-off w1
    first, second = cut_off_and_reclaimed(ledger, submit)
    ledger.finish(
        "job-1", LABEL, 1.0, progress=Progress(3, 3, 100), attempt=second, result={"n": 2}
    )
    before = client.hgetall(keys.job("job-1")), client.get(keys.celery_meta("job-1"))
    # When w1 comes back and records its own end, a success or a time-limit failure
    with pytest.raises(Superseded):
        if late == "success":
            ledger.finish("job-1", LABEL, 9.0, attempt=first, result={"n": 1})
        else:
            ledger.finish("job-1", LABEL, None, PROBLEM, attempt=first)
    # Then neither the record nor Celery's result changed: the job is w2's success
    assert (client.hgetall(keys.job("job-1")), client.get(keys.celery_meta("job-1"))) == before
    snap = store.read("job-1")
    assert snap is not None and snap.celery_state == "SUCCESS" and snap.result == {"n": 2}
    assert snap.record.error is None


def test_a_success_stores_its_result_with_the_end_and_announces_it(
    store: JobStore,
    ledger: RunLedger,
    submit: Submit,
    client: fakeredis.FakeRedis,
    keys: Keys,
    subscribe: Subscribe,
) -> None:
    # Given a running job and someone waiting on Celery's result channel
    submit()
    attempt = ledger.claim("job-1", "w1@host", 1000.0).attempts
    pubsub = subscribe(keys.celery_meta("job-1"))
    # When it succeeds
    ledger.finish("job-1", LABEL, 1.0, progress=Progress(3, 3, 100), attempt=attempt, result=[1, 2])
    # Then the record's end and Celery's SUCCESS were written in the same step, the
    # result kept as long as the record, and announced as Celery's backend does
    snap = store.read("job-1")
    assert snap is not None and snap.record.finished_at is not None
    assert snap.celery_state == "SUCCESS" and snap.result == [1, 2]
    assert 0 < client.ttl(keys.celery_meta("job-1")) <= RETENTION
    message = pubsub.get_message(timeout=1.0)
    assert message is not None and json.loads(message["data"])["status"] == "SUCCESS"


def test_a_record_finished_without_its_result_is_run_again(
    store: JobStore, ledger: RunLedger, submit: Submit, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # Given a run cut off after its record said finished but before Celery's result
    # was stored (Celery's STARTED is all there is)
    submit()
    ledger.claim("job-1", "w1@host", 1000.0)
    client.hset(keys.job("job-1"), "finishedAt", "1001.0")
    client.set(keys.celery_meta("job-1"), json.dumps({"status": "STARTED", "result": None}))
    # When the job is delivered again
    outcome, attempts, *_ = ledger.claim("job-1", "w2@host", 2000.0)
    # Then it runs again, and its record no longer says finished
    assert (outcome, attempts) == (Claim.RUN, 2)
    snap = store.read("job-1")
    assert snap is not None and snap.record.finished_at is None


@pytest.mark.parametrize("ending", ["success", "failure", "error in the record"])
def test_a_finished_job_is_not_run_again(
    ledger: RunLedger, submit: Submit, client: fakeredis.FakeRedis, keys: Keys, ending: str
) -> None:
    # Given a job whose run ended: Celery's final result, or an error in the record
    submit()
    ledger.claim("job-1", "w1@host", 1000.0)
    client.hset(keys.job("job-1"), "finishedAt", "1001.0")
    if ending == "success":
        client.set(keys.celery_meta("job-1"), success_meta({"n": 1}, 1001.0))
    elif ending == "failure":
        client.set(keys.celery_meta("job-1"), json.dumps({"status": "FAILURE", "result": {}}))
    else:
        client.hset(keys.job("job-1"), "error", json.dumps(PROBLEM))
    # Then a redelivery is refused
    assert ledger.claim("job-1", "w2@host", 2000.0)[:2] == (Claim.FINISHED, 1)


def test_an_overdue_record_finished_without_its_result_fails(
    store: JobStore, ledger: RunLedger, submit: Submit, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # Given a run cut off between its record's end and Celery's result, never redelivered
    submit()
    ledger.claim("job-1", "w1@host", 1000.0)
    client.hset(keys.job("job-1"), "finishedAt", "1001.0")
    snap = store.read("job-1")
    assert snap is not None
    # When a reader finds it past its deadline
    assert store.fail_overdue(snap.record, PROBLEM)
    # Then it failed, with the error
    after = store.read("job-1")
    assert after is not None and after.record.error == PROBLEM


def test_an_overdue_verdict_never_touches_a_job_with_its_result(
    store: JobStore, ledger: RunLedger, submit: Submit
) -> None:
    # Given a job that completed after its record was read as overdue
    submit()
    attempt = ledger.claim("job-1", "w1@host", 1000.0).attempts
    stale = store.read("job-1")
    assert stale is not None
    ledger.finish("job-1", LABEL, 1.0, attempt=attempt, result={"n": 1})
    # Then the verdict is refused and the success stands
    assert not store.fail_overdue(stale.record, PROBLEM)
    snap = store.read("job-1")
    assert snap is not None and snap.record.error is None and snap.celery_state == "SUCCESS"


def test_a_run_of_a_job_failed_as_lost_cannot_change_it(
    store: JobStore, ledger: RunLedger, submit: Submit, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # Given a job failed by the deadline check while its cut-off worker was still running it
    submit()
    attempt = ledger.claim("job-1", "w1@host", 1000.0).attempts
    snap = store.read("job-1")
    assert snap is not None and store.fail_overdue(snap.record, PROBLEM)
    before = client.hgetall(keys.job("job-1"))
    # When that worker's link comes back and its run reports a step, then succeeds
    with pytest.raises(Superseded):
        ledger.step("job-1", Progress(2, 3, 66), attempt=attempt)
    with pytest.raises(Superseded):
        ledger.finish("job-1", LABEL, 1.0, attempt=attempt, result={"n": 1})
    # Then the job stays Failed, as its client may have seen it: nothing was written
    assert client.hgetall(keys.job("job-1")) == before
    assert client.get(keys.celery_meta("job-1")) is None
