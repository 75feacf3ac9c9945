"""Contract suite: the service started from its Procfile like a platform would, on data of our own.

Written from API.md (and the README's sales schema) alone. Every process gets only the
variables a platform sets (PORT, REDIS_URL, DATABASE_URL, WEB_CONCURRENCY) plus PATH,
HOME and PYTHONPATH, so the Procfile must work as it is.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import sqlalchemy

from devstack import redis_server
from devstack.stack import free_port
from tests import brokers
from tests.contract import dataset

REPO = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder runs against real processes."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


def procfile() -> dict[str, str]:
    """Process name -> command, read the way a platform reads it."""
    entries: dict[str, str] = {}
    for line in (REPO / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


@dataclass
class Service:
    """Procfile processes sharing one platform environment; logs in files."""

    redis_url: str
    database_url: str
    log_dir: Path
    extra: dict[str, str] = field(default_factory=dict)  # only where a test configures a feature
    redis_pid: int = 0  # the private redis-server (tests of outages signal it)
    port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """Only what a platform sets, plus PATH (venv first), HOME and PYTHONPATH."""
        path = os.environ.get("PATH", "/usr/bin:/bin")
        return {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{path}",
            "HOME": os.environ.get("HOME", "/root"),
            "PYTHONPATH": str(REPO),
            "PORT": str(self.port),
            "REDIS_URL": self.redis_url,
            "DATABASE_URL": self.database_url,
            "WEB_CONCURRENCY": "2",
            **self.extra,
        }

    def start(self, name: str, label: str | None = None) -> None:
        label = label or name
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{label}.log", "ab") as log:
            self.procs[label] = subprocess.Popen(
                ["/bin/sh", "-c", procfile()[name]],
                cwd=REPO,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self, label: str) -> str:
        path = self.log_dir / f"{label}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n{self.log(n)[-3000:]}" for n in self.procs)

    def wait(self, path: str, ok: object, timeout: float = 60.0) -> None:
        """Poll `path` until `ok(response)` holds; fail with the logs if a process dies."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            for label, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{label} exited {proc.returncode}\n{self.logs()}")
            try:
                resp = requests.get(self.base + path, timeout=3)
                last = f"{resp.status_code} {resp.text[:300]}"
                if ok(resp):  # type: ignore[operator]
                    return
            except requests.RequestException as exc:
                last = str(exc)
            time.sleep(0.2)
        raise RuntimeError(f"not ready after {timeout}s: {last}\n{self.logs()}")

    def wait_web(self) -> None:
        self.wait("/healthz", lambda r: r.status_code == 200)

    def wait_ready(self) -> None:
        self.wait("/readyz", lambda r: r.status_code == 200)

    def stop(self, label: str) -> None:
        """SIGTERM one process group (as a platform stops it) and wait for it."""
        proc = self.procs.pop(label)
        _terminate(proc)
        _reap(proc)

    def stop_all(self) -> None:
        """Signal every process at once, then wait for each: shutdowns overlap."""
        procs = list(self.procs.values())
        self.procs.clear()
        for proc in procs:
            _terminate(proc)
        for proc in procs:
            _reap(proc)


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)


