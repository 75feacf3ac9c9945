"""The benchmark suite: our service against bare baselines, in the same run, on one Redis.

    ./dev bench                      # everything, prints the table (see bench/README.md)
    ./dev bench --only http jobs     # some parts
    ./dev bench --sweep              # also gunicorn / Celery pool settings side by side

Every comparison starts the baseline with the Procfile's own command (only the app target
swapped) and the same environment, so gunicorn.conf.py and the Celery settings are shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psutil
import redis

from bench.harness import (
    BARE_APP,
    OURS_APP,
    OURS_CELERY,
    RAW_CELERY,
    Bench,
    Figure,
    ensure_wrk,
    stop_tree,
    wait_done,
    wait_http,
    wait_worker,
)
from bench.http import measure as measure_http
from bench.jobs import NOOP, submit_many
from bench.jobs import measure as measure_jobs
from devstack import redis_server
from devstack.stack import free_port
from jobs.settings import PROJECT_ROOT

VAR = PROJECT_ROOT / "var" / "bench"
ROWS: list[tuple[str, ...]] = []  # the table: what, ours, baseline, ratio, target, verdict


def row(what: str, ours: str, base: str, ratio: Figure | None, target: str, ok: bool | None):
    """Add one line to the result table (and print it as soon as it is known)."""
    verdict = "n/a" if ok is None else ("met" if ok else "NOT met")
    line = (what, ours, base, ratio.text("{:.2f}x") if ratio else "", target, verdict)
    ROWS.append(line)
    print("  | " + " | ".join(line) + " |", flush=True)


def machine() -> str:
    """nproc, CPU model, memory and load, for the README."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    mem = psutil.virtual_memory().total / 2**30
    return (
        f"{os.cpu_count()} CPUs ({model}), {mem:.1f} GiB RAM, Python {platform.python_version()}, "
        f"load average {load} at start"
    )


