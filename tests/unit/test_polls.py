"""The plain status poll (app/views/polls.py) against fakeredis: one round trip, the same
answer as the Flask view's, and everything unusual handed to Flask."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import fakeredis
import pytest
from flask import Flask
from werkzeug.test import Client, TestResponse

from app import create_app
from app.services.backend import Backend
from app.views.polls import PollFastPath
from jobs.errors import StoreUnavailable
from jobs.store import JobStore, Keys, Progress
from jobs.store.runs import RunLedger
from tests.unit.support import CommandSpy, Submit, spy_answers

JOB = "3b2f0c1e-1111-4222-8333-944455556666"
URL = f"/api/reports/{JOB}/status"


class StubProducer:
    """What the web's Celery producer is asked: the tasks it would publish."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send_task(self, name: str, args: list[Any], task_id: str) -> None:
        self.sent.append((name, task_id))


@pytest.fixture
def producer() -> StubProducer:
    return StubProducer()


def make_app(backend: Backend, **config: Any) -> Flask:
    # The no-op report type (diagnostic) is the one that reads no sales data.
    settings = replace(backend.settings, enable_diagnostic_types=True)
    app = create_app({"TESTING": True, "SETTINGS": settings, **config})
    app.extensions["async_reports"] = backend
    return app


@pytest.fixture
def app(backend: Backend, producer: StubProducer) -> Flask:
    """The web app on the fake Redis, open (no API keys), publishing to a stub (as on
    RabbitMQ: no message is rendered for the hand-over script to push)."""
    backend.celery = producer  # type: ignore[assignment]
    backend.broker_messages = None
    return make_app(backend)


