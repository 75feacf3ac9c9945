"""The sans-IO core alone: Retry-After, clamping, backoff, long polls and deadlines.

The flows are driven here by a scripted driver on a fake clock, so hours of polling
take milliseconds and every pause the SDK chose can be read back exactly.
"""

from __future__ import annotations

import inspect
import itertools
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from async_reports_client import AsyncOperation, Client, Operation, errors, flows, policy
from async_reports_client.calls import Config, Failure, Flow, Notify, Reply, Request, Sleep
from async_reports_client.flows import OperationState
from async_reports_client.policy import PollPolicy, parse_retry_after
from async_reports_client.references import Reference, from_token, parse

pytestmark = pytest.mark.sdk

NOW = 1_700_000_000.0  # a wall-clock instant (epoch seconds)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5", 5.0), (" 12 ", 12.0), ("0", 0.0), ("1.5", 1.5), ("99999999", policy.MAX_RETRY_AFTER)],
)
def test_retry_after_in_seconds(value: str, expected: float) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_retry_after_as_an_http_date_counts_from_now() -> None:
    # Given a date 7 s after our clock, in the IMF-fixdate form
    value = "Tue, 14 Nov 2023 22:13:27 GMT"  # NOW + 7
    # Then the wait is 7 s; and the obsolete RFC 850 and asctime forms parse too
    assert parse_retry_after(value, NOW) == pytest.approx(7.0)
    assert parse_retry_after("Tuesday, 14-Nov-23 22:13:27 GMT", NOW) == pytest.approx(7.0)
    assert parse_retry_after("Tue Nov 14 22:13:27 2023", NOW) == pytest.approx(7.0)


def test_retry_after_as_an_http_date_counts_from_the_servers_date_header() -> None:
    # Given a server whose clock is 100 s behind ours, saying "retry 3 s after my now"
    server_now = "Tue, 14 Nov 2023 22:11:40 GMT"  # NOW - 100
    retry_at = "Tue, 14 Nov 2023 22:11:43 GMT"
    # Then we wait 3 s, not 0 (measuring from our clock would say the date is past)
    assert parse_retry_after(retry_at, NOW, server_now) == pytest.approx(3.0)
    # And a broken Date header falls back to our own clock
    assert parse_retry_after(retry_at, NOW - 101, "yesterday") == pytest.approx(4.0)


@pytest.mark.parametrize(
    "value", [None, "", "soon", "-5", "5s", "1e3", "٣", "Tue, 99 Nov 2023 99:00:00 GMT"]
)
def test_garbage_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


def test_a_date_in_the_past_means_now() -> None:
    assert parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", NOW) == 0.0


def test_clamping_to_the_callers_bounds() -> None:
    rules = PollPolicy(min_interval=2, max_interval=10)
    assert [rules.clamp(s) for s in (0, 1, 5, 10, 60)] == [2, 2, 5, 10, 10]
    assert PollPolicy().clamp(600) == 600  # without bounds the server's hint stands


def test_a_429_retry_after_is_a_floor_the_callers_max_does_not_shorten() -> None:
    rules, rng = PollPolicy(max_interval=1), random.Random(1)
    assert rules.retry_delay(5, 0, rng) == 5
    assert rules.poll_delay(5, 0, rng) == 1


def test_backoff_grows_to_its_cap_with_jitter_in_the_upper_half() -> None:
    rules, rng = PollPolicy(initial_backoff=1, multiplier=2, max_backoff=8), random.Random(7)
    for attempt, step in [(0, 1), (1, 2), (2, 4), (3, 8), (4, 8), (50, 8), (10_000, 8)]:
        draws = [rules.backoff(attempt, rng) for _ in range(500)]
        assert step / 2 <= min(draws) and max(draws) <= step, (attempt, min(draws), max(draws))
        # jitter: the draws spread over the range, not one value
        assert max(draws) - min(draws) > step / 4


def test_backoff_respects_the_callers_bounds() -> None:
    rng = random.Random(3)
    capped = PollPolicy(max_interval=3)
    assert max(capped.backoff(20, rng) for _ in range(200)) <= 3
    floored = PollPolicy(min_interval=5)
    assert min(floored.backoff(0, rng) for _ in range(200)) >= 5


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError):
        PollPolicy(min_interval=5, max_interval=1)
    with pytest.raises(ValueError):
        PollPolicy(long_poll=61)


