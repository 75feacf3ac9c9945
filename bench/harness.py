"""Processes, load generation and measurement shared by the benchmark scenarios."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import statistics
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import redis
import requests

from devstack.debian import ensure_command
from devstack.procfile import read_procfile
from devstack.stack import Stack
from jobs.store.keys import CELERY_META_PREFIX

WRK_SCRIPT = Path(__file__).parent / "wrk" / "request.lua"
OURS_APP, BARE_APP = '"app:create_app()"', '"bench.bare_app:create_app()"'
OURS_CELERY, RAW_CELERY = "--app worker", "--app bench.raw_celery"


@dataclass
class Figure:
    """Several runs of one measurement: reported as median (min-max)."""

    runs: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        """Record one run."""
        self.runs.append(value)

    @property
    def median(self) -> float:
        """The median run (NaN when nothing was measured)."""
        return statistics.median(self.runs) if self.runs else float("nan")

    def over(self, base: Figure) -> Figure:
        """The per-run ratios self/base (the runs paired as they were measured)."""
        return Figure([a / b for a, b in zip(self.runs, base.runs, strict=True)])

    def text(self, fmt: str = "{:.0f}") -> str:
        """`median (min-max)`."""
        if not self.runs:
            return "n/a"
        if len(self.runs) == 1:
            return fmt.format(self.runs[0])
        low, high = fmt.format(min(self.runs)), fmt.format(max(self.runs))
        return f"{fmt.format(self.median)} ({low}-{high})"


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile of `values`."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


class Bench(Stack):
    """A Stack that can also start the baselines with the very same commands."""

    def start_variant(
        self, name: str, label: str, swap: tuple[str, str] | None, extra: dict[str, str]
    ) -> subprocess.Popen[bytes]:
        """Start a Procfile process, optionally with its app target swapped for a baseline."""
        command = read_procfile()[name]
        if swap:
            assert swap[0] in command, f"Procfile {name} no longer contains {swap[0]}"
            command = command.replace(*swap)
        return self.start_command(label, command, extra)

    def tree(self, label: str) -> list[psutil.Process]:
        """A process and all its descendants (gunicorn or Celery master plus workers)."""
        root = psutil.Process(self.processes[label].pid)
        return [root, *root.children(recursive=True)]

    def cpu_seconds(self, label: str) -> float:
        """user+sys CPU seconds used so far by a process tree (live processes)."""
        total = 0.0
        for proc in self.tree(label):
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def rss_mib(self, label: str) -> float:
        """Resident memory of a process tree in MiB."""
        total = 0
        for proc in self.tree(label):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.memory_info().rss
        return total / 2**20


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Wait until `url` answers at all (or its server exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {proc.returncode}; see its log")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def wait_worker(client: redis.Redis, hostname_part: str, timeout: float = 60.0) -> None:
    """Wait until a Celery worker whose name contains `hostname_part` answers a ping."""
    from bench.raw_celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=0.5) or []
        if any(hostname_part in name for reply in replies for name in reply):
            return
        time.sleep(0.2)
    raise RuntimeError(f"no worker {hostname_part} answered within {timeout}s")


def ensure_wrk() -> str:
    """Debian's wrk: install it when we are root on Debian, else say how."""
    found = ensure_command("wrk", "wrk")
    if not found:
        raise SystemExit(
            "The benchmark drives HTTP load with wrk: `sudo apt-get install wrk` "
            "(Debian/Ubuntu) or `brew install wrk`, then run it again."
        )
    return found


@dataclass
class WrkResult:
    """What one wrk run reports."""

    requests: int
    seconds: float
    rps: float
    errors: int
    p99_ms: float


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, seconds: float, connections: int, env: dict[str, str] | None = None) -> WrkResult:
    """Run wrk (one thread: the CPUs are for the server) against a 127.0.0.1 URL."""
    assert url.startswith("http://127.0.0.1:"), url
    cmd = [
        ensure_wrk(),
        "-t1",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(WRK_SCRIPT),
        url,
    ]
    out = subprocess.run(
        cmd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", out)
    if not (done and rps and p99):
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    took = float(done.group(2)) / (1000 if done.group(3) == "ms" else 1)
    return WrkResult(
        int(done.group(1)), took, float(rps.group(1)), errors, _ms(p99.group(1), p99.group(2))
    )


def wait_done(client: redis.Redis, ids: Iterable[str], timeout: float = 600.0) -> float:
    """Wait until Celery has stored a final state for every id; the time it happened.

    Reads the oldest 64 pending ids at a time (jobs finish about in submit order), so
    waiting for thousands of jobs does not load the Redis and the CPUs under test."""
    pending = list(ids)
    deadline = time.monotonic() + timeout
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} tasks unfinished after {timeout}s")
        window = pending[:64]
        pipe = client.pipeline(transaction=False)
        for task_id in window:
            pipe.get(CELERY_META_PREFIX + task_id)
        done = {
            task_id
            for task_id, meta in zip(window, pipe.execute(), strict=True)
            if meta and ('"SUCCESS"' in meta or '"FAILURE"' in meta)
        }
        pending = [task_id for task_id in pending if task_id not in done] if done else pending
        if len(done) < len(window):
            time.sleep(0.02)
    return time.perf_counter()


def stop_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM a process group we started, SIGKILL it when it lingers."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        except ProcessLookupError:
            pass
