"""What the fault tests share: a Redis they may kill, a stack of real processes, polling."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests

from devstack.redis_server import RedisProcess
from devstack.stack import Stack
from jobs.store.keys import Keys
from tests import brokers

TERMINAL = {"Complete", "Failed", "Cancelled"}

# Short limits so redelivery and deadlines happen within seconds, not minutes.
FAST_LIMITS = {
    "TASK_SOFT_TIME_LIMIT": "5",
    "TASK_TIME_LIMIT": "6",
    "BROKER_VISIBILITY_TIMEOUT": "8",
    "WORKER_SHUTDOWN_GRACE": "1",
    "ENABLE_DIAGNOSTIC_REPORTS": "1",
}
# One pool process under a hard limit of 2 s and no soft one (as if a job ignored the
# soft one, or were stuck in C code): the pool kills the process running it.
HARD_LIMIT_ONLY = {"WORKER_CONCURRENCY": "1", "TASK_SOFT_TIME_LIMIT": "0", "TASK_TIME_LIMIT": "2"}


@dataclass
class FaultStack:
    """web + workers from the Procfile on a RedisProcess, with helpers to hurt them."""

    stack: Stack
    redis: RedisProcess
    workers: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        """Where the web process listens."""
        return self.stack.base_url

    @property
    def broker_url(self) -> str:
        """The broker of this stack: its Redis, or RabbitMQ (TEST_BROKER, CELERY_BROKER_URL)."""
        return self.stack.env.get("CELERY_BROKER_URL") or self.redis.url

    def waiting(self) -> int:
        """Messages waiting in the jobs' queue on this stack's broker."""
        return brokers.waiting(self.broker_url)

    def start_worker(self, env: dict[str, str] | None = None, wait: bool = True) -> str:
        """Start one more worker process; returns its label (also its node name prefix)."""
        label = f"w{len(self.workers)}-{uuid.uuid4().hex[:6]}"
        self.stack.start("worker", label, {"WORKER_NAME": label, **(env or {})})
        self.workers.append(label)
        if wait:
            self.wait_worker_ready(label)
        return label

    def wait_worker_ready(self, label: str, timeout: float = 60.0) -> None:
        """Wait until a worker logs that it consumes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.stack.log(label):
                return
            proc = self.stack.processes[label]
            if proc.poll() is not None:
                raise RuntimeError(f"{label} exited:\n{self.stack.log(label)[-3000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"{label} not ready after {timeout}s:\n{self.stack.log(label)[-3000:]}")

    def worker_pid(self, label: str) -> int:
        """The pid of a worker's main process (the Procfile entry `exec`s celery)."""
        return self.stack.processes[label].pid

    def pool_children(self, label: str) -> list[psutil.Process]:
        """The worker's pool processes."""
        return psutil.Process(self.worker_pid(label)).children()

    def kill_worker(self, label: str) -> None:
        """SIGKILL a whole worker (main process and pool), like an OOM kill of a container."""
        proc = self.stack.processes.pop(label)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def all_logs(self) -> str:
        """Everything every process of this stack printed (stopped ones too)."""
        return "\n".join(p.read_text(errors="replace") for p in self.stack.log_dir.glob("*.log"))

    def wait_for_log(self, text: str, timeout: float = 30.0) -> None:
        """Wait until some process of the stack printed `text`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.all_logs():
                return
            time.sleep(0.1)
        raise AssertionError(f"nobody logged {text!r} within {timeout}s")

    def completions(self, job_id: str, settle: float = 5.0) -> int:
        """How many times a worker ran this job to success (Celery logs each one). A
        success is stored with the record's end, a moment before Celery logs it: for a
        job that succeeded, wait up to `settle` seconds for its first line."""
        deadline = time.monotonic() + settle
        while True:
            count = self.all_logs().count(f"[{job_id}] succeeded in")
            if count or time.monotonic() > deadline or not self.succeeded(job_id):
                return count
            time.sleep(0.05)

    def succeeded(self, job_id: str) -> bool:
        """True when the job's stored result is a success."""
        raw = self.redis.client().get(Keys().celery_meta(job_id))
        return raw is not None and json.loads(raw).get("status") == "SUCCESS"

    def record(self, job_id: str) -> dict[str, str]:
        """The job's record hash as stored."""
        return self.redis.client().hgetall(Keys().job(job_id))

    def submit_noop(self, steps: int = 1, step_seconds: float = 0.0, **extra: Any) -> str:
        """Submit a diagnostic job; returns its id."""
        return self.submit("noop", {"steps": steps, "stepSeconds": step_seconds, **extra})

    def submit(self, report_type: str, parameters: dict[str, Any]) -> str:
        """Submit any job and expect 202; returns its id."""
        resp = requests.post(
            f"{self.base_url}/api/reports",
            json={"reportType": report_type, "parameters": parameters},
            timeout=10,
        )
        assert resp.status_code == 202, resp.text
        return str(resp.json()["id"])

    def status(self, job_id: str) -> dict[str, Any]:
        """One status read (must be 200)."""
        resp = requests.get(f"{self.base_url}/api/reports/{job_id}/status", timeout=10)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def wait_state(self, job_id: str, states: Iterable[str], timeout: float = 30.0) -> dict:
        """Poll until the job's `state` is one of `states`."""
        wanted = set(states)
        deadline = time.monotonic() + timeout
        doc: dict[str, Any] = {}
        while time.monotonic() < deadline:
            doc = self.status(job_id)
            if doc["state"] in wanted:
                return doc
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} never reached {wanted}: {doc}")

    def wait_progress(self, job_id: str, steps: int = 1, timeout: float = 30.0) -> dict:
        """Poll until the job reported `steps` steps (so its body is running)."""
        deadline = time.monotonic() + timeout
        doc: dict[str, Any] = {}
        while time.monotonic() < deadline:
            doc = self.status(job_id)
            if doc["state"] == "running" and doc["progress"]["current"] >= steps:
                return doc
            assert doc["status"] == "In Progress", doc
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} made no progress: {doc}")

    def wait_all(
        self, job_ids: Iterable[str], timeout: float = 60.0, allow_503: bool = False
    ) -> dict[str, dict[str, Any]]:
        """Poll every job until terminal; 503 answers are tolerated only if allowed."""
        pending, done = list(job_ids), {}
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for job_id in list(pending):
                try:
                    resp = requests.get(f"{self.base_url}/api/reports/{job_id}/status", timeout=10)
                except requests.ConnectionError:
                    if not allow_503:
                        raise
                    continue
                if resp.status_code == 503 and allow_503:
                    continue
                assert resp.status_code == 200, resp.text
                doc = resp.json()
                if doc["status"] in TERMINAL:
                    done[job_id] = doc
                    pending.remove(job_id)
            time.sleep(0.1)
        assert not pending, f"not terminal after {timeout}s: {pending}\n{self.all_logs()[-4000:]}"
        return done


def start_fault_stack(
    log_dir: Path, redis_proc: RedisProcess, database_url: str, env: dict[str, str]
) -> FaultStack:
    """Start the web process on `redis_proc` with FAST_LIMITS plus `env` (no worker yet)."""
    stack = Stack(
        env={
            "REDIS_URL": redis_proc.url,
            "DATABASE_URL": database_url,
            "WEB_CONCURRENCY": "1",
            "WEB_THREADS": "8",
            "WORKER_HEARTBEAT_FILE": str(log_dir / "worker.heartbeat"),
            **FAST_LIMITS,
            **brokers.broker_env(),
            **env,
        },
        log_dir=log_dir,
    )
    stack.start("web")
    return FaultStack(stack, redis_proc)


def wait_web(stack: FaultStack, timeout: float = 30.0) -> None:
    """Wait until the web process answers /healthz."""
    stack.stack.wait_web(timeout)
