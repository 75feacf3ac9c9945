"""Operations with real processes, what they count: two workers, the monitor's history,
the ops API's stats and failures, /metrics, and the request id in the worker log."""

from __future__ import annotations

import json
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from jobs.celery_config import DEFAULT_QUEUE
from tests.integration.client import submit
from tests.integration.conftest import OpsStack

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
