"""Webhooks on the real stack: signed deliveries verified by the standardwebhooks library."""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.stack import Stack
from tests.integration.imports import csv_text, post_import, rows_in
from tests.integration.receiver import Receiver, running_receiver
from tests.integration.stacks import extra_stack

pytestmark = pytest.mark.integration

PUSH_ENV = {
    "ENABLE_DIAGNOSTIC_REPORTS": "1",
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",  # the receiver listens on 127.0.0.1
    "WEBHOOK_RETRY_SCHEDULE": "0.3,0.3,0.3",
    "WEBHOOK_POLL_INTERVAL": "0.1",
    "WEBHOOK_TIMEOUT": "2",
}


def start_webhook_worker(stack: Stack, label: str = "webhooks") -> None:
    """The Procfile's webhook worker, waited for until its schedule runs."""
    stack.start("webhooks", label, {"WEBHOOK_WORKER_NAME": label})
    deadline = time.monotonic() + 60
    while "webhook schedule started" not in stack.log(label):
        assert time.monotonic() < deadline, stack.log(label)[-3000:]
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


def test_completed_failed_and_cancelled_jobs_each_deliver_one_signed_event(
    push: Stack, receiver: Receiver
) -> None:
    # Given the client's secret and three jobs that end each way
    key = secret(push)
    done = submit_with_hook(push, receiver.url("/ends"), {"steps": 1})
    failed = submit_with_hook(push, receiver.url("/ends"), {"steps": 2, "failAtStep": 1})
    cancelled = submit_with_hook(push, receiver.url("/ends"), {"steps": 200, "stepSeconds": 0.1})
    deadline = time.monotonic() + 30
    while (
        requests.get(f"{push.base_url}/api/reports/{cancelled}/status", timeout=10).json()["state"]
        != "running"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert (
        requests.delete(f"{push.base_url}/api/reports/{cancelled}", timeout=10).status_code == 202
    )
    # When every delivery has settled
    logs = {job: settled(push, job) for job in (done, failed, cancelled)}
    # Then each job made exactly one delivery, succeeded at the first attempt
    for job, items in logs.items():
        assert [(d["status"], len(d["attempts"])) for d in items] == [("succeeded", 1)], job
        assert items[0]["attempts"][0]["statusCode"] == 200
    # And the receiver got each once, valid under the standardwebhooks library
    got = {r.event["data"]["id"]: r for r in receiver.at("/ends")}
    assert len(receiver.at("/ends")) == 3 and set(got) == {done, failed, cancelled}
    types = {job: got[job].verify(key)["type"] for job in got}
    assert types == {done: "job.completed", failed: "job.failed", cancelled: "job.cancelled"}
    # And the body is the job's final status document, the headers the standard's
    assert got[done].event["data"]["status"] == "Complete"
    assert got[failed].event["data"]["status"] == "Failed"
    assert got[cancelled].event["data"]["status"] == "Cancelled"
    for job, items in logs.items():
        assert got[job].headers["webhook-id"] == items[0]["id"]
        assert abs(int(got[job].headers["webhook-timestamp"]) - time.time()) < 300


def test_started_and_progress_are_sent_when_asked_for(push: Stack, receiver: Receiver) -> None:
    # Given a job of three steps that asks for every event
    key = secret(push)
    job = submit_with_hook(
        push,
        receiver.url("/all"),
        {"steps": 3, "stepSeconds": 0.2},
        webhookEvents=["started", "progress", "completed"],
    )
    # When its deliveries have settled (started, 3 steps, completed)
    items = settled(push, job, count=5)
    # Then the receiver got them in the order of the job's events, one after the other
    # (a delivery is sent once the one before it has ended): started first, progress
    # events, completed last; all signed
    received = sorted(receiver.at("/all"), key=lambda r: r.at)
    assert [r.headers["webhook-id"] for r in received] == [i["id"] for i in items]
    events = [r.verify(key) for r in received]
    types = [e["type"] for e in events]
    assert types[0] == "job.started" and types[-1] == "job.completed", types
    assert set(types[1:-1]) == {"job.progress"} and len(types) == len(items)
    assert events[0]["data"]["state"] == "running"
    percents = [e["data"]["progress"]["percent"] for e in events[1:-1]]
    assert percents == sorted(percents) and len(set(percents)) == len(percents)


def test_a_failing_receiver_gets_retries_until_it_answers_2xx(
    push: Stack, receiver: Receiver
) -> None:
    # Given a receiver that answers 500 three times, then 200
    receiver.scripts["/flaky"] = [500, 500, 500, 200]
    job = submit_with_hook(push, receiver.url("/flaky"), {"steps": 1})
    # When the delivery settles
    (item,) = settled(push, job)
    # Then it took 4 attempts, all in the log, the last one a success
    assert item["status"] == "succeeded"
    assert [a["statusCode"] for a in item["attempts"]] == [500, 500, 500, 200]
    assert all(a["error"] == "HTTP 500" for a in item["attempts"][:3])
    # And every attempt carried the same webhook-id, each its own timestamp
    got = receiver.at("/flaky")
    assert len(got) == 4 and {r.headers["webhook-id"] for r in got} == {item["id"]}


def test_redirects_are_not_followed_and_count_as_failures(push: Stack, receiver: Receiver) -> None:
    receiver.scripts["/moved"] = [302, 200]
    job = submit_with_hook(push, receiver.url("/moved"), {"steps": 1})
    (item,) = settled(push, job)
    assert [a["statusCode"] for a in item["attempts"]] == [302, 200]
    assert receiver.at("/redirected") == []


def test_410_stops_deliveries_to_that_url(push: Stack, receiver: Receiver) -> None:
    # Given a receiver that answers 410 Gone
    receiver.scripts["/gone"] = [410]
    first = submit_with_hook(push, receiver.url("/gone"), {"steps": 1})
    (item,) = settled(push, first)
    assert item["status"] == "stopped" and [a["statusCode"] for a in item["attempts"]] == [410]
    # When another job names the same URL
    second = submit_with_hook(push, receiver.url("/gone"), {"steps": 1})
    (later,) = settled(push, second)
    # Then nothing more is sent to it
    assert later["status"] == "stopped" and later["attempts"][0]["statusCode"] is None
    assert len(receiver.at("/gone")) == 1


def test_a_receiver_that_is_down_never_fails_the_job(push: Stack) -> None:
    # Given a URL nothing listens on
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    job = submit_with_hook(push, f"http://127.0.0.1:{port}/hook", {"steps": 1})
    # When the schedule runs out (1 + 3 retries)
    (item,) = settled(push, job)
    # Then the delivery failed with every attempt logged, and the job is Complete
    assert item["status"] == "failed" and len(item["attempts"]) == 4
    assert all(a["statusCode"] is None and a["error"] for a in item["attempts"])
    status = requests.get(f"{push.base_url}/api/reports/{job}/status", timeout=10).json()
    assert status["status"] == "Complete"


def test_a_redelivery_arrives_with_the_same_webhook_id(push: Stack, receiver: Receiver) -> None:
    # Given a delivered event
    key = secret(push)
    job = submit_with_hook(push, receiver.url("/again"), {"steps": 1})
    (item,) = settled(push, job)
    # When the client asks for it again
    resp = requests.post(
        f"{push.base_url}/api/reports/{job}/webhooks/{item['id']}/retry", timeout=10
    )
    assert resp.status_code == 202, resp.text
    receiver.wait_for(lambda: len(receiver.at("/again")) == 2)
    # Then it arrives again, same id and body, signed anew
    first, second = receiver.at("/again")
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == item["id"]
    assert first.body == second.body and second.verifies(key)
    (again,) = settled(push, job)
    assert len(again["attempts"]) == 2


def test_a_rotated_secret_signs_beside_the_old_one(push: Stack, receiver: Receiver) -> None:
    # Given a secret that is rotated
    old = secret(push)
    resp = requests.post(f"{push.base_url}/api/webhooks/secret/rotate", timeout=10)
    assert resp.status_code == 200, resp.text
    new = resp.json()["secret"]
    assert new.startswith("whsec_") and new != old and secret(push) == new
    # When a delivery is made
    job = submit_with_hook(push, receiver.url("/rotated"), {"steps": 1})
    settled(push, job)
    (got,) = receiver.at("/rotated")
    # Then it carries two signatures, and verifies under either secret
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert got.verifies(old) and got.verifies(new)
    assert not got.verifies("whsec_" + "A" * 43 + "=")


def test_an_unknown_webhook_event_is_refused(push: Stack) -> None:
    body = {
        "reportType": "noop",
        "webhook": "http://127.0.0.1:9/x",
        "webhookEvents": ["nope"],
    }
    resp = requests.post(f"{push.base_url}/api/reports", json=body, timeout=10)
    assert resp.status_code == 422 and "webhookEvents.0" in resp.json()["errors"], resp.text


def test_deliveries_run_on_their_own_queue_in_the_webhook_worker(push: Stack) -> None:
    # The job worker consumes only `jobs`; the webhook worker only `webhooks`
    job_worker = push.log("worker0")
    hooks = push.log("webhooks")
    assert ".> jobs " in job_worker and ".> webhooks " not in job_worker
    assert ".> webhooks " in hooks and ".> jobs " not in hooks
    # And the attempts so far were made by the webhook worker
    assert "webhooks.deliver[" in hooks and "webhooks.deliver[" not in job_worker


def test_metrics_and_the_ops_page_show_outcomes_and_failing_endpoints(push: Stack) -> None:
    # Given a delivery that failed for good (nothing listens on its URL)
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
