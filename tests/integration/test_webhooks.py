"""Webhooks on the real stack: what is sent, signed, retried and refused (signatures
verified by the standardwebhooks library)."""

from __future__ import annotations

import socket
import time

import pytest
import requests

from devstack.stack import Stack
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
