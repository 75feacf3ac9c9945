"""`./dev test`'s pytest sessions: the suite on the Redis broker, and the integration,
contract and fault suites again on RabbitMQ, run at the same time.

The sessions mostly wait (on workers, timeouts, redeliveries: a session uses about a
third of a core), so they overlap well even on 2 cores. Each has its own Redis (a free
port), PostgreSQL schemas, RabbitMQ virtual hosts and temporary directory; the namespace
hosts run in the first only. The first streams to the terminal; the others write to
var/test-*.log, printed after it. Any session failing fails the run.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from devstack import rabbitmq
from jobs.settings import PROJECT_ROOT

VAR = PROJECT_ROOT / "var"
RABBITMQ_SUITES = ["tests/integration", "tests/contract"]
FAULTS = "tests/faults"
# Beside the fault suite on Redis: the other slow, process-heavy suites (the namespace
# hosts run in this session only), so the first session is not the only long one.
WITH_FAULTS = ["tests/hosts", "tests/sdk"]
DURATIONS = "--durations=15"  # the slowest tests of each session, for whoever tunes CI next


@dataclass
class Session:
    """One pytest session: what it runs, with which environment, logging where."""

    label: str
    args: list[str]
    env: dict[str, str]
    log: Path | None = None  # None: the terminal

    def command(self) -> list[str]:
        """The pytest command line."""
        extra = []
        if self.log is not None:  # a cache and a temporary directory of its own
            name = self.log.stem.removeprefix("test-")
            extra = ["-p", "no:cacheprovider", "--basetemp", str(VAR / f"pytest-{name}")]
        return [sys.executable, "-m", "pytest", *self.args, DURATIONS, *extra]


def rabbitmq_usable(env: dict[str, str], in_ci: bool) -> bool:
    """True when the RabbitMQ sessions can run; in CI a missing RabbitMQ is installed and
    started, and one that still is not usable fails the run (SystemExit)."""
    url = env.get("TEST_AMQP_URL", rabbitmq.DEFAULT_AMQP_URL)
    reason = rabbitmq.ensure_running(url) if in_ci else rabbitmq.unusable_reason(url)
    if reason is None:
        return True
    print(f"RabbitMQ sessions skipped: {reason}.", flush=True)
    if in_ci:
        raise SystemExit("CI must run the suites on RabbitMQ too: failing.")
    print(
        "  Install and start RabbitMQ (Debian: apt-get install rabbitmq-server), or set "
        "TEST_AMQP_URL, to run the integration, contract and fault suites on it too.",
        flush=True,
    )
    return False


def sessions(env: dict[str, str], with_rabbitmq: bool) -> list[Session]:
    """The whole suite on Redis (the fault suite in a session of its own, so the longest
    session is shorter), and, if RabbitMQ is usable, the integration, contract and fault
    suites on it."""
    rabbit = {**env, "TEST_BROKER": "rabbitmq"}
    slow = [FAULTS, *WITH_FAULTS]
    out = [
        Session(
            "Redis broker: all but the fault, hosts and SDK suites",
            [f"--ignore={path}" for path in slow],
            env,
        ),
        Session(
            "Redis broker: the fault, hosts and SDK suites",
            slow,
            env,
            VAR / "test-redis-faults.log",
        ),
    ]
    if with_rabbitmq:
        out += [
            Session(
                "RabbitMQ broker: the integration and contract suites",
                RABBITMQ_SUITES,
                rabbit,
                VAR / "test-rabbitmq.log",
            ),
            Session(
                "RabbitMQ broker: the fault suite",
                [FAULTS],
                rabbit,
                VAR / "test-rabbitmq-faults.log",
            ),
        ]
    return out


def run_all(runs: list[Session]) -> int:
    """Run the sessions at once (the first on the terminal); 0 when every one passed."""
    VAR.mkdir(exist_ok=True)
    started = time.monotonic()
    procs: list[subprocess.Popen[bytes]] = []
    for s in [*runs[1:], runs[0]]:
        where = f" > {s.log.relative_to(PROJECT_ROOT)}" if s.log else ""
        print(f"$ {shlex.join(s.command())}{where}  # {s.label}", flush=True)
        log = open(s.log, "wb") if s.log else None  # noqa: SIM115 - closed once started
        out = log if log is not None else None
        err = subprocess.STDOUT if log is not None else None
        proc = subprocess.Popen(
            s.command(), env=s.env, cwd=PROJECT_ROOT, stdout=out, stderr=err,
            start_new_session=log is not None,
        )  # fmt: skip
        procs.append(proc)
        if log is not None:
            log.close()
    procs = [procs[-1], *procs[:-1]]  # in the order of `runs`
    took: dict[int, float] = {}
    try:
        while len(took) < len(procs):
            for i, proc in enumerate(procs):
                if i not in took and proc.poll() is not None:
                    took[i] = time.monotonic() - started
            time.sleep(0.5)
    except KeyboardInterrupt:
        for proc in procs[1:]:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
        raise
    for s in runs[1:]:
        assert s.log is not None
        print(f"\n===== {s.label} ({s.log.relative_to(PROJECT_ROOT)}) =====", flush=True)
        sys.stdout.write(s.log.read_text(errors="replace"))
    print("\n===== sessions (run at the same time) =====")
    for i, s in enumerate(runs):
        code = procs[i].returncode
        verdict = "passed" if code == 0 else f"FAILED (exit {code})"
        print(f"{verdict:<16} in {took[i]:5.0f} s  {s.label}")
    sys.stdout.flush()
    return max(abs(p.returncode) for p in procs)
