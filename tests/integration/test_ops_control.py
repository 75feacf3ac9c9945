"""Operations with real processes, what an operator does: grow and shrink a worker's pool,
check a worker's liveness, cancel a running and a queued job.

Shares the session's ops stack with test_ops.py; test_ops_restarts.py (which restarts
Redis, the monitor and the web) sorts after it, as it came last in one module before."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

from tests.integration.client import submit
from tests.integration.conftest import OpsStack

pytestmark = pytest.mark.integration


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
