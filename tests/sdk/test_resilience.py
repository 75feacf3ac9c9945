"""429 and 503 from the real service: the SDK waits as told and the caller never sees them."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import pytest

from async_reports_client import Client
from devstack.stack import Stack
from tests.sdk.conftest import OutageStack

pytestmark = [pytest.mark.sdk, pytest.mark.integration]


def retried(caplog: pytest.LogCaptureFixture, what: str) -> int:
    """How many retry notices of the SDK name `what`."""
    return sum(what in r.getMessage() for r in caplog.records if r.name == "async_reports_client")


def test_a_poll_rate_limit_is_honoured_and_never_reaches_the_caller(
    rate_limited_stack: Stack, retries: pytest.LogCaptureFixture
) -> None:
    # Given a service that allows one poll of a job every two seconds, and a job that
    # reports a step every 0.3 s (so each long poll, answered on progress after 1 s,
    # returns sooner than the limit allows again)
    with Client(rate_limited_stack.base_url) as client:
        op = client.reports.submit("noop", steps=8, stepSeconds=0.3)
        seen: list[int] = []
        # When we wait with a progress callback, Then no 429 gets through and it finishes
        final = op.wait(timeout=120, on_progress=lambda d: seen.append(d["progress"]["percent"]))
        assert final["status"] == "Complete"
        assert seen == sorted(seen) and seen[-1] == 100
        # And the test did meet the limit: the SDK retried a 429 after its Retry-After,
        # and learnt the spacing from it instead of being refused at every step
        assert 1 <= retried(retries, "HTTP 429") <= 2
        # And two status reads back to back are spaced by the SDK, not refused
        op.status()
        started = time.monotonic()
        assert op.status()["status"] == "Complete"
        assert time.monotonic() - started >= 0.5


def test_a_wait_survives_redis_stopping_and_coming_back(
    outage_stack: OutageStack, retries: pytest.LogCaptureFixture
) -> None:
    # Given a job of ten 0.5 s steps, waited for with a progress callback
    redis = outage_stack.redis
    with Client(outage_stack.stack.base_url) as client:
        op = client.reports.submit("noop", steps=10, stepSeconds=0.5)
        started = threading.Event()
        outage_done = threading.Event()

        def on_progress(doc: dict[str, Any]) -> None:
            if doc["progress"]["current"] >= 1:
                started.set()

        def outage() -> None:
            # When Redis (store and broker) stops mid-wait and comes back 3 s later
            if started.wait(60):
                redis.kill(signal.SIGTERM)  # a clean stop: it writes its append-only file
                time.sleep(3)
                redis.start()
            outage_done.set()

        threading.Thread(target=outage, daemon=True).start()
        final = op.wait(timeout=120, on_progress=on_progress)
        assert outage_done.wait(30)
    # Then the wait rode it out and the job completed
    assert final["status"] == "Complete"
    assert retried(retries, "HTTP 503") + retried(retries, "connection error") >= 1
