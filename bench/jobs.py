"""The job rows: trivial-job throughput and end-to-end latency, ours against raw Celery,
and the HTTP clients (submit and wait, submit many) the other job-running parts share.

Throughput: `jobs` noop jobs submitted over HTTP by 8 client threads and drained by one
worker, vs as many `apply_async()` of the raw no-op; and again with wrk submitting for
`seconds` on 8 connections (a client whose own CPU is near nothing, as a service's
clients run elsewhere: the Python client costs these 2 cores ~1.4 ms per job, see
`python -m bench.job_costs`), vs `apply_async()` for as long. Latency: one client, one
job at a time, `POST` with `Prefer: wait=30` until Complete, vs `apply_async().get()`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bench.harness import Figure, percentile, wait_done, wrk
from jobs.store.keys import Keys

NOOP = {"reportType": "noop", "parameters": {"steps": 0, "stepSeconds": 0}}
REPORTS_INDEX = Keys().owner_jobs("public", "report")  # the open API's reports, by time


def submit_and_wait(session: requests.Session, base: str, body: dict) -> str:
    """POST a job and return once the client sees it Complete; says how it waited."""
    resp = session.post(base + "/api/reports", json=body, headers={"Prefer": "wait=30"}, timeout=60)
    if resp.status_code == 200 and resp.json().get("status") == "Complete":
        return "POST Prefer: wait"
    assert resp.status_code == 202, resp.text
    url = base + resp.headers["Location"]
    while True:
        got = session.get(url, headers={"Prefer": "wait=30"}, timeout=60)
        if got.json().get("status") != "In Progress":
            assert got.json()["status"] == "Complete", got.text
            return (
                "POST, then GET Prefer: wait (long poll)"
                if "Preference-Applied" in got.headers
                else "POST, then GET every 5 ms (no Prefer: wait yet)"
            )
        if "Preference-Applied" not in got.headers:
            time.sleep(0.005)


def submit_many(base: str, n: int, body: dict) -> list[str]:
    """Submit `n` jobs over HTTP from 8 client threads; their ids."""

    def one_batch(count: int) -> list[str]:
        with requests.Session() as s:
            out = []
            for _ in range(count):
                r = s.post(base + "/api/reports", json=body, timeout=30)
                assert r.status_code == 202, r.text
                out.append(r.json()["id"])
            return out

    per = [n // 8 + (1 if i < n % 8 else 0) for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        return [i for ids in pool.map(one_batch, per) for i in ids]


def submit_by_wrk(run: Any, base: str, seconds: float) -> list[str]:
    """Submit no-op jobs with wrk for `seconds` on 8 connections; their ids (from the
    open API's index of reports: the client `public`)."""
    since = time.time()
    body = {"WRK_METHOD": "POST", "WRK_BODY": json.dumps(NOOP)}
    res = wrk(base + "/api/reports", seconds, 8, body)
    assert res.errors == 0, f"{res.errors} submissions failed"
    return [str(i) for i in run.redis.zrangebyscore(REPORTS_INDEX, since, "+inf")]


def raw_for(seconds: float) -> list[str]:
    """`apply_async()` of the raw no-op for `seconds`, one thread; the task ids."""
    from bench.raw_celery import noop

    ids, until = [], time.perf_counter() + seconds
    while time.perf_counter() < until:
        ids.append(noop.apply_async().id)
    return ids


def throughput(
    run: Any, raw: Callable[[], list[str]], ours: Callable[[], list[str]]
) -> tuple[Figure, Figure, Figure]:
    """Jobs/s of each producer (its jobs over the time from its first submit until every
    one is done), the sides alternating which goes first; (ours, raw, ours/raw)."""
    ours_tp, raw_tp, ratio = Figure(), Figure(), Figure()
    for i in range(run.args.runs):
        got = {}
        for side in ("raw", "ours") if i % 2 == 0 else ("ours", "raw"):
            started = time.perf_counter()
            ids = raw() if side == "raw" else ours()
            got[side] = len(ids) / (wait_done(run.redis, ids) - started)
        raw_tp.add(got["raw"])
        ours_tp.add(got["ours"])
        ratio.add(got["ours"] / got["raw"])
    return ours_tp, raw_tp, ratio


def measure(run: Any, row: Callable[..., None]) -> None:
    """Trivial-job throughput and end-to-end latency vs raw Celery."""
    from bench.raw_celery import noop  # reads REDIS_URL, which the run has just set

    a = run.args
    base = run.web("web", bare=False)
    run.worker("worker", raw=False)
    run.worker("raw", raw=True)
    noop.apply_async().get(timeout=30)  # warm up both
    with requests.Session() as s:
        submit_and_wait(s, base, NOOP)
    ours_tp, raw_tp, tp_ratio = throughput(
        run,
        lambda: [noop.apply_async().id for _ in range(a.jobs)],
        lambda: submit_many(base, a.jobs, NOOP),
    )
    row(
        f"trivial-job throughput, jobs/s ({a.jobs} jobs)",
        ours_tp.text(),
        raw_tp.text(),
        tp_ratio,
        ">= 0.8x",
        tp_ratio.median >= 0.8,
    )
    ours_w, raw_w, w_ratio = throughput(
        run, lambda: raw_for(a.seconds), lambda: submit_by_wrk(run, base, a.seconds)
    )
    row(
        f"trivial-job throughput, jobs/s (wrk submitting {a.seconds:g} s, 8 connections)",
        ours_w.text(),
        raw_w.text() + " (apply_async as long)",
        w_ratio,
        ">= 0.8x",
        w_ratio.median >= 0.8,
    )
    p = {k: Figure() for k in ("o50", "o99", "r50", "r99")}
    ratio50, mode = Figure(), ""
    with requests.Session() as s:
        for _ in range(a.runs):
            raw, ours = [], []
            for _ in range(a.samples):
                t = time.perf_counter()
                noop.apply_async().get(timeout=30)
                raw.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                mode = submit_and_wait(s, base, NOOP)
                ours.append((time.perf_counter() - t) * 1000)
            p["o50"].add(percentile(ours, 50))
            p["o99"].add(percentile(ours, 99))
            p["r50"].add(percentile(raw, 50))
            p["r99"].add(percentile(raw, 99))
            ratio50.add(percentile(ours, 50) / percentile(raw, 50))
    row(
        f"trivial job end to end, ms p50 [{mode}]",
        p["o50"].text("{:.1f}"),
        p["r50"].text("{:.1f}") + " (apply_async().get())",
        ratio50,
        "p50 <= 2x",
        ratio50.median <= 2,
    )
    row(
        "trivial job end to end, ms p99",
        p["o99"].text("{:.1f}"),
        p["r99"].text("{:.1f}"),
        p["o99"].over(p["r99"]),
        "(reported)",
        None,
    )
    for label in ("web", "worker", "raw"):
        run.stop(label)
    run.redis.flushdb()