@pytest.fixture
def flask_only(app: Flask) -> Client:
    """A client of the same app behind the fast path (the Flask view answers)."""
    fast = app.wsgi_app
    assert isinstance(fast, PollFastPath)
    return Client(fast.wsgi_app, TestResponse)


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Who answered each poll the fast path saw: "fast", or "flask" when it handed over."""
    return spy_answers(monkeypatch, PollFastPath, "poll")


def queued(submit: Submit) -> None:
    submit(
        JOB,
        type="noop",
        parameters={"steps": 3, "stepSeconds": 0},
        owner="public",
        created=time.time(),  # not past the queue timeout (that job is the view's to fail)
    )


def comparable(resp: TestResponse) -> tuple[int, dict[str, str], Any]:
    headers = {k: v for k, v in resp.headers.items() if k != "X-Request-ID"}
    return resp.status_code, headers, resp.get_json(silent=True)


def test_a_poll_and_a_304_are_one_round_trip(app: Flask, submit: Submit, spy: CommandSpy) -> None:
    # Given a queued job
    queued(submit)
    client = app.test_client()
    first = client.get(URL)  # opens the connection
    assert first.status_code == 200
    # When it is polled, plainly and conditionally
    with spy.recording() as plain:
        again = client.get(URL)
    with spy.recording() as conditional:
        not_modified = client.get(URL, headers={"If-None-Match": first.headers["ETag"]})
    # Then each answer took one EVAL (JobStore.read), nothing else
    assert again.status_code == 200 and plain == ["EVAL"]
    assert not_modified.status_code == 304 and conditional == ["EVAL"]
    assert not_modified.data == b"" and "Content-Type" not in not_modified.headers


@pytest.mark.parametrize("stage", ["queued", "running", "succeeded", "failed", "cancelling"])
def test_the_fast_path_answers_exactly_as_the_view(
    app: Flask,
    flask_only: Client,
    submit: Submit,
    ledger: RunLedger,
    store: JobStore,
    client: fakeredis.FakeRedis,
    keys: Keys,
    answered: list[str],
    stage: str,
) -> None:
    # Given a job at some stage of its life
    queued(submit)
    if stage != "queued":
        ledger.claim(JOB, "w1@host", 4e9)
        ledger.step(JOB, Progress(1, 3, 33))
    meta = {"succeeded": "SUCCESS", "failed": "FAILURE"}.get(stage)
    if meta is not None:
        ledger.finish(JOB, "report:noop", 0.5, progress=Progress(3, 3, 100))
        result = {"steps": 3} if meta == "SUCCESS" else {"exc_type": "ValueError"}
        client.set(keys.celery_meta(JOB), json.dumps({"status": meta, "result": result}))
    if stage == "cancelling":
        store.request_cancel(JOB, queued=False)
    fast = app.test_client()
    # When it is polled through the fast path and through the Flask view, with and
    # without the ETag
    plain, view = fast.get(URL), flask_only.get(URL)
    etag = {"If-None-Match": plain.headers["ETag"]}
    # Then both answer alike, byte for byte but for the request id
    assert comparable(plain) == comparable(view)
    assert comparable(fast.get(URL, headers=etag)) == comparable(flask_only.get(URL, headers=etag))
    assert plain.headers["X-Request-ID"] and plain.status_code == 200
    assert answered == ["fast", "fast"]  # the Flask-only client bypasses the fast path
    given = fast.get(URL, headers={"X-Request-ID": "req-42"})
    assert given.headers["X-Request-ID"] == "req-42"


def test_errors_of_the_read_are_answered_by_flask_without_a_second_read(
    app: Flask, submit: Submit, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a Redis that fails every read
    queued(submit)
    reads: list[str] = []

    def down(job_id: str) -> None:
        reads.append(job_id)
        raise StoreUnavailable("Connection refused")

    monkeypatch.setattr(backend.jobs, "read_raw", down)
    # When a job is polled
    resp = app.test_client().get(URL)
    # Then the answer is the one problem+json 503 of the app, after a single read
    assert resp.status_code == 503 and resp.content_type == "application/problem+json"
    assert "Retry-After" in resp.headers and resp.headers["X-Request-ID"]
    assert reads == [JOB]


@pytest.mark.parametrize(
    ("headers", "path", "code"),
    [
        ({}, f"/api/reports/{JOB.replace('3b2f', '0000')}/status", 404),  # unknown
        ({}, f"/api/imports/{JOB}/status", 404),  # another kind's collection
        ({"Prefer": "wait=0"}, URL, 200),  # a long poll: the view's
        ({}, URL + "?x=1", 200),
    ],
)
def test_anything_but_a_plain_poll_is_the_views(
    app: Flask,
    submit: Submit,
    answered: list[str],
    headers: dict[str, str],
    path: str,
    code: int,
) -> None:
    queued(submit)
    resp = app.test_client().get(path, headers=headers)
    assert resp.status_code == code
    assert "fast" not in answered
    if code == 404:
        assert resp.content_type == "application/problem+json"


def test_with_api_keys_only_the_owner_is_answered_fast(backend: Backend, submit: Submit) -> None:
    submit(JOB, type="noop", parameters={"steps": 1}, owner="alice", created=time.time())
    app = make_app(backend, API_KEYS={"k-alice": "alice", "k-bob": "bob"})
    client = app.test_client()
    assert client.get(URL, headers={"Authorization": "Bearer k-alice"}).status_code == 200
    assert client.get(URL, headers={"Authorization": "Bearer k-bob"}).status_code == 404
    missing = client.get(URL)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get(URL, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_with_a_poll_rate_limit_the_view_answers(backend: Backend, submit: Submit) -> None:
    queued(submit)
    client = make_app(backend, MIN_POLL_INTERVAL=30.0).test_client()
    assert client.get(URL).status_code == 200
    limited = client.get(URL)
    assert limited.status_code == 429 and limited.headers["Retry-After"]


def test_a_submission_without_fair_sharing_is_two_round_trips_and_one_publish(
    app: Flask, backend: Backend, producer: StubProducer, spy: CommandSpy
) -> None:
    # Given an app whose Redis connection is open, first in first out (FAIR_SHARING=0)
    backend.settings = replace(backend.settings, fair_sharing=False)
    client = app.test_client()
    body = {"reportType": "noop", "parameters": {"steps": 1, "stepSeconds": 0}}
    assert client.post("/api/reports", json=body).status_code == 202
    # When a job is submitted
    with spy.recording() as sent:
        resp = client.post("/api/reports", json=body)
    # Then (as of issue 14) the record is created and confirmed in one MULTI each, around
    # one publish: the broker's own round trips are not Redis commands of ours here
    assert resp.status_code == 202
    assert sent == ["MULTI", "MULTI"]
    assert len(producer.sent) == 2 and producer.sent[-1][1] == resp.get_json()["id"]


def test_a_fair_submission_is_two_round_trips_and_one_publish(
    app: Flask, producer: StubProducer, spy: CommandSpy
) -> None:
    # Given an app whose Redis connection is open (fair sharing, the default)
    client = app.test_client()
    body = {"reportType": "noop", "parameters": {"steps": 1, "stepSeconds": 0}}
    assert client.post("/api/reports", json=body).status_code == 202
    # When a job is submitted while the broker has room
    with spy.recording() as sent:
        resp = client.post("/api/reports", json=body)
    # Then quotas, record, backlog entry and the hand-over (confirming it) are one
    # script, and the confirmation of its publish a second
    assert resp.status_code == 202
    assert sent == ["EVALSHA", "EVALSHA"]
    assert len(producer.sent) == 2 and producer.sent[-1][1] == resp.get_json()["id"]


def test_a_fair_submission_while_the_broker_is_full_is_one_round_trip(
    app: Flask, producer: StubProducer, spy: CommandSpy
) -> None:
    # Given the broker holding as many jobs as the slots and margin allow (no worker: 1 + 2)
    client = app.test_client()
    body = {"reportType": "noop", "parameters": {"steps": 1, "stepSeconds": 0}}
    for _ in range(3):
        assert client.post("/api/reports", json=body).status_code == 202
    assert len(producer.sent) == 3
    # When one more job is submitted
    with spy.recording() as sent:
        resp = client.post("/api/reports", json=body)
    # Then it waits in its client's backlog, written in one script, and nothing is published
    assert resp.status_code == 202 and resp.get_json()["status"] == "In Progress"
    assert sent == ["EVALSHA"]
    assert len(producer.sent) == 3


def test_a_job_past_its_queue_timeout_is_failed_by_the_view(
    app: Flask, submit: Submit, answered: list[str]
) -> None:
    # Given a job no worker started in time (created long ago)
    submit(JOB, type="noop", parameters={"steps": 1}, owner="public", created=1000.0)
    # When it is polled
    resp = app.test_client().get(URL)
    # Then the fast path handed it over, and the view failed it as the read settles it
    assert answered == ["flask"]
    assert resp.status_code == 200 and resp.get_json()["status"] == "Failed"


def test_a_change_of_the_job_is_never_answered_from_an_earlier_parse(
    app: Flask, submit: Submit, ledger: RunLedger, answered: list[str]
) -> None:
    # Given a running job polled once (its parse kept)
    queued(submit)
    ledger.claim(JOB, "w1@host", 4e9)
    ledger.step(JOB, Progress(1, 3, 33))
    client = app.test_client()
    first = client.get(URL)
    assert first.get_json()["progress"]["current"] == 1
    # When it makes a step and is polled again, plainly and with the old ETag
    ledger.step(JOB, Progress(2, 3, 66))
    plain = client.get(URL, headers={"If-None-Match": first.headers["ETag"]})
    # Then the answer is the new document, under a new ETag, from the fast path
    assert plain.status_code == 200 and plain.get_json()["progress"]["current"] == 2
    assert plain.headers["ETag"] != first.headers["ETag"]
    assert answered == ["fast", "fast"]
