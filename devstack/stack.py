"""Start the Procfile's processes as a platform would, for tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from devstack.procfile import read_procfile
from jobs.settings import PROJECT_ROOT


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    """Procfile processes started with a platform's environment, logging to files."""

    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        """Where the web process listens."""
        return f"http://127.0.0.1:{self.port}"

    def process_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """A minimal environment: PATH and locale from ours, the rest from `env`."""
        bin_dir = Path(sys.executable).parent
        base = {k: v for k, v in os.environ.items() if k in {"HOME", "LANG", "LC_ALL", "TMPDIR"}}
        base["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
        base["PYTHONPATH"] = str(PROJECT_ROOT)
        base["PYTHONUNBUFFERED"] = "1"
        return {**base, "PORT": str(self.port), **self.env, **(extra or {})}

    def start(
        self, name: str, label: str | None = None, extra_env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start one Procfile process (by its Procfile name) under `label`."""
        return self.start_command(label or name, read_procfile()[name], extra_env)

    def start_command(
        self, label: str, command: str, extra_env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a shell command under `label`, as a platform starts a Procfile entry."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{label}.log", "ab")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen(
            ["/bin/sh", "-c", command],
            cwd=PROJECT_ROOT,
            env=self.process_env(extra_env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes[label] = proc
        return proc

    def log(self, label: str) -> str:
        """What a process has printed so far."""
        path = self.log_dir / f"{label}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_web(self, timeout: float = 60.0) -> None:
        """Wait until the web process answers /healthz (workers need not be up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if requests.get(self.base_url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"web not up after {timeout}s:\n{self.log('web')[-3000:]}")

    def _check_alive(self) -> None:
        for label, proc in self.processes.items():
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{label} exited ({proc.returncode}):\n{self.log(label)[-3000:]}"
                )

    def wait_ready(self, timeout: float = 60.0, workers: int = 1) -> None:
        """Wait until /readyz reports the web up and `workers` workers answering."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                resp = requests.get(self.base_url + "/readyz", timeout=3)
                last = resp.text
                count = resp.json().get("checks", {}).get("workers")
                if isinstance(count, int) and count >= workers:
                    return
            except requests.RequestException as exc:
                last = str(exc)
            time.sleep(0.2)
        raise RuntimeError(
            f"stack not ready after {timeout}s: {last}\n"
            + "\n".join(f"--- {n}\n{self.log(n)[-2000:]}" for n in self.processes)
        )

    def stop(self, label: str, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        """Signal one process group and wait; SIGKILL it if it does not exit in time."""
        proc = self.processes.pop(label)
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
            except ProcessLookupError:
                pass
        return proc.returncode

    def stop_all(self, timeout: float = 20.0) -> None:
        """Stop every process this stack started: all signalled at once, so their
        graceful shutdowns overlap; any still running after `timeout` is SIGKILLed."""
        procs = [self.processes.pop(label) for label in list(self.processes)]
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
