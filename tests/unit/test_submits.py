"""The plain JSON submission (app/views/submits.py) against fakeredis: answered before
Flask as the Flask view answers it, everything unusual handed to Flask, and errors met
after the body validated answered by Flask without doing anything twice."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import Client, EnvironBuilder, TestResponse

from app.server import MalformedBody
from app.services.backend import Backend
from app.views import submits
from app.views.polls import PollFastPath
from app.views.submits import SubmitFastPath
from jobs.store import Keys
from tests.unit.support import CommandSpy, spy_answers
from tests.unit.test_polls import StubProducer, make_app, producer

__all__ = ["producer"]  # the fixture: what the web would publish through Celery

BODY = {"reportType": "noop", "parameters": {"steps": 1, "stepSeconds": 0}}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def app(backend: Backend, producer: StubProducer) -> Flask:
    backend.celery = producer  # type: ignore[assignment]
    backend.broker_messages = None
    return make_app(backend)


def flask_only(app: Flask) -> Client:
    """A client of the app's Flask view, behind both fast paths."""
    wsgi: Any = app.wsgi_app
    while isinstance(wsgi, (PollFastPath, SubmitFastPath)):
        wsgi = wsgi.wsgi_app
    return Client(wsgi, TestResponse)


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Who answered each submission the fast path saw: "fast", or "flask"."""
    return spy_answers(monkeypatch, SubmitFastPath, "submit")


def comparable(resp: TestResponse) -> tuple[int, dict[str, str], Any]:
    """An answer with its job's id, times and ETag made alike (they differ per job)."""
    ids = set(UUID.findall(resp.get_data(as_text=True)) + UUID.findall(str(resp.headers)))
    text = resp.get_data(as_text=True)
    headers = {k: v for k, v in resp.headers.items() if k not in ("X-Request-ID", "ETag")}
    for found in ids:
        text = text.replace(found, "ID")
        headers = {k: v.replace(found, "ID") for k, v in headers.items()}
    body = json.loads(text) if resp.is_json else text
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in ("createdAt", "updatedAt")}
        body.pop("estimatedCompletionAt", None)
    return resp.status_code, headers, body


def jobs_of(client: Any, keys: Keys) -> list[str]:
    return sorted(k for k in client.keys(f"{keys.prefix}:job:*") if k.count(":") == 2)


def test_a_plain_submission_is_answered_fast_exactly_as_the_view(
    app: Flask, answered: list[str]
) -> None:
    # When the same body is submitted through the fast path and through the Flask view
    fast = app.test_client().post("/api/reports", json=BODY)
    view = flask_only(app).post("/api/reports", json=BODY)
    # Then both answer alike, but for the job's own id, times and ETag
    assert fast.status_code == 202, fast.get_data(as_text=True)
    assert comparable(fast) == comparable(view)
    assert comparable(fast)[2]["status"] == "In Progress" and comparable(fast)[2]["id"] == "ID"
    assert fast.headers["Location"] == f"/api/reports/{fast.get_json()['id']}/status"
    assert fast.headers["X-Request-ID"] and answered == ["fast"]
    given = app.test_client().post("/api/reports", json=BODY, headers={"X-Request-ID": "req-7"})
    assert given.headers["X-Request-ID"] == "req-7" and answered == ["fast", "fast"]


DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    ("path", "headers", "data", "code"),
    [
        ("/api/reports?x=1", {}, None, 202),  # a query string
        ("/api/reports", {"Prefer": "wait=0"}, None, 202),  # Prefer: the view waits
        ("/api/reports", {"Cache-Control": "no-cache"}, None, 202),  # reuse reads it
        ("/api/reports", {"Content-Type": "text/plain"}, "{}", 415),
        ("/api/reports", {"Content-Type": "application/json"}, "{", 400),  # not JSON
        ("/api/reports", {"Content-Type": "application/json"}, "", 400),  # empty
        ("/api/reports", {"Content-Type": "application/json"}, DEEP, 400),  # too deep
        ("/api/reports", {"Content-Type": "application/json"}, b"\xff", 400),  # not UTF-8
        ("/api/reports", {"Content-Type": "application/json"}, b'\xef\xbb\xbf{"a": 1}', 400),  # BOM
        ("/api/reports", {"Content-Type": "application/json"}, "[]", 422),  # not an object
        ("/api/reports", {"Content-Type": "application/json"}, '{"reportType": "x"}', 422),
        ("/api/reports", {"Content-Type": "application/json"}, '{"n": 1e999}', 422),
        ("/api/reports", {"Content-Type": "application/json"}, "x" * 70_000, 413),
    ],
)
def test_anything_but_a_plain_valid_submission_is_the_views(
    app: Flask,
    answered: list[str],
    path: str,
    headers: dict[str, str],
    data: Any,
    code: int,
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 65_536
    sent: dict[str, Any] = {"json": BODY} if data is None else {"data": data}
    resp = app.test_client().post(path, headers=headers, **sent)
    view = flask_only(app).post(path, headers=headers, **sent)
    assert resp.status_code == code, resp.get_data(as_text=True)
    assert comparable(resp) == comparable(view)
    assert "fast" not in answered
    if code >= 400:
        assert resp.content_type == "application/problem+json"
        assert resp.headers["X-Request-ID"]


def test_a_refused_webhook_is_answered_by_flask_and_leaves_nothing(
    app: Flask, client: Any, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a submission whose body validates but whose webhook points inside
    body = {**BODY, "webhook": "https://127.0.0.1/hook"}
    checks: list[str | None] = []
    original = submits.with_webhook
    monkeypatch.setattr(submits, "with_webhook", lambda u, e: checks.append(u) or original(u, e))
    # When it is submitted (through the fast path)
    resp = app.test_client().post("/api/reports", json=body, headers={"X-Request-ID": "r-1"})
    # Then Flask answers the fast path's refusal: the problem+json 422, with the request's id
    assert resp.status_code == 422 and resp.content_type == "application/problem+json"
    assert "webhook" in resp.get_json()["errors"] and resp.headers["X-Request-ID"] == "r-1"
    # And the webhook was checked once (not again by the view), and nothing was left
    assert checks == ["https://127.0.0.1/hook"] and jobs_of(client, keys) == []


def test_an_error_after_the_submit_began_is_answered_once(
    app: Flask, backend: Backend, client: Any, keys: Keys
) -> None:
    # Given a client allowed one unfinished job, which it has
    backend.settings = backend.settings.__class__(
        **{**backend.settings.__dict__, "client_max_unfinished": 1}
    )
    web = app.test_client()
    assert web.post("/api/reports", json=BODY).status_code == 202
    # When it submits another (through the fast path)
    resp = web.post("/api/reports", json=BODY)
    # Then the quota's 429 is Flask's problem+json, and the job was not made
    assert resp.status_code == 429 and resp.content_type == "application/problem+json"
    assert resp.get_json()["type"].endswith("unfinished-quota") and resp.headers["Retry-After"]
    assert len(jobs_of(client, keys)) == 1


def test_an_idempotency_key_is_honoured_on_the_fast_path(app: Flask, answered: list[str]) -> None:
    web = app.test_client()
    first = web.post("/api/reports", json=BODY, headers={"Idempotency-Key": "k-1"})
    again = web.post("/api/reports", json=BODY, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 202
    assert first.get_json()["id"] == again.get_json()["id"]
    changed = {**BODY, "parameters": {"steps": 2}}
    other = web.post("/api/reports", json=changed, headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["errors"]
    too_long = web.post("/api/reports", json=BODY, headers={"Idempotency-Key": "k" * 256})
    assert too_long.status_code == 422
    assert answered == ["fast", "fast", "flask", "flask"]


def test_with_api_keys_only_a_valid_key_is_answered_fast(
    backend: Backend, producer: StubProducer, answered: list[str]
) -> None:
    backend.celery = producer  # type: ignore[assignment]
    backend.broker_messages = None
    app = make_app(backend, API_KEYS={"k-alice": "alice"})
    web = app.test_client()
    missing = web.post("/api/reports", json=BODY)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = web.post("/api/reports", json=BODY, headers={"Authorization": "Bearer no"})
    assert wrong.status_code == 401
    mine = web.post("/api/reports", json=BODY, headers={"Authorization": "Bearer k-alice"})
    assert mine.status_code == 202 and answered == ["flask", "flask", "fast"]
    listed = web.get("/api/reports", headers={"Authorization": "Bearer k-alice"}).get_json()
    assert [j["id"] for j in listed["items"]] == [mine.get_json()["id"]]


class CutShort(io.RawIOBase):
    """A body whose read fails as gunicorn's does on a malformed chunk."""

    def read(self, size: int = -1) -> bytes:
        raise MalformedBody("The request body is malformed: test.")


def test_a_body_that_fails_to_read_is_answered_by_flask(app: Flask) -> None:
    # Given a plain submission whose body read fails half way
    environ = EnvironBuilder(
        "/api/reports", method="POST", json=BODY, headers={"X-Request-ID": "r-9"}
    ).get_environ()
    environ["wsgi.input"] = CutShort()
    got: list[str] = []
    # When the app answers it
    body = b"".join(app.wsgi_app(environ, lambda status, headers: got.append(status)))
    # Then Flask answers the read's own 400 as problem+json
    assert got == ["400 BAD REQUEST"]
    assert json.loads(body)["detail"].startswith("The request body is malformed")


def test_the_fast_path_makes_the_round_trips_the_view_makes(
    app: Flask, spy: CommandSpy, answered: list[str]
) -> None:
    # Given an app whose Redis connection is open and scripts loaded
    assert app.test_client().post("/api/reports", json=BODY).status_code == 202
    # When a job is submitted through the fast path, then one through the view
    with spy.recording() as fast:
        assert app.test_client().post("/api/reports", json=BODY).status_code == 202
    with spy.recording() as view:
        assert flask_only(app).post("/api/reports", json=BODY).status_code == 202
    # Then both are the submit script and its publish's confirmation, nothing else
    assert fast == view == ["EVALSHA", "EVALSHA"]
    assert answered == ["fast", "fast"]
