"""Operations with real processes: the monitor's history outlives the results' expiry and
restarts of Redis, the monitor and the web.

It restarts the shared ops stack's Redis, monitor and web, so it is the last module to
use that stack (after test_ops.py and test_ops_control.py, by name)."""

from __future__ import annotations

import pytest
import redis
import requests

from tests.integration.client import submit
from tests.integration.conftest import RETENTION, OpsStack

pytestmark = pytest.mark.integration


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
