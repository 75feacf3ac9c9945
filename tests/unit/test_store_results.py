"""ResultShare (results kept for reuse, leaders and followers) against fakeredis, and the
parts of reuse that need no processes: normalised digests, status fields, data versions."""

from __future__ import annotations

import json
import time

import fakeredis
import pytest

from app.services.backend import Backend
from app.services.reuse import digest
from jobs.kinds import JobKind, Submission
from jobs.problems import NOT_STARTED, WORKER_LOST
from jobs.registry import Kinds
from jobs.status import build_status
from jobs.store import JobRecord, JobStore, Keys, Progress
from jobs.store.results import ResultShare
from jobs.store.runs import RunLedger
from tests.unit.support import RETENTION, TOMBSTONE, record

KEEP = 600
DIGEST = "d" * 64
RESULT = {"reportType": "yearly-sales", "totals": {"revenue": 1234567.89, "orders": 3}}
DONE = Progress(4, 4, 100)


@pytest.fixture
def shares(client: fakeredis.FakeRedis, keys: Keys) -> ResultShare:
    return ResultShare(client, keys, RETENTION, KEEP, TOMBSTONE, leader_seconds=900)


@pytest.fixture
def worker(client: fakeredis.FakeRedis, keys: Keys, shares: ResultShare) -> RunLedger:
    return RunLedger(client, keys, RETENTION, shares)


def created(store: JobStore, job_id: str, owner: str = "alice", **fields: object) -> JobRecord:
    """A job the web just created (provisional), as submit.enqueue has it before reuse."""
    rec = record(job_id, owner=owner, created=time.time(), **fields)  # type: ignore[arg-type]
    store.create(rec)
    return rec


def lead(store: JobStore, shares: ResultShare, job_id: str = "lead") -> JobRecord:
    rec = created(store, job_id)
    assert shares.attach(rec, DIGEST, fresh=False).outcome == "lead"
    store.commit(rec)
    return rec


def test_a_kept_result_answers_a_new_job_of_its_own_complete_at_once(
    store: JobStore, shares: ResultShare, worker: RunLedger, kinds: Kinds
) -> None:
    # Given a job that computed a result for the digest
    lead(store, shares)
    worker.claim("lead", "w1", time.time() + 60)
    worker.finish("lead", "report:yearly-sales", 1.0, progress=DONE)
    worker.succeeded("lead", RESULT, DONE, keep=True, changes_data=False)
    # When bob submits the identical request
    bobs = created(store, "bob-job", owner="bob")
    attached = shares.attach(bobs, DIGEST, fresh=False)
    # Then his job is Complete now, his own, with the same figures, cached, computedAt set
    assert attached.outcome == "hit" and attached.source == "lead"
    snap = store.read("bob-job")
    assert snap is not None and snap.record.owner == "bob"
    view = build_status(snap, kinds["report"])
    assert view.document["status"] == "Complete"
    assert view.document["cached"] is True and view.document["computedAt"]
    assert view.document["progress"]["percent"] == 100
    assert snap.result == RESULT


def test_forgetting_the_computing_job_leaves_the_reused_one_whole(
    store: JobStore, shares: ResultShare, worker: RunLedger
) -> None:
    # Given alice's job computed a result and bob's job was answered from it
    alices = lead(store, shares)
    worker.finish("lead", "report:yearly-sales", 1.0, progress=DONE)
    worker.succeeded("lead", RESULT, DONE, keep=True, changes_data=False)
    shares.attach(created(store, "bob-job", owner="bob"), DIGEST, fresh=False)
    # When alice forgets hers
    store.forget(alices)
    # Then bob's still has its record and result, and the result is still kept
    snap = store.read("bob-job")
    assert snap is not None and snap.result == RESULT
    assert shares.attach(created(store, "carol"), DIGEST, fresh=False).outcome == "hit"


