"""Poison messages never crash a worker nor block the queue."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from kombu import Connection

from jobs.celery_config import DEFAULT_QUEUE
from tests import brokers
from tests.faults.harness import FaultStack

pytestmark = pytest.mark.faults


def task_headers(task: str, task_id: str) -> dict[str, Any]:
    """Celery protocol 2 headers for a message of `task`."""
    return {
        "lang": "py",
        "task": task,
        "id": task_id,
        "root_id": task_id,
        "parent_id": None,
        "group": None,
        "retries": 0,
        "timelimit": [None, None],
        "eta": None,
        "expires": None,
        "argsrepr": "",
        "kwargsrepr": "",
        "origin": "fault-test",
        "ignore_result": False,
    }


def body(args: list[Any]) -> str:
    return json.dumps([args, {}, {"callbacks": None, "errbacks": None, "chain": None}])


def test_poison_messages_are_discarded_and_good_jobs_behind_them_complete(
    fault_stack: Callable[..., FaultStack],
) -> None:
    # Given a worker and, ahead of any good job, a queue full of bad messages
    fs = fault_stack(workers=1, WORKER_CONCURRENCY="1")
    worker = fs.workers[0]
    main_pid = fs.worker_pid(worker)
    bad: list[dict[str, Any]] = [
        # an unknown task name
        {"body": body([]), "headers": task_headers("reports.no_such_report", str(uuid.uuid4()))},
        # a body that is not JSON at all
        {"body": "{not json", "headers": task_headers("reports.noop", str(uuid.uuid4()))},
        # pickle, which we never accept (it could run code)
        {
            "body": b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00]\x94.",
            "headers": task_headers("reports.noop", str(uuid.uuid4())),
            "content_type": "application/x-python-serialize",
            "content_encoding": "binary",
        },
        # the right task with arguments of the wrong shape
        {"body": body([]), "headers": task_headers("reports.noop", str(uuid.uuid4()))},
        # the right task for a job that has no record (forged, or long expired)
        {
            "body": body([str(uuid.uuid4()), {"steps": 1}]),
            "headers": task_headers("reports.noop", str(uuid.uuid4())),
        },
        # no headers at all
        {"body": json.dumps({"hello": "world"}), "headers": {}},
    ]
    with Connection(fs.broker_url) as conn:
        producer = conn.Producer()
        for message in bad:
            producer.publish(
                message["body"],
                routing_key=DEFAULT_QUEUE,
                headers=message["headers"],
                content_type=message.get("content_type", "application/json"),
                content_encoding=message.get("content_encoding", "utf-8"),
            )
    # When good jobs are submitted behind them
    good = [fs.submit_noop(steps=2, step_seconds=0.05) for _ in range(3)]
    # Then the good jobs complete, once each, on the same worker process
    done = fs.wait_all(good, timeout=60)
    assert {d["status"] for d in done.values()} == {"Complete"}
    assert [fs.completions(j) for j in good] == [1, 1, 1]
    assert fs.stack.processes[worker].poll() is None
    assert fs.worker_pid(worker) == main_pid
    # And nothing is left in the queue or waiting to be redelivered
    assert fs.waiting() == 0
    assert brokers.unacked(fs.broker_url) == 0
