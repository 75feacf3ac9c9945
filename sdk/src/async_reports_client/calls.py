"""The sans-IO engine: the actions a flow yields, and one call retried as the service asks.

A flow yields `Request` (send it, send back a `Reply` or a `Failure`), `Sleep` (pause,
send back None) and `Notify` (hand a status document to the caller's callback). The
sync client (`client.py`) and the async one (`aio.py`) are drivers of these flows, so
retrying, polling and deadlines are written once and tested without a network.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from async_reports_client import errors, policy
from async_reports_client.bodies import Sink, Upload

log = logging.getLogger("async_reports_client")

RETRYABLE = frozenset({429, 502, 503, 504})
DEFAULT_RETRY_FOR = 120.0


class Clock(Protocol):
    """Time as flows see it: a monotonic clock for waiting, the wall clock for HTTP-dates."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    def time(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    """The real clocks."""

    def monotonic(self) -> float:
        """time.monotonic()."""
        return time.monotonic()

    def time(self) -> float:
        """time.time()."""
        return time.time()


@dataclass(frozen=True)
class Config:
    """What every flow of one client shares: its polling policy, retry budget, clock, rng.

    `retry_for`: how long one call keeps retrying connection errors, 429 and 502-504,
    counted from the first failure in a row (None: until the call's deadline, if any).
    """

    policy: policy.PollPolicy = field(default_factory=policy.PollPolicy)
    retry_for: float | None = DEFAULT_RETRY_FOR
    clock: Clock = field(default_factory=SystemClock)
    rng: random.Random = field(default_factory=random.Random)


@dataclass(frozen=True)
class Request:
    """One HTTP request; `url` is relative to the client's base URL (or absolute)."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] | None = None
    json: Any = None
    upload: Upload | None = None
    sink: Sink | None = None  # where a 200 body is streamed to
    long_poll: int = 0  # seconds the server may hold the answer (added to the read timeout)


@dataclass(frozen=True)
class Reply:
    """An answer: status, headers (case-insensitive mapping) and body (empty if streamed)."""

    status: int
    headers: Mapping[str, str]
    content: bytes = b""
    reason: str = ""

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.content)


@dataclass(frozen=True)
class Failure:
    """No answer: a connection error or timeout. `fatal` when retrying cannot help."""

    error: Exception
    fatal: bool = False


@dataclass(frozen=True)
class Sleep:
    """Pause for `seconds`."""

    seconds: float


@dataclass(frozen=True)
class Notify:
    """A new status document for the caller's progress callback."""

    document: dict[str, Any]


Action = Request | Sleep | Notify
Flow = Generator[Action, Reply | Failure | None, Any]


def retry_after_of(reply: Reply, clock: Clock) -> float | None:
    """The answer's Retry-After in seconds (either form), None if absent or unusable."""
    return policy.parse_retry_after(
        reply.headers.get("Retry-After"), clock.time(), reply.headers.get("Date")
    )


@dataclass
class Attempts:
    """What one call went through: when each attempt was sent, and its status (None: no answer)."""

    sent: list[float] = field(default_factory=list)
    statuses: list[int | None] = field(default_factory=list)

    @property
    def rate_limited(self) -> bool:
        """True when the service answered 429 to one of the attempts."""
        return 429 in self.statuses


def call(
    request: Request,
    config: Config,
    deadline: float | None = None,
    *,
    retry_conflict: bool = False,
    attempts: Attempts | None = None,
) -> Flow:
    """Send `request` until it gets an answer that is not a transient failure; return it.

    Connection errors, 429 and 502-504 are retried after their Retry-After (else
    backoff), for at most `config.retry_for` seconds in a row and never past
    `deadline`. `retry_conflict` also retries 409 (a submit whose Idempotency-Key is
    still being processed by an earlier attempt). Error answers raise typed errors.
    Each attempt is recorded in `attempts`, when given.
    """
    clock = config.clock
    failing_since: float | None = None
    attempt = 0
    record = attempts if attempts is not None else Attempts()
    while True:
        record.sent.append(clock.monotonic())
        answer = yield request
        assert answer is not None
        record.statuses.append(answer.status if isinstance(answer, Reply) else None)
        now = clock.monotonic()
        retry_after: float | None = None
        if isinstance(answer, Reply):
            transient = answer.status in RETRYABLE or (retry_conflict and answer.status == 409)
            if not transient:
                if answer.status >= 400:
                    raise errors.from_answer(
                        answer.status,
                        answer.content,
                        reason=answer.reason,
                        retry_after=retry_after_of(answer, clock),
                    )
                return answer
            retry_after = retry_after_of(answer, clock)
            what = f"HTTP {answer.status}"
        else:
            if answer.fatal:
                raise errors.Unavailable(f"The connection broke: {answer.error}") from answer.error
            what = f"connection error ({type(answer.error).__name__})"
        if request.upload is not None and not request.upload.restartable:
            raise _give_up(answer, retry_after, 0.0)  # a stream cannot be sent again
        if failing_since is None:
            failing_since = now
        delay = config.policy.retry_delay(retry_after, attempt, config.rng)
        attempt += 1
        if config.retry_for is not None and now + delay - failing_since > config.retry_for:
            raise _give_up(answer, retry_after, now - failing_since)
        if deadline is not None and now + delay > deadline:
            raise errors.Timeout("The deadline passed while the service was not answering.")
        log.info("%s %s: %s; retrying in %.1f s", request.method, request.url, what, delay)
        yield Sleep(delay)


def _give_up(answer: Reply | Failure, retry_after: float | None, spent: float) -> Exception:
    if isinstance(answer, Failure):
        error = errors.Unavailable(
            f"The service could not be reached for {spent:.0f} s: {answer.error}"
        )
        error.__cause__ = answer.error
        return error
    return errors.from_answer(
        answer.status, answer.content, reason=answer.reason, retry_after=retry_after
    )


def get_json(url: str, config: Config, params: Mapping[str, str] | None = None) -> Flow:
    """GET a JSON resource and return it parsed."""
    reply = yield from call(Request("GET", url, {"Accept": "application/json"}, params), config)
    return reply.json()
