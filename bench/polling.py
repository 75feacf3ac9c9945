"""The polling economy: requests per job, and how late each kind of client learns the end.

    .venv/bin/python -m bench.polling                 # 2 s, 30 s and 120 s jobs, at once
    .venv/bin/python -m bench.polling --lengths 2 8   # other lengths

Starts its own Redis, web (2 processes) and one worker on 127.0.0.1, runs one noop job
per client kind and length, all at once, and prints the table of bench/README.md. For
every job a 10 ms poller of the job's Celery result in Redis (where the web reads it)
gives the true finish time; a client's lateness is when it got the terminal answer minus
that. Every request a client makes is counted, its POST included. Runs are bounded: a
client gives up after 3x the job's length plus 60 s.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis
import requests

from async_reports_client import Client
from devstack import redis_server
from devstack.stack import Stack, free_port
from jobs.store.keys import Keys
from sales.db import make_engine
from sales.seed import seed

TERMINAL = {"Complete", "Failed", "Cancelled"}


def job_body(length: float) -> dict[str, object]:
    """A noop job of about `length` seconds, in steps of at most a second (at least 10)."""
    steps = max(10, round(length))
    return {"reportType": "noop", "parameters": {"steps": steps, "stepSeconds": length / steps}}


@dataclass
class Outcome:
    """What one client spent on one job and when it learned of the end (epoch seconds)."""

    requests: int
    learned: float
    submitted: float
    finished: float = float("nan")
    states: int = 0  # changes of state the client saw

    @property
    def late(self) -> float:
        return self.learned - self.finished

    @property
    def length(self) -> float:
        return self.finished - self.submitted


class Run:
    """The stack and the job-finish watchers."""

    def __init__(self, base: str, redis_url: str) -> None:
        self.base = base
        self.redis = redis.Redis.from_url(redis_url)
        self.keys = Keys()

    def finish_time(self, job_id: str, stop: float) -> float:
        """Poll the job's Celery result every 10 ms: the moment it is terminal."""
        key = self.keys.celery_meta(job_id)
        while time.time() < stop:
            raw = self.redis.get(key)
            if raw and json.loads(raw).get("status") in {"SUCCESS", "FAILURE", "REVOKED"}:
                return time.time()
            time.sleep(0.01)
        return float("nan")

    def submit(self, session: requests.Session, length: float) -> tuple[requests.Response, float]:
        t0 = time.time()
        resp = session.post(f"{self.base}/api/reports", json=job_body(length), timeout=30)
        resp.raise_for_status()
        return resp, t0


def naive(run: Run, length: float, stop: float, on_job: Callable[[str], None]) -> Outcome:
    """Once a second, whatever the server says."""
    with requests.Session() as s:
        resp, t0 = run.submit(s, length)
        on_job(resp.json()["id"])
        url, n, states, state = run.base + resp.headers["Location"], 1, 0, resp.json()["state"]
        doc = resp.json()
        while doc["status"] not in TERMINAL and time.time() < stop:
            time.sleep(1.0)
            doc = s.get(url, timeout=30).json()
            n += 1
            states, state = states + (doc["state"] != state), doc["state"]
        return Outcome(n, time.time(), t0, states=states)


def follows_retry_after(
    run: Run, length: float, stop: float, on_job: Callable[[str], None]
) -> Outcome:
    """Sleeps each Retry-After (seconds) it is given, then polls again."""
    with requests.Session() as s:
        resp, t0 = run.submit(s, length)
        on_job(resp.json()["id"])
        url, n, states, state = run.base + resp.headers["Location"], 1, 0, resp.json()["state"]
        while resp.json()["status"] not in TERMINAL and time.time() < stop:
            time.sleep(float(resp.headers.get("Retry-After", "1")))
            resp = s.get(url, timeout=30)
            n += 1
            states, state = states + (resp.json()["state"] != state), resp.json()["state"]
        return Outcome(n, time.time(), t0, states=states)


def long_polls(prefer: str) -> Callable[[Run, float, float, Callable[[str], None]], Outcome]:
    """Long polls back to back with If-None-Match and `Prefer: <prefer>`."""

    def client(run: Run, length: float, stop: float, on_job: Callable[[str], None]) -> Outcome:
        with requests.Session() as s:
            resp, t0 = run.submit(s, length)
            doc = resp.json()
            on_job(doc["id"])
            url, etag, n, states = run.base + resp.headers["Location"], resp.headers["ETag"], 1, 0
            while doc["status"] not in TERMINAL and time.time() < stop:
                resp = s.get(url, headers={"Prefer": prefer, "If-None-Match": etag}, timeout=90)
                n += 1
                if resp.status_code == 304:
                    continue
                states += resp.json()["state"] != doc["state"]
                doc, etag = resp.json(), resp.headers["ETag"]
            return Outcome(n, time.time(), t0, states=states)

    return client


