"""PollGate: at most one poll of a job per client per MIN_POLL_INTERVAL_SECONDS."""

from __future__ import annotations

import fakeredis

from jobs.store import Keys
from jobs.store.throttle import PollGate


def test_no_interval_never_makes_anyone_wait(
    poll_gate: PollGate, client: fakeredis.FakeRedis
) -> None:
    assert poll_gate.seconds_to_wait("c", "j", 0) == 0
    assert poll_gate.seconds_to_wait("c", "j", 0) == 0
    assert client.dbsize() == 0  # nothing is written while the gate is off


def test_the_poll_gate_allows_one_poll_per_interval(poll_gate: PollGate) -> None:
    # Given a client that just polled a job
    assert poll_gate.seconds_to_wait("c", "j", 5) == 0
    # Then its next poll of that job within the interval must wait, at most the interval
    assert 1 <= poll_gate.seconds_to_wait("c", "j", 5) <= 5
    # And other clients, and other jobs, are not held back by it
    assert poll_gate.seconds_to_wait("other", "j", 5) == 0
    assert poll_gate.seconds_to_wait("c", "other-job", 5) == 0


def test_a_short_interval_still_asks_for_a_whole_second(
    poll_gate: PollGate, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    assert poll_gate.seconds_to_wait("c", "j", 0.25) == 0
    assert 0 < client.pttl(keys.poll_gate("c", "j")) <= 250
    assert poll_gate.seconds_to_wait("c", "j", 0.25) == 1  # Retry-After is whole seconds


def test_the_gate_opens_again_when_the_interval_is_over(
    poll_gate: PollGate, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    assert poll_gate.seconds_to_wait("c", "j", 5) == 0
    client.delete(keys.poll_gate("c", "j"))  # the interval has passed
    assert poll_gate.seconds_to_wait("c", "j", 5) == 0
