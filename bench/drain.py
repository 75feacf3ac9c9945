"""The worker alone: how fast it drains jobs already queued, ours against raw Celery.

    .venv/bin/python -m bench.drain --jobs 3000 --runs 3

Each run queues `--jobs` no-op jobs of each side with no worker running (raw Celery's by
`apply_async`, ours over HTTP: they wait in the fair backlog and the claims hand them
over), then starts that side's worker (the Procfile's command) and times the jobs done
between 20 % and 90 % of a sample of 200 (no start-up, no tail), the sides alternating
which goes first. No client or web process runs meanwhile, so the figure is the worker's
(main process, pool, and its Redis round trips) and not the submitting side's; the
throughput rows of `python -m bench --only jobs` add that side.
"""

from __future__ import annotations

import argparse
import random
import time

from bench.__main__ import Run
from bench.harness import Figure
from bench.jobs import NOOP, submit_many
from jobs.store.keys import CELERY_META_PREFIX


def done_share(run: Run, sample: list[str]) -> float:
    """The share of `sample` whose Celery result says SUCCESS."""
    pipe = run.redis.pipeline(transaction=False)
    for task_id in sample:
        pipe.get(CELERY_META_PREFIX + task_id)
    return sum(1 for m in pipe.execute() if m and '"SUCCESS"' in m) / len(sample)


def drain_rate(run: Run, ids: list[str], timeout: float = 300.0) -> float:
    """Jobs/s between 20 % and 90 % done (a sample of 200 read every 10 ms)."""
    sample = random.Random(1).sample(ids, min(200, len(ids)))
    marks: dict[float, float] = {}
    deadline = time.monotonic() + timeout
    while len(marks) < 2:
        if time.monotonic() > deadline:
            raise RuntimeError(f"not drained after {timeout}s")
        share, now = done_share(run, sample), time.perf_counter()
        for mark in (0.2, 0.9):
            if share >= mark:
                marks.setdefault(mark, now)
        time.sleep(0.01)
    return len(ids) * 0.7 / (marks[0.9] - marks[0.2])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    ours, raw = Figure(), Figure()
    run = Run(argparse.Namespace(runs=args.runs, seconds=4))
    try:
        from bench.raw_celery import noop  # reads REDIS_URL, which the run has just set

        base = run.web("web", bare=False)  # idle while the workers drain
        for i in range(args.runs):
            queued = {
                "raw": [noop.apply_async().id for _ in range(args.jobs)],
                "ours": submit_many(base, args.jobs, NOOP),
            }
            for side in ("raw", "ours") if i % 2 == 0 else ("ours", "raw"):
                label = f"{side}{i}"
                run.worker(label, raw=side == "raw")
                (raw if side == "raw" else ours).add(drain_rate(run, queued[side]))
                run.stop(label)
    finally:
        run.close()
    print(f"drain, jobs/s ({args.jobs} queued jobs, {args.runs} runs): ours {ours.text()},")
    print(f"  raw Celery {raw.text()}, ours/raw {ours.over(raw).text('{:.2f}x')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