def test_prefer_header_names_changes_state_only_for_clients_that_want_the_end() -> None:
    assert policy.prefer_header(60, only_state_changes=False) == "wait=60"
    assert policy.prefer_header(60, only_state_changes=True) == "wait=60, changes=state"
    assert policy.applied_wait("wait=60") == 60
    assert policy.applied_wait('Wait="30", changes=state') == 30
    assert policy.applied_wait(None) is None
    assert policy.applied_wait("respond-async") is None


def test_long_poll_never_asks_past_the_deadline() -> None:
    rules = PollPolicy()
    assert rules.long_poll_seconds(None) == 60
    assert rules.long_poll_seconds(500) == 60
    assert rules.long_poll_seconds(7.9) == 7
    assert rules.long_poll_seconds(0.5) == 0


def test_no_default_deadline_anywhere() -> None:
    # Google's 900 s default broke long jobs: no wait of ours has a deadline unless given
    for handle in (Operation, AsyncOperation):
        for name in ("wait", "result", "download"):
            method = getattr(handle, name)
            assert inspect.signature(method).parameters["timeout"].default is None, name
    for flow in (flows.wait, flows.result, flows.download):
        assert inspect.signature(flow).parameters["timeout"].default is None
    # and a client's `timeout` is per request, not per wait
    assert "deadline" not in inspect.signature(Client).parameters


# -- the wait flow, driven on a fake clock ------------------------------------------------


@dataclass
class FakeClock:
    """A monotonic and a wall clock that move only when told to."""

    now: float = 0.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return NOW + self.now


@dataclass
class Log:
    """What a flow did: each request (at its time), each pause, each notification."""

    requests: list[tuple[float, Request]] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)
    notified: list[dict[str, Any]] = field(default_factory=list)


def drive(
    flow: Flow,
    clock: FakeClock,
    answer: Callable[[Request, int], tuple[Reply | Failure, float]],
    limit: int = 100_000,
) -> tuple[Any, Log]:
    """Run a flow: `answer(request, n)` gives the reply and how long it took."""
    log, sent = Log(), None
    try:
        while True:
            action = flow.send(sent)
            sent = None
            if isinstance(action, Request):
                log.requests.append((clock.now, action))
                assert len(log.requests) < limit, "runaway flow"
                sent, took = answer(action, len(log.requests) - 1)
                clock.now += took
            elif isinstance(action, Sleep):
                assert action.seconds >= 0
                log.sleeps.append(action.seconds)
                clock.now += action.seconds
            elif isinstance(action, Notify):
                log.notified.append(action.document)
    except StopIteration as stop:
        return stop.value, log


def reply(status: int, doc: dict[str, Any] | None = None, **headers: str) -> Reply:
    hdrs = httpx.Headers({k.replace("_", "-"): v for k, v in headers.items()})
    return Reply(status, hdrs, json.dumps(doc).encode() if doc is not None else b"")


def doc(status: str = "In Progress", percent: int = 0) -> dict[str, Any]:
    return {"id": "j1", "status": status, "state": "running", "progress": {"percent": percent}}


def state() -> OperationState:
    return OperationState("report", "j1", "/api/reports/j1/status")


def config(clock: FakeClock, **rules: Any) -> Config:
    return Config(policy=PollPolicy(**rules), clock=clock, rng=random.Random(5))


def test_a_wait_without_timeout_polls_for_ten_hours_and_still_finishes() -> None:
    # Given a job that takes ten hours, and a server that says "Retry-After: 30"
    clock = FakeClock()

    def answer(req: Request, n: int) -> tuple[Reply, float]:
        done = clock.now >= 36_000
        return reply(200, doc("Complete" if done else "In Progress"), Retry_After="30"), 0.01

    # When we wait with no timeout, Then no deadline cuts it short
    result, log = drive(flows.wait(state(), config(clock, long_poll=0)), clock, answer)
    assert result["status"] == "Complete"
    assert clock.now >= 36_000
    # And every pause was the server's 30 s (about 1,200 polls, not a hot loop)
    assert set(log.sleeps) == {30}
    assert 1_150 < len(log.requests) < 1_250


