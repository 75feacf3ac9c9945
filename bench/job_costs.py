"""Where a trivial job's CPU goes, by process, and what the submitting client costs:
ours (over HTTP) against raw Celery, in the same run.

    .venv/bin/python -m bench.job_costs --jobs 1500 --runs 3

Three producers, each run submitting no-op jobs and waiting until all have completed:

- `raw`: `apply_async` in this process, one thread (the throughput row's baseline);
- `ours, requests`: `--jobs` POSTs from 8 client threads with `requests` (the throughput
  row of `python -m bench --only jobs`);
- `ours, wrk`: wrk POSTing for `--seconds` on 8 connections (a client whose own CPU is
  near nothing, as a service's clients run elsewhere).

For each: jobs/s (all submitted jobs over the time from the first submit to the last
completion) and the CPU milliseconds per job of each process tree: the web, the worker
(main process and pool), the Redis server and the client (this process; wrk's own is
not counted). On these 2 cores the jobs/s of a producer follows from the CPU a job costs
in all processes together.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import psutil

from bench.__main__ import Run
from bench.harness import wait_done
from bench.jobs import NOOP, submit_by_wrk, submit_many


def cpu(proc: psutil.Process) -> float:
    """user+sys seconds of one process."""
    t = proc.cpu_times()
    return t.user + t.system


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1500, help="jobs per raw/requests run")
    parser.add_argument("--seconds", type=float, default=4.0, help="wrk's submitting time")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    run = Run(argparse.Namespace(runs=args.runs, seconds=args.seconds))
    from bench.raw_celery import noop

    try:
        base = run.web("web", bare=False)
        run.worker("worker", raw=False)
        run.worker("raw", raw=True)
        noop.apply_async().get(timeout=30)
        submit_many(base, 20, NOOP)
        time.sleep(1)
        me, redis_proc = psutil.Process(), psutil.Process(run.redis_proc.pid)

        producers: dict[str, tuple[str, Callable[[], list[str]]]] = {
            "raw": ("raw", lambda: [noop.apply_async().id for _ in range(args.jobs)]),
            "ours, requests": ("worker", lambda: submit_many(base, args.jobs, NOOP)),
            "ours, wrk": ("worker", lambda: submit_by_wrk(run, base, args.seconds)),
        }
        table: dict[str, dict[str, list[float]]] = {name: {} for name in producers}
        for i in range(args.runs):
            order = list(producers) if i % 2 == 0 else list(reversed(producers))
            for name in order:
                worker, produce = producers[name]

                def used(worker: str = worker) -> dict[str, float]:
                    return {
                        "web": run.stack.cpu_seconds("web"),
                        "worker": run.stack.cpu_seconds(worker),
                        "redis": cpu(redis_proc),
                        "client": cpu(me),
                    }

                before, started = used(), time.perf_counter()
                ids = produce()
                ended = wait_done(run.redis, ids)
                after = used()
                row = table[name]
                row.setdefault("jobs/s", []).append(len(ids) / (ended - started))
                for part in before:
                    row.setdefault(part, []).append((after[part] - before[part]) / len(ids) * 1e3)
                row.setdefault("all", []).append(
                    sum(row[p][-1] for p in ("web", "worker", "redis", "client"))
                )
                time.sleep(1)
        print(f"per producer, median of {args.runs} runs (range); CPU in ms per job:")
        raw_rate = statistics.median(table["raw"]["jobs/s"])
        for name, row in table.items():
            cells = [
                f"{part} {statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})"
                for part, v in row.items()
            ]
            ratio = statistics.median(row["jobs/s"]) / raw_rate
            print(f"  {name}: " + "; ".join(cells) + f"; jobs/s vs raw {ratio:.2f}x")
    finally:
        run.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
