"""Sharing the service fairly (API.md), with real gunicorn, Celery and Redis processes.

One worker with two slots and FAIR_BROKER_MARGIN=2: at most four unstarted jobs sit in
the broker, so a client's first job waits behind at most those four plus one job per
other client with a backlog (README, "Sharing the service fairly").
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests

from devstack.stack import Stack
from tests.integration.stacks import extra_stack, redis_db

pytestmark = pytest.mark.integration

FAIR_DB, QUOTA_DB = 13, 14
KEYS = {"alice": "fair-key-alice", "bob": "fair-key-bob", "carol": "fair-key-carol"}
ADMIN_KEY = "fair-key-ops"
API_KEYS = ",".join(f"{name}:{key}" for name, key in KEYS.items())
SLOTS, MARGIN, JOB_SECONDS = 2, 2, 0.2
NOOP = {"reportType": "noop", "parameters": {"steps": 1, "stepSeconds": JOB_SECONDS}}


def session(client: str) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {KEYS[client]}"
    return s


def post(s: requests.Session, base: str, body: dict[str, Any] | None = None, **kw: Any) -> Any:
    return s.post(f"{base}/api/reports", json=body or NOOP, timeout=10, **kw)


def submit_many(
    s: requests.Session, base: str, n: int, body: dict[str, Any] | None = None
) -> list[str]:
    ids = []
    for _ in range(n):
        resp = post(s, base, body)
        assert resp.status_code == 202, resp.text
        ids.append(resp.json()["id"])
    return ids


def wait_done(store: redis.Redis, ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    left = list(ids)
    while left and time.monotonic() < deadline:
        left = [j for j in left if not store.hexists(f"ar:job:{j}", "finishedAt")]
        time.sleep(0.2)
    assert not left, f"{len(left)} jobs unfinished after {timeout}s"


def started_at(store: redis.Redis, ids: list[str]) -> dict[str, float]:
    pipe = store.pipeline()
    for j in ids:
        pipe.hget(f"ar:job:{j}", "startedAt")
    return {j: float(v) for j, v in zip(ids, pipe.execute(), strict=True) if v}


def clients_stack(
    tmp_path_factory: pytest.TempPathFactory,
    redis_url: str,
    sqlite_url: str,
    name: str,
    db: int,
    **settings: str,
) -> Iterator[Stack]:
    """A web and a worker on Redis database `db`, for the three clients' keys, with the
    noop report and `settings` (the fixtures below `yield from` it)."""
    env = {"ENABLE_DIAGNOSTIC_REPORTS": "1", "API_KEYS": API_KEYS, **settings}
    with extra_stack(tmp_path_factory.mktemp(name), redis_url, db, sqlite_url, env) as s:
        yield s


@pytest.fixture(scope="module")
def fair(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, sqlite_url: str
) -> Iterator[Stack]:
    yield from clients_stack(
        tmp_path_factory,
        redis_url,
        sqlite_url,
        "fair",
        FAIR_DB,
        CLIENT_WEIGHTS="carol:2",
        ADMIN_API_KEYS=f"ops:{ADMIN_KEY}",
        WORKER_CONCURRENCY=str(SLOTS),
        FAIR_BROKER_MARGIN=str(MARGIN),
    )


@pytest.fixture(scope="module")
def store(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_db(redis_url, FAIR_DB), decode_responses=True)
    yield client
    client.close()


def test_one_clients_backlog_does_not_starve_another(fair: Stack, store: redis.Redis) -> None:
    alice, bob = session("alice"), session("bob")
    # Given alice's 300 queued jobs of 0.2 s on two slots (30 s of work)
    backlog = submit_many(alice, fair.base_url, 300)
    # When bob submits one
    t0 = time.monotonic()
    resp = post(bob, fair.base_url)
    assert resp.status_code == 202, resp.text
    job = resp.json()
    # Then its estimate says it starts within a few jobs, where alice's last one does not
    bound_jobs = SLOTS + MARGIN + 1  # the jobs in flight, plus one turn of alice's
    bound = (bound_jobs / SLOTS + 1) * JOB_SECONDS + 2.0  # + hand-over and polling slack
    assert int(job["estimatedTimeRemaining"].split()[0]) <= bound, job
    last = alice.get(f"{fair.base_url}/api/reports/{backlog[-1]}/status", timeout=10).json()
    assert int(last["estimatedTimeRemaining"].split()[0]) >= 20, last
    # And it completes within that bound
    done = bob.get(
        f"{fair.base_url}{resp.headers['Location']}", headers={"Prefer": "wait=10"}, timeout=20
    ).json()
    while done["status"] == "In Progress" and time.monotonic() - t0 < bound:
        done = bob.get(
            f"{fair.base_url}{resp.headers['Location']}", headers={"Prefer": "wait=1"}, timeout=20
        ).json()
    took = time.monotonic() - t0
    assert done["status"] == "Complete" and took <= bound, (took, done)
    # And at most `bound_jobs` of alice's jobs started between its submit and its start
    starts = started_at(store, backlog)
    bob_start = float(store.hget(f"ar:job:{job['id']}", "startedAt") or 0)
    assert bob_start
    submitted = float(store.hget(f"ar:job:{job['id']}", "createdAt") or 0)
    overtaking = [j for j, t in starts.items() if submitted < t < bob_start]
    assert len(overtaking) <= bound_jobs, len(overtaking)
    # And then every one of alice's jobs completes, each run once
    wait_done(store, backlog, timeout=120)
    pipe = store.pipeline()
    for j in backlog:
        pipe.hmget(f"ar:job:{j}", "attempts", "error")
    rows = pipe.execute()
    assert all(r == ["1", None] for r in rows), Counter(tuple(r) for r in rows)


def test_weighted_clients_start_in_the_ratio_of_their_weights(
    fair: Stack, store: redis.Redis
) -> None:
    # Given alice, bob (weight 1) and carol (weight 2) with deep backlogs
    ids: dict[str, list[str]] = {}
    for name in ("alice", "bob", "carol"):
        ids[name] = submit_many(session(name), fair.base_url, 60)
    all_submitted = time.time()
    # When 40 jobs start after the last submission
    every = [j for v in ids.values() for j in v]
    wait_done(store, every, timeout=120)
    starts = sorted(
        (t, name)
        for name, v in ids.items()
        for t in started_at(store, v).values()
        if t > all_submitted
    )[:40]
    # Then they are 10, 10 and 20, each within 2 jobs (a window may cut a round)
    counts = Counter(name for _, name in starts)
    assert abs(counts["alice"] - 10) <= 2, counts
    assert abs(counts["bob"] - 10) <= 2, counts
    assert abs(counts["carol"] - 20) <= 2, counts


def test_a_high_priority_job_starts_before_the_clients_normal_backlog(
    fair: Stack, store: redis.Redis
) -> None:
    alice = session("alice")
    # Given 50 normal jobs of one client
    normal = submit_many(alice, fair.base_url, 50)
    # When it submits a high-priority one
    resp = post(alice, fair.base_url, {**NOOP, "priority": "high"})
    assert resp.status_code == 202, resp.text
    high = resp.json()["id"]
    wait_done(store, [*normal, high], timeout=60)
    # Then it starts next: after at most the jobs already in the broker
    starts = started_at(store, [*normal, high])
    before = [j for j in normal if starts[j] < starts[high]]
    submitted = float(store.hget(f"ar:job:{high}", "createdAt") or 0)
    after_submit = [j for j in before if starts[j] > submitted]
    # The broker's places (SLOTS + MARGIN), plus up to SLOTS jobs claimed in the moment
    # between the web reading the clock for createdAt and its submit script running (their
    # startedAt is later than createdAt, yet they left the broker before the high job came)
    assert len(after_submit) <= SLOTS + MARGIN + SLOTS, len(after_submit)


def test_an_unknown_priority_is_refused(fair: Stack) -> None:
    resp = post(session("alice"), fair.base_url, {**NOOP, "priority": "urgent"})
    assert resp.status_code == 422, resp.text
    assert "priority" in resp.json()["errors"]


def test_ops_counts_queued_and_running_per_client(fair: Stack, store: redis.Redis) -> None:
    # Given alice's backlog of 20 jobs on two slots
    ids = submit_many(session("alice"), fair.base_url, 20)
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    # When the ops API and the metrics are read
    rows = requests.get(f"{fair.base_url}/api/ops/clients", headers=admin, timeout=10)
    text = requests.get(f"{fair.base_url}/metrics", headers=admin, timeout=10)
    # Then they count alice's queued and running jobs
    assert rows.status_code == 200, rows.text
    row = next(r for r in rows.json()["items"] if r["client"] == "alice")
    assert row["queued"] + row["running"] >= 15 and row["running"] <= SLOTS, row
    assert text.status_code == 200, text.text
    assert 'async_reports_client_jobs{client="alice",state="queued"}' in text.text
    wait_done(store, ids, timeout=60)


@pytest.fixture(scope="module")
def quota(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, sqlite_url: str
) -> Iterator[Stack]:
    yield from clients_stack(
        tmp_path_factory,
        redis_url,
        sqlite_url,
        "quota",
        QUOTA_DB,
        CLIENT_MAX_UNFINISHED="3",
        CLIENT_SUBMITS_PER_MINUTE="6",
    )


def assert_quota(resp: requests.Response, which: str) -> int:
    assert resp.status_code == 429, resp.text
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    problem = resp.json()
    assert problem["type"].endswith("quota") and which in problem["type"], problem
    return int(resp.headers["Retry-After"])


def test_quotas_refuse_with_429_and_admit_again(quota: Stack, redis_url: str) -> None:
    store = redis.Redis.from_url(redis_db(redis_url, QUOTA_DB), decode_responses=True)
    bob = session("bob")
    slow = {"reportType": "noop", "parameters": {"steps": 1, "stepSeconds": 1.0}}
    # Given bob's three unfinished jobs, the limit
    first = post(bob, quota.base_url, slow, headers={"Idempotency-Key": "q-1"})
    assert first.status_code == 202, first.text
    jobs = [first.json()["id"], *submit_many(bob, quota.base_url, 2, slow)]
    # When he submits a fourth
    refused = post(bob, quota.base_url, slow)
    # Then it is refused with Retry-After, and nothing was queued for it
    assert assert_quota(refused, "unfinished") >= 1
    assert store.zcard("ar:owner:bob:report") == 3
    # And a repeat of an accepted job (Idempotency-Key) is its job, not a new one
    again = post(bob, quota.base_url, slow, headers={"Idempotency-Key": "q-1"})
    assert again.status_code == 202 and again.json()["id"] == jobs[0], again.text
    # And another client is not limited by bob's jobs
    assert post(session("carol"), quota.base_url, slow).status_code == 202
    # And once some finished, bob's submissions are accepted again
    wait_done(store, jobs, timeout=30)
    more = submit_many(bob, quota.base_url, 3, slow)  # 6 accepted in this minute
    # Then the rate limit (6 a minute) refuses the seventh, and says when to come back
    wait_done(store, more, timeout=30)
    retry = assert_quota(post(bob, quota.base_url, slow), "rate")
    assert 1 <= retry <= 60
    # And after Retry-After seconds it is accepted again
    time.sleep(retry + 0.5)
    assert post(bob, quota.base_url, slow).status_code == 202
    store.close()


def test_an_import_takes_its_priority_in_the_query(fair: Stack, store: redis.Redis) -> None:
    alice = session("alice")
    header = "sold_at,region,product,category,customer_id,quantity,unit_price\n"
    bad_row = "not-a-time,North,Widget,Tools,1,1,1.00\n"  # fails: the data stays as it was
    url = f"{fair.base_url}/api/imports"
    csv = {"Content-Type": "text/csv"}
    # Given an import with an unknown priority: refused before its body is read
    refused = alice.post(url, params={"priority": "urgent"}, data=header, headers=csv, timeout=10)
    assert refused.status_code == 422, refused.text
    assert "priority" in refused.json()["errors"]
    # And one with a known priority: accepted (it then fails on its bad row)
    resp = alice.post(
        url, params={"priority": "high"}, data=header + bad_row, headers=csv, timeout=10
    )
    assert resp.status_code == 202, resp.text
    wait_done(store, [resp.json()["id"]], timeout=30)
