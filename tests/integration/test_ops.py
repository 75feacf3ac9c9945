"""Operations with real processes: two workers, the monitor, the ops API and /metrics."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from jobs.celery_config import DEFAULT_QUEUE
from tests.integration.client import submit
from tests.integration.conftest import RETENTION, OpsStack

pytestmark = pytest.mark.integration
QUEUE_DEPTH = ("async_reports_queue_depth", (("queue", DEFAULT_QUEUE),))

NOOP_OK = {"steps": 2, "stepSeconds": 0.5}  # at least 1.0 s of run time
NOOP_FAIL = {"steps": 2, "stepSeconds": 0.5, "failAtStep": 1}  # fails before sleeping


def metrics(base_url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics as {(name, sorted labels): value}."""
    resp = requests.get(f"{base_url}/metrics", timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def finished_jobs(ops: OpsStack, ids: set[str]) -> list[dict] | None:
    """The history rows of `ids` once every one of them is terminal."""
    rows = ops.ops("/jobs", params={"limit": 500}).json()["items"]
    mine = [r for r in rows if r["id"] in ids]
    done = [r for r in mine if r["state"] in {"succeeded", "failed", "cancelled"}]
    return done if len(done) == len(ids) else None


def test_two_workers_backlog_durations_and_failures(ops_stack: OpsStack) -> None:
    ops = ops_stack
    # Given two single-process workers, seen by the ops API and /metrics
    workers = ops.wait_for(
        lambda: (
            [w for w in ops.ops("/workers").json()["items"] if w["online"] and w["lastHeartbeat"]]
            if len(
                [
                    w
                    for w in ops.ops("/workers").json()["items"]
                    if w["online"] and w["lastHeartbeat"]
                ]
            )
            == 2
            else None
        ),
        what="two workers with heartbeats",
    )
    assert {w["poolSize"] for w in workers} == {1}
    assert all(w["heartbeatAge"] < 30 for w in workers)
    before = metrics(ops.base_url)
    assert before[("async_reports_workers_online", ())] == 2
    started = time.time()

    # When ten jobs arrive at once: eight succeed after 1 s of work, two fail at once
    ids = []
    for params in [NOOP_OK] * 8 + [NOOP_FAIL] * 2:
        resp = submit(ops.base_url, "noop", params)
        assert resp.status_code == 202, resp.text
        ids.append(resp.headers["Location"].split("/")[3])

    # Then the queue depth shows the backlog while it drains, then zero
    depths_api: list[int] = []
    depths_metrics: list[float] = []
    rows = None
    deadline = time.monotonic() + 90
    while rows is None:
        assert time.monotonic() < deadline, (depths_api, depths_metrics)
        depths_api.append(ops.ops("/queues").json()["items"][0]["depth"])
        depths_metrics.append(metrics(ops.base_url)[QUEUE_DEPTH])
        rows = finished_jobs(ops, set(ids))
        time.sleep(0.2)
    # Two slots take two jobs; the other eight wait at least until the first of those ends.
    assert max(depths_api) >= 1 and max(depths_metrics) >= 1, (depths_api, depths_metrics)
    ops.wait_for(
        lambda: (
            ops.ops("/queues").json()["items"][0]["depth"] == 0
            and metrics(ops.base_url)[("async_reports_queue_depth", (("queue", DEFAULT_QUEUE),))]
            == 0
        ),
        what="an empty queue",
    )

    # And the history records every job with its outcome and duration
    succeeded = [r for r in rows if r["state"] == "succeeded"]
    failed = [r for r in rows if r["state"] == "failed"]
    assert len(succeeded) == 8 and len(failed) == 2
    assert all(r["duration"] >= 1.0 for r in succeeded)  # two sleeps of 0.5 s
    assert {r["worker"] for r in rows} == {w["hostname"] for w in workers}  # both worked

    # And the statistics match the jobs the test ran
    # (the window starts when this test did: other tests' jobs stay out)
    stats = ops.ops("/stats", params={"window": int(time.time() - started) + 1}).json()
    noop = stats["types"]["report:noop"]
    assert (noop["succeeded"], noop["failed"], noop["finished"]) == (8, 2, 10)
    assert noop["failureRate"] == 0.2
    durations = sorted(r["duration"] for r in succeeded)
    assert noop["duration"]["count"] == 8
    assert noop["duration"]["p50"] == pytest.approx((durations[3] + durations[4]) / 2, abs=1e-3)
    assert noop["duration"]["max"] == pytest.approx(durations[-1], abs=1e-3)
    assert stats["byType"]["report:noop"] == {"succeeded": 8, "failed": 2}

    # And recent failures carry the error the client was shown
    failures = ops.ops("/failures").json()["items"]
    failures = [f for f in failures if f["id"] in ids]
    assert {f["id"] for f in failures} == {r["id"] for r in failed}
    for f in failures:
        assert f["error"]["title"] and "asked to fail at step 1" in f["error"]["detail"]

    # And /metrics agrees: submissions, outcomes and the duration histogram grew by
    # exactly this test's jobs
    m = metrics(ops.base_url)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return m.get(key, 0.0) - before.get(key, 0.0)

    assert grew("async_reports_jobs_submitted_total", kind="report", type="noop") == 10
    finished = "async_reports_jobs_finished_total"
    assert grew(finished, outcome="succeeded", kind="report", type="noop") == 8
    assert grew(finished, outcome="failed", kind="report", type="noop") == 2
    all_durations = [r["duration"] for r in rows]
    for le in ("0.5", "1.0", "2.5", "10.0", "+Inf"):
        bound = float("inf") if le == "+Inf" else float(le)
        got = grew("async_reports_job_duration_seconds_bucket", le=le, kind="report", type="noop")
        assert got == sum(d <= bound for d in all_durations), le
    assert grew("async_reports_job_duration_seconds_count", kind="report", type="noop") == 10
    assert grew(
        "async_reports_job_duration_seconds_sum", kind="report", type="noop"
    ) == pytest.approx(sum(all_durations), abs=1e-3)


def test_status_polls_and_not_modified_are_counted(ops_stack: OpsStack) -> None:
    # Given a finished job
    resp = submit(ops_stack.base_url, "noop", {"steps": 1})
    location = resp.headers["Location"]
    before = metrics(ops_stack.base_url)

    def key(code: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        return ("async_reports_status_polls_total", (("code", code), ("kind", "report")))

    # When a client polls three times, twice with the current ETag
    first = requests.get(ops_stack.base_url + location, timeout=10)
    etag = first.headers["ETag"]
    codes = [first.status_code]
    for _ in range(2):
        codes.append(
            requests.get(
                ops_stack.base_url + location, headers={"If-None-Match": etag}, timeout=10
            ).status_code
        )
    # Then every answer is counted by its code
    after = metrics(ops_stack.base_url)
    for code in {"200", "304"}:
        got = after.get(key(code), 0.0) - before.get(key(code), 0.0)
        assert got == codes.count(int(code)), (code, codes)


def test_request_id_is_returned_and_reaches_the_worker_log(ops_stack: OpsStack) -> None:
    # Given a request id chosen by the client
    rid = "ops-test-" + str(time.time_ns())
    resp = submit(ops_stack.base_url, "noop", {"steps": 1}, headers={"X-Request-ID": rid})
    # Then the response returns it
    assert resp.headers["X-Request-ID"] == rid
    job_id = resp.headers["Location"].split("/")[3]

    # And a worker logs JSON lines carrying both the job id and the request id
    def worker_lines() -> list[dict]:
        lines = []
        for label in ("worker0", "worker1"):
            for line in ops_stack.stack.log(label).splitlines():
                if rid in line and line.startswith("{"):
                    lines.append(json.loads(line))
        return lines

    lines = ops_stack.wait_for(worker_lines, what="a worker log line with the request id")
    assert all(line["job_id"] == job_id for line in lines)
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    # And a made-up id is replaced, not echoed
    bad = requests.get(
        f"{ops_stack.base_url}/healthz", headers={"X-Request-ID": "x" * 500}, timeout=5
    )
    assert bad.headers["X-Request-ID"] != "x" * 500 and len(bad.headers["X-Request-ID"]) == 32


def test_worker_pool_grows_and_shrinks(ops_stack: OpsStack) -> None:
    host = ops_stack.workers[0]
    url = f"{ops_stack.base_url}/api/ops/workers/{host}/pool"

    def pool_size() -> int:
        time.sleep(2.1)  # past the inspect cache
        return next(w for w in ops_stack.ops("/workers").json()["items"] if w["hostname"] == host)[
            "poolSize"
        ]

    resp = requests.post(url, json={"action": "grow", "n": 1}, timeout=10)
    assert resp.status_code == 200, resp.text
    assert ops_stack.wait_for(lambda: pool_size() == 2, timeout=20, what="pool of 2")
    resp = requests.post(url, json={"action": "shrink", "n": 1}, timeout=10)
    assert resp.status_code == 200, resp.text
    assert ops_stack.wait_for(lambda: pool_size() == 1, timeout=20, what="pool of 1")
    # An unknown worker is a 404 problem
    resp = requests.post(
        f"{ops_stack.base_url}/api/ops/workers/nobody@nowhere/pool",
        json={"action": "grow"},
        timeout=10,
    )
    assert resp.status_code == 404 and resp.headers["Content-Type"] == "application/problem+json"


def test_worker_liveness_command(ops_stack: OpsStack, tmp_path) -> None:
    heartbeat = ops_stack.stack.env  # noqa: F841 - the files are per worker, found below
    files = list(ops_stack.stack.log_dir.parent.glob("*.heartbeat"))
    assert files
    ok = subprocess.run(
        [sys.executable, "-m", "worker.liveness"],
        env={
            "WORKER_HEARTBEAT_FILE": str(files[0]),
            "WORKER_HEARTBEAT_MAX_AGE": "30",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        cwd=str(ops_stack.stack.log_dir.parent.parent),
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "worker.liveness"],
        env={"WORKER_HEARTBEAT_FILE": str(tmp_path / "none"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 1


def test_ops_cancel_stops_a_running_and_a_queued_job(ops_stack: OpsStack) -> None:
    base = ops_stack.base_url

    def state(job_id: str) -> str | None:
        resp = ops_stack.ops(f"/jobs/{job_id}")
        return resp.json()["state"] if resp.status_code == 200 else None

    def cancel(job_id: str) -> requests.Response:
        return requests.post(f"{base}/api/ops/jobs/{job_id}/cancel", timeout=10)

    # Given both workers busy with long jobs and one more job waiting (20 s each: the
    # monitor's history must see them running, and on a loaded machine running four test
    # sessions its events lagged more than the 6 s jobs this test had before)
    busy = [
        submit(base, "noop", {"steps": 20, "stepSeconds": 1.0}).headers["Location"].split("/")[3]
        for _ in range(2)
    ]
    waiting = submit(base, "noop", {"steps": 1}).headers["Location"].split("/")[3]
    ops_stack.wait_for(lambda: state(busy[0]) == "running", what="a running job")
    # When an operator cancels the running job and the waiting one
    assert cancel(busy[0]).status_code == 202
    assert cancel(waiting).status_code == 202
    # Then both end cancelled in the history: the running one at its next step, the
    # waiting one without ever running
    for job_id in (busy[0], waiting):
        ended = ops_stack.wait_for(
            lambda j=job_id: state(j) in {"cancelled", "succeeded", "failed"} and state(j),
            what="the cancelled jobs to end",
        )
        assert ended == "cancelled", job_id
    history = ops_stack.ops(f"/jobs/{waiting}").json()
    assert "task-started" not in [e["type"] for e in history["events"]]
    assert "task-revoked" in [e["type"] for e in history["events"]]
    # And cancelling a finished job is a 409
    assert cancel(waiting).status_code == 409
    ops_stack.wait_for(lambda: state(busy[1]) == "succeeded", what="the other job to finish")


def test_history_outlives_results_and_restarts_of_redis_monitor_and_web(
    ops_stack: OpsStack,
) -> None:
    ops = ops_stack
    client = redis.Redis.from_url(ops.redis_url)
    # Given a finished job
    resp = submit(ops.base_url, "noop", {"steps": 1})
    job_id = resp.headers["Location"].split("/")[3]
    before = ops.wait_for(
        lambda: (
            (r := ops.ops(f"/jobs/{job_id}")).status_code == 200
            and r.json()["state"] == "succeeded"
            and r.json()
        ),
        what="the job in the history",
    )
    # When its result and record expire (JOB_RETENTION_SECONDS)
    ops.wait_for(
        lambda: not client.exists(f"celery-task-meta-{job_id}", f"ar:job:{job_id}"),
        timeout=RETENTION * 4,
        what="the result to expire",
    )
    assert requests.get(ops.base_url + resp.headers["Location"], timeout=10).status_code in (
        404,
        410,
    )
    # And Redis restarts under the running monitor, which must reconnect
    # (the workers' consumers reconnect; whether they answer pings again at once is
    # not this test's concern, so it waits for work to be done instead)
    ops.restart_redis()
    after_redis = ops.wait_for(
        lambda: (r := submit(ops.base_url, "noop", {"steps": 1})).status_code == 202 and r,
        what="a submission accepted after the Redis restart",
    )
    new_id = after_redis.headers["Location"].split("/")[3]
    ops.wait_for(
        lambda: (
            ops.ops(f"/jobs/{new_id}").status_code == 200
            and ops.ops(f"/jobs/{new_id}").json()["state"] == "succeeded"
        ),
        timeout=90,
        what="the monitor to record a job after the Redis restart",
    )
    # And the monitor and the web process restart
    ops.stack.stop("monitor")
    ops.stack.stop("web")
    ops.stack.start("monitor")
    ops.stack.start("web")
    ops.wait_web()
    # Then the history still has both jobs, events and all
    after = ops.ops(f"/jobs/{job_id}").json()
    assert after == before
    assert [e["type"] for e in after["events"]][-1] == "task-succeeded"
    assert ops.ops(f"/jobs/{new_id}").json()["state"] == "succeeded"
    stats = ops.ops("/stats", params={"window": 3600}).json()
    assert stats["types"]["report:noop"]["succeeded"] >= 2
