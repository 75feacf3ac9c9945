"""devstack.testrun: the sessions `./dev test` runs at once, and the RabbitMQ check."""

from __future__ import annotations

import pytest

from devstack import testrun


def test_the_suites_run_on_both_brokers_in_sessions_of_their_own() -> None:
    runs = testrun.sessions({"PATH": "/bin"}, with_rabbitmq=True)
    brokers = [s.env.get("TEST_BROKER", "redis") for s in runs]
    assert brokers == ["redis", "redis", "rabbitmq", "rabbitmq"]
    # the first (on the terminal) runs everything but the slow suites, which the second runs
    assert runs[0].log is None
    assert runs[0].args == ["--ignore=tests/faults", "--ignore=tests/hosts", "--ignore=tests/sdk"]
    assert runs[1].args == ["tests/faults", "tests/hosts", "tests/sdk"]
    selected = [a for s in runs[2:] for a in s.args]
    assert selected == ["tests/integration", "tests/contract", "tests/faults"]
    # each background session has its own log, cache off and temporary directory
    logs = [s.log for s in runs[1:]]
    temps = [s.command()[s.command().index("--basetemp") + 1] for s in runs[1:]]
    assert len(set(logs)) == len(set(temps)) == 3
    assert all("no:cacheprovider" in s.command() for s in runs[1:])


def test_without_rabbitmq_only_the_redis_sessions_run() -> None:
    assert [s.env.get("TEST_BROKER") for s in testrun.sessions({}, with_rabbitmq=False)] == [
        None,
        None,
    ]


def test_no_rabbitmq_skips_off_ci_with_the_reason_and_fails_in_ci(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"TEST_AMQP_URL": "amqp://guest:guest@127.0.0.1:1"}
    assert testrun.rabbitmq_usable(env, in_ci=False) is False
    assert "nothing answers AMQP at 127.0.0.1:1" in capsys.readouterr().out
    monkeypatch.setattr(testrun.rabbitmq, "ensure_running", lambda url: "none here")
    with pytest.raises(SystemExit, match="CI must run"):
        testrun.rabbitmq_usable(env, in_ci=True)