class Counting(httpx.HTTPTransport):
    """An httpx transport that counts the requests the SDK makes."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        return super().handle_request(request)


def sdk_default(run: Run, length: float, stop: float, on_job: Callable[[str], None]) -> Outcome:
    """`client.reports.submit(...)` then `op.wait()`: the SDK's defaults."""
    transport = Counting()
    params = job_body(length)["parameters"]
    assert isinstance(params, dict)
    with Client(run.base, transport=transport) as client:
        t0 = time.time()
        op = client.reports.submit("noop", **params)
        on_job(op.id)
        op.wait(timeout=stop - time.time())
        return Outcome(transport.count, time.time(), t0, states=-1)


CLIENTS: list[tuple[str, Callable[..., Outcome]]] = [
    ("naive, once a second (baseline)", naive),
    ("follows `Retry-After`", follows_retry_after),
    ("long polls: `Prefer: wait=60` + `If-None-Match`", long_polls("wait=60")),
    (
        "long polls: `Prefer: wait=60, changes=state` + `If-None-Match`",
        long_polls("wait=60, changes=state"),
    ),
    ("SDK default: `op.wait()`", sdk_default),
]


def one(run: Run, length: float, client: Callable[..., Outcome]) -> Outcome:
    """One client, one job, with the 10 ms finish watcher beside it."""
    stop = time.time() + 3 * length + 60
    ids: list[str] = []
    got = threading.Event()
    finished: list[float] = []

    def on_job(job_id: str) -> None:
        ids.append(job_id)
        got.set()

    def watch() -> None:
        if got.wait(60):
            finished.append(run.finish_time(ids[0], stop))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    outcome = client(run, length, stop, on_job)
    watcher.join(max(1.0, stop - time.time()))
    outcome.finished = finished[0] if finished else float("nan")
    return outcome


def verdict(name: str, o: Outcome) -> str:
    """Whether an outcome meets its target in issue 10 (when it has one)."""
    if name.startswith("follows"):
        ok = o.requests <= 6 and o.late <= max(0.1 * o.length, 1.0)
    elif "changes=state" in name or name.startswith("SDK"):
        changes = 2  # queued -> running -> succeeded
        ok = o.requests <= 3 + changes and o.late <= 0.05
    else:
        return ""
    return " ok" if ok else " **missed**"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=float, nargs="+", default=[2.0, 30.0, 120.0])
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-polling-"))
    redis_url = f"redis://127.0.0.1:{free_port()}/0"
    server = redis_server.start(redis_url, tmp / "redis", tmp / "redis.log", appendonly=False)
    db = f"sqlite:///{tmp / 'sales.db'}"
    engine = make_engine(db)
    seed(engine, 1000)
    engine.dispose()
    jobs = len(args.lengths) * len(CLIENTS)
    env = {
        "REDIS_URL": redis_url,
        "DATABASE_URL": db,
        "WEB_CONCURRENCY": "2",
        "WORKER_CONCURRENCY": str(jobs + 1),
        "ENABLE_DIAGNOSTIC_REPORTS": "1",
        "LOG_LEVEL": "warning",
    }
    stack = Stack(env=env, log_dir=tmp)
    try:
        stack.start("web")
        stack.start("worker")
        stack.wait_ready(workers=1, timeout=120)
        run = Run(stack.base_url, redis_url)
        with ThreadPoolExecutor(jobs) as pool:
            futures = {
                (name, length): pool.submit(one, run, length, client)
                for length in args.lengths
                for name, client in CLIENTS
            }
            results = {key: f.result() for key, f in futures.items()}
    finally:
        stack.stop_all()
        server.terminate()
        server.wait(10)
    heads = " | ".join(f"{length:g} s job" for length in args.lengths)
    print(f"| client: requests / learned of the end late by | {heads} |")
    print("|---" * (len(args.lengths) + 1) + "|")
    for name, _ in CLIENTS:
        cells = []
        for length in args.lengths:
            o = results[(name, length)]
            cells.append(f"{o.requests} / {o.late * 1000:.0f} ms{verdict(name, o)}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    lengths = ", ".join(
        f"{length:g} s: {results[(CLIENTS[0][0], length)].length:.2f} s" for length in args.lengths
    )
    print(f"\nMeasured lengths (submit to finish, naive client's job): {lengths}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
