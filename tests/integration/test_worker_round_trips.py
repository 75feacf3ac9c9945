"""What a real worker sends Redis for one trivial job, watched with MONITOR: its result
stored once (with the record's end, not again by Celery's tracer), and no followers read
for a job that leads no shared computation. The unit twins, in
tests/unit/test_runtime_round_trips.py: test_a_trivial_job_costs_two_round_trips_of_ours
(of a deterministic kind too) and test_celerys_store_of_the_success_after_the_body_sends_nothing.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from typing import Any

import pytest
import redis

from devstack.stack import Stack
from jobs.store.connection import lua
from jobs.store.keys import Keys
from tests.integration.client import run_job

pytestmark = pytest.mark.integration


def sha(*scripts: str) -> str:
    """The EVALSHA digest of a script registered as jobs.store.connection.script does."""
    return hashlib.sha1("".join(lua(n) for n in scripts).encode()).hexdigest()


class Watch:
    """Every command Redis runs, recorded by MONITOR on a thread until stop(), which sends
    a sentinel: every command run before it has been read when stop() returns."""

    def __init__(self, client: redis.Redis) -> None:
        self.commands: list[str] = []  # each as MONITOR shows it, quotes taken off
        self._sentinel = f"ECHO watch-{uuid.uuid4().hex}"
        self._monitor = client.monitor()
        self._monitor.__enter__()
        self._thread = threading.Thread(target=self._record, daemon=True)
        self._thread.start()

    def _record(self) -> None:
        while True:  # ends at the sentinel (or when the connection fails)
            got: dict[str, Any] = self._monitor.next_command()
            if str(got["command"]) == self._sentinel:
                return
            self.commands.append(str(got["command"]))

    def stop(self, client: redis.Redis) -> None:
        client.echo(self._sentinel.removeprefix("ECHO "))
        self._thread.join(timeout=30)
        self._monitor.__exit__(None, None, None)
        assert not self._thread.is_alive(), "MONITOR did not see the sentinel in 30 s"


def run_noop(stack: Stack) -> str:
    """Run a trivial job to its end (submitted, then polled until Complete); its id."""
    final, _ = run_job(stack.base_url, "noop", {"steps": 0})
    assert final["status"] == "Complete", final
    return str(final["id"])


def test_a_trivial_jobs_result_is_stored_once_and_no_followers_are_read(
    stack: Stack, redis_client: redis.Redis
) -> None:
    keys = Keys()
    run_noop(stack)  # the scripts loaded (a first EVALSHA is refused, then sent again)
    watch = Watch(redis_client)
    try:
        # Given a trivial job that shares nothing (the diagnostic noop is never reused)
        # When the worker has run it (and its tracer has done its part after the body: a
        # store follows the end by microseconds, in the same process)
        job_id = run_noop(stack)
        time.sleep(1.0)
    finally:
        watch.stop(redis_client)
    meta_key = keys.celery_meta(job_id)
    naming = [c for c in watch.commands if job_id in c]
    # Then the worker's claim was seen (the watch saw the worker's commands)...
    claim = "EVALSHA " + sha("fair_rank", "fair_handover", "celery_meta", "claim")
    assert len([c for c in naming if c.startswith(claim)]) == 1, [c[:90] for c in naming]
    # ...its end stored the result (finish.lua SETs Celery's meta key)...
    assert [c for c in naming if c.startswith(f"SET {meta_key} ")], naming
    # ...and Celery's store of the SUCCESS after that was not sent
    assert not [c for c in naming if sha("celery_meta", "store_result") in c], naming
    # And no followers were read or completed for it (it leads nothing)
    assert not [c for c in naming if keys.followers(job_id) in c], naming
    assert not [c for c in naming if sha("reuse_complete") in c], naming
    stored = redis_client.get(meta_key)
    assert stored is not None and '"SUCCESS"' in stored