def _reap(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    try:
        proc.wait(max(timeout, 0.1))
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


# Services whose processes were signalled but not yet waited for (see `_reaper`).
_STOPPING: list[subprocess.Popen[bytes]] = []
_REDISES: list[subprocess.Popen[bytes]] = []


@pytest.fixture(scope="session", autouse=True)
def _reaper() -> Iterator[None]:
    """Wait, once at the very end, for every process the services below signalled to stop."""
    yield
    # Every service had its SIGTERM at its own teardown; what has not exited after a few
    # more seconds is killed (these tests check answers, not graceful shutdowns).
    deadline = time.monotonic() + 5
    while _STOPPING:
        _reap(_STOPPING.pop(), deadline - time.monotonic())
    # Redis last: a worker shutting down still talks to its broker.
    for proc in _REDISES:
        proc.terminate()
    while _REDISES:
        _reap(_REDISES.pop())


def _redis(tmp: Path) -> tuple[str, subprocess.Popen[bytes]]:
    url = f"redis://127.0.0.1:{free_port()}/0"
    tmp.mkdir(parents=True, exist_ok=True)
    proc = redis_server.start(url, tmp, tmp / "redis.log", appendonly=False)
    return url, proc


@pytest.fixture(scope="session")
def contract_sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh SQLite file holding only our hand-made sales rows."""
    url = f"sqlite:///{tmp_path_factory.mktemp('contract-sales') / 'sales.db'}"
    engine = sqlalchemy.create_engine(url)
    dataset.load(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def contract_postgres_url() -> Iterator[str]:
    """A PostgreSQL schema of our own with the same rows; dropped afterwards."""
    schema = f"contract_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sqlalchemy.exc.OperationalError as exc:
        admin.dispose()
        if IN_CI:
            raise
        pytest.skip(f"no PostgreSQL at {PG_URL}: {exc}")
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    try:
        engine = sqlalchemy.create_engine(url)
        dataset.load(engine)
        engine.dispose()
        yield url
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def _service(
    tmp: Path, database_url: str, worker: bool, extra: dict[str, str] | None = None
) -> Iterator[Service]:
    redis_url, redis_proc = _redis(tmp / "redis")
    # CELERY_BROKER_URL (README) when the session runs on RabbitMQ (TEST_BROKER=rabbitmq)
    extra = {**brokers.broker_env(), **(extra or {})}
    service = Service(redis_url, database_url, tmp / "logs", extra, redis_proc.pid)
    try:
        service.start("web")
        if worker:
            service.start("worker")
            # A platform runs every process type the Procfile names; `flower` is an optional
            # dashboard on a fixed port, so it is left out.
            if "monitor" in procfile():
                service.start("monitor")
            service.wait_ready()
        else:
            service.wait_web()
        yield service
    finally:
        # Signal now, wait at the end of the session: the shutdowns of all services overlap.
        for proc in service.procs.values():
            _terminate(proc)
        _STOPPING.extend(service.procs.values())
        service.procs.clear()
        _REDISES.append(redis_proc)


@pytest.fixture(scope="session")
def service(
    tmp_path_factory: pytest.TempPathFactory, contract_sqlite_url: str
) -> Iterator[Service]:
    """web + worker on our SQLite rows, each with a private Redis."""
    yield from _service(tmp_path_factory.mktemp("service"), contract_sqlite_url, worker=True)


@pytest.fixture(scope="session")
def pg_service(
    tmp_path_factory: pytest.TempPathFactory, contract_postgres_url: str
) -> Iterator[Service]:
    """web + worker on our PostgreSQL rows."""
    yield from _service(tmp_path_factory.mktemp("pg-service"), contract_postgres_url, worker=True)


@pytest.fixture(scope="session")
def idle_service(
    tmp_path_factory: pytest.TempPathFactory, contract_sqlite_url: str
) -> Iterator[Service]:
    """web with NO worker: every job it accepts stays queued, so 'in progress' is observable."""
    yield from _service(tmp_path_factory.mktemp("idle-service"), contract_sqlite_url, worker=False)


KEYS = {"alice": "contract-key-alice", "bob": "contract-key-bob"}
ADMIN_KEY = "contract-key-ops"


def bearer(key: str) -> dict[str, str]:
    """The Authorization header API.md asks for."""
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="session")
def keyed_service(
    tmp_path_factory: pytest.TempPathFactory, contract_sqlite_url: str
) -> Iterator[Service]:
    """web only (jobs stay queued) with API keys configured (API_KEYS / ADMIN_API_KEYS, README)."""
    extra = {
        "API_KEYS": ",".join(f"{name}:{key}" for name, key in KEYS.items()),
        "ADMIN_API_KEYS": f"ops:{ADMIN_KEY}",
    }
    yield from _service(tmp_path_factory.mktemp("keyed"), contract_sqlite_url, False, extra)
