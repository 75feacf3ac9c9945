"""The HTTP rows: status polls, conditional polls (304) and submissions per second, and CPU
per status poll (and, with no target, per submission), ours against the bare Flask app
(bench/bare_app.py), all under wrk.

Both sides alternate within each run; the ratio is taken per run (see bench/README.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import psutil
import requests

from bench.harness import Figure, wrk
from bench.jobs import NOOP
from bench.submit_cpu import redis_cpu


def measure(run: Any, row: Callable[..., None]) -> None:
    """Status polls, conditional polls, submissions and CPU per poll, vs bare Flask."""
    a = run.args
    ours, bare = run.web("web", bare=False), run.web("bare", bare=True)
    resp = requests.post(ours + "/api/reports", json=NOOP, timeout=10)
    assert resp.status_code == 202, resp.text
    status_path = resp.headers["Location"]
    job_id = resp.json()["id"]
    first = requests.get(ours + status_path, timeout=10)
    etag = first.headers["ETag"]
    again = requests.get(ours + status_path, headers={"If-None-Match": etag}, timeout=10)
    assert again.status_code == 304, again.status_code
    body = json.dumps(NOOP)
    cases: dict[str, dict[str, tuple[str, dict[str, str]]]] = {
        "status": {
            "bare": (f"{bare}/bare/status/{job_id}", {}),
            "web": (ours + status_path, {}),
        },
        "conditional": {
            "bare": (f"{bare}/bare/status/{job_id}", {}),
            "web": (ours + status_path, {"WRK_IF_NONE_MATCH": etag}),
        },
        "submit": {
            "bare": (f"{bare}/bare/reports", {"WRK_METHOD": "POST", "WRK_BODY": body}),
            "web": (ours + "/api/reports", {"WRK_METHOD": "POST", "WRK_BODY": body}),
        },
    }
    rps = {(c, s): Figure() for c in cases for s in ("bare", "web")}
    cpu = {(c, s): Figure() for c in cases for s in ("bare", "web")}
    redis_us = {s: Figure() for s in ("bare", "web")}  # Redis's CPU per submission
    server = psutil.Process(run.redis_proc.pid)
    ratio = {c: Figure() for c in cases}
    errors = 0
    for side in ("bare", "web"):  # warm up: imports, connections, first requests
        wrk(cases["status"][side][0], 1, a.connections, cases["status"][side][1])
    for case, sides in cases.items():
        for i in range(a.runs):
            got = {}
            for side in ("bare", "web") if i % 2 == 0 else ("web", "bare"):
                url, env = sides[side]
                before, served = run.stack.cpu_seconds(side), redis_cpu(server)
                res = wrk(url, a.seconds, a.connections, env)
                used = run.stack.cpu_seconds(side) - before
                if case == "submit":
                    redis_us[side].add((redis_cpu(server) - served) / max(res.requests, 1) * 1e6)
                errors += res.errors
                got[side] = res.rps
                rps[case, side].add(res.rps)
                cpu[case, side].add(used / max(res.requests, 1) * 1e6)
            ratio[case].add(got["web"] / got["bare"])
        if case == "submit":
            run.redis.flushdb()
    if errors:
        print(f"  !! wrk counted {errors} errors or non-2xx/3xx answers", flush=True)
    conn = f"{a.connections} connections"
    for case, what, target in (
        ("status", "status polls/s", 0.9),
        ("conditional", "conditional polls/s, 304", 1.0),
        ("submit", "submissions/s", 0.7),
    ):
        row(
            f"{what} ({conn})",
            rps[case, "web"].text(),
            rps[case, "bare"].text(),
            ratio[case],
            f">= {target}x",
            ratio[case].median >= target,
        )
    cpu_ratio = {case: cpu[case, "web"].over(cpu[case, "bare"]) for case in ("status", "submit")}
    row(
        "CPU per status poll (us user+sys, web processes)",
        cpu["status", "web"].text(),
        cpu["status", "bare"].text(),
        cpu_ratio["status"],
        "<= 1.2x",
        cpu_ratio["status"].median <= 1.2,
    )
    # No target: where a submission's cost lies (the web processes, or Redis and the rest).
    row(
        "CPU per submission (us user+sys, web processes)",
        cpu["submit", "web"].text(),
        cpu["submit", "bare"].text(),
        cpu_ratio["submit"],
        "-",
        None,
    )
    row(
        "Redis CPU per submission (us user+sys)",
        redis_us["web"].text(),
        redis_us["bare"].text(),
        redis_us["web"].over(redis_us["bare"]),
        "-",
        None,
    )
    run.stop("web")
    run.stop("bare")
