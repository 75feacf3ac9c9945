"""The webhook stack of the integration tests (test_webhooks.py,
test_webhook_operations.py): a stack with the webhook worker and the monitor (`push`), a
receiver that verifies signatures with the standardwebhooks library, and helpers to
submit with a hook and read a job's deliveries."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.stack import Stack
from tests.integration.receiver import Receiver, running_receiver
from tests.integration.stacks import extra_stack

PUSH_ENV = {
    "ENABLE_DIAGNOSTIC_REPORTS": "1",
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",  # the receiver listens on 127.0.0.1
    "WEBHOOK_RETRY_SCHEDULE": "0.3,0.3,0.3",
    "WEBHOOK_POLL_INTERVAL": "0.1",
    "WEBHOOK_TIMEOUT": "2",
}


def start_webhook_worker(stack: Stack, label: str = "webhooks") -> None:
    """The Procfile's webhook worker, waited for until its schedule runs (the fault
    suite starts its extra ones with this too)."""
    stack.start("webhooks", label, {"WEBHOOK_WORKER_NAME": label})
    deadline = time.monotonic() + 60
    while "webhook schedule started" not in stack.log(label):
        assert time.monotonic() < deadline, stack.log(label)[-3000:]
        assert stack.processes[label].poll() is None, stack.log(label)[-3000:]
        time.sleep(0.1)


@pytest.fixture(scope="module")
def push(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, sqlite_url: str
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("push")
    env = {**PUSH_ENV, "MONITOR_DATABASE_URL": f"sqlite:///{tmp / 'history.db'}"}
    # A copy of the sales data of our own: the import test adds rows to it.
    sales = tmp / "sales.db"
    shutil.copy(sqlite_url.removeprefix("sqlite:///"), sales)
    with extra_stack(tmp, redis_url, 7, f"sqlite:///{sales}", env) as s:
        s.start("monitor")
        start_webhook_worker(s)
        deadline = time.monotonic() + 60
        while "capturing events" not in s.log("monitor"):  # it records jobs from now on
            assert time.monotonic() < deadline, s.log("monitor")[-3000:]
            time.sleep(0.1)
        yield s


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def secret(stack: Stack) -> str:
    resp = requests.get(f"{stack.base_url}/api/webhooks/secret", timeout=10)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["secret"])


def submit_with_hook(stack: Stack, url: str, parameters: dict[str, Any], **hook: Any) -> str:
    body = {"reportType": "noop", "parameters": parameters, "webhook": url, **hook}
    resp = requests.post(f"{stack.base_url}/api/reports", json=body, timeout=10)
    assert resp.status_code == 202, resp.text
    return str(resp.json()["id"])


def deliveries(stack: Stack, job_id: str) -> list[dict[str, Any]]:
    resp = requests.get(f"{stack.base_url}/api/reports/{job_id}/webhooks", timeout=10)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


def settled(
    stack: Stack, job_id: str, count: int = 1, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """The job's deliveries once `count` of them are no longer pending."""
    deadline = time.monotonic() + timeout
    while True:
        items = deliveries(stack, job_id)
        if len(items) >= count and all(d["status"] != "pending" for d in items):
            return items
        assert time.monotonic() < deadline, items
        time.sleep(0.1)
