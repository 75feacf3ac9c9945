"""The deployment on namespace hosts: store (Redis + PostgreSQL), two webs, three workers.

Each process is the Procfile's own command with only what a platform sets (PORT,
REDIS_URL, DATABASE_URL, WEB_CONCURRENCY) plus the short limits the fault tests use, so
redelivery takes seconds. The test talks HTTP (API.md) to the web hosts from the root
namespace and reads the workers' logs; it knows no Redis key and no module of the server.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.hosts.netns import Network
from tests.hosts.services import HostProcesses, seed, start_postgres, start_redis, wait_for

TERMINAL = {"Complete", "Failed", "Cancelled"}
WEBS = ["web1", "web2"]
WORKERS = ["worker1", "worker2", "worker3"]
HOSTS = ["store", *WEBS, *WORKERS, "solo"]
SEED_ROWS = 30_000
WEB_PORT = 8000

# tests/faults/harness.py FAST_LIMITS: redelivery after 8 s, a restore scan every 2 s.
FAST_LIMITS = {
    "TASK_SOFT_TIME_LIMIT": "5",
    "TASK_TIME_LIMIT": "6",
    "BROKER_VISIBILITY_TIMEOUT": "8",
    "WORKER_SHUTDOWN_GRACE": "1",
    "ENABLE_DIAGNOSTIC_REPORTS": "1",
}
VISIBILITY_TIMEOUT = 8
RESTORE_INTERVAL = 2  # min(10, max(1, visibility // 4)): the README's scan interval
SUCCEEDED = re.compile(r"\[([0-9a-f-]{36})\] succeeded in")
RECEIVED = re.compile(r"\[([0-9a-f-]{36})\] received")


@dataclass
class Cluster:
    """The hosts, their processes and an HTTP client that reaches the webs."""

    net: Network
    procs: HostProcesses
    redis_url: str = ""
    database_url: str = ""
    broker_url: str = ""  # empty: the broker is REDIS_URL
    http: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.http.trust_env = False  # never an HTTP proxy from the environment

    # -- processes -------------------------------------------------------------
    def app_env(self, **extra: str) -> dict[str, str]:
        """A platform's variables for one app process."""
        return {
            "PORT": str(WEB_PORT),
            "REDIS_URL": self.redis_url,
            "DATABASE_URL": self.database_url,
            "WEB_CONCURRENCY": "1",
            "WORKER_CONCURRENCY": "2",
            **FAST_LIMITS,
            **({"CELERY_BROKER_URL": self.broker_url} if self.broker_url else {}),
            **extra,
        }

    def start_web(self, host: str, **env: str) -> None:
        """The Procfile's `web` on `host`; waits until it answers /healthz."""
        self.procs.start_procfile(host, host, "web", self.app_env(**env))

    def start_worker(self, host: str, **env: str) -> None:
        """The Procfile's `worker` on `host` (node name worker@<host>)."""
        self.procs.start_procfile(host, host, "worker", self.app_env(**env))

    def restart_workers(self, hosts: list[str], **env: str) -> None:
        """Stop workers (SIGTERM, the Procfile's soft shutdown), start them again with `env`."""
        for host in hosts:
            self.procs.stop(host)
            with open(self.procs.log_dir / f"{host}.log", "a") as log:
                log.write("\n--- restarted by the test ---\n")
            self.start_worker(host, **env)
        for host in hosts:
            self.wait_worker_ready(host)

    def use_broker(self, url: str) -> None:
        """Restart every web and worker with `url` as CELERY_BROKER_URL."""
        self.broker_url = url
        for web in WEBS:
            self.procs.stop(web)
            self.start_web(web)
        self.restart_workers(WORKERS)
        for web in WEBS:
            self.wait_web(web)

    def wait_web(self, host: str, timeout: float = 60) -> None:
        """Until the web on `host` answers /healthz."""

        def up() -> bool:
            try:
                return self.get(host, "/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(up, timeout, f"web on {host}", self.procs.procs[host])

    def wait_worker_ready(self, host: str, timeout: float = 60) -> None:
        """Until the worker on `host` logged Celery's `ready.` since its last start."""
        wait_for(
            lambda: " ready." in self.procs.log(host).rsplit("--- restarted", 1)[-1],
            timeout,
            f"worker on {host}",
            self.procs.procs[host],
        )

    # -- HTTP --------------------------------------------------------------------
    def url(self, web: str, path: str) -> str:
        """A URL on one web host."""
        return f"http://{self.net.hosts[web].address}:{WEB_PORT}{path}"

    def get(self, web: str, path: str, **kwargs: Any) -> requests.Response:
        """GET on one web host."""
        kwargs.setdefault("timeout", 10)
        return self.http.get(self.url(web, path), **kwargs)

    def post(self, web: str, path: str, **kwargs: Any) -> requests.Response:
        """POST on one web host."""
        kwargs.setdefault("timeout", 10)
        return self.http.post(self.url(web, path), **kwargs)

    def submit(self, web: str, report_type: str, parameters: dict[str, Any]) -> str:
        """Submit one job on `web` and expect 202; its id."""
        # no-cache: every job is computed by a worker (API.md: no reuse of an earlier result),
        # so each one shows in the workers' logs
        resp = self.post(
            web,
            "/api/reports",
            json={"reportType": report_type, "parameters": parameters},
            headers={"Cache-Control": "no-cache"},
        )
        assert resp.status_code == 202, f"{web}: {resp.status_code} {resp.text}"
        return str(resp.json()["id"])

    def submit_mix(self, count: int, webs: list[str] = WEBS) -> dict[str, str]:
        """`count` jobs, round-robin over `webs`: mostly short noops, a fifth reports.
        Returns job id -> web that accepted it."""
        jobs = {}
        for i, params in zip(range(count), mixed_jobs(), strict=False):
            web = webs[i % len(webs)]
            jobs[self.submit(web, *params)] = web
        return jobs

    def status(self, web: str, job_id: str) -> requests.Response:
        """One status read."""
        return self.get(web, f"/api/reports/{job_id}/status")

    def wait_all(
        self, job_ids: Iterable[str], timeout: float, webs: list[str] = WEBS
    ) -> dict[str, dict[str, Any]]:
        """Poll every job (alternating webs) until terminal; job id -> last document."""
        pending, done = set(job_ids), {}
        deadline = time.monotonic() + timeout
        i = 0
        while pending and time.monotonic() < deadline:
            for job_id in sorted(pending):
                i += 1
                resp = self.status(webs[i % len(webs)], job_id)
                assert resp.status_code == 200, resp.text
                doc = resp.json()
                if doc["status"] in TERMINAL:
                    done[job_id] = doc
                    pending.discard(job_id)
            if pending:
                time.sleep(0.2)
        assert not pending, f"{len(pending)} not terminal after {timeout}s: {sorted(pending)[:5]}"
        return done

    def download(self, web: str, job_id: str) -> dict[str, Any]:
        """A finished job's JSON result."""
        resp = self.get(web, f"/api/reports/{job_id}/download")
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    # -- what the workers logged ---------------------------------------------------
    def completions(self) -> Counter[str]:
        """Job id -> times a worker logged Celery's `succeeded` for it (any host)."""
        counts: Counter[str] = Counter()
        for host in [*WORKERS, "solo-worker"]:
            counts.update(SUCCEEDED.findall(self.procs.log(host)))
        return counts

    def ran_by(self) -> dict[str, set[str]]:
        """Worker host -> ids of the jobs it ran to success."""
        return {host: set(SUCCEEDED.findall(self.procs.log(host))) for host in WORKERS}

    def holding(self, host: str) -> set[str]:
        """Jobs a worker received but has not (yet) logged a success for."""
        log = self.procs.log(host)
        return set(RECEIVED.findall(log)) - set(SUCCEEDED.findall(log))


def mixed_jobs() -> Iterator[tuple[str, dict[str, Any]]]:
    """An endless mix: four short noop jobs of a few steps, then one sales report."""
    i = 0
    while True:
        i += 1
        if i % 5:
            yield "noop", {"steps": 2 + i % 3, "stepSeconds": 0.05}
        elif i % 10:
            yield "yearly-sales", {"year": 2020 + (i // 10) % 6}
        else:
            yield "monthly-sales", {"year": 2020 + (i // 10) % 6, "month": 1 + (i // 60) % 12}


def assert_exactly_once(cluster: Cluster, done: dict[str, dict[str, Any]]) -> Counter[str]:
    """Every job Complete, and each logged as succeeded exactly once; the counts."""
    states = Counter(doc["status"] for doc in done.values())
    assert states == Counter({"Complete": len(done)}), states
    # A success is stored with the record's end, a moment before Celery logs it.
    deadline = time.monotonic() + 10
    counts = cluster.completions()
    while any(counts[j] == 0 for j in done) and time.monotonic() < deadline:
        time.sleep(0.2)
        counts = cluster.completions()
    twice = {j: counts[j] for j in done if counts[j] > 1}
    lost = [j for j in done if counts[j] == 0]
    assert not twice, f"completed more than once: {twice}"
    assert not lost, f"complete but no worker logged a success: {lost[:5]}"
    return counts


@contextmanager
def cluster_on(net: Network, procs: HostProcesses) -> Iterator[Cluster]:
    """Store services, seeded data, two webs and three workers; everything stopped after."""
    cluster = Cluster(net, procs)
    try:
        cluster.redis_url = start_redis(procs, "store")
        cluster.database_url = start_postgres(procs, "store")
        seed(
            cluster.database_url.replace("postgresql://", "postgresql+psycopg://"),
            SEED_ROWS,
            procs.log_dir / "seed.log",
        )
        for web in WEBS:
            cluster.start_web(web)
        for worker in WORKERS:
            cluster.start_worker(worker)
        for web in WEBS:
            cluster.wait_web(web)
        for worker in WORKERS:
            cluster.wait_worker_ready(worker)
        yield cluster
    finally:
        procs.stop_all()
        cluster.http.close()
