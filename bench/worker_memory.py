"""Pool-process memory over many jobs, to choose WORKER_MAX_TASKS_PER_CHILD / _MEMORY_.

    .venv/bin/python -m bench.worker_memory --jobs 2000 --report noop
    .venv/bin/python -m bench.worker_memory --jobs 300 --report yearly-sales

Starts a private Redis, the Procfile's web and one worker (one pool process, no
recycling), submits jobs over HTTP in batches and prints the pool process's RSS after
each batch. Results and the command are written down in the README's Guarantees section.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import psutil
import requests

from devstack import redis_server
from devstack.stack import Stack, free_port
from sales.db import make_engine
from sales.seed import seed

PARAMETERS = {"noop": {"steps": 3}, "yearly-sales": {"year": 2023}}


def run_batch(base: str, report: str, count: int) -> None:
    """Submit `count` jobs and wait until all are terminal."""
    locations = []
    for _ in range(count):
        resp = requests.post(
            f"{base}/api/reports",
            json={"reportType": report, "parameters": PARAMETERS[report]},
            timeout=10,
        )
        resp.raise_for_status()
        locations.append(resp.headers["Location"])
    deadline = time.monotonic() + 600
    for location in locations:
        while time.monotonic() < deadline:
            if requests.get(base + location, timeout=10).json()["status"] != "In Progress":
                break
            time.sleep(0.02)


def main() -> None:
    """Measure and print RSS (MiB) of the single pool process after each batch."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--report", choices=sorted(PARAMETERS), default="noop")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = f"redis://127.0.0.1:{free_port()}/0"
        redis_proc = redis_server.start(url, root / "redis", appendonly=False)
        db = f"sqlite:///{root / 'sales.db'}"
        seed(make_engine(db), 100_000)
        stack = Stack(
            env={
                "REDIS_URL": url,
                "DATABASE_URL": db,
                "ENABLE_DIAGNOSTIC_REPORTS": "1",
                "WORKER_CONCURRENCY": "1",
                "WORKER_MAX_TASKS_PER_CHILD": "0",
                "WORKER_MAX_MEMORY_PER_CHILD": "0",
            },
            log_dir=root / "logs",
        )
        try:
            stack.start("web")
            stack.start("worker")
            stack.wait_ready()
            main_proc = psutil.Process(stack.processes["worker"].pid)
            print(f"{'jobs':>6} {'child RSS MiB':>14} {'main RSS MiB':>13}")
            done = 0
            while done < args.jobs:
                run_batch(stack.base_url, args.report, args.batch)
                done += args.batch
                (child,) = main_proc.children()
                rss = child.memory_info().rss / 2**20
                main_rss = main_proc.memory_info().rss / 2**20
                print(f"{done:>6} {rss:>14.1f} {main_rss:>13.1f}", flush=True)
        finally:
            stack.stop_all()
            redis_proc.terminate()
            redis_proc.wait(10)


if __name__ == "__main__":
    main()
