"""Where a trivial job's CPU goes, by process: ours (HTTP submit) against raw Celery.

    .venv/bin/python -m bench.job_costs --jobs 2000 --runs 3

Each run submits `--jobs` no-op jobs (ours: over HTTP from 8 client threads, as the
throughput row of `python -m bench --only jobs`; raw: `apply_async` in this process) and
waits for all of them, and reads the CPU seconds each process tree used meanwhile: the
web, the worker, the Redis server, and this process (the client). Per job, in ms. The
throughput row's ratio follows from these: on 2 cores, jobs/s is bounded by the CPU a
job costs in all processes together.
"""

from __future__ import annotations

import argparse
import statistics
import time

import psutil

from bench.__main__ import NOOP, Run


def cpu(proc: psutil.Process) -> float:
    """user+sys seconds of one process."""
    t = proc.cpu_times()
    return t.user + t.system


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    run = Run(argparse.Namespace(runs=args.runs, seconds=1))
    from bench.harness import wait_done
    from bench.raw_celery import noop

    try:
        base = run.web("web", bare=False)
        run.worker("worker", raw=False)
        run.worker("raw", raw=True)
        noop.apply_async().get(timeout=30)
        run.submit_many(base, 20, NOOP)
        time.sleep(1)
        me = psutil.Process()
        redis_proc = psutil.Process(run.redis_proc.pid)
        table: dict[str, dict[str, list[float]]] = {"ours": {}, "raw": {}}
        for i in range(args.runs):
            for side in ("raw", "ours") if i % 2 == 0 else ("ours", "raw"):
                worker = "raw" if side == "raw" else "worker"
                before = {
                    "web": run.stack.cpu_seconds("web"),
                    "worker": run.stack.cpu_seconds(worker),
                    "redis": cpu(redis_proc),
                    "client": cpu(me),
                }
                started = time.perf_counter()
                if side == "raw":
                    ids = [noop.apply_async().id for _ in range(args.jobs)]
                else:
                    ids = run.submit_many(base, args.jobs, NOOP)
                ended = wait_done(run.redis, ids)
                after = {
                    "web": run.stack.cpu_seconds("web"),
                    "worker": run.stack.cpu_seconds(worker),
                    "redis": cpu(redis_proc),
                    "client": cpu(me),
                }
                for part in before:
                    used = (after[part] - before[part]) / args.jobs * 1000
                    table[side].setdefault(part, []).append(used)
                table[side].setdefault("jobs/s", []).append(args.jobs / (ended - started))
                time.sleep(1)
                run.redis.flushdb() if False else None
        print(f"CPU ms per job by process, median of {args.runs} runs (range):")
        for side, parts in table.items():
            cells = []
            for part, values in parts.items():
                cells.append(
                    f"{part} {statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"
                )
            print(f"  {side}: " + "; ".join(cells))
    finally:
        run.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
