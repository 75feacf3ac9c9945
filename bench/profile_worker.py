"""Where a worker's time goes: py-spy samples the worker's processes while they drain jobs.

    .venv/bin/pip install py-spy
    .venv/bin/python -m bench.profile_worker --jobs 3000 --seconds 6

Submits `--jobs` no-op jobs over HTTP with no worker running (they wait in the fair
backlog), then starts one worker (the Procfile's command) and records every process of
it (main process and pool) for `--seconds`. Prints, per process, the functions with the
largest inclusive share of its busy samples; the drain rate; the collapsed stacks are
kept in the run's directory under var/bench/ for a flame graph.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time

from bench.__main__ import VAR, Run
from bench.harness import wait_done
from bench.jobs import NOOP, submit_many
from bench.profile import summarise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    spy = shutil.which("py-spy") or str(VAR.parent.parent / ".venv" / "bin" / "py-spy")
    run = Run(argparse.Namespace(runs=1, seconds=args.seconds))
    try:
        base = run.web("web", bare=False)
        ids = submit_many(base, args.jobs, NOOP)
        started = time.perf_counter()
        run.worker("worker", raw=False)
        spies = {}
        for proc in run.stack.tree("worker"):
            out = run.dir / f"profile-worker-{proc.pid}.txt"
            cmd = [spy, "record", "--pid", str(proc.pid), "--duration", str(args.seconds)]
            cmd += ["--rate", "200", "--format", "raw", "--nonblocking", "--output", str(out)]
            spies[proc.pid] = (out, subprocess.Popen(cmd, stdout=subprocess.DEVNULL))
        for _out, proc in spies.values():
            proc.wait()
        ended = wait_done(run.redis, ids)
        print(f"drained {args.jobs} jobs at {args.jobs / (ended - started):.0f} jobs/s")
        for pid, (out, _proc) in spies.items():
            print(f"\nprocess {pid}:")
            summarise(out.read_text(), args.top, "")
            print(f"collapsed stacks: {out}")
    finally:
        run.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