class Run:
    """One benchmark run: a private Redis and the processes under test."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.dir = VAR / dt.datetime.now().strftime("run-%Y%m%d-%H%M%S")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.redis_url = f"redis://127.0.0.1:{free_port()}/0"
        self.redis_proc = redis_server.start(
            self.redis_url, self.dir / "redis", self.dir / "redis.log", appendonly=False
        )
        os.environ["REDIS_URL"] = self.redis_url  # for bench.raw_celery in this process
        self.redis = redis.Redis.from_url(self.redis_url, decode_responses=True)
        env = {
            "REDIS_URL": self.redis_url,
            "ENABLE_DIAGNOSTIC_REPORTS": "1",
            "DATABASE_URL": f"sqlite:///{VAR / 'sales-1000000.db'}",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "warning"),
        }
        for name in (
            "WEB_CONCURRENCY",
            "WEB_THREADS",
            "WORKER_CONCURRENCY",
            "FAIR_BROKER_MARGIN",
            "FAIR_SHARING",
        ):
            if name in os.environ:
                env[name] = os.environ[name]
        self.stack = Bench(env=env, log_dir=self.dir)

    def close(self) -> None:
        """Stop everything this run started."""
        self.stack.stop_all()
        self.redis_proc.terminate()
        self.redis_proc.wait(10)

    # -- processes ---------------------------------------------------------
    def web(self, label: str, bare: bool, extra: dict[str, str] | None = None) -> str:
        """Start ours or the bare app under the same gunicorn command; its base URL."""
        port = free_port()
        proc = self.stack.start_variant(
            "web",
            label,
            (OURS_APP, BARE_APP) if bare else None,
            {"PORT": str(port), **(extra or {})},
        )
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz", proc)
        return url

    def worker(self, label: str, raw: bool, extra: dict[str, str] | None = None) -> None:
        """Start our worker or the raw Celery one with the same command and settings."""
        name = f"{label}-{uuid.uuid4().hex[:6]}"
        self.stack.start_variant(
            "worker",
            label,
            (OURS_CELERY, RAW_CELERY) if raw else None,
            {"WORKER_NAME": name, **(extra or {})},
        )
        wait_worker(self.redis, name)

    def stop(self, label: str) -> None:
        """Stop one process tree."""
        stop_tree(self.stack.processes.pop(label))

    # -- memory ------------------------------------------------------------------
    def memory(self) -> None:
        """Web and worker RSS after many jobs vs after a few (fresh processes)."""
        a = self.args
        base = self.web("web", bare=False)
        self.worker("worker", raw=False)
        done = 0
        rss: dict[int, tuple[float, float]] = {}
        for target in (100, a.memory_jobs):
            while done < target:
                n = min(1000, target - done)
                wait_done(self.redis, submit_many(base, n, NOOP))
                done += n
            time.sleep(1)
            rss[target] = (self.stack.rss_mib("web"), self.stack.rss_mib("worker"))
        for i, name in enumerate(("web", "worker")):
            small, big = rss[100][i], rss[a.memory_jobs][i]
            growth = (big - small) / small * 100
            row(
                f"memory: {name} RSS (MiB, all processes)",
                f"{big:.0f} after {a.memory_jobs:,} jobs",
                f"{small:.0f} after 100 jobs",
                None,
                "growth < 10%",
                growth < 10,
            )
            ROWS[-1] = (*ROWS[-1][:3], f"{growth:+.1f}%", *ROWS[-1][4:])
        self.stop("web")
        self.stop("worker")
        self.redis.flushdb()


def sql_part(run: Run) -> None:
    """yearly-sales as a job vs the single SQL query run directly (bench/yearly_sales.py)."""
    from bench.yearly_sales import measure

    measure(run, row, VAR)


def sweep_part(run: Run) -> None:
    """Status polls/s and throughput under other process settings (bench/sweep.py)."""
    from bench.sweep import measure

    measure(run)


def http_part(run: Run) -> None:
    """Status, conditional and submission rates and CPU per poll vs bare Flask (bench/http.py)."""
    measure_http(run, row)


def jobs_part(run: Run) -> None:
    """Trivial-job throughput and end-to-end latency vs raw Celery (bench/jobs.py)."""
    measure_jobs(run, row)


def reuse_part(run: Run) -> None:
    """Repeated identical reports: answered from the kept result vs computed (bench/reuse.py)."""
    from bench.reuse import measure

    measure(run, run.args.rows, run.args.runs, row, VAR)


def fairness_part(run: Run) -> None:
    """Fair sharing on vs off: submission rate and trivial-job throughput (bench/fairness.py)."""
    from bench.fairness import measure

    measure(run, row)


PARTS: dict[str, Callable[[Run], None]] = {
    "http": http_part,
    "jobs": jobs_part,
    "sql": sql_part,
    "memory": Run.memory,
    "sweep": sweep_part,
    "reuse": reuse_part,
    "fairness": fairness_part,
}


def main(argv: list[str] | None = None) -> int:
    """Run the chosen parts and print the table."""
    parser = argparse.ArgumentParser(
        prog="./dev bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only", nargs="+", choices=list(PARTS), default=["http", "jobs", "sql", "memory"]
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median, min, max)")
    parser.add_argument("--seconds", type=float, default=5, help="length of one wrk run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--jobs", type=int, default=500, help="jobs per throughput run")
    parser.add_argument("--samples", type=int, default=100, help="jobs per latency run")
    parser.add_argument("--memory-jobs", type=int, default=10_000)
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[1_000_000, 10_000_000], help="sales data sizes"
    )
    parser.add_argument("--keep-data", action="store_true", help="keep the PostgreSQL schemas")
    parser.add_argument("--sweep", action="store_true", help="also compare process settings")
    args = parser.parse_args(argv)
    if {"http", "sweep"} & set(args.only) or args.sweep:
        ensure_wrk()
    print(f"machine: {machine()}", flush=True)
    started = time.monotonic()
    run = Run(args)
    print(f"logs and data: {run.dir}", flush=True)
    print("  | what | ours | baseline (same run) | ratio | target | |", flush=True)
    print("  |---|---|---|---|---|---|", flush=True)
    try:
        for name in args.only:
            PARTS[name](run)
        if args.sweep and "sweep" not in args.only:
            sweep_part(run)
    finally:
        run.close()
    print(
        f"\ndone in {time.monotonic() - started:.0f}s; load average now "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        flush=True,
    )
    table = "\n".join("| " + " | ".join(r) + " |" for r in ROWS)
    (run.dir / "table.md").write_text(table + "\n")
    print(f"\n{table}", flush=True)
    return 0 if all(r[5] != "NOT met" for r in ROWS) else 1


if __name__ == "__main__":
    sys.exit(main())
