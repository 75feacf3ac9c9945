"""ResultShare against fakeredis: results kept for reuse, leaders and their followers."""

from __future__ import annotations

import json
import time

import fakeredis

from jobs.registry import Kinds
from jobs.status import build_status
from jobs.store import JobStore, Keys
from jobs.store.results import ResultShare
from jobs.store.runs import RunLedger
from tests.unit.support import DIGEST, DONE, RESULT, created, lead


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
