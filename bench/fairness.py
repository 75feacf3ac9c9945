"""Fair sharing's cost: trivial-job throughput and submission rate, on against off.

Each run starts a web and a worker with FAIR_SHARING=1, submits `jobs` noop jobs over
HTTP from 8 client threads (one client: the open API), and measures how fast the 202s
come back (submission rate) and how fast all jobs complete (throughput); then the same
with FAIR_SHARING=0. The two sides alternate which goes first; both use the same Redis,
one at a time (their workers would take each other's jobs otherwise).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench.harness import Figure, wait_done
from bench.jobs import NOOP, submit_many


def measure(run: Any, row: Callable[..., None]) -> None:
    """Add the rows: submission rate and throughput, fairness on vs off, and their ratios."""
    a = run.args
    figures = {(side, what): Figure() for side in ("on", "off") for what in ("submit", "tp")}
    ratios = {"submit": Figure(), "tp": Figure()}
    for i in range(a.runs):
        got: dict[tuple[str, str], float] = {}
        for side in ("on", "off") if i % 2 == 0 else ("off", "on"):
            env = {"FAIR_SHARING": "1" if side == "on" else "0"}
            base = run.web(f"web-{side}", bare=False, extra=env)
            run.worker(f"worker-{side}", raw=False, extra=env)
            submit_many(base, 20, NOOP)  # warm up
            time.sleep(1)
            started = time.perf_counter()
            ids = submit_many(base, a.jobs, NOOP)
            accepted = time.perf_counter()
            finished = wait_done(run.redis, ids)
            got[(side, "submit")] = a.jobs / (accepted - started)
            got[(side, "tp")] = a.jobs / (finished - started)
            run.stop(f"web-{side}")
            run.stop(f"worker-{side}")
            run.redis.flushdb()
        for key, value in got.items():
            figures[key].add(value)
        for what in ("submit", "tp"):
            ratios[what].add(got[("on", what)] / got[("off", what)])
    row(
        f"submission rate, jobs/s, fair sharing on vs off ({a.jobs} jobs, 8 threads)",
        figures[("on", "submit")].text(),
        figures[("off", "submit")].text(),
        ratios["submit"],
        "(reported)",
        None,
    )
    row(
        f"trivial-job throughput, jobs/s, fair sharing on vs off ({a.jobs} jobs)",
        figures[("on", "tp")].text(),
        figures[("off", "tp")].text(),
        ratios["tp"],
        "(reported)",
        None,
    )
