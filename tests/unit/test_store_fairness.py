"""FairQueue's Lua (fair_submit, fair_take, fair_rank in read): order, bound, quotas, hand-over."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from typing import Any

import pytest

from jobs.store import JobStore, Keys
from jobs.store.fairness import FairQueue, QuotaExceeded, TakeResult
from jobs.store.runs import RunLedger
from jobs.store.workers import WorkerRegistry
from tests.unit.support import RETENTION, TOMBSTONE, record

_ids = itertools.count()


@pytest.fixture
def fair(client: Any, keys: Keys) -> FairQueue:
    WorkerRegistry(client, keys).register("w1", 2)  # two slots: four jobs in flight at most
    return FairQueue(client, keys, RETENTION, TOMBSTONE, 2, 3600)


def submit(
    fair: FairQueue,
    owner: str,
    *,
    weight: int = 1,
    priority: str = "normal",
    limits: tuple[int, int] = (0, 0),
) -> str:
    """Submit one job as the web does (one script: queued, confirmed, handed over); its id."""
    job = record(f"{owner}-{next(_ids)}", owner=owner, created=time.time())
    got = fair.submit(job, weight, priority, limits)
    assert isinstance(got, TakeResult), got
    return job.id


def start_all(fair: FairQueue, ledger: RunLedger, client: Any, keys: Keys) -> list[str]:
    """Workers claim every in-flight job, refilling as they go; the start order."""
    order: list[str] = []
    while True:
        handed = [str(j) for j in client.zrange(keys.in_flight(), 0, -1)]
        if not handed:
            return order
        for job_id in handed:
            ledger.claim(job_id, "w1", time.time() + 60)
            order.append(job_id)
        fair.take()


@pytest.fixture
def ledger(client: Any, keys: Keys) -> RunLedger:
    return RunLedger(client, keys, RETENTION)


def test_only_slots_plus_margin_jobs_are_in_flight(
    fair: FairQueue, client: Any, keys: Keys
) -> None:
    # Given a client that submits 20 jobs onto two slots with a margin of two
    for _ in range(20):
        submit(fair, "a")
    # Then four are handed to the broker and sixteen wait in the client's backlog
    assert client.zcard(keys.in_flight()) == 4
    assert client.zcard(keys.backlog("a")) == 16


def test_a_new_client_waits_behind_the_in_flight_jobs_only(
    fair: FairQueue, ledger: RunLedger, client: Any, keys: Keys
) -> None:
    # Given client A's 100 queued jobs, then client B's one
    for _ in range(100):
        submit(fair, "a")
    b = submit(fair, "b")
    # When the workers start jobs in the order handed over
    order = start_all(fair, ledger, client, keys)
    # Then B's job starts fifth: behind the four A jobs in flight when it came
    assert order.index(b) == 4
    assert len(order) == 101 and len(set(order)) == 101


def test_weighted_clients_start_in_the_ratio_of_their_weights(
    fair: FairQueue, ledger: RunLedger, client: Any, keys: Keys
) -> None:
    # Given three clients of weights 1, 1, 2 with deep backlogs
    for _ in range(60):
        for owner, weight in (("a", 1), ("b", 1), ("c", 2)):
            submit(fair, owner, weight=weight)
    # When 80 jobs start
    order = start_all(fair, ledger, client, keys)[4:84]
    # Then they are 20, 20 and 40 (within one job: the window may cut a round)
    counts = Counter(job_id.split("-")[0] for job_id in order)
    assert abs(counts["a"] - 20) <= 1 and abs(counts["b"] - 20) <= 1
    assert abs(counts["c"] - 40) <= 1


def test_a_high_priority_job_goes_before_the_clients_normal_ones(
    fair: FairQueue, ledger: RunLedger, client: Any, keys: Keys
) -> None:
    # Given 50 normal jobs of one client, then a high one and a low one of the same client
    normal = [submit(fair, "a") for _ in range(50)]
    low = submit(fair, "a", priority="low")
    high = submit(fair, "a", priority="high")
    # When they start
    order = start_all(fair, ledger, client, keys)
    # Then the high one starts right after the jobs already in flight, the low one last
    assert order.index(high) == 4
    assert order[-1] == low and set(order) == {*normal, low, high}


def test_queue_rank_follows_the_fair_order(
    fair: FairQueue, ledger: RunLedger, store: JobStore, client: Any, keys: Keys
) -> None:
    # Given two clients' backlogs and the ranks the store reports for their jobs
    for _ in range(10):
        submit(fair, "a")
    for _ in range(3):
        submit(fair, "b")
    submit(fair, "c", weight=2)
    queued = [str(j) for j in client.zrange(keys.queued(), 0, -1)]
    ranks = {}
    for job_id in queued:
        snap = store.read(job_id)
        assert snap is not None
        ranks[job_id] = snap.queue_rank
    # And a listing reads the same ranks
    listed = store.read_many(queued)
    assert [s.queue_rank for s in listed if s is not None] == [ranks[j] for j in queued]
    # When they all start
    order = start_all(fair, ledger, client, keys)
    # Then each job's rank was its place in the start order
    assert sorted(ranks, key=lambda j: ranks[j]) == order
    assert sorted(ranks.values()) == list(range(len(order)))


def test_unfinished_quota_refuses_one_more_and_admits_after_a_finish(
    fair: FairQueue, ledger: RunLedger, client: Any, keys: Keys
) -> None:
    # Given a client with its limit of 3 unfinished jobs
    jobs = [submit(fair, "a", limits=(3, 0)) for _ in range(3)]
    # When it submits a fourth
    extra = record("a-extra", owner="a", created=time.time())
    over = fair.submit(extra, 1, "normal", (3, 0))
    # Then it is refused with a Retry-After, and nothing of it was written
    assert isinstance(over, QuotaExceeded)
    assert over.quota == "unfinished" and over.retry_after >= 1
    assert not client.exists(keys.job("a-extra"))
    assert client.zscore(keys.backlog("a"), "a-extra") is None
    # And once one job finished, a submission is admitted again
    ledger.claim(jobs[0], "w1", time.time() + 60)
    ledger.finish(jobs[0], "report:yearly-sales", 0.1)
    assert isinstance(fair.submit(extra, 1, "normal", (3, 0)), TakeResult)


def test_rate_quota_counts_a_minute_of_submissions(fair: FairQueue, client: Any) -> None:
    # Given a client allowed 2 submissions per minute, that made 2
    submit(fair, "a", limits=(0, 2))
    submit(fair, "a", limits=(0, 2))
    # When it submits again
    over = fair.submit(record("a-3", owner="a", created=time.time()), 1, "normal", (0, 2))
    # Then it is told to wait until the first falls out of the minute
    assert isinstance(over, QuotaExceeded)
    assert over.quota == "rate" and 55 <= over.retry_after <= 60
    # And another client is not limited by it
    submit(fair, "b", limits=(0, 2))


def test_an_unconfirmed_hand_over_is_published_again_and_a_confirmed_one_is_not(
    fair: FairQueue, client: Any, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two jobs handed over by their submits: one's publish confirmed, the other's
    # process died before it confirmed
    a = record("a-1", owner="a", created=time.time())
    b = record("b-1", owner="b", created=time.time())
    taken = fair.submit(a, 1, "normal", (0, 0))
    assert isinstance(taken, TakeResult) and [j.id for j in taken.jobs] == ["a-1"]
    fair.submit(b, 1, "normal", (0, 0))
    fair.mark([j.id for j in taken.jobs])
    assert {str(j) for j in client.zrange(keys.in_flight(), 0, -1)} == {"a-1", "b-1"}
    # When a hand-over runs after STALE_SECONDS
    monkeypatch.setattr(time, "time", lambda: a.created_at + 30)
    again = fair.take()
    # Then only the unconfirmed one is handed over again
    assert [j.id for j in again.jobs] == ["b-1"]


def test_a_submit_is_queued_confirmed_and_handed_over_in_one_script(
    fair: FairQueue, client: Any, keys: Keys
) -> None:
    # Given a queue with room for four jobs, three already handed over
    for _ in range(3):
        submit(fair, "a")
    # When a client submits one more
    job = record("b-1", owner="b", created=time.time())
    taken = fair.submit(job, 1, "normal", (0, 0))
    # Then its own script handed it over, as the first of its rank, confirmed
    assert isinstance(taken, TakeResult)
    assert [j.id for j in taken.jobs] == ["b-1"] and taken.rank == 3
    assert not client.hexists(keys.job("b-1"), "pending")
    assert client.ttl(keys.job("b-1")) > RETENTION - 10
    # And a fifth waits in its backlog, confirmed too, with its rank
    late = record("b-2", owner="b", created=time.time())
    waits = fair.submit(late, 1, "normal", (0, 0))
    assert isinstance(waits, TakeResult) and waits.jobs == [] and waits.rank == 4
    assert client.zscore(keys.backlog("b"), "b-2") is not None
    assert not client.hexists(keys.job("b-2"), "pending")


def test_a_job_created_for_reuse_waits_in_no_backlog_until_it_is_enqueued(
    fair: FairQueue, store: JobStore, client: Any, keys: Keys
) -> None:
    # Given a job admitted and created provisionally (reuse attaches it first)
    job = record("a-1", owner="a", created=time.time())
    assert fair.admit(job, 1, "normal", (0, 0)) is None
    store.create(job)
    # Then no hand-over can take it yet
    assert fair.take().jobs == []
    # When its web enqueues it
    taken = fair.enqueue(job, 1, "normal")
    # Then the same script confirmed and handed it over
    assert [j.id for j in taken.jobs] == ["a-1"]
    assert not client.hexists(keys.job("a-1"), "pending")


def test_counts_per_client(fair: FairQueue, ledger: RunLedger, client: Any, keys: Keys) -> None:
    # Given client A with 6 jobs (one started) and client B with 1
    jobs = [submit(fair, "a") for _ in range(6)]
    submit(fair, "b")
    ledger.claim(jobs[0], "w1", time.time() + 60)
    # Then the counts say so
    assert fair.counts() == {"a": {"queued": 5, "running": 1}, "b": {"queued": 1, "running": 0}}
