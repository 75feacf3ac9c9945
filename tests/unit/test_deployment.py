"""The Procfile, docker-compose.yml, Dockerfile and README agree (no Docker engine needed)."""

from __future__ import annotations

import re

import pytest
import yaml

from app.config import WebSettings
from devstack.procfile import read_procfile
from jobs.env import variables
from jobs.settings import PROJECT_ROOT, Settings
from monitor.settings import MonitorSettings

INFRA = {"redis", "postgres", "rabbitmq", "seed"}
VAR = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())


def shell_command(service: dict) -> str:
    """The shell command of a compose service, with compose's $$ escape undone."""
    command = service["command"]
    assert command[:2] == ["sh", "-c"] and len(command) == 3, command
    return command[2].replace("$$", "$")


def test_compose_runs_the_procfile_processes_with_the_same_commands(compose: dict) -> None:
    procfile = read_procfile()
    services = compose["services"]
    processes = {"web", "worker", "webhooks", "monitor", "flower"}
    assert set(services) - INFRA == set(procfile) == processes
    for name, command in procfile.items():
        assert shell_command(services[name]) == command, name
    # The seed job runs the same module ./dev serve runs
    assert "python -m sales.seed --if-empty" in shell_command(services["seed"])
    assert services["seed"]["restart"] == "no" and services["seed"]["profiles"] == ["seed"]


def test_every_process_runs_from_one_image(compose: dict) -> None:
    app = [compose["services"][n] for n in ("web", "worker", "monitor", "flower", "seed")]
    assert {(s["build"], s["image"]) for s in app} == {(".", "async-reports:latest")}
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    for package in ("app", "jobs", "kinds", "worker", "monitor", "sales"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert "COPY Procfile gunicorn.conf.py" in dockerfile


def test_redis_persists_and_is_healthy_before_the_app_starts(compose: dict) -> None:
    services = compose["services"]
    redis = services["redis"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert "redis-cli" in redis["healthcheck"]["test"]
    assert any(v.endswith(":/data") for v in redis["volumes"])
    for name in ("web", "worker", "webhooks", "monitor"):
        assert services[name]["depends_on"]["redis"] == {"condition": "service_healthy"}
    # PostgreSQL is optional: a profile, and not required by the app services
    assert services["postgres"]["profiles"] == ["postgres"]
    assert services["worker"]["depends_on"]["postgres"]["required"] is False


def test_workers_scale_and_get_their_shutdown_grace(compose: dict) -> None:
    worker = compose["services"]["worker"]
    # --scale worker=N needs no fixed name and no published port
    assert "container_name" not in worker and "ports" not in worker
    assert "%h" in shell_command(worker)  # each replica is worker@<container>
    # SIGTERM gives running reports the shutdown grace, then hands them back; compose
    # must wait a little longer than that before it kills the container
    grace = int(worker["environment"]["WORKER_SHUTDOWN_GRACE"])
    assert grace == Settings().worker_shutdown_grace
    assert worker["stop_grace_period"] == f"{grace + 5}s"
    assert "REMAP_SIGTERM" in shell_command(worker)
    assert worker["healthcheck"]["test"] == ["CMD", "python", "-m", "worker.liveness"]
    web = compose["services"]["web"]
    assert "healthz" in " ".join(web["healthcheck"]["test"])


def test_rabbitmq_is_an_optional_broker_and_redis_stays_the_store(compose: dict) -> None:
    services = compose["services"]
    rabbitmq = services["rabbitmq"]
    assert rabbitmq["profiles"] == ["rabbitmq"]
    assert "rabbitmq-diagnostics" in rabbitmq["healthcheck"]["test"]
    assert any(v.endswith(":/var/lib/rabbitmq") for v in rabbitmq["volumes"])
    # consumer_timeout is set where the broker starts, and documented against the limit
    assert "consumer_timeout" in rabbitmq["environment"]["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"]
    for name in ("web", "worker", "monitor"):
        service = services[name]
        assert service["depends_on"]["rabbitmq"] == {
            "condition": "service_healthy",
            "required": False,
        }
        # the broker is chosen by CELERY_BROKER_URL; REDIS_URL stays the store and backend
        assert service["environment"]["CELERY_BROKER_URL"] == "${CELERY_BROKER_URL:-}"
        assert service["environment"]["REDIS_URL"].startswith("redis://")
    assert Settings.from_env({"CELERY_BROKER_URL": ""}).broker_url == Settings().redis_url


def documented_variables() -> set[str]:
    readme = (PROJECT_ROOT / "README.md").read_text()
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", readme, re.MULTILINE))


def test_every_variable_is_documented_in_the_readme(compose: dict) -> None:
    documented = documented_variables()
    used: set[str] = set()
    used |= set(VAR.findall((PROJECT_ROOT / "docker-compose.yml").read_text()))
    used |= set(VAR.findall((PROJECT_ROOT / "Procfile").read_text()))
    for service in compose["services"].values():
        env = service.get("environment") or {}
        used |= {k for k in env if not k.startswith(("POSTGRES_", "RABBITMQ_"))}
    # Every setting of every process, read by jobs.env
    for settings in (Settings, WebSettings, MonitorSettings):
        used |= set(variables(settings))
    # And the few variables read directly from the environment
    for path in ("gunicorn.conf.py", "app/views/metrics.py", "jobs/logs.py"):
        text = (PROJECT_ROOT / path).read_text()
        used |= set(re.findall(r"""environ(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]*)["']""", text))
    used -= {"POSTGRES_PASSWORD"}  # the optional database container's own
    missing = sorted(used - documented)
    assert not missing, f"variables used but not in the README's tables: {missing}"
    assert {
        "MONITOR_DATABASE_URL",
        "PROMETHEUS_MULTIPROC_DIR",
        "WORKER_HEARTBEAT_FILE",
        "JOB_KINDS",
        "PORT",
    } <= used


def test_operating_section_exists() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("## Operating it", 1)[1].split("\n## ", 1)[0]
    for topic in ("Processes", "Scaling", "Health", "Metrics", "Dashboard", "Flower", "Logs"):
        assert f"### {topic}" in section, topic
    assert (PROJECT_ROOT / "docs" / "ops-dashboard.png").exists()
    assert "docs/ops-dashboard.png" in section
