"""Reuse of results: repeated identical reports answered from the kept result (a hit)
against the same report computed (`Cache-Control: no-cache`, a miss), in the same run.

    ./dev bench --only reuse --rows 1000000 10000000
    DATA_FINGERPRINT_SECONDS=1 ./dev bench --only reuse --rows 1000000

Per data size (SQLite, seeded into var/bench/sales-N.db when missing): a web and a worker
on that database; per run, a miss (POST no-cache with `Prefer: wait`, until Complete), a
hit (POST, answered Complete in the 202 itself), a hit whose data version must first be
read from the database (the cached version dropped: the fingerprint query runs), and the
fingerprint query alone; then ten concurrent identical submits of a year not yet asked for,
and how many computations they caused (the reuse metrics).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bench.harness import Figure
from jobs.store.keys import Keys
from sales.db import make_engine
from sales.seed import row_count, seed
from sales.state import version_token
from sales.tables import ready

YEAR = 2024
Row = Callable[[str, str, str, Figure | None, str, bool | None], None]


def post(session: requests.Session, base: str, year: int, **headers: str) -> requests.Response:
    body = {"reportType": "yearly-sales", "parameters": {"year": year}}
    return session.post(base + "/api/reports", json=body, headers=headers, timeout=120)


def computed(session: requests.Session, base: str, year: int) -> tuple[float, dict[str, Any]]:
    """Seconds until a no-cache submit of `year` is Complete (it computes), and its document."""
    t = time.perf_counter()
    resp = post(session, base, year, **{"Cache-Control": "no-cache", "Prefer": "wait=60"})
    doc = resp.json()
    while doc["status"] == "In Progress":
        got = session.get(base + resp.headers["Location"], headers={"Prefer": "wait=30"})
        doc = got.json()
    assert doc["status"] == "Complete" and "cached" not in doc, doc
    return time.perf_counter() - t, doc


def figures(session: requests.Session, base: str, doc: dict[str, Any]) -> dict[str, Any]:
    """The report a job's download gives, without when it was generated."""
    got = session.get(base + doc["reportURL"], timeout=120)
    got.raise_for_status()
    report = dict(got.json())
    report.pop("generatedAt", None)
    return report


def computations(log: str, job_ids: list[str]) -> int:
    """How many of these jobs the worker received (ran), from its log."""
    return sum(log.count(f"[{job_id}] received") for job_id in job_ids)


def answered(session: requests.Session, base: str, year: int) -> tuple[float, dict[str, Any]]:
    """Seconds for the 202 of a repeated submit, and its document (Complete, cached)."""
    t = time.perf_counter()
    resp = post(session, base, year)
    elapsed = time.perf_counter() - t
    return elapsed, resp.json()


def age_version(client: Any, keys: Keys) -> None:
    """Make the cached data version look older than DATA_FINGERPRINT_SECONDS."""
    value = client.get(keys.data_version())
    if value is None:
        return
    generation, _, token = str(value).split("|", 2)
    client.set(keys.data_version(), f"{generation}|{time.time() - 3600!r}|{token}", keepttl=True)


def reuse_counts(base: str) -> dict[str, float]:
    text = requests.get(base + "/metrics", timeout=10).text
    found = re.findall(r'async_reports_reuse_total\{kind="report",outcome="(\w+)"\} (\S+)', text)
    return {outcome: float(n) for outcome, n in found}


def concurrently(base: str, year: int, clients: int) -> list[dict[str, Any]]:
    """`clients` identical submits at once, each waiting for its job; their documents."""

    def one(_: int) -> dict[str, Any]:
        with requests.Session() as c:
            return dict(post(c, base, year, Prefer="wait=60").json())

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(one, range(clients)))


