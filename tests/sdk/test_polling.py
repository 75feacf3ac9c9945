"""The SDK over real HTTP against a scripted service: it waits as told, on the server's clock.

Timings are measured where the requests arrive. Lower bounds are what the server asked
for (less a little for clock resolution); upper bounds are generous, so a loaded
machine never fails a test.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from pathlib import Path
from typing import Any

import pytest

from async_reports_client import (
    AsyncClient,
    Client,
    Conflict,
    InvalidRequest,
    RateLimited,
    Timeout,
    Unavailable,
)
from tests.sdk.fake_service import (
    CSV,
    Answer,
    FakeService,
    Seen,
    accepted,
    document,
    gaps,
    http_date,
    import_service,
    new_id,
    status_answer,
)

pytestmark = pytest.mark.sdk

SLACK = 10.0  # seconds a loaded machine may add to any pause


class Job:
    """A scripted job: In Progress for `polls` status reads, then `final`."""

    def __init__(
        self, polls: int, final: str = "Complete", moving: bool = True, **headers: Any
    ) -> None:
        self.id = new_id()
        self.polls, self.final, self.headers = polls, final, headers
        self.moving = moving
        self.reads = 0

    def script(self, seen: Seen) -> Answer:
        if seen.method == "POST":
            return accepted(document(self.id))
        if seen.path.endswith("/download"):
            return Answer(200, {"summary": {"steps": 1}})
        self.reads += 1
        if self.reads > self.polls:
            return status_answer(document(self.id, self.final, 100), seen)
        headers = {k: (v() if callable(v) else v) for k, v in self.headers.items()}
        percent = self.reads if self.moving else 0
        return status_answer(document(self.id, percent=percent), seen, **headers)


def test_an_http_date_retry_after_is_waited_for_on_the_servers_clock() -> None:
    # Given a server that answers "retry at <now + 3 s>" as an HTTP-date, with its Date
    job = Job(
        polls=2,
        Retry_After=lambda: http_date(time.time() + 3),
        Date=lambda: http_date(time.time()),
    )
    with FakeService(job.script) as service, Client(service.url, long_poll=0) as client:
        # When the SDK waits for the job
        client.reports.get(job.id).wait()
        # Then it polled three times, about three seconds apart (the dates have 1 s resolution)
        between = gaps(service.polls())
    assert len(between) == 2
    assert all(2.5 <= g < 3 + SLACK for g in between), between


def test_an_http_date_without_a_date_header_is_measured_on_our_clock() -> None:
    job = Job(polls=1, Retry_After=lambda: http_date(time.time() + 3))
    with FakeService(job.script) as service, Client(service.url, long_poll=0) as client:
        client.reports.get(job.id).wait()
        (between,) = gaps(service.polls())
    assert 1.9 <= between < 3 + SLACK


def test_delta_seconds_retry_after_is_clamped_to_the_callers_max() -> None:
    # Given a server that says "Retry-After: 30" and a caller who allows at most 0.5 s
    job = Job(polls=3, Retry_After="30")
    with (
        FakeService(job.script) as service,
        Client(service.url, max_poll_interval=0.5, long_poll=0) as client,
    ):
        started = time.monotonic()
        client.reports.get(job.id).wait()
        between = gaps(service.polls())
    # Then it polls every half second or so, not every 30 s
    assert all(0.4 <= g < 0.5 + SLACK for g in between), between
    assert time.monotonic() - started < 30


def test_a_short_retry_after_is_raised_to_the_callers_min() -> None:
    job = Job(polls=2, Retry_After="0")
    with (
        FakeService(job.script) as service,
        Client(service.url, min_poll_interval=1.0, long_poll=0) as client,
    ):
        client.reports.get(job.id).wait()
        between = gaps(service.polls())
    assert all(0.95 <= g < 1 + SLACK for g in between), between


def test_without_any_hint_the_client_backs_off_instead_of_spinning() -> None:
    # Given a job whose document does not change, and no Retry-After nor long polls
    job = Job(polls=3, moving=False)
    with FakeService(job.script) as service, Client(service.url) as client:
        client.reports.get(job.id).wait()
        between = gaps(service.polls())
    # Then the pauses grow in 1 s, 2 s, 4 s steps, each jittered down to half at most
    assert between[0] >= 0.45 and between[1] >= 0.95 and between[2] >= 1.95, between


def long_polling_job(job_id: str, steps: int, hold: float) -> Any:
    """A server that honours `Prefer: wait`: holds each poll `hold` s, then the next step."""
    state = {"reads": 0}

    def script(seen: Seen) -> Answer:
        if seen.method == "POST":
            return accepted(document(job_id))
        state["reads"] += 1
        n = state["reads"]
        status = "Complete" if n > steps else "In Progress"
        percent = 100 if status == "Complete" else n * 10
        answer = status_answer(document(job_id, status, percent), seen, Retry_After="30")
        if "prefer" in seen.headers:
            answer.headers["Preference-Applied"] = "wait=60"
            answer.hold = hold
        return answer

    return script


def test_long_polls_are_used_when_the_server_applies_them() -> None:
    job_id = new_id()
    with (
        FakeService(long_polling_job(job_id, 4, hold=0.3)) as service,
        Client(service.url) as client,
    ):
        seen: list[int] = []
        started = time.monotonic()
        op = client.reports.submit("noop")
        op.wait(on_progress=lambda d: seen.append(d["progress"]["percent"]))
        polls = service.polls()
    # Then every poll asked to wait, conditionally on the document it had
    assert all(p.headers["prefer"] == "wait=60" for p in polls)  # a progress callback: all changes
    assert all("if-none-match" in p.headers for p in polls)
    # And each one followed the last at once, not after the 30 s Retry-After
    assert time.monotonic() - started < 30
    assert seen == sorted(seen) and seen[-1] == 100 and len(set(seen)) >= 4


def test_a_wait_for_the_end_only_asks_for_state_changes() -> None:
    job_id = new_id()
    with (
        FakeService(long_polling_job(job_id, 2, hold=0.1)) as service,
        Client(service.url) as client,
    ):
        client.reports.submit("noop").wait()
        polls = service.polls()
    assert polls and all(p.headers["prefer"] == "wait=60, changes=state" for p in polls)


def test_429_and_503_are_retried_after_their_retry_after() -> None:
    job_id = new_id()
    answers = [
        lambda: Answer(429, {"title": "Too many requests", "detail": "slow"}, {"Retry-After": "1"}),
        lambda: Answer(503, {"detail": "down"}, {"Retry-After": http_date(time.time() + 2)}),
        lambda: Answer(200, document(job_id, "Complete", 100)),
    ]
    with FakeService(lambda seen: answers.pop(0)()) as service, Client(service.url) as client:
        doc = client.reports.get(job_id).status()
        between = gaps(service.requests)
    assert doc["status"] == "Complete"
    assert 0.95 <= between[0] < 1 + SLACK
    assert 0.9 <= between[1] < 2 + SLACK  # the date has 1 s resolution


def test_dropped_connections_are_retried() -> None:
    job = Job(polls=1, Retry_After="0")
    drops = [True, True]

    def script(seen: Seen) -> Answer:
        if drops:
            drops.pop()
            return Answer(drop=True)
        return job.script(seen)

    with FakeService(script) as service, Client(service.url, long_poll=0) as client:
        assert client.reports.get(job.id).wait()["status"] == "Complete"
        assert len(service.requests) == 4


def test_a_retried_submit_sends_its_idempotency_key_each_time() -> None:
    job_id = new_id()
    answers = [
        Answer(drop=True),
        Answer(503, {"detail": "down"}, {"Retry-After": "0"}),
        Answer(409, {"detail": "in flight"}, {"Retry-After": "0"}),
        accepted(document(job_id)),
        accepted(document(new_id())),
    ]
    with FakeService(lambda seen: answers.pop(0)) as service, Client(service.url) as client:
        op = client.reports.submit("top-products", {"from": "2023-01-01"}, to="2023-02-01")
        other = client.reports.submit("noop")
        posts = service.requests
    assert op.id == job_id and other.id != job_id
    keys = [p.headers["idempotency-key"] for p in posts]
    assert len(set(keys[:4])) == 1 and keys[4] != keys[0]
    assert json.loads(posts[0].body) == {
        "reportType": "top-products",
        "parameters": {"from": "2023-01-01", "to": "2023-02-01"},
    }


def test_the_callers_deadline_raises_timeout_with_the_latest_document() -> None:
    job = Job(polls=10**6, Retry_After="1")
    with FakeService(job.script) as service, Client(service.url, long_poll=0) as client:
        started = time.monotonic()
        with pytest.raises(Timeout) as raised:
            client.reports.get(job.id).wait(timeout=2.5)
        took = time.monotonic() - started
    assert 2.5 <= took < 2.5 + SLACK
    assert raised.value.document is not None and raised.value.document["status"] == "In Progress"


def test_a_long_poll_never_asks_to_wait_past_the_deadline() -> None:
    job_id = new_id()
    with (
        FakeService(long_polling_job(job_id, 10**6, hold=0.5)) as service,
        Client(service.url) as client,
    ):
        with pytest.raises(Timeout):
            client.reports.get(job_id).wait(timeout=3.5)
        prefer = [p.headers.get("prefer") for p in service.polls()]
    asked = [int(p.split("=")[1].split(",")[0]) for p in prefer if p]
    assert asked[0] == 3 and all(a <= 3 for a in asked), prefer


def test_a_service_that_stays_down_ends_the_call_after_retry_for() -> None:
    down = Answer(503, {"detail": "The store is unreachable."}, {"Retry-After": "0"})
    busy = Answer(429, {"detail": "Slow down."}, {"Retry-After": "1"})
    with FakeService(lambda seen: down) as service, Client(service.url, retry_for=1.5) as client:
        with pytest.raises(Unavailable) as raised:
            client.reports.get(new_id()).status()
        assert raised.value.detail == "The store is unreachable." and raised.value.status == 503
        assert len(service.requests) >= 2
    with FakeService(lambda seen: busy) as service, Client(service.url, retry_for=1.5) as client:
        with pytest.raises(RateLimited) as limited:
            client.reports.get(new_id()).status()
        assert limited.value.retry_after == 1


def test_problems_become_typed_errors() -> None:
    problem = {
        "type": "about:blank",
        "title": "Invalid request",
        "status": 422,
        "detail": "The request did not validate.",
        "errors": {"parameters.year": ["Not a valid integer."]},
    }
    with (
        FakeService(lambda seen: Answer(422, problem)) as service,
        Client(service.url) as client,
        pytest.raises(InvalidRequest) as raised,
    ):
        client.reports.submit("yearly-sales", year="x")
    assert raised.value.errors == {"parameters.year": ["Not a valid integer."]}
    assert str(raised.value) == "The request did not validate."


def test_a_download_that_is_not_ready_raises_conflict() -> None:
    job_id = new_id()

    def script(seen: Seen) -> Answer:
        if seen.path.endswith("/download"):
            return Answer(409, {"detail": "Not complete yet."}, {"Retry-After": "2"})
        return status_answer(document(job_id, "Complete", 100), seen)

    with (
        FakeService(script) as service,
        Client(service.url) as client,
        pytest.raises(Conflict) as raised,
    ):
        client.reports.get(job_id).result()
    assert raised.value.retry_after == 2


def test_the_api_key_is_sent_as_a_bearer_token(monkeypatch: pytest.MonkeyPatch) -> None:
    job = Job(polls=0)
    monkeypatch.setenv("ASYNC_REPORTS_API_KEY", "from-env")
    with FakeService(job.script) as service:
        monkeypatch.setenv("ASYNC_REPORTS_URL", service.url)
        with Client() as client:
            client.reports.get(job.id).status()
        with Client(api_key="given") as client:
            client.reports.get(job.id).status()
        auth = [s.headers["authorization"] for s in service.requests]
    assert auth == ["Bearer from-env", "Bearer given"]


# -- imports (tests/sdk/test_imports_stack.py has them against the real server) -------


def test_an_import_streams_the_file_and_reports_its_counts(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_bytes(CSV)
    job_id = new_id()
    with FakeService(import_service(job_id)) as service, Client(service.url) as client:
        op = client.imports.submit(path, max_bad_rows=5)
        assert op.kind == "import"
        counts = op.result()
        bad = op.errors()
        post, *_ = service.requests
        errors_get = service.requests[-1]
    assert counts["rowsImported"] == 3
    assert post.path == "/api/imports" and post.query == {"maxBadRows": ["5"]}
    assert post.headers["content-type"] == "text/csv"
    assert post.headers["content-length"] == str(len(CSV)) and post.body == CSV
    assert "content-encoding" not in post.headers and "idempotency-key" in post.headers
    assert errors_get.path == f"/api/imports/{job_id}/errors"
    assert errors_get.headers["accept"] == "application/json"
    assert bad[0]["line"] == 3 and bad[0]["value"] == "0"


def test_an_import_can_be_gzipped_on_the_way_or_sent_gzipped(tmp_path: Path) -> None:
    plain, packed = tmp_path / "a.csv", tmp_path / "b.csv.gz"
    plain.write_bytes(CSV * 2000)  # ~300 KB: several chunks
    packed.write_bytes(gzip.compress(CSV))
    with FakeService(import_service(new_id())) as service, Client(service.url) as client:
        client.imports.submit(plain, gzip=True)
        with packed.open("rb") as f:
            client.imports.submit(f)  # a gzip file is sent as it is
        on_the_way, as_is = [s for s in service.requests if s.method == "POST"]
    assert on_the_way.headers["content-encoding"] == "gzip"
    assert on_the_way.headers.get("transfer-encoding") == "chunked"  # streamed, size unknown
    assert gzip.decompress(on_the_way.body) == CSV * 2000
    assert as_is.headers["content-encoding"] == "gzip" and as_is.body == packed.read_bytes()


def test_a_retried_import_sends_the_whole_file_again_with_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_bytes(CSV)
    job_id = new_id()
    inner = import_service(job_id)
    first = [Answer(503, {"detail": "down"}, {"Retry-After": "0"})]
    with (
        FakeService(lambda seen: first.pop() if first else inner(seen)) as service,
        Client(service.url) as client,
    ):
        assert client.imports.submit(path).id == job_id
        a, b = service.requests
    assert a.body == b.body == CSV
    assert a.headers["idempotency-key"] == b.headers["idempotency-key"]


def test_the_async_client_drives_the_same_flows(tmp_path: Path) -> None:
    job_id = new_id()
    script = long_polling_job(job_id, 3, hold=0.1)

    def with_download(seen: Seen) -> Answer:
        if seen.path.endswith("/download"):
            return Answer(200, b"step\r\n1\r\n", {"Content-Type": "text/csv"})
        return script(seen)

    async def main(url: str) -> tuple[list[int], dict[str, Any]]:
        seen: list[int] = []

        async def on_progress(doc: dict[str, Any]) -> None:
            await asyncio.sleep(0)
            seen.append(doc["progress"]["percent"])

        async with AsyncClient(url) as client:
            op = await client.reports.submit("noop", steps=3)
            final = await op.wait(on_progress=on_progress)
            await op.download(tmp_path / "out.csv")
            again = client.resume(op.continuation_token())
            assert again.id == op.id and (await again.status())["status"] == "Complete"
        return seen, final

    with FakeService(with_download) as service:
        seen, final = asyncio.run(main(service.url))
    assert final["status"] == "Complete" and seen == sorted(seen) and seen[-1] == 100
    assert (tmp_path / "out.csv").read_bytes() == b"step\r\n1\r\n"
