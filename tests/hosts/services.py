"""Processes on namespace hosts: the store's Redis and PostgreSQL, and the Procfile's entries."""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from devstack.procfile import read_procfile
from devstack.redis_server import answers, server_binary
from tests.hosts.netns import Network

REPO = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def postgres_bin() -> Path | None:
    """Debian's PostgreSQL server binaries (the newest version installed), if any."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts)
    return versions[-1].parent if versions else None


@dataclass
class HostProcesses:
    """Processes started on namespace hosts, each in its own session, logging to a file."""

    net: Network
    log_dir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    hosts: dict[str, str] = field(default_factory=dict)  # label -> host

    def start(
        self, label: str, host: str, argv: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Run `argv` on `host` in a UTS namespace of its own (hostname = host name)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        inner = f"hostname {shlex.quote(host)} && exec {shlex.join(argv)}"
        with open(self.log_dir / f"{label}.log", "ab") as log:
            proc = subprocess.Popen(
                self.net.exec_args(host, "unshare", "--uts", "/bin/sh", "-c", inner),
                cwd=REPO,
                env=env if env is not None else minimal_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs[label] = proc
        self.hosts[label] = host
        return proc

    def start_procfile(self, label: str, host: str, name: str, env: dict[str, str]) -> None:
        """Start a Procfile entry on `host` exactly as a platform would: `sh -c <command>`."""
        self.start(label, host, ["/bin/sh", "-c", read_procfile()[name]], minimal_env(env))

    def log(self, label: str) -> str:
        """What one process printed so far."""
        path = self.log_dir / f"{label}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def alive(self, label: str) -> bool:
        """True while the process runs."""
        return label in self.procs and self.procs[label].poll() is None

    def stop(self, label: str, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        """Signal a process group and wait; SIGKILL what is left after `timeout`."""
        proc = self.procs.pop(label, None)
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def stop_all(self, timeout: float = 15.0) -> None:
        """Signal every process at once, then wait for each (shutdowns overlap)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for label in list(self.procs):
            self.stop(label, signal.SIGKILL, max(0.1, deadline - time.monotonic()))


def minimal_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """What a platform gives a process: PATH (venv first), HOME, locale, plus `extra`."""
    path = os.environ.get("PATH", "/usr/bin:/bin")
    base = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{path}",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
    }
    return {**base, **(extra or {})}


def wait_for(check, timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None):  # type: ignore[no-untyped-def]
    """Poll `check()` until truthy; fail early if `proc` exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {proc.returncode}")
        time.sleep(0.1)
    raise RuntimeError(f"{what}: not within {timeout}s")


def start_redis(procs: HostProcesses, host: str) -> str:
    """redis-server bound to the host's address (no persistence needed here); its URL."""
    address = procs.net.hosts[host].address
    data = procs.net.workdir / "redis"
    data.mkdir()
    argv = [
        server_binary(),
        "--bind",
        address,
        "--port",
        "6379",
        "--dir",
        str(data),
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "no",
    ]
    proc = procs.start("redis", host, argv)
    url = f"redis://{address}:6379/0"
    wait_for(lambda: answers(url), 15, "redis on the store host", proc)
    return url


def start_postgres(procs: HostProcesses, host: str) -> str:
    """A private PostgreSQL (initdb under our temporary directory, trust auth) on the
    host's address, with an empty `sales` database; its URL."""
    pg = postgres_bin()
    if pg is None:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
    address = procs.net.hosts[host].address
    data = procs.net.workdir / "pgdata"
    data.mkdir(mode=0o700)
    user = pwd.getpwnam("postgres")
    os.chown(data, user.pw_uid, user.pw_gid)
    initdb = [
        str(pg / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-sync",
        "--no-instructions",
    ]
    subprocess.run(["runuser", "-u", "postgres", "--", *initdb], check=True, capture_output=True)
    with open(data / "pg_hba.conf", "a") as hba:
        hba.write(f"host all all {procs.net.subnet} trust\n")
    argv = [
        "runuser",
        "-u",
        "postgres",
        "--",
        str(pg / "postgres"),
        "-D",
        str(data),
        "-c",
        f"listen_addresses={address}",
        "-c",
        "port=5432",
        "-c",
        f"unix_socket_directories={data}",
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
        "-c",
        "max_connections=200",
    ]
    proc = procs.start("postgres", host, argv)
    admin = f"postgresql://postgres@{address}:5432/postgres"

    def up() -> bool:
        try:
            with psycopg.connect(admin, connect_timeout=2, autocommit=True) as conn:
                conn.execute("CREATE DATABASE sales")
            return True
        except psycopg.OperationalError:
            return False

    wait_for(up, 30, "postgres on the store host", proc)
    return f"postgresql://postgres@{address}:5432/sales"


def seed(database_url: str, rows: int, log: Path) -> None:
    """Load the deterministic sales rows with the project's own seed command."""
    cmd = [
        sys.executable,
        "-m",
        "sales.seed",
        "--rows",
        str(rows),
        "--database-url",
        database_url,
    ]
    with open(log, "ab") as out:
        subprocess.run(cmd, cwd=REPO, env=minimal_env(), stdout=out, stderr=out, check=True)