def measure(run: Any, rows_list: list[int], runs: int, row: Row, var: Any) -> None:
    """The reuse rows of the table, for each data size."""
    keys = Keys("ar")
    for rows in rows_list:
        url = f"sqlite:///{var / f'sales-{rows}.db'}"
        engine = make_engine(url)
        if row_count(engine) != rows:
            print(f"  seeding {rows} rows into sqlite ...", flush=True)
            t = time.perf_counter()
            seed(engine, rows)
            print(f"  seeded in {time.perf_counter() - t:.0f}s", flush=True)
        ready(engine)
        web_env = {"DATABASE_URL": url}
        if "DATA_FINGERPRINT_SECONDS" in os.environ:  # e.g. 1: every hit finds it stale
            web_env["DATA_FINGERPRINT_SECONDS"] = os.environ["DATA_FINGERPRINT_SECONDS"]
        base = run.web("reuseweb", bare=False, extra=web_env)
        # INFO: the worker logs "[<job id>] received" for each job it runs (counted below)
        run.worker("reuseworker", raw=False, extra={"DATABASE_URL": url, "LOG_LEVEL": "info"})
        miss, hit, cold, stale, fingerprint = Figure(), Figure(), Figure(), Figure(), Figure()
        ratio, all_complete, identical = Figure(), True, True
        with requests.Session() as s:
            computed(s, base, YEAR)  # warm up: page cache, connections
            for _ in range(runs):
                seconds, computed_doc = computed(s, base, YEAR)
                miss.add(seconds)
                seconds, doc = answered(s, base, YEAR)
                all_complete &= doc["status"] == "Complete" and doc.get("cached") is True
                identical &= figures(s, base, doc) == figures(s, base, computed_doc)
                hit.add(seconds)
                ratio.add(seconds / miss.runs[-1])
                run.redis.delete(keys.data_version())  # the next submit reads the database
                seconds, doc = answered(s, base, YEAR)
                all_complete &= doc["status"] == "Complete" and doc.get("cached") is True
                cold.add(seconds)
                age_version(run.redis, keys)  # older than trusted: re-read in the background
                seconds, doc = answered(s, base, YEAR)
                all_complete &= doc["status"] == "Complete" and doc.get("cached") is True
                stale.add(seconds)
                t = time.perf_counter()
                version_token(engine)
                fingerprint.add(time.perf_counter() - t)
            # Ten clients at once, for a year nobody asked for yet on this data.
            before = reuse_counts(base)
            docs = concurrently(base, YEAR - 1, 10)
            after = reuse_counts(base)
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in ("hit", "shared", "miss")}
        ran = computations(run.stack.log("reuseworker"), [d["id"] for d in docs])
        run.stop("reuseworker")
        run.stop("reuseweb")
        engine.dispose()
        label = f"yearly-sales {YEAR}, {rows:,} rows, sqlite"
        ms = "{:.4f}"
        row(
            f"{label}: repeated submit, 202 (hit) vs computed (no-cache) (s)",
            hit.text(ms),
            miss.text("{:.3f}"),
            ratio,
            "Complete in the 202",
            all_complete,
        )
        row(
            f"{label}: the hit's downloaded figures equal the computed ones",
            "identical" if identical else "DIFFERENT",
            f"{runs} runs",
            None,
            "identical",
            identical,
        )
        row(
            f"{label}: hit whose version is read from the database vs the fingerprint query (s)",
            cold.text(ms),
            fingerprint.text(ms),
            None,
            "Complete in the 202",
            all_complete,
        )
        row(
            f"{label}: hit whose cached version is stale (re-read in the background) (s)",
            stale.text(ms),
            fingerprint.text(ms),
            None,
            "<= 0.05 s",
            stale.median <= 0.05,
        )
        finished = sum(1 for d in docs if d.get("status") == "Complete")
        row(
            f"{label}: ten concurrent identical submits: computations by the metrics"
            " (hit/shared) and by the worker log",
            f"{delta['miss']:.0f} ({delta['hit']:.0f}/{delta['shared']:.0f}); log {ran}",
            f"{finished}/10 Complete",
            None,
            "1",
            delta["miss"] == 1 and ran == 1 and finished == 10,
        )
