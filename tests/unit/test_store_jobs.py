"""JobStore (the web side of job records) against fakeredis: create and commit, the
one-round-trip read, reads of many jobs, and discard."""

from __future__ import annotations

import json

import fakeredis

from jobs.store import PROVISIONAL_SECONDS, JobStore, Keys, Progress
from jobs.store.runs import RunLedger
from jobs.store.workers import WorkerRegistry
from tests.unit.support import RETENTION, TOMBSTONE, CommandSpy, Submit, record


def test_create_writes_a_provisional_record_that_commit_keeps(
    store: JobStore, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # When a job is created
    store.create(record())
    # Then it is queued and indexed under its owner and kind, but invisible, and its
    # record vanishes within seconds unless the enqueue is confirmed (a 503'd submit
    # leaves nothing behind)
    assert client.hget(keys.job("job-1"), "kind") == "report"
    assert client.hget(keys.job("job-1"), "type") == "yearly-sales"
    assert 0 < client.ttl(keys.job("job-1")) <= PROVISIONAL_SECONDS
    assert store.read("job-1") is None and store.read_many(["job-1"]) == [None]
    assert store.existed("job-1") is None
    assert client.zscore(keys.queued(), "job-1") == 1000.0
    assert client.zscore(keys.owner_jobs("alice", "report"), "job-1") == 1000.0
    # When the enqueue is confirmed
    store.commit(record())
    # Then the job is visible and expires with the retention window
    assert store.read("job-1") is not None
    assert PROVISIONAL_SECONDS < client.ttl(keys.job("job-1")) <= RETENTION
    # And a tombstone outlives it, so an expired job answers 410, not 404
    assert client.get(keys.tombstone("job-1")) == "alice"
    assert RETENTION < client.ttl(keys.tombstone("job-1")) <= TOMBSTONE


def test_jobs_are_indexed_per_owner_and_kind(
    submit: Submit, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # Given a report and an import of the same client
    submit("rep", kind="report")
    submit("imp", kind="import", type="sales-csv")
    # Then each is listed under its own kind only
    assert client.zrange(keys.owner_jobs("alice", "report"), 0, -1) == ["rep"]
    assert client.zrange(keys.owner_jobs("alice", "import"), 0, -1) == ["imp"]


def test_read_returns_what_create_wrote(store: JobStore, submit: Submit) -> None:
    # Given a submitted job
    rec = submit()
    # When it is read
    snap = store.read("job-1")
    # Then the record is the one written, and nothing else is known yet
    assert snap is not None
    assert snap.record == rec
    assert snap.celery_meta is None and snap.celery_state is None and snap.result is None
    assert snap.queue_rank == 0
    assert snap.mean_duration is None and snap.worker_slots == 0


def test_read_of_an_unknown_id_is_none(store: JobStore) -> None:
    assert store.read("never-created") is None
    assert store.read_many(["never-created"]) == [None]
    assert store.existed("never-created") is None


def test_read_joins_celerys_result_queue_rank_durations_and_workers(
    store: JobStore,
    submit: Submit,
    ledger: RunLedger,
    registry: WorkerRegistry,
    client: fakeredis.FakeRedis,
    keys: Keys,
) -> None:
    # Given three queued jobs, a Celery result for the second, run times and two workers
    for i, created in enumerate((1.0, 2.0, 3.0)):
        submit(f"job-{i}", created=created)
    meta = {"status": "SUCCESS", "result": {"months": []}, "task_id": "job-1"}
    client.set(keys.celery_meta("job-1"), json.dumps(meta))
    ledger.record_duration("report:yearly-sales", 4.0)
    registry.register("w1@host", 4)
    registry.register("w2@host", 2)
    # When the third job is read
    snap = store.read("job-2")
    # Then the snapshot has everything the status document needs
    assert snap is not None
    assert snap.queue_rank == 2
    assert snap.mean_duration == 4.0
    assert snap.worker_slots == 6
    # And the second job sees its Celery result
    second = store.read("job-1")
    assert second is not None and second.celery_state == "SUCCESS"
    assert second.celery_meta == meta and second.result == {"months": []}


def test_a_worker_that_shut_down_no_longer_counts(
    store: JobStore, submit: Submit, registry: WorkerRegistry
) -> None:
    submit()
    registry.register("w1@host", 4)
    registry.register("w2@host", 2)
    registry.unregister("w1@host")
    snap = store.read("job-1")
    assert snap is not None and snap.worker_slots == 2


def test_run_times_are_kept_per_kind_and_type(
    store: JobStore, submit: Submit, ledger: RunLedger
) -> None:
    # Given a report and a job of another kind whose type has the same name
    submit("rep", kind="report", type="daily")
    submit("other", kind="import", type="daily")
    # When only reports of that type have run times
    ledger.record_duration("report:daily", 5.0)
    # Then only the report's estimate uses them, in a single read and in a batch
    rep, other = store.read("rep"), store.read("other")
    assert rep is not None and rep.mean_duration == 5.0
    assert other is not None and other.mean_duration is None
    [rep_batch, other_batch] = store.read_many(["rep", "other"])
    assert rep_batch is not None and rep_batch.mean_duration == 5.0
    assert other_batch is not None and other_batch.mean_duration is None


def test_read_is_one_eval(store: JobStore, submit: Submit, spy: CommandSpy) -> None:
    # Given a job (and a connection already open, so no handshake is counted)
    submit()
    # When the job's whole state is read
    with spy.recording() as sent:
        snap = store.read("job-1")
    # Then it took exactly one write to the socket: one EVAL (never a missed EVALSHA)
    assert snap is not None
    assert sent == ["EVAL"]


def test_read_many_is_two_round_trips_whatever_the_count(
    store: JobStore, submit: Submit, ledger: RunLedger, spy: CommandSpy
) -> None:
    # Given two jobs, one of them running, and an id without a record
    submit("a", created=1.0)
    submit("b", created=2.0)
    ledger.claim("b", "w1@host", 5000.0)
    store.read_many(["a"])  # Redis has loaded the rank script (once per Redis)
    # When all three are read together
    with spy.recording() as sent:
        snaps = store.read_many(["a", "gone", "b"])
    # Then one pipelined round trip answered, in order, None for the missing one, plus
    # one for the fair-order rank of the queued job
    assert len(sent) == 2
    a, gone, b = snaps
    assert gone is None
    assert a is not None and a.record.id == "a" and a.queue_rank == 0
    assert b is not None and b.record.worker == "w1@host" and b.queue_rank is None


def test_discard_removes_every_trace(
    store: JobStore, submit: Submit, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # Given a job that could not be enqueued
    job = submit()
    client.set(keys.celery_meta(job.id), "{}")
    # When it is discarded
    store.discard(job)
    # Then nothing of it is left: not readable, not queued, not listed, no tombstone
    assert store.read(job.id) is None
    assert store.existed(job.id) is None
    assert client.zscore(keys.queued(), job.id) is None
    assert client.zscore(keys.owner_jobs("alice", "report"), job.id) is None
    assert not client.exists(keys.celery_meta(job.id))


def test_progress_of_reads_the_recorded_steps_of_several_jobs(
    store: JobStore, submit: Submit, ledger: RunLedger, spy: CommandSpy
) -> None:
    # Given a job that reported a step and one that reported none
    submit("a")
    submit("b")
    ledger.step("a", Progress(3, 10, 30))
    # When the ops view asks for both (and for a job that is gone)
    with spy.recording() as sent:
        raw = store.progress_of(["a", "b", "gone"])
    # Then one round trip answers with each job's recorded progress
    assert len(sent) == 1
    assert [Progress.from_json(r) for r in raw] == [Progress(3, 10, 30), None, None]
