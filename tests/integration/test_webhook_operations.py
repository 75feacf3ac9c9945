"""Webhooks on the real stack: their own queue and worker, metrics and the ops page, the
monitor, a streamed kind's webhook, jobs answered by reuse."""

from __future__ import annotations

import socket
import time

import pytest
import requests

from devstack.stack import Stack
from tests.integration.imports import csv_text, post_import, rows_in
from tests.integration.receiver import Receiver
from tests.integration.webhooks import (
    push,
    receiver,
    secret,
    settled,
    submit_with_hook,
)

pytestmark = pytest.mark.integration
__all__ = ["push", "receiver"]  # the module's fixtures: the webhook stack and a receiver


def test_deliveries_run_on_their_own_queue_in_the_webhook_worker(
    push: Stack, receiver: Receiver
) -> None:
    # Given a job whose webhook was delivered
    job = submit_with_hook(push, receiver.url("/queue"), {"steps": 1})
    (item,) = settled(push, job)
    assert item["status"] == "succeeded"
    # Then the job worker consumes only `jobs`; the webhook worker only `webhooks`
    job_worker = push.log("worker0")
    hooks = push.log("webhooks")
    assert ".> jobs " in job_worker and ".> webhooks " not in job_worker
    assert ".> webhooks " in hooks and ".> jobs " not in hooks
    # And the attempts were made by the webhook worker
    assert "webhooks.deliver[" in hooks and "webhooks.deliver[" not in job_worker


def test_metrics_and_the_ops_page_show_outcomes_and_failing_endpoints(
    push: Stack, receiver: Receiver
) -> None:
    # Given a delivery that succeeded
    (item,) = settled(push, submit_with_hook(push, receiver.url("/ok"), {"steps": 1}))
    assert item["status"] == "succeeded"
    # And a delivery that failed for good (nothing listens on its URL)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/never"
    job = submit_with_hook(push, url, {"steps": 1})
    (item,) = settled(push, job)
    assert item["status"] == "failed"
    # Then /metrics counts attempts by outcome
    text = requests.get(f"{push.base_url}/metrics", timeout=10).text
    counts = {
        line.split('"')[1]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("async_reports_webhook_attempts_total{")
    }
    assert counts["failed"] >= 1 and counts["retrying"] >= 3 and counts["succeeded"] >= 1
    assert "async_reports_webhook_deliveries_pending " in text
    # And the ops API (the dashboard's data) lists the failing endpoint with its error
    overview = requests.get(f"{push.base_url}/api/ops/overview", timeout=10).json()
    failing = {e["url"]: e for e in overview["webhooks"]["failing"]}
    assert failing[url]["failures"] == 4 and failing[url]["lastError"]
    assert failing[url]["owner"] == "public"


def test_the_monitor_records_jobs_not_delivery_attempts(push: Stack, receiver: Receiver) -> None:
    # Given a job whose webhook was delivered
    hooked = submit_with_hook(push, receiver.url("/history"), {"steps": 1})
    settled(push, hooked)
    # When a later job (submitted after the attempt) is in the monitor's history
    resp = requests.post(
        f"{push.base_url}/api/reports",
        json={"reportType": "noop", "parameters": {"steps": 1}},
        timeout=10,
    )
    later = resp.json()["id"]
    deadline = time.monotonic() + 60
    while True:
        items = requests.get(f"{push.base_url}/api/ops/jobs?limit=100", timeout=10).json()["items"]
        if any(i["id"] == later and i["state"] == "succeeded" for i in items):
            break
        assert time.monotonic() < deadline, items[:3]
        time.sleep(0.2)
    # Then its history holds jobs only: no `webhooks.deliver` tasks
    names = {i["taskName"] for i in items}
    assert "webhooks.deliver" not in names and "reports.noop" in names, names
    assert hooked in {i["id"] for i in items}


def test_a_streamed_kind_takes_its_webhook_in_the_query(push: Stack, receiver: Receiver) -> None:
    # Given a CSV import (its body is the file) asking for webhooks in its query
    key = secret(push)
    params = {"webhook": receiver.url("/imports"), "webhookEvents": "started,completed"}
    resp = post_import(push.base_url, csv_text(rows_in(2091, 5)), params=params)
    assert resp.status_code == 202, resp.text
    job = resp.json()["id"]
    # When its deliveries settle
    deadline = time.monotonic() + 60
    while True:
        items = requests.get(f"{push.base_url}/api/imports/{job}/webhooks", timeout=10).json()
        items = items["items"]
        if len(items) == 2 and all(d["status"] != "pending" for d in items):
            break
        assert time.monotonic() < deadline, items
        time.sleep(0.1)
    # Then the receiver got the import's start and end, signed, with its document
    events = [r.verify(key) for r in sorted(receiver.at("/imports"), key=lambda r: r.at)]
    assert [e["type"] for e in events] == ["job.started", "job.completed"]
    assert {e["data"]["kind"] for e in events} == {"import"}
    assert events[-1]["data"]["status"] == "Complete"


def test_jobs_answered_by_reuse_send_their_end_too(push: Stack, receiver: Receiver) -> None:
    # Given a running job whose result may be shared, and an identical one that follows it
    params = {"steps": 6, "stepSeconds": 0.31, "reuse": True}
    leader = requests.post(
        f"{push.base_url}/api/reports",
        json={"reportType": "noop", "parameters": params},
        timeout=10,
    ).json()["id"]
    follower = submit_with_hook(push, receiver.url("/reused"), params)
    # When the leader ends, the follower ends with it: its job.completed arrives
    receiver.wait_for(lambda: len(receiver.at("/reused")) == 1, what="the follower's end")
    (got,) = receiver.at("/reused")
    assert got.event["type"] == "job.completed" and got.event["data"]["id"] == follower
    # And a job answered from the kept result (Complete at once) sends its end as well
    hit = submit_with_hook(push, receiver.url("/reused"), params)
    receiver.wait_for(lambda: len(receiver.at("/reused")) == 2, what="the hit's end")
    ids = [r.event["data"]["id"] for r in receiver.at("/reused")]
    assert ids == [follower, hit] and leader not in ids
    assert all(d["status"] == "succeeded" for job in (follower, hit) for d in settled(push, job))