def test_long_polls_follow_each_other_while_the_server_applies_them() -> None:
    clock = FakeClock()

    def answer(req: Request, n: int) -> tuple[Reply, float]:
        assert req.headers["Prefer"] == "wait=60, changes=state"
        assert req.long_poll == 60
        if n:
            assert req.headers["If-None-Match"] == f'W/"{n - 1}"'
        status = "Complete" if n == 3 else "In Progress"
        return reply(200, doc(status, n * 10), ETag=f'W/"{n}"', Preference_Applied="wait=60"), 5

    result, log = drive(flows.wait(state(), config(clock), only_state_changes=True), clock, answer)
    assert result["status"] == "Complete"
    assert log.sleeps == []  # each answer was news: ask again at once
    assert [d["progress"]["percent"] for d in log.notified] == [0, 10, 20, 30]


def test_a_304_after_a_full_long_poll_is_followed_at_once() -> None:
    clock = FakeClock()

    def answer(req: Request, n: int) -> tuple[Reply, float]:
        if n == 0:
            return reply(200, doc(), ETag='W/"a"', Preference_Applied="wait=60"), 1
        if n < 3:
            return reply(304, ETag='W/"a"', Preference_Applied="wait=60"), 60
        return reply(200, doc("Complete"), ETag='W/"b"', Preference_Applied="wait=60"), 1

    result, log = drive(flows.wait(state(), config(clock)), clock, answer)
    assert result["status"] == "Complete" and log.sleeps == [] and len(log.notified) == 2


def test_without_preference_applied_the_wait_follows_retry_after_clamped() -> None:
    clock = FakeClock()

    def answer(req: Request, n: int) -> tuple[Reply, float]:
        assert "Prefer" in req.headers  # still offered: a later answer may honour it
        status = "Complete" if n == 4 else "In Progress"
        return reply(200, doc(status, n), Retry_After=["1", "30", "500", "garbage"][n % 4]), 0.1

    _, log = drive(
        flows.wait(state(), config(clock, min_interval=2, max_interval=20)), clock, answer
    )
    assert log.sleeps[:3] == [2, 20, 20]  # 1 -> min 2; 30 -> max 20; 500 -> max 20
    assert log.sleeps[3] == 2  # no usable hint: backoff from the min (jitter cannot go below)


def test_an_early_empty_answer_that_claims_a_long_poll_is_not_trusted() -> None:
    # Given a server that says Preference-Applied but answers 304 at once, every time
    clock = FakeClock()

    def answer(req: Request, n: int) -> tuple[Reply, float]:
        if n == 0:
            return reply(200, doc(), ETag='W/"a"', Preference_Applied="wait=60"), 0.01
        if n == 5:
            return reply(200, doc("Complete"), ETag='W/"b"'), 0.01
        return reply(304, ETag='W/"a"', Preference_Applied="wait=60", Retry_After="3"), 0.01

    _, log = drive(flows.wait(state(), config(clock)), clock, answer)
    # Then the client falls back to the Retry-After instead of spinning
    assert log.sleeps == [3, 3, 3, 3]


def test_a_429_teaches_the_wait_the_services_spacing() -> None:
    # Given a service that accepts one poll a second (429 with Retry-After otherwise), and
    # long polls that come back 0.3 s after they were sent, each with news
    clock = FakeClock()
    accepted: list[float] = []
    refused: list[float] = []

    def answer(req: Request, n: int) -> tuple[Reply, float]:
        if accepted and clock.now - accepted[-1] < 1.0:
            refused.append(clock.now)
            wait = math.ceil(1.0 - (clock.now - accepted[-1]))
            return reply(429, {"detail": "slow down"}, Retry_After=str(wait)), 0.0
        accepted.append(clock.now)
        status = "Complete" if len(accepted) == 10 else "In Progress"
        k = len(accepted)
        return reply(200, doc(status, k), ETag=f'W/"{k}"', Preference_Applied="wait=60"), 0.3

    result, _ = drive(flows.wait(state(), config(clock)), clock, answer)
    # Then the first 429 is the only one: later polls keep the spacing it revealed
    assert result["status"] == "Complete"
    assert len(refused) == 1
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(accepted))


def test_the_deadline_bounds_the_wait_and_each_long_poll() -> None:
    clock = FakeClock()
    asked: list[int] = []

    def answer(req: Request, n: int) -> tuple[Reply, float]:
        asked.append(req.long_poll)
        took = min(req.long_poll, 60) or 0.1
        return reply(
            304 if n else 200, doc(), ETag='W/"a"', Preference_Applied=f"wait={req.long_poll}"
        ), took

    with pytest.raises(errors.Timeout) as raised:
        drive(flows.wait(state(), config(clock), timeout=150), clock, answer)
    assert raised.value.document is not None and raised.value.document["status"] == "In Progress"
    assert 150 <= clock.now < 152
    assert asked[:3] == [60, 60, 30] and all(a <= 60 for a in asked)


