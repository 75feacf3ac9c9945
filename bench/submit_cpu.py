"""CPU per submission in one process, ours against the bare app, without gunicorn or wrk.

    .venv/bin/python -m bench.submit_cpu                 # 5 rounds of 2000 each side
    .venv/bin/python -m bench.submit_cpu --profile       # and cProfile's top of ours
    .venv/bin/python -m bench.submit_cpu --profile --sort tottime --top 45

Calls each app's WSGI callable directly with a `noop` submission, one after another, on
a Redis of its own (no worker: the jobs wait in the backlog, as in the submissions row),
and counts the process's CPU time (user + sys: our code, the Redis client, the socket
calls) and, apart, the Redis server's. The sides alternate; the figure is each side's best round. It
tells where a submission's own CPU goes, which the HTTP row (bench/http.py) mixes with
gunicorn's, wrk's and Redis's on the same two cores.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import psutil

from bench.jobs import NOOP

WSGI = Callable[[dict[str, Any], Callable[..., Any]], Any]
BODY = json.dumps(NOOP).encode()


def environ(path: str) -> dict[str, Any]:
    """A POST of the noop body, as gunicorn hands it to the app."""
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(BODY)),
        "wsgi.input": io.BytesIO(BODY),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "SERVER_NAME": "bench",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
    }


def accepted(status: str, _headers: Any, _exc: Any = None) -> None:
    """start_response: every submission must be accepted."""
    assert status.startswith("202"), status


def cpu_per_call(app: WSGI, path: str, n: int, redis: psutil.Process | None = None) -> Cost:
    """Microseconds of this process's CPU, and of Redis's, per submission, over `n` in a
    row."""
    started, served = time.process_time(), redis_cpu(redis)
    for _ in range(n):
        b"".join(app(environ(path), accepted))
    return Cost((time.process_time() - started) / n * 1e6, (redis_cpu(redis) - served) / n * 1e6)


class Cost(NamedTuple):
    """CPU microseconds of one submission: the app's process and the Redis server."""

    app: float
    redis: float


def redis_cpu(redis: psutil.Process | None) -> float:
    """The Redis server's CPU seconds so far (user + sys), 0 when not measured."""
    if redis is None:
        return 0.0
    t = redis.cpu_times()
    return float(t.user + t.system)


def main(argv: list[str] | None = None) -> int:
    """Both apps on a Redis of the bench's own; the best round of each side."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative", help="cProfile's order (tottime, ...)")
    parser.add_argument("--top", type=int, default=40, help="how many rows of the profile")
    args = parser.parse_args(argv)
    from bench.__main__ import Run

    run = Run(argparse.Namespace(runs=1, seconds=1))
    try:
        os.environ.update(run.stack.env)  # the web's settings (REDIS_URL, diagnostic reports)
        from app import create_app
        from bench.bare_app import create_app as bare_app

        sides = {"ours": (create_app(), "/api/reports"), "bare": (bare_app(), "/bare/reports")}
        for app, path in sides.values():
            cpu_per_call(app, path, 200)  # connections, scripts, imports
        server = psutil.Process(run.redis_proc.pid)
        best = {side: Cost(float("inf"), float("inf")) for side in sides}
        for i in range(args.rounds):
            for side in sides if i % 2 == 0 else reversed(list(sides)):
                app, path = sides[side]
                got = cpu_per_call(app, path, args.calls, server)
                best[side] = Cost(min(best[side].app, got.app), min(best[side].redis, got.redis))
            run.redis.flushdb()
        print(f"CPU per submission (best of {args.rounds} x {args.calls}, us user+sys):")
        print("  side   app  redis")
        for side, cost in best.items():
            print(f"  {side:5} {cost.app:4.0f}  {cost.redis:5.0f}")
        o, b = best["ours"], best["bare"]
        print(f"  ratio ours/bare: app {o.app / b.app:.2f}x, redis {o.redis / b.redis:.2f}x,")
        print(f"  both {(o.app + o.redis) / (b.app + b.redis):.2f}x")
        if args.profile:
            app, path = sides["ours"]
            profile = cProfile.Profile()
            profile.runcall(cpu_per_call, app, path, args.calls)
            pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)
    finally:
        run.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
