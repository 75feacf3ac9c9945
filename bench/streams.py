"""How many event streams does the web hold at once, and do plain polls stay fast?

Starts the web process (no worker: the job never changes, so every stream stays open
with keep-alives only), opens C concurrent `GET .../events` streams on one queued job,
holds them for H seconds, and meanwhile times plain status GETs. Streams past the
waiting-slot bound (MAX_WAITING_REQUESTS per process) are answered 503 at once.

    .venv/bin/python -m bench.streams --clients 120 --hold 6 --threads 64
"""

from __future__ import annotations

import argparse
import concurrent.futures
import signal
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil
import redis
import requests

from devstack.redis_server import RedisProcess
from devstack.stack import Stack


def wait_healthy(stack: Stack) -> None:
    """Until /healthz answers (bounded)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(stack.base_url + "/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def measure(args: argparse.Namespace, redis_url: str) -> dict[str, float]:
    """One run: streams held in the background, plain polls timed in the foreground."""
    redis.Redis.from_url(redis_url).flushdb()
    env = {
        "REDIS_URL": redis_url,
        "WEB_CONCURRENCY": str(args.processes),
        "WEB_THREADS": str(args.threads),
        "ENABLE_DIAGNOSTIC_REPORTS": "1",
        "STREAM_KEEPALIVE_SECONDS": "2",
        "LOG_LEVEL": "warning",
    }
    stack = Stack(env=env, log_dir=Path(tempfile.mkdtemp(prefix="bench-sse-")))
    stack.start("web")
    try:
        wait_healthy(stack)
        job = requests.post(
            stack.base_url + "/api/reports",
            json={"reportType": "noop", "parameters": {"steps": 1}},
            timeout=5,
        ).json()["id"]
        base = f"{stack.base_url}/api/reports/{job}"
        start = threading.Barrier(args.clients + 1)

        def hold_stream() -> int:
            start.wait()
            with requests.get(f"{base}/events", stream=True, timeout=args.hold * 10) as resp:
                if resp.status_code == 200:
                    ends = time.monotonic() + args.hold
                    for _ in resp.iter_lines():
                        if time.monotonic() > ends:
                            break
                return resp.status_code

        with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
            streams = [pool.submit(hold_stream) for _ in range(args.clients)]
            start.wait()
            time.sleep(1.5)  # let every stream reach the server
            plain = []
            for _ in range(10):
                t0 = time.monotonic()
                requests.get(f"{base}/status", timeout=30)
                plain.append(time.monotonic() - t0)
            procs = [psutil.Process(p.pid) for p in stack.processes.values()]
            rss = sum(c.memory_info().rss for p in procs for c in [p, *p.children(recursive=True)])
            codes = [f.result() for f in streams]
        return {
            "streams_held": codes.count(200),
            "streams_refused_503": codes.count(503),
            "plain_p50_ms": statistics.median(plain) * 1000,
            "plain_max_ms": max(plain) * 1000,
            "web_rss_mb": rss / 2**20,
        }
    finally:
        stack.stop_all()


def main() -> None:
    """Parse arguments, run, print one line of figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=120)
    parser.add_argument("--hold", type=int, default=6)
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-sse-redis-"))
    server = RedisProcess.on_free_port(data, appendonly=False).start()
    try:
        figures = measure(args, server.url)
    finally:
        server.kill(signal.SIGTERM)
    print(
        f"processes={args.processes} threads={args.threads} clients={args.clients} "
        f"hold={args.hold}s: " + ", ".join(f"{k}={v:.1f}" for k, v in figures.items()),
        flush=True,
    )


if __name__ == "__main__":
    main()