def test_no_cache_leads_a_new_computation_even_with_a_kept_result(
    store: JobStore, shares: ResultShare, worker: RunLedger
) -> None:
    # Given a kept result
    lead(store, shares)
    worker.succeeded("lead", RESULT, DONE, keep=True, changes_data=False)
    # When a job asks for a fresh computation
    fresh = created(store, "fresh")
    # Then it leads (it will compute), and its record says under which digest to keep it
    assert shares.attach(fresh, DIGEST, fresh=True).outcome == "lead"
    snap = store.read("fresh")
    assert snap is None  # still provisional until its enqueue is committed
    store.commit(fresh)
    after = store.read("fresh")
    assert after is not None and after.record.reuse == DIGEST and not after.record.cached


def test_followers_of_a_running_job_complete_with_its_result(
    store: JobStore, shares: ResultShare, worker: RunLedger, kinds: Kinds
) -> None:
    # Given a job computing the digest, and two identical requests while it runs
    lead(store, shares)
    worker.claim("lead", "w1", time.time() + 60)
    followers = [created(store, f"f{i}", owner=f"client{i}") for i in range(2)]
    outcomes = [shares.attach(f, DIGEST, fresh=False) for f in followers]
    assert [a.outcome for a in outcomes] == ["follow", "follow"]
    waiting = store.read("f0")
    assert waiting is not None
    assert build_status(waiting, kinds["report"]).document["state"] == "queued"
    # When the leader succeeds
    worker.finish("lead", "report:yearly-sales", 1.0, progress=DONE)
    worker.succeeded("lead", RESULT, DONE, keep=True, changes_data=False)
    # Then each follower is Complete with its own copy of the result
    for f in followers:
        snap = store.read(f.id)
        assert snap is not None and snap.result == RESULT
        doc = build_status(snap, kinds["report"]).document
        assert doc["status"] == "Complete" and doc["cached"] is True and doc["computedAt"]


def test_followers_of_a_failed_job_fail_with_its_error(
    store: JobStore, shares: ResultShare, worker: RunLedger, kinds: Kinds
) -> None:
    # Given a follower of a running job
    lead(store, shares)
    worker.claim("lead", "w1", time.time() + 60)
    shares.attach(created(store, "f0", owner="bob"), DIGEST, fresh=False)
    # When the leader fails
    error = {"type": "about:blank#x", "title": "The report could not be produced", "detail": "d"}
    worker.finish("lead", "report:yearly-sales", None, error)
    # Then the follower fails with the same error, and the next request computes anew
    snap = store.read("f0")
    assert snap is not None
    doc = build_status(snap, kinds["report"]).document
    assert doc["status"] == "Failed" and doc["error"]["title"] == error["title"]
    assert shares.attach(created(store, "next"), DIGEST, fresh=False).outcome == "lead"


def test_a_cancelled_leader_hands_its_followers_to_the_oldest_of_them(
    store: JobStore, shares: ResultShare, worker: RunLedger, keys: Keys
) -> None:
    # Given a leader and two followers, the first submitted first
    lead(store, shares)
    first = created(store, "f-first")
    shares.attach(first, DIGEST, fresh=False)
    second = created(store, "f-second")
    second.created_at += 1
    shares.attach(second, DIGEST, fresh=False)
    # When the leader's owner cancels it
    store.request_cancel("lead", queued=True)
    new = shares.handover("lead")
    # Then the oldest follower leads now (it computes), and the other follows it
    assert new == "f-first"
    promoted = store.read("f-first")
    assert promoted is not None
    assert promoted.record.follows is None and not promoted.record.cached
    assert promoted.record.reuse == DIGEST
    assert promoted.queue_rank is not None
    follower = store.read("f-second")
    assert follower is not None and follower.record.follows == "f-first"
    # And when the new leader succeeds, the remaining follower completes
    worker.succeeded("f-first", RESULT, DONE, keep=True, changes_data=False)
    done = store.read("f-second")
    assert done is not None and done.result == RESULT


def test_a_cancelled_follower_is_not_completed_and_others_are(
    store: JobStore, shares: ResultShare, worker: RunLedger
) -> None:
    # Given two followers, one cancelled by its owner
    lead(store, shares)
    for job_id in ("keep", "gone"):
        shares.attach(created(store, job_id), DIGEST, fresh=False)
    store.request_cancel("gone", queued=True)
    # When the leader succeeds
    worker.succeeded("lead", RESULT, DONE, keep=True, changes_data=False)
    # Then only the live follower got the result
    kept, gone = store.read("keep"), store.read("gone")
    assert kept is not None and kept.result == RESULT
    assert gone is not None and gone.result is None and gone.record.cancel_requested


