"""The settings sweep: status polls/s and CPU per poll under other gunicorn settings, and
trivial-job throughput under other Celery pool settings, side by side in one run."""

from __future__ import annotations

import time
from typing import Any

import requests

from bench.harness import Figure, wait_done, wrk
from bench.jobs import NOOP, submit_many


def measure(run: Any) -> None:
    """Status polls/s and trivial-job throughput under other process settings."""
    a = run.args
    seconds = a.seconds
    print("\n  gunicorn settings, status polls/s (same wrk, same Redis):", flush=True)
    ours = run.web("probe", bare=False)
    job = requests.post(ours + "/api/reports", json=NOOP, timeout=10)
    path = job.headers["Location"]
    run.stop("probe")
    configs = [
        ("gthread 2 workers x 64 threads (default)", {"WEB_CONCURRENCY": "2"}),
        ("gthread 2 x 8", {"WEB_CONCURRENCY": "2", "WEB_THREADS": "8"}),
        ("gthread 2 x 16", {"WEB_CONCURRENCY": "2", "WEB_THREADS": "16"}),
        ("gthread 1 x 64", {"WEB_CONCURRENCY": "1"}),
        ("gthread 4 x 64", {"WEB_CONCURRENCY": "4"}),
        ("sync 4 workers", {"WEB_CONCURRENCY": "4", "WEB_WORKER_CLASS": "sync"}),
    ]
    urls = {
        name: run.web(f"sweep{i}", bare=False, extra=extra)
        for i, (name, extra) in enumerate(configs)
    }
    rps = {name: Figure() for name in urls}
    cpu = {name: Figure() for name in urls}
    for url in urls.values():
        wrk(url + path, 1, a.connections)
    for _ in range(a.runs):  # round robin, so the machine's noise hits every config
        for i, (name, url) in enumerate(urls.items()):
            before = run.stack.cpu_seconds(f"sweep{i}")
            res = wrk(url + path, seconds, a.connections)
            used = run.stack.cpu_seconds(f"sweep{i}") - before
            rps[name].add(res.rps)
            cpu[name].add(used / max(res.requests, 1) * 1e6)
    for i, name in enumerate(urls):
        run.stop(f"sweep{i}")
        print(f"  | {name} | {rps[name].text()} | {cpu[name].text()} us CPU/poll |", flush=True)
    print("\n  Celery pool settings, trivial-job throughput (jobs/s):", flush=True)
    base = run.web("web", bare=False)
    pools = [
        ("prefork 2", {"WORKER_CONCURRENCY": "2"}),
        ("prefork 1", {"WORKER_CONCURRENCY": "1"}),
        ("prefork 4", {"WORKER_CONCURRENCY": "4"}),
    ]
    tp = {name: Figure() for name, _ in pools}
    for _ in range(a.runs):  # round robin again; one worker at a time (one queue)
        for name, extra in pools:
            run.worker("sweepworker", raw=False, extra=extra)
            t = time.perf_counter()
            ids = submit_many(base, a.jobs, NOOP)
            tp[name].add(a.jobs / (wait_done(run.redis, ids) - t))
            run.stop("sweepworker")
    for name, fig in tp.items():
        print(f"  | {name} | {fig.text()} jobs/s |", flush=True)
    run.stop("web")
    run.redis.flushdb()
