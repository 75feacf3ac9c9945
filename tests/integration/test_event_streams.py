"""Server-Sent Events of a job on the real stack: every change, resume, the end, the bound."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.stack import Stack
from tests.integration.stacks import extra_stack

pytestmark = pytest.mark.integration

ENV = {"ENABLE_DIAGNOSTIC_REPORTS": "1"}


def read_events(resp: requests.Response) -> Iterator[dict[str, Any]]:
    """Parse a text/event-stream into its events (comments as {"comment": ...})."""
    event: dict[str, Any] = {}
    for line in resp.iter_lines(decode_unicode=True):
        if line == "":
            if event:
                yield event
            event = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            name, _, value = line.partition(":")
            event[name] = value.removeprefix(" ")
    if event:
        yield event


def statuses(resp: requests.Response) -> list[dict[str, Any]]:
    """The status events of a whole stream (read until the server ends it)."""
    assert resp.status_code == 200, resp.text
    return [e for e in read_events(resp) if "event" in e]


def stream(stack: Stack, job_id: str, **headers: str) -> requests.Response:
    resp = requests.get(
        f"{stack.base_url}/api/reports/{job_id}/events", headers=headers, stream=True, timeout=30
    )
    return resp


def submit(stack: Stack, parameters: dict[str, Any]) -> str:
    resp = requests.post(
        f"{stack.base_url}/api/reports",
        json={"reportType": "noop", "parameters": parameters},
        timeout=10,
    )
    assert resp.status_code == 202, resp.text
    return str(resp.json()["id"])


@pytest.fixture(scope="module")
def web_only(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, sqlite_url: str
) -> Iterator[Stack]:
    """web without a worker (jobs stay queued until a test starts one)."""
    with extra_stack(tmp_path_factory.mktemp("sse"), redis_url, 8, sqlite_url, ENV, 0) as s:
        yield s


def test_a_stream_shows_queued_progress_and_complete_then_ends(web_only: Stack) -> None:
    # Given a job that is queued (no worker yet)
    job = submit(web_only, {"steps": 3, "stepSeconds": 0.3})
    resp = stream(web_only, job)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    assert resp.headers["X-Accel-Buffering"] == "no" and resp.headers["Cache-Control"] == "no-cache"
    events = read_events(resp)
    retry = next(events)
    assert int(retry["retry"]) >= 1000
    first = next(events)
    assert first["event"] == "status" and json.loads(first["data"])["state"] == "queued"
    # When a worker starts and runs it
    web_only.start("worker", "sse-worker", {"WORKER_NAME": f"sse-{uuid.uuid4().hex[:6]}"})
    rest = [e for e in events if "event" in e]  # ends by itself after the terminal event
    # Then the stream showed progress, ended with Complete, ids rising
    docs = [json.loads(e["data"]) for e in rest]
    assert docs[-1]["status"] == "Complete"
    assert any(d["state"] == "running" and d["progress"]["current"] >= 1 for d in docs)
    ids = [int(first["id"])] + [int(e["id"]) for e in rest]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_last_event_id_resumes_after_what_the_client_has(web_only: Stack) -> None:
    # Given a job that ran to the end, and the id of its final event
    if "sse-worker" not in web_only.processes:
        web_only.start("worker", "sse-worker", {"WORKER_NAME": f"sse-{uuid.uuid4().hex[:6]}"})
    job = submit(web_only, {"steps": 2})
    final = statuses(stream(web_only, job))[-1]
    assert json.loads(final["data"])["status"] == "Complete"
    # When the client reconnects with an older id: it gets the current document
    again = [
        e for e in read_events(stream(web_only, job, **{"Last-Event-ID": "0"})) if "event" in e
    ]
    assert [int(e["id"]) for e in again] == [int(final["id"])]
    # And with the final id: nothing more, the stream just ends
    none = [
        e
        for e in read_events(stream(web_only, job, **{"Last-Event-ID": final["id"]}))
        if "event" in e
    ]
    assert none == []


def test_a_stream_of_another_clients_job_or_no_job_is_a_404(web_only: Stack) -> None:
    resp = requests.get(f"{web_only.base_url}/api/reports/{uuid.uuid4()}/events", timeout=10)
    assert resp.status_code == 404
    assert resp.headers["Content-Type"].startswith("application/problem+json")


def test_streams_are_bounded_like_long_polls(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, sqlite_url: str
) -> None:
    # Given a web process that lets 2 requests wait at once (keep-alives every 0.5 s)
    env = {
        **ENV,
        "MAX_WAITING_REQUESTS": "2",
        "WEB_CONCURRENCY": "1",
        "STREAM_KEEPALIVE_SECONDS": "0.5",
    }
    with extra_stack(tmp_path_factory.mktemp("sse-bound"), redis_url, 9, sqlite_url, env, 0) as s:
        job = submit(s, {"steps": 1})
        held = [stream(s, job) for _ in range(2)]
        for resp in held:
            assert resp.status_code == 200
            events = read_events(resp)
            assert "retry" in next(events) and next(events)["event"] == "status"
            # a quiet stream sends keep-alive comments
            assert next(events) == {"comment": "keep-alive"}
        # When a third stream is asked for
        refused = stream(s, job)
        # Then it is refused with 503 and Retry-After, while plain polls are answered
        assert refused.status_code == 503 and int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        poll = requests.get(f"{s.base_url}/api/reports/{job}/status", timeout=10)
        assert poll.status_code == 200
        # And once a client goes away, its stream's slot is free again
        held[0].close()
        deadline = time.monotonic() + 30
        while (again := stream(s, job)).status_code != 200:
            assert time.monotonic() < deadline, "the closed stream's slot was not released"
            time.sleep(0.2)
        again.close()
        held[1].close()
