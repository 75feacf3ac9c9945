"""How many clients can wait in `Prefer: wait` long polls before ordinary requests stall?

Starts the web process (no worker, so the job never changes and every long poll waits
its full N seconds) with a given gunicorn worker class and thread count, opens C
concurrent long polls on one queued job, and meanwhile times plain status GETs.
With `--stalled S`, S more clients each send headers and part of a body, then nothing,
and reconnect whenever they are cut off (the slow-upload attack). With `--streams E`, E
more clients hold the job's event stream (`GET .../events`), reconnecting like
EventSource when refused (`503`) or ended; they share the long polls' waiting slots.

    .venv/bin/python -m bench.long_polls --clients 100 --wait 8 \
        --worker-class gthread --threads 8
    .venv/bin/python -m bench.long_polls --clients 12 --stalled 6 --threads 8
    .venv/bin/python -m bench.long_polls --clients 6 --streams 12 --stalled 6 --threads 8
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import signal
import socket
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

PLAIN_TIMEOUT = 5.0
STALLED = (
    b"POST /api/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: 100\r\n\r\n{"
)


def measure(args: argparse.Namespace, redis_url: str) -> dict[str, float]:
    """One run: long polls in the background, plain polls timed in the foreground."""
    redis.Redis.from_url(redis_url).flushdb()
    env = {
        "REDIS_URL": redis_url,
        "WEB_CONCURRENCY": str(args.processes),
        "WEB_THREADS": str(args.threads),
        "WEB_WORKER_CLASS": args.worker_class,
        "ENABLE_DIAGNOSTIC_REPORTS": "1",
        "LOG_LEVEL": "warning",
        "REQUEST_IDLE_TIMEOUT": str(args.idle),
        "STREAM_KEEPALIVE_SECONDS": "1",  # a held stream's client hears something each second
    }
    stack = Stack(env=env, log_dir=Path(tempfile.mkdtemp(prefix="bench-lp-")))
    stack.start("web")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(stack.base_url + "/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)
        job = requests.post(
            stack.base_url + "/api/reports",
            json={"reportType": "noop", "parameters": {"steps": 1}},
            timeout=5,
        ).json()["id"]
        url = f"{stack.base_url}/api/reports/{job}/status"
        start = threading.Barrier(args.clients + 1)

        def long_poll() -> tuple[float, bool]:
            start.wait()
            t0 = time.monotonic()
            resp = requests.get(
                url, headers={"Prefer": f"wait={args.wait}"}, timeout=args.wait * 10
            )
            return time.monotonic() - t0, "Preference-Applied" in resp.headers

        stop = threading.Event()

        def stalled_upload() -> None:
            while not stop.is_set():
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", stack.port), timeout=300) as sock,
                ):
                    sock.sendall(STALLED)
                    sock.recv(65536)  # until the server answers or closes

        events_url = f"{stack.base_url}/api/reports/{job}/events"
        streaming = {"held": 0, "refused": 0}
        lock = threading.Lock()

        def event_stream() -> None:
            while not stop.is_set():
                with (
                    contextlib.suppress(requests.RequestException),
                    requests.get(events_url, stream=True, timeout=(5, 5)) as resp,
                ):
                    if resp.status_code != 200:
                        with lock:
                            streaming["refused"] += 1
                        stop.wait(0.5)
                        continue
                    with lock:
                        streaming["held"] += 1
                    try:
                        for _ in resp.iter_lines():
                            if stop.is_set():
                                break
                    finally:
                        with lock:
                            streaming["held"] -= 1

        stallers = [
            threading.Thread(target=stalled_upload, daemon=True) for _ in range(args.stalled)
        ] + [threading.Thread(target=event_stream, daemon=True) for _ in range(args.streams)]
        with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
            waits = [pool.submit(long_poll) for _ in range(args.clients)]
            start.wait()
            for t in stallers:
                t.start()
            time.sleep(1.0)  # let every long poll, stream and stalled upload reach the server
            held_streams = streaming["held"]
            plain, timed_out = [], 0
            for _ in range(10):
                t0 = time.monotonic()
                try:
                    requests.get(url, timeout=PLAIN_TIMEOUT)
                except requests.Timeout:
                    timed_out += 1
                plain.append(time.monotonic() - t0)
            held_after = streaming["held"]
            stop.set()
            procs = [psutil.Process(p.pid) for p in stack.processes.values()]
            rss = sum(c.memory_info().rss for p in procs for c in [p, *p.children(recursive=True)])
            results = [f.result() for f in waits]
        return {
            "plain_timeouts": timed_out,
            "plain_p50_ms": statistics.median(plain) * 1000,
            "plain_max_ms": max(plain) * 1000,
            "long_poll_max_s": max(t for t, _ in results),
            "waits_honoured": sum(applied for _, applied in results),
            "streams_held": held_streams,  # as the plain GETs began
            "streams_held_after": held_after,  # as they ended
            "stream_503s": streaming["refused"],
            "web_rss_mb": rss / 2**20,
        }
    finally:
        stack.stop_all()


def main() -> None:
    """Parse arguments, run, print one line of figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--wait", type=int, default=8)
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--stalled", type=int, default=0, help="stalled uploads meanwhile")
    parser.add_argument("--streams", type=int, default=0, help="held event streams meanwhile")
    parser.add_argument("--idle", type=float, default=10.0, help="REQUEST_IDLE_TIMEOUT")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-lp-redis-"))
    server = RedisProcess.on_free_port(data, appendonly=False).start()
    try:
        figures = measure(args, server.url)
    finally:
        server.kill(signal.SIGTERM)
    print(
        f"{args.worker_class} processes={args.processes} threads={args.threads} "
        f"clients={args.clients} streams={args.streams} stalled={args.stalled} "
        f"wait={args.wait}s: " + ", ".join(f"{k}={v:.1f}" for k, v in figures.items()),
        flush=True,
    )


if __name__ == "__main__":
    main()
