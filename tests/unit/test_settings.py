"""jobs.env: every process's settings read from the environment, one reader, one default."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pytest

from app.config import WebSettings, load_config
from jobs.celery_config import DEFAULT_QUEUE, celery_config
from jobs.env import load, var, variables
from jobs.settings import DEFAULT_DATABASE_URL, DEFAULT_KINDS, DEFAULT_REDIS_URL, Settings
from monitor.settings import MonitorSettings

SETTINGS_CLASSES = [Settings, WebSettings, MonitorSettings]


@dataclass(frozen=True)
class Sample:
    """A settings class of the test's own: one field of each type the reader parses."""

    count: int = var("SAMPLE_COUNT", 3)
    ratio: float = var("SAMPLE_RATIO", 0.5)
    enabled: bool = var("SAMPLE_ENABLED", False)
    name: str = var("SAMPLE_NAME", "default")
    computed: str = "not read from the environment"


def test_unset_and_empty_variables_keep_the_declared_defaults() -> None:
    assert load(Sample, {}) == Sample()
    assert load(Sample, {"SAMPLE_COUNT": "", "SAMPLE_NAME": "   "}) == Sample()


def test_values_are_parsed_by_the_fields_type() -> None:
    env = {
        "SAMPLE_COUNT": " 42 ",
        "SAMPLE_RATIO": "2.25",
        "SAMPLE_ENABLED": "yes",
        "SAMPLE_NAME": " hello ",
    }
    assert load(Sample, env) == Sample(count=42, ratio=2.25, enabled=True, name="hello")
    assert load(Sample, {"SAMPLE_RATIO": "3"}).ratio == 3.0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[("1", True), ("true", True), ("YES", True), ("On", True)],
        *[("0", False), ("false", False), ("No", False), ("OFF", False)],
    ],
)
def test_booleans_take_the_usual_spellings_in_any_case(raw: str, expected: bool) -> None:
    assert load(Sample, {"SAMPLE_ENABLED": raw}).enabled is expected


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("SAMPLE_COUNT", "ten"),
        ("SAMPLE_COUNT", "2.5"),
        ("SAMPLE_RATIO", "fast"),
        ("SAMPLE_ENABLED", "maybe"),
        ("SAMPLE_ENABLED", "2"),
    ],
)
def test_a_bad_value_stops_the_process_naming_the_variable(variable: str, raw: str) -> None:
    # Given a variable whose value is not of its field's type
    # When the settings are read
    with pytest.raises(SystemExit) as stopped:
        load(Sample, {variable: raw})
    # Then the process stops with a message naming the variable and the value
    message = str(stopped.value)
    assert variable in message and repr(raw) in message


def test_overrides_win_over_the_environment() -> None:
    assert load(Sample, {"SAMPLE_COUNT": "7"}, count=9).count == 9


def test_without_a_mapping_the_process_environment_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAMPLE_COUNT", "11")
    assert load(Sample).count == 11


def test_variables_lists_each_variable_with_its_default() -> None:
    assert variables(Sample) == {
        "SAMPLE_COUNT": 3,
        "SAMPLE_RATIO": 0.5,
        "SAMPLE_ENABLED": False,
        "SAMPLE_NAME": "default",
    }


@pytest.mark.parametrize("cls", SETTINGS_CLASSES)
def test_every_setting_is_read_from_a_variable_of_its_own(cls: type) -> None:
    # Every field of a process's settings comes from the environment, each from its own
    # variable (so the README's list, checked against variables(), is the whole list)
    names = [f.metadata.get("env") for f in dataclasses.fields(cls)]
    assert None not in names
    assert len(set(names)) == len(names) == len(variables(cls))


@pytest.mark.parametrize("cls", SETTINGS_CLASSES)
def test_the_defaults_are_the_declared_ones(cls: type) -> None:
    # An empty environment gives the declared defaults, which variables() reports
    loaded: Any = load(cls, {})
    assert loaded == cls()
    for field in dataclasses.fields(cls):
        assert getattr(loaded, field.name) == variables(cls)[field.metadata["env"]]