def test_a_leader_past_its_run_deadline_is_not_followed(
    store: JobStore, shares: ResultShare, worker: RunLedger
) -> None:
    # Given a leader whose worker vanished (its run deadline has passed)
    lead(store, shares)
    worker.claim("lead", "w1", deadline=time.time() - 1)
    # When an identical request comes
    # Then it computes itself rather than wait for a lost job
    assert shares.attach(created(store, "next"), DIGEST, fresh=False).outcome == "lead"


def test_a_completed_import_makes_the_cached_version_stale(
    shares: ResultShare, worker: RunLedger
) -> None:
    # Given a data version cached by the web
    generation, token, _ = shares.cached_version(60)
    assert token is None
    shares.remember_version(generation, "42.100.100", 60)
    assert shares.cached_version(60) == (generation, "42.100.100", False)
    # When a worker completes a job that changes the data
    worker.succeeded("imp", {"rowsImported": 1}, DONE, keep=False, changes_data=True)
    # Then the cached version no longer counts
    assert shares.cached_version(60)[1] is None


def test_a_cached_version_is_stale_after_its_interval_and_gone_after_twice(
    shares: ResultShare, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # Given a version cached for 60 s
    shares.remember_version("0", "7.1.1", 60)
    # Then it expires by itself after twice that
    assert 60_000 < client.pttl(keys.data_version()) <= 120_000
    # And once older than 60 s it is still given, marked stale
    value = client.get(keys.data_version())
    assert value is not None
    generation, _, token = value.split("|", 2)
    client.set(keys.data_version(), f"{generation}|{time.time() - 61!r}|{token}")
    assert shares.cached_version(60) == ("0", "7.1.1", True)
    # And only one process at a time may read it again
    assert shares.claim_version_read(60) is True
    assert shares.claim_version_read(60) is False


def test_results_of_jobs_that_are_not_leaders_are_not_kept(
    store: JobStore, shares: ResultShare, worker: RunLedger, client: fakeredis.FakeRedis
) -> None:
    # Given a job that did not go through reuse (no digest on its record)
    rec = created(store, "plain")
    store.commit(rec)
    # When it succeeds
    assert shares.completed("plain", RESULT, DONE) == -1
    # Then nothing is kept
    assert not client.keys("test:reuse:*")


def test_the_copied_result_keeps_every_figure_exactly(
    store: JobStore, shares: ResultShare, worker: RunLedger, client: fakeredis.FakeRedis
) -> None:
    # Given a result with figures that a lossy encoder would round
    result = {"revenue": 123456789.123456, "share": 0.1 + 0.2, "rows": [[1, "a"]]}
    lead(store, shares)
    worker.succeeded("lead", result, DONE, keep=True, changes_data=False)
    # When a new job is answered from it
    shares.attach(created(store, "again"), DIGEST, fresh=False)
    # Then its result is equal, value for value
    raw = client.get("celery-task-meta-again")
    assert raw is not None and json.loads(raw)["result"] == result


def key(kind: JobKind, submission: Submission, version: str) -> str:
    parameters = kind.normalised(submission)
    assert parameters is not None
    return digest(kind, parameters, submission.type, version)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"year": "2023"}, {"year": 2023}),
        ({"year": "2023", "quarter": None}, {"year": 2023}),
    ],
)
def test_parameters_are_compared_as_the_type_reads_them(
    kinds: Kinds, a: dict[str, object], b: dict[str, object]
) -> None:
    # Given two requests for the same report written differently
    kind = kinds["report"]
    one = Submission("region-breakdown", a, "x")
    two = Submission("region-breakdown", b, "y")
    # Then they have one digest, which a different year or data version does not share
    assert key(kind, one, "v1") == key(kind, two, "v1")
    assert key(kind, one, "v1") != key(kind, one, "v2")
    other = Submission("region-breakdown", {"year": 2024}, "z")
    assert key(kind, one, "v1") != key(kind, other, "v1")


