"""Where a web request's time goes: py-spy samples our gunicorn workers under wrk load.

    .venv/bin/pip install py-spy
    .venv/bin/python -m bench.profile status        # or: conditional, submit
    .venv/bin/python -m bench.profile submit --seconds 10 --top 40

Prints the functions with the largest inclusive share of the samples (collapsed stacks
are kept in var/bench/ for a flame graph).
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import subprocess
import sys
import threading

import requests

from bench.__main__ import NOOP, VAR, Run
from bench.harness import wrk


def summarise(collapsed: str, top: int, needle: str) -> None:
    """Inclusive sample share per function, from py-spy's raw (collapsed) output."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue  # not a stack (py-spy's notes)
        if needle and needle not in stack:
            continue  # idle threads, the gunicorn main loop
        count = int(count_text)
        total += count
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    print(f"{total} samples in request handling; inclusive share (own share):")
    for frame, count in inclusive.most_common(top):
        print(f"{count * 100 / total:5.1f}% ({own[frame] * 100 / total:4.1f}%)  {frame}")


def main(argv: list[str] | None = None) -> int:
    """Start ours with one gunicorn worker, load it with wrk, sample it with py-spy."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("case", choices=["status", "conditional", "submit"])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    spy = shutil.which("py-spy") or str(VAR.parent.parent / ".venv" / "bin" / "py-spy")
    bench_args = argparse.Namespace(runs=1, seconds=args.seconds)
    run = Run(bench_args)
    try:
        base = run.web("web", bare=False, extra={"WEB_CONCURRENCY": "1"})
        job = requests.post(base + "/api/reports", json=NOOP, timeout=10)
        url = base + job.headers["Location"]
        env: dict[str, str] = {}
        if args.case == "conditional":
            env["WRK_IF_NONE_MATCH"] = requests.get(url, timeout=10).headers["ETag"]
        if args.case == "submit":
            url = base + "/api/reports"
            env.update(WRK_METHOD="POST", WRK_BODY=json.dumps(NOOP))
        wrk(url, 1, args.connections, env)
        worker_pid = run.stack.tree("web")[1].pid
        out = run.dir / f"profile-{args.case}.txt"
        load = threading.Thread(
            target=wrk, args=(url, args.seconds + 2, args.connections, env), daemon=True
        )
        load.start()
        subprocess.run(
            [
                spy,
                "record",
                "-r",
                "200",
                "-d",
                str(args.seconds),
                "-p",
                str(worker_pid),
                "-f",
                "raw",
                "-o",
                str(out),
                "--nonblocking",
                "--gil",
            ],
            check=True,
            capture_output=True,
        )
        load.join()
        summarise(out.read_text(), args.top, "handle_request")
        print(f"collapsed stacks: {out}")
    finally:
        run.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