def test_429_and_503_are_retried_after_their_retry_after_and_connection_errors_backoff() -> None:
    clock = FakeClock()
    answers = [
        (reply(429, {"detail": "slow down"}, Retry_After="4"), 0.0),
        (reply(503, {"detail": "store down"}, Retry_After="Tue, 14 Nov 2023 22:13:50 GMT"), 0.0),
        (Failure(httpx.ConnectError("refused")), 0.0),
        (reply(200, doc("Complete")), 0.0),
    ]
    result, log = drive(flows.refresh(state(), config(clock)), clock, lambda r, n: answers[n])
    assert result["status"] == "Complete"
    assert log.sleeps[0] == 4
    assert log.sleeps[1] == pytest.approx(30 - 4)  # the HTTP-date, measured at that moment
    assert 2 <= log.sleeps[2] <= 4  # third failure in a row: backoff step 4 s, jittered


def test_retry_for_bounds_a_run_of_failures() -> None:
    clock = FakeClock()
    cfg = Config(retry_for=20, clock=clock, rng=random.Random(1))
    with pytest.raises(errors.Unavailable) as raised:
        drive(
            flows.refresh(state(), cfg),
            clock,
            lambda r, n: (reply(503, {"detail": "down"}, Retry_After="5"), 0),
        )
    assert raised.value.detail == "down" and raised.value.retry_after == 5
    assert 15 <= clock.now <= 20
    with pytest.raises(errors.RateLimited) as limited:
        drive(
            flows.refresh(state(), cfg),
            clock,
            lambda r, n: (reply(429, {"detail": "no"}, Retry_After="7"), 0),
        )
    assert limited.value.retry_after == 7


def test_a_submit_keeps_its_idempotency_key_through_retries() -> None:
    clock = FakeClock()
    request = flows.report_submission("noop", {"steps": 1}, "key-1")
    answers = [
        (Failure(httpx.ReadTimeout("lost")), 0.0),
        (reply(409, {"detail": "in flight"}, Retry_After="1"), 0.0),
        (reply(202, doc(), Location="/api/reports/j1/status", ETag='W/"x"'), 0.0),
    ]
    made, log = drive(
        flows.submit("report", request, config(clock)), clock, lambda r, n: answers[n]
    )
    assert {r.headers["Idempotency-Key"] for _, r in log.requests} == {"key-1"}
    assert len(log.requests) == 3
    assert (made.id, made.status_url, made.etag) == ("j1", "/api/reports/j1/status", 'W/"x"')


def test_outcomes_raise_typed_errors() -> None:
    failed = {"id": "j", "status": "Failed", "error": {"type": "t", "title": "T", "detail": "bad"}}
    with pytest.raises(errors.JobFailed) as raised:
        errors.outcome(failed)
    assert raised.value.problem["detail"] == "bad" and raised.value.document == failed
    with pytest.raises(errors.JobCancelled):
        errors.outcome({"id": "j", "status": "Cancelled"})
    invalid = errors.from_answer(422, b'{"detail": "no", "errors": {"year": ["Bad."]}}')
    assert isinstance(invalid, errors.InvalidRequest) and invalid.errors == {"year": ["Bad."]}
    assert isinstance(errors.from_answer(404, b""), errors.NotFound)
    assert isinstance(errors.from_answer(410, b"{}"), errors.Gone)
    assert isinstance(errors.from_answer(401, b"{}"), errors.Unauthorized)
    assert isinstance(errors.from_answer(500, b"<html>"), errors.ServerError)
    for cls in (errors.JobFailed, errors.NotFound, errors.Timeout, errors.Unavailable):
        assert issubclass(cls, errors.AsyncReportsError)
        assert (cls.__doc__ or "").startswith("Raised when")


def test_references_round_trip() -> None:
    ref = Reference("import", "abc", "/api/imports/abc/status", "http://h:1/prefix")
    assert from_token(ref.token()) == ref
    assert parse(ref.token()) == ref
    assert parse("http://h:1/prefix/api/imports/abc/status") == ref
    assert parse("/api/reports/x/status") == Reference("report", "x", "/api/reports/x/status")
    assert parse("x") == Reference("report", "x", "/api/reports/x/status")
    for bad in ("arop1.!!!", "a b", "http://h/nothing-here", ""):
        with pytest.raises(ValueError):
            parse(bad)