def test_top_products_defaults_are_filled_before_comparing(kinds: Kinds) -> None:
    kind = kinds["report"]
    short = Submission("top-products", {"from": "2023-01-01", "to": "2023-03-31"}, "x")
    full = Submission(
        "top-products", {"from": "2023-01-01", "to": "2023-03-31", "limit": "10"}, "y"
    )
    assert key(kind, short, "v") == key(kind, full, "v")


def test_the_diagnostic_noop_is_shared_only_when_it_asks(kinds: Kinds) -> None:
    kind = kinds["report"]
    assert kind.normalised(Submission("noop", {"steps": 2}, "x")) is None
    shared = kind.normalised(Submission("noop", {"steps": "2", "reuse": True}, "y"))
    assert shared is not None and shared["steps"] == 2


def test_imports_are_never_reused_and_reports_are(kinds: Kinds) -> None:
    assert kinds["report"].deterministic and not kinds["report"].changes_data
    assert not kinds["import"].deterministic and kinds["import"].changes_data


def test_a_follower_of_a_leader_lost_with_its_worker_fails_when_read(
    store: JobStore, shares: ResultShare, worker: RunLedger, backend: Backend
) -> None:
    # Given a follower of a leader whose worker vanished (its run deadline passed)
    lead(store, shares)
    shares.attach(created(store, "f0", owner="bob"), DIGEST, fresh=False)
    worker.claim("lead", "w1", deadline=time.time() - 1)
    # When the follower's client polls it (nobody reads the leader)
    snap = backend.read("f0")
    # Then the leader is failed by the deadline check, and the follower with it
    assert snap is not None and snap.record.error is not None
    assert snap.record.error["title"] == WORKER_LOST["title"]
    leader = store.read("lead")
    assert leader is not None and leader.record.error is not None


def test_a_follower_of_a_leader_that_was_never_enqueued_fails_when_read(
    store: JobStore, shares: ResultShare, backend: Backend
) -> None:
    # Given a follower attached to a leader whose enqueue then failed (it was discarded)
    rec = created(store, "lead")
    shares.attach(rec, DIGEST, fresh=False)
    shares.attach(created(store, "f0", owner="bob"), DIGEST, fresh=False)
    store.discard(rec)
    # When the follower is read
    snap = backend.read("f0")
    # Then it has an outcome of its own: failed, saying to submit again
    assert snap is not None and snap.record.error is not None
    assert snap.record.error["title"] == NOT_STARTED["title"]


def test_a_follower_of_a_leader_still_being_enqueued_waits_for_it(
    store: JobStore, shares: ResultShare, client: fakeredis.FakeRedis, backend: Backend
) -> None:
    # Given a follower that attached while the leader's own submit was still enqueueing
    # it (the leader's record provisional: bench.reuse's ten concurrent submits on 10M
    # rows saw nine followers failed as "lost before it ran" in that window)
    rec = created(store, "lead")
    shares.attach(rec, DIGEST, fresh=False)
    shares.attach(created(store, "f0", owner="bob"), DIGEST, fresh=False)
    # When the follower is read before the leader's enqueue is confirmed
    snap = backend.read("f0")
    # Then it is still waiting for the leader, not failed
    assert snap is not None and snap.record.error is None and snap.record.finished_at is None
    # And once the leader is enqueued and has succeeded, the follower gets its result
    store.commit(rec)
    client.set("celery-task-meta-lead", json.dumps({"status": "SUCCESS", "result": RESULT}))
    client.hset("test:job:lead", "finishedAt", repr(time.time()))
    done = backend.read("f0")
    assert done is not None and done.result == RESULT


def test_a_follower_gets_the_result_even_if_the_worker_could_not_pass_it_on(
    store: JobStore, shares: ResultShare, client: fakeredis.FakeRedis, backend: Backend
) -> None:
    # Given a follower, and a leader that succeeded without passing its result on
    lead(store, shares)
    shares.attach(created(store, "f0", owner="bob"), DIGEST, fresh=False)
    client.set("celery-task-meta-lead", json.dumps({"status": "SUCCESS", "result": RESULT}))
    client.hset("test:job:lead", "finishedAt", repr(time.time()))
    # When the follower is read
    snap = backend.read("f0")
    # Then it is Complete with the leader's result
    assert snap is not None and snap.result == RESULT