def test_the_shared_variables_and_their_defaults() -> None:
    found = variables(Settings)
    assert found["REDIS_URL"] == DEFAULT_REDIS_URL
    assert found["DATABASE_URL"] == DEFAULT_DATABASE_URL
    assert found["JOB_KINDS"] == DEFAULT_KINDS and "kinds.reports" in DEFAULT_KINDS
    assert found["JOB_RETENTION_SECONDS"] == 86400
    assert found["ENABLE_DIAGNOSTIC_REPORTS"] is False
    assert {"PORT", "API_KEYS", "MAX_WAIT_SECONDS"} <= set(variables(WebSettings))
    assert "MONITOR_QUEUE_SAMPLE_SECONDS" in variables(MonitorSettings)


def test_settings_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "JOB_RETENTION_SECONDS": "60",
            "REDIS_TIMEOUT": "0.5",
            "ENABLE_DIAGNOSTIC_REPORTS": "1",
            "JOB_KINDS": " kinds.reports , ,kinds.imports,",
        }
    )
    assert settings.retention_seconds == 60 and settings.redis_timeout == 0.5
    assert settings.enable_diagnostic_types is True
    assert settings.kind_modules == ("kinds.reports", "kinds.imports")


def test_a_bad_shared_setting_names_its_variable() -> None:
    with pytest.raises(SystemExit, match="JOB_RETENTION_SECONDS"):
        Settings.from_env({"JOB_RETENTION_SECONDS": "a day"})
    with pytest.raises(SystemExit, match="LOG_FORMAT"):
        Settings.from_env({"LOG_FORMAT": "xml"})


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u:p@db/sales", "postgresql+psycopg://u:p@db/sales"),
        ("postgresql://u:p@db/sales", "postgresql+psycopg://u:p@db/sales"),
        ("postgresql+psycopg://u@db/s", "postgresql+psycopg://u@db/s"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_platform_database_urls_get_the_psycopg_driver(given: str, used: str) -> None:
    settings = Settings.from_env({"DATABASE_URL": given})
    assert settings.database_url == used
    # The history lives in the same database unless MONITOR_DATABASE_URL says otherwise
    assert settings.history_database_url == used
    other = Settings.from_env({"DATABASE_URL": given, "MONITOR_DATABASE_URL": "postgres://h/m"})
    assert other.history_database_url == "postgresql+psycopg://h/m"


def test_the_broker_and_result_backend_default_to_redis_url() -> None:
    plain = Settings.from_env({"REDIS_URL": "redis://r:1/0"})
    assert plain.broker_url == plain.result_backend_url == "redis://r:1/0"
    split = Settings.from_env(
        {
            "REDIS_URL": "redis://r:1/0",
            "CELERY_BROKER_URL": "amqp://b//",
            "CELERY_RESULT_BACKEND": "redis://s:2/1",
        }
    )
    assert (split.broker_url, split.result_backend_url) == ("amqp://b//", "redis://s:2/1")


def test_log_format_decides_json_logs() -> None:
    assert Settings().json_logs
    assert not Settings.from_env({"LOG_FORMAT": " Text "}).json_logs


def test_jobs_of_every_kind_go_to_one_queue_named_jobs() -> None:
    config = celery_config(Settings())
    assert DEFAULT_QUEUE == "jobs"
    assert config["task_default_queue"] == DEFAULT_QUEUE


def test_the_web_config_comes_from_the_same_reader() -> None:
    config = load_config({"API_KEYS": "alice:k1", "WEB_THREADS": "8", "MAX_WAIT_SECONDS": "5"})
    assert config["API_KEYS"] == {"k1": "alice"}
    assert config["MAX_WAIT_SECONDS"] == 5
    # By default 3/4 of a process's threads may wait in long polls
    assert config["MAX_WAITING_REQUESTS"] == 6
    assert load_config({"MAX_WAITING_REQUESTS": "2"})["MAX_WAITING_REQUESTS"] == 2
    with pytest.raises(SystemExit, match="WEB_THREADS"):
        load_config({"WEB_THREADS": "many"})
